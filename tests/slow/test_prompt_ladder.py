"""The prompt ladder on the real bundled model: label scoring agrees with generation where the
answer is obvious, and a small ladder runs end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.data import load_task, split_task
from adaptlab.data.task import Example
from adaptlab.evaluation import evaluate
from adaptlab.models import load_backend
from adaptlab.models.embeddings import load_embedder
from adaptlab.prompting import StrategyContext, get_strategy

pytestmark = pytest.mark.slow
runner = CliRunner()

EASY = [
    ("@united Worst airline ever. Lost my bag, rude staff, three hour delay. Never again!", "negative"),
    ("@SouthwestAir I hate this. Cancelled flight and no refund. Terrible service.", "negative"),
    ("@JetBlue Thank you so much! Amazing crew, best flight ever, I love you guys!", "positive"),
    ("@VirginAmerica You are wonderful, thanks for the great service and the free upgrade!", "positive"),
]


def test_label_scoring_and_generation_agree_on_easy_cases() -> None:
    task = load_task("tweet-sentiment")
    split = split_task(task, fractions=(0.6, 0.1, 0.3), seed=0)
    examples = [Example(id=f"easy{i}", input=text, output=label) for i, (text, label) in enumerate(EASY)]
    backend = load_backend("smollm2-135m")
    # The ladder's best rung on this model (few-shot-knn-4, 73% on 150 test tweets); with
    # eight random demos it calls even these tweets positive (that rung scores 20%).
    context = StrategyContext(task=task, train=split.train, seed=0, embedder=load_embedder)
    generation = get_strategy("few-shot-knn-4")
    generation.prepare(context)
    scoring = get_strategy("few-shot-knn-4")
    scoring.prepare(context)
    scoring.answer_mode = "score"
    generated = evaluate(task, examples, backend, generation).predictions
    scored = evaluate(task, examples, backend, scoring).predictions
    assert [p.parsed for p in generated] == [p.parsed for p in scored] == [label for _, label in EASY]
    for prediction in scored:
        assert prediction.scores is not None
        assert max(prediction.scores, key=prediction.scores.__getitem__) == prediction.gold


def test_a_small_ladder_runs_through_the_cli(tmp_path: Path) -> None:
    rungs = "zero-shot,few-shot-knn-4,cot,format-json,label-scoring"
    args = ["eval", "tweet-sentiment", "-s", rungs, "--limit", "12"]
    args += ["--consistency-sample", "4", "--robustness-sample", "4"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    results = json.loads((run_dir / "results.json").read_text())
    assert [rung["rung"] for rung in results["rungs"]] == rungs.split(",")
    for rung in results["rungs"]:
        assert rung["metrics"]["n"] == 12 and rung["metrics"]["consistency_n"] == 4
    # the second time every answer comes from the result cache
    again = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert again.exit_code == 0, again.output
    latest = max((p for p in tmp_path.iterdir() if p.is_dir()), key=lambda p: p.name)
    rerun = json.loads((latest / "results.json").read_text())
    assert all(rung["metrics"]["cache_hits"] == 12 for rung in rerun["rungs"])


def test_calibration_lifts_label_scoring_on_the_bundled_task(tmp_path: Path) -> None:
    """Without demos the model says "positive" to nearly every tweet; dividing out its prior on
    content-free inputs recovers the other labels. Measured: 13.8% -> 57.5% on these 80."""
    rungs = "label-scoring,label-scoring-calibrated"
    args = ["eval", "tweet-sentiment", "-s", rungs, "--limit", "80"]
    args += ["--consistency-sample", "0", "--robustness-sample", "0", "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    plain, calibrated = json.loads((run_dir / "results.json").read_text())["rungs"]
    assert calibrated["metrics"]["score"] >= plain["metrics"]["score"] + 0.2
    assert calibrated["metrics"]["macro_f1"] > plain["metrics"]["macro_f1"]
    prior = calibrated["strategy"]["calibration"]["prior"]
    assert max(prior, key=prior.__getitem__) == "positive"
