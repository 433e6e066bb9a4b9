"""Served rungs for the serving tests: one built by hand around the tiny model (instant), and
one rebuilt from a real tune run of it (about 12 s, built once per session)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from served_runs import TinyRun
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.data import load_task
from adaptlab.evaluation.engine import Request
from adaptlab.models.local import LocalBackend
from adaptlab.prompting import get_strategy
from adaptlab.serve.rung import ServedRung
from sample_tasks import write_sentiment_task


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> TinyRun:
    """`adaptlab tune` of the tiny model: zero-shot, lora-4 and the hybrids lora-4+label-scoring
    and lora-4+label-scoring-calibrated.

    Two epochs at a high learning rate make the adapter write label fragments that differ from
    input to input ("nenene…negative"), so comparing served answers with recorded ones tests
    something; the untuned model writes only newlines.
    """
    root = tmp_path_factory.mktemp("served-run")
    task_file = write_sentiment_task(root / "tweets.jsonl", repeat=3)
    runs = root / "runs"
    args = ["tune", str(task_file), "--model", str(tiny_model_dir), "--sizes", "4", "--epochs", "2"]
    args += ["--lr", "5e-2", "--train-batch-size", "4", "--patience", "0"]
    args += ["--hybrid", "label-scoring,label-scoring-calibrated"]
    args += ["--consistency-sample", "0", "--no-forgetting", "--out", str(runs)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (run_dir,) = [path for path in runs.iterdir() if path.is_dir() and path.name[0].isdigit()]
    results = json.loads((run_dir / "results.json").read_text())
    return TinyRun(runs=runs, run_id=run_dir.name, task_file=task_file, results=results)


@pytest.fixture(scope="session")
def tiny_served(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> ServedRung:
    """The zero-shot rung of the tiny model, generating up to 4 tokens."""
    task = load_task(write_sentiment_task(tmp_path_factory.mktemp("served") / "tweets.jsonl", repeat=3))
    return ServedRung(
        run_id="run-1",
        rung="zero-shot",
        task=task,
        strategy=get_strategy("zero-shot"),
        request=Request("generate", max_new_tokens=4),
        backend=LocalBackend(tiny_model_dir, model_id="tiny", fingerprint="t0"),
        task_model_id="tweets/zero-shot",
        plain_model_id="tiny",
    )
