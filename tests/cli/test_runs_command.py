"""A run says its id and how to resume it as it starts; ``adaptlab runs`` lists the runs of a runs
directory; ``eval`` resumes like ``run`` does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.configs import EvalConfig
from adaptlab.evaluation import RungResult
from adaptlab.runs import RunListener, run_eval
from adaptlab.store import Store
from sample_tasks import write_sentiment_task

runner = CliRunner()


@pytest.fixture()
def task_file(tmp_path: Path) -> Path:
    return write_sentiment_task(tmp_path / "tweets.jsonl", repeat=2)


def tiny_eval(task_file: Path, model: Path, out: Path, *rungs: str) -> list[str]:
    strategies = ",".join(rungs or ("zero-shot",))
    return [
        "eval",
        str(task_file),
        "-m",
        str(model),
        "-s",
        strategies,
        "--out",
        str(out),
        "--max-new-tokens",
        "2",
    ]


def test_eval_prints_its_id_and_resume_command_before_the_first_rung(
    task_file: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "runs"
    result = runner.invoke(app, tiny_eval(task_file, tiny_model_dir, out))
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    started = (
        f"run {run_dir.name}; if it stops, `adaptlab eval --resume {run_dir.name} --out {out}` finishes it"
    )
    flat = " ".join(result.output.split())
    assert started in flat
    assert flat.index(started) < flat.index("zero-shot: accuracy")
    assert "━" not in result.output, "no progress bar in a log: its last frame would be cut to fit"


class StopAfterFirstRung(RunListener):
    """Stands for a kill: the first rung is recorded, then the process goes."""

    def rung_finished(self, result: RungResult) -> None:
        raise KeyboardInterrupt


def test_an_interrupted_eval_resumes_under_its_id_and_is_listed(
    task_file: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "runs"
    config = EvalConfig(
        task=str(task_file),
        model=str(tiny_model_dir),
        strategies=["zero-shot", "few-shot-random-2"],
        max_new_tokens=2,
        consistency_sample=0,
        robustness_sample=0,
    )
    with pytest.raises(KeyboardInterrupt):
        run_eval(config, out_dir=out, listener=StopAfterFirstRung())
    with Store.open(out / "adaptlab.db") as store:
        (stopped,) = store.list_runs()
    run_id = stopped["id"]

    listed = runner.invoke(app, ["runs", "--out", str(out)], terminal_width=160)
    assert listed.exit_code == 0, listed.output
    assert run_id in listed.output and "failed" in listed.output

    resumed = runner.invoke(app, ["eval", "--resume", run_id, "--out", str(out)])
    assert resumed.exit_code == 0, resumed.output
    results = json.loads((out / run_id / "results.json").read_text())
    assert [rung["rung"] for rung in results["rungs"]] == ["zero-shot", "few-shot-random-2"]

    again = runner.invoke(app, ["eval", "--resume", run_id, "--out", str(out)])
    assert again.exit_code == 2 and f"run {run_id} is complete" in again.stderr
    other = runner.invoke(app, ["run", "--resume", run_id, "--out", str(out)])
    assert other.exit_code == 2 and f"resume it with `adaptlab eval --resume {run_id}`" in other.stderr


def test_runs_lists_id_command_status_task_model_best_rung_and_when(
    task_file: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "runs"
    result = runner.invoke(app, tiny_eval(task_file, tiny_model_dir, out, "zero-shot", "label-scoring"))
    assert result.exit_code == 0, result.output
    results = json.loads(next(out.glob("*/results.json")).read_text())
    best = max(results["rungs"], key=lambda rung: rung["metrics"]["score"])

    listed = runner.invoke(app, ["runs", "--out", str(out), "--json"])
    assert listed.exit_code == 0, listed.output
    (run,) = json.loads(listed.stdout)
    assert run["run_id"] == results["run_id"] and run["command"] == "eval" and run["status"] == "finished"
    assert run["task"] == "tweets" and run["model"] == results["model"]["model_id"]
    assert (run["best_rung"], run["best_score"]) == (best["rung"], best["metrics"]["score"])
    assert run["best_metric"] == "accuracy"

    table = runner.invoke(app, ["runs", "--out", str(out)])  # not a terminal: every column
    for cell in (
        results["run_id"],
        "eval",
        "finished",
        "tweets",
        best["rung"],
        f"{best['metrics']['score']:.1%}",
    ):
        assert cell in table.output
    assert "started" in table.output


def test_runs_says_which_runs_were_killed_and_how_to_finish_them(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    with Store.open(out / "adaptlab.db") as store:
        store.start_run(
            run_id="20261130-000000-aaaaaa",
            command="run",
            task_name="tweets",
            task_hash="h",
            model_id="m",
            model_fingerprint="f",
            config={},
            adaptlab_version="0",
            output_dir=None,
        )
        gone = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
        )
        with store.transaction() as db:
            db.execute("UPDATE runs SET pid = ?", (int(gone.stdout),))
    listed = runner.invoke(app, ["runs", "--out", str(out), "--status", "interrupted"], terminal_width=160)
    assert listed.exit_code == 0, listed.output
    assert "interrupted" in listed.output
    assert (
        "20261130-000000-aaaaaa was interrupted: `adaptlab run --resume 20261130-000000-aaaaaa --out"
        in " ".join(listed.output.split())
    )


def test_runs_of_a_folder_without_a_store_says_so(tmp_path: Path) -> None:
    result = runner.invoke(app, ["runs", "--out", str(tmp_path)])
    assert result.exit_code == 2 and f"no runs in {tmp_path}" in result.stderr
