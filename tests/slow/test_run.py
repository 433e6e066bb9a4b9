"""`adaptlab run` on the real bundled model: a small ladder climbs from prompts to a learning
curve, a hybrid and a distilled rung, decides with reasons that cite figures, and writes a
report that renders in headless Chromium (screenshot: test-artifacts/report-bundled-model.png)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_script import REPO, report_script
from typer.testing import CliRunner

from adaptlab.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.mark.timeout(900)
def test_a_small_ladder_on_the_bundled_model(tmp_path: Path) -> None:
    args = ["run", "tweet-sentiment", "-s", "zero-shot,few-shot-random-4,few-shot-knn-4"]
    args += ["--sizes", "16,32", "--epochs", "1", "--distill-size", "16", "--no-forgetting"]
    args += ["--limit", "30", "--consistency-sample", "0", "--robustness-sample", "6"]
    args += ["--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir() and p.name[0].isdigit()]
    results = json.loads((run_dir / "results.json").read_text())

    kinds = [(rung["rung"], rung["kind"]) for rung in results["rungs"]]
    # Each prompt rung is either measured on test or pruned on the dev screen with its figures
    # (in CI zero-shot was pruned, as in the demo).
    prompts = [name for name, kind in kinds if kind == "prompt"]
    pruned = [entry["rung"] for entry in results["selection"]["pruned"]]
    assert sorted(prompts + pruned) == ["few-shot-knn-4", "few-shot-random-4", "zero-shot"]
    assert "few-shot-knn-4" in prompts
    assert [(name, kind) for name, kind in kinds if kind == "tuned"] == [
        ("lora-16", "tuned"),
        ("lora-32", "tuned"),
    ]
    assert all(rung["selection"]["split"] == "dev" for rung in results["rungs"])
    best = results["decision"]["best_prompt"]["rung"]
    assert ("lora-32+" + best, "hybrid") in kinds
    assert ("distill-lora-16", "distilled") in kinds or any(
        skip.get("phase") == "distillation" for skip in results["skipped"]
    )
    decision = results["decision"]
    assert decision["recommendation"] in ("prompt", "fine-tune", "hybrid", "distil")
    assert 2 <= len(decision["reasons"]) <= 4
    assert all(any(ch.isdigit() for ch in reason) for reason in decision["reasons"])
    assert decision["headline"][:30] in result.output

    script = report_script()
    with script.open_report(run_dir / "report.html") as (page, problems):
        assert page.locator(".js-plotly-plot .main-svg").count() >= 5
        assert decision["headline"][:30] in page.locator("body").text_content()
        script.screenshot(page, REPO / "test-artifacts" / "report-bundled-model.png")
        assert problems == []
