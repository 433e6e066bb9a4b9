"""LoRA on the real bundled model through the CLI: training lowers the dev loss on gold answers,
its costs and the forgetting probe are recorded, and a second run reuses the stored adapter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adaptlab.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_lora_curve_on_the_bundled_model(tmp_path: Path) -> None:
    args = ["tune", "tweet-sentiment", "--sizes", "16,32", "--epochs", "2", "--limit", "30"]
    args += ["--consistency-sample", "0", "--robustness-sample", "0", "--out", str(tmp_path)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir() and p.name[0].isdigit()]
    rungs = json.loads((run_dir / "results.json").read_text())["rungs"]
    assert [r["rung"] for r in rungs] == ["zero-shot", "lora-16", "lora-32"]
    for rung in rungs[1:]:
        training = rung["training"]
        assert training["steps"] == 2 * training["examples"] // 8
        # The weights kept are those of the best dev loss (its second epoch may overfit 16 or 32
        # examples: lora-32 measured 0.529 then 0.534).
        assert training["best_dev_loss"] == pytest.approx(min(training["dev_losses"]))
        assert training["tokens_per_s"] > 0 and training["peak_memory_bytes"] > 0
        assert rung["forgetting"]["n"] == 60
        assert 0.0 <= rung["forgetting"]["agreement_with_base"] <= 1.0

    # It learned the task's answers: twice the examples reach a lower dev loss than the smaller
    # training had after its first epoch (measured 0.529 against 0.905).
    small, large = (rung["training"] for rung in rungs[1:])
    assert large["best_dev_loss"] < small["dev_losses"][0]

    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "reusing trained weights" in second.output
