"""`adaptlab run`: the whole ladder in one call — the climbing decisions (stop when prompting is
perfect, when the budget is spent), resume after a crash, and the files a run leaves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.configs import RunConfig, demo_config
from adaptlab.errors import UsageError
from adaptlab.ladder import LadderListener, run_ladder
from adaptlab.store import DB_FILENAME, Store
from sample_tasks import SENTIMENT_EXAMPLES, write_sentiment_task

from fakes import ScriptedBackend

GOLD = dict(SENTIMENT_EXAMPLES)


def knows_the_answer(text: str) -> str:
    return next((label for words, label in GOLD.items() if words in text), "neutral")


def answers_negative(text: str) -> str:
    return "negative"


@pytest.fixture()
def task_file(tmp_path: Path) -> Path:
    return write_sentiment_task(tmp_path / "tweets.jsonl", repeat=4)


def scripted(answer):
    backend = ScriptedBackend(answer)
    return backend, (lambda *args, **kwargs: backend)


class Recorder(LadderListener):
    def __init__(self) -> None:
        self.skips: list[tuple[str, str]] = []
        self.finished: list[str] = []

    def skipped(self, what: str, reason: str) -> None:
        self.skips.append((what, reason))

    def rung_finished(self, result) -> None:
        self.finished.append(result.rung)


def test_perfect_prompting_stops_the_climb_before_fine_tuning(task_file: Path, tmp_path: Path) -> None:
    _, factory = scripted(knows_the_answer)
    config = RunConfig(task=str(task_file), strategies=["zero-shot", "label-scoring"], consistency_sample=0)
    listener = Recorder()
    outcome = run_ladder(config, out_dir=tmp_path / "runs", listener=listener, backend_factory=factory)

    assert listener.finished == ["zero-shot", "label-scoring"]
    assert [what for what, _ in listener.skips] == ["fine-tuning"]
    assert "already scores full marks on all" in listener.skips[0][1]
    results = json.loads((outcome.directory / "results.json").read_text())
    assert results["command"] == "run"
    assert [rung["kind"] for rung in results["rungs"]] == ["prompt", "prompt"]
    assert results["skipped"] == [{"phase": "fine-tuning", "reason": listener.skips[0][1]}]
    assert results["decision"]["recommendation"] == "prompt"
    assert results["budget"]["limits"] == {"minutes": None, "tokens": None, "usd": None}
    assert (outcome.directory / "report.html").stat().st_size > 10_000
    assert RunConfig.model_validate(yaml.safe_load((outcome.directory / "config.yaml").read_text())) == config


def test_an_api_model_is_not_fine_tuned_and_the_run_says_why(task_file: Path, tmp_path: Path) -> None:
    _, factory = scripted(answers_negative)
    config = RunConfig(task=str(task_file), strategies=["zero-shot"], consistency_sample=0)
    listener = Recorder()
    run_ladder(config, out_dir=tmp_path / "runs", listener=listener, backend_factory=factory)
    assert listener.skips == [
        (
            "fine-tuning",
            f"{config.model} is served by an API: fine-tuning needs the model's weights on this machine"
            " (a bundled model, a Hugging Face directory or a .gguf file)",
        )
    ]


def test_the_token_budget_leaves_later_rungs_out(task_file: Path, tmp_path: Path) -> None:
    _, factory = scripted(answers_negative)
    config = RunConfig(
        task=str(task_file),
        strategies=["zero-shot", "instruction-terse", "label-scoring"],
        consistency_sample=0,
        budget_tokens=1,
    )
    listener = Recorder()
    outcome = run_ladder(config, out_dir=tmp_path / "runs", listener=listener, backend_factory=factory)
    assert listener.finished == ["zero-shot"]
    skipped = dict(listener.skips)
    assert set(skipped) == {"instruction-terse", "label-scoring", "fine-tuning"}
    assert skipped["label-scoring"].startswith("token budget of 1 spent")
    results = json.loads((outcome.directory / "results.json").read_text())
    assert results["budget"]["spent"]["tokens"] > 1


class Crash(RuntimeError):
    pass


def test_a_crashed_run_resumes_under_its_id_without_asking_the_model_again(
    task_file: Path, tmp_path: Path
) -> None:
    config = RunConfig(
        task=str(task_file),
        strategies=["zero-shot", "instruction-terse", "label-scoring"],
        consistency_sample=0,
        tune=False,
    )
    runs = tmp_path / "runs"

    class CrashAfterTwo(Recorder):
        def rung_finished(self, result) -> None:
            super().rung_finished(result)
            if len(self.finished) == 2:
                raise Crash

    first, factory = scripted(answers_negative)
    with pytest.raises(Crash):
        run_ladder(config, out_dir=runs, listener=CrashAfterTwo(), backend_factory=factory)
    with Store.open(runs / DB_FILENAME) as store:
        (crashed,) = store.list_runs()
    assert crashed["status"] == "failed"
    assert not (runs / crashed["id"]).exists()
    asked_before = len(first.seen)

    second, factory = scripted(answers_negative)
    outcome = run_ladder(config, out_dir=runs, resume=crashed["id"], backend_factory=factory)
    assert outcome.run_id == crashed["id"]
    # Only the rung that never finished reached the model (its test answers: every dev score was
    # taken before the first test rung); the rest came from the cache.
    assert 0 < len(second.seen) <= asked_before // 2
    assert [r.rung for r in outcome.results] == ["zero-shot", "instruction-terse", "label-scoring"]
    with Store.open(runs / DB_FILENAME) as store:
        assert store.get_run(crashed["id"])["status"] == "complete"
        assert len(store.rung_results(crashed["id"])) == 3

    _, factory = scripted(answers_negative)
    fresh = run_ladder(config, out_dir=tmp_path / "fresh", backend_factory=factory)

    def answers(run_dir: Path) -> list[list[dict]]:
        rungs = json.loads((run_dir / "results.json").read_text())["rungs"]
        return [[{k: v for k, v in p.items() if k != "cached"} for p in r["predictions"]] for r in rungs]

    assert answers(outcome.directory) == answers(fresh.directory)


def test_bad_rung_names_fail_before_the_model_loads(task_file: Path, tmp_path: Path) -> None:
    config = RunConfig(task=str(task_file), model="no-such-model", strategies=["few-shot-magic"])
    with pytest.raises(UsageError, match="few-shot-magic"):
        run_ladder(config, out_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_the_demo_runs_the_whole_ladder_on_the_bundled_task() -> None:
    config = demo_config()
    assert config.task == "tweet-sentiment"
    assert {"zero-shot", "few-shot-knn-4", "label-scoring"} <= set(config.strategies)
    assert config.tune and config.hybrid and config.distill
    assert len(config.sizes) >= 3


def test_the_time_bounded_knowledge_demo_tunes_on_the_documents_alone() -> None:
    """The corpus mixed with the pairs, or followed by them, would take it past its 15 minutes."""
    config = demo_config(task="country-facts")
    assert config.documents
    assert not config.documents_with_pairs and not config.documents_then_pairs
    assert RunConfig(task="t").documents_then_pairs


runner = CliRunner()


def test_run_report_and_compare_end_to_end(task_file: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    args = ["run", str(task_file), "--model", str(tiny_model_dir), "-s", "zero-shot,few-shot-random-4"]
    args += ["--sizes", "4,8", "--epochs", "1", "--consistency-sample", "0", "--limit", "9"]
    args += ["--machine-usd-per-hour", "2.5", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in out.iterdir() if p.is_dir() and p.name[0].isdigit()]
    assert f"report: {run_dir / 'report.html'}" in result.output.replace("\n", "")
    results = json.loads((run_dir / "results.json").read_text())
    kinds = {rung["rung"]: rung["kind"] for rung in results["rungs"]}
    assert kinds["zero-shot"] == kinds["few-shot-random-4"] == "prompt"
    assert kinds["lora-4"] == kinds["lora-8"] == "tuned"
    assert results["decision"]["headline"][:30] in result.output
    assert results["decision"]["costs"]["settings"]["machine_usd_per_hour"] == 2.5
    assert {"predictions.jsonl", "config.yaml", "report.html"} <= {p.name for p in run_dir.iterdir()}

    (run_dir / "report.html").unlink()
    rebuilt = runner.invoke(app, ["report", run_dir.name, "--out", str(out)])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert (run_dir / "report.html").exists()

    again = runner.invoke(app, ["run", "--config", str(run_dir / "config.yaml"), "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert "reusing trained weights" in again.output
    second = next(p for p in out.iterdir() if p.is_dir() and p.name[0].isdigit() and p != run_dir)
    compared = runner.invoke(
        app, ["compare", run_dir.name, str(second), "--out", str(out), "--output", str(tmp_path / "c.html")]
    )
    assert compared.exit_code == 0, compared.output
    assert "lora-8" in compared.output and (tmp_path / "c.html").exists()

    finished = runner.invoke(app, ["run", "--resume", run_dir.name, "--out", str(out)])
    assert finished.exit_code != 0 and "is complete" in finished.output


def test_run_and_report_refuse_bad_input_clearly(task_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run"])
    assert result.exit_code != 0 and "give a TASK" in result.output
    result = runner.invoke(app, ["report", "no-such-run", "--out", str(tmp_path)])
    assert result.exit_code != 0 and 'no run "no-such-run"' in result.output
    bad = tmp_path / "config.yaml"
    bad.write_text("task: t\nsizes: [0]\n")
    result = runner.invoke(app, ["run", "--config", str(bad)])
    assert result.exit_code != 0 and f"{bad} line 2: sizes" in result.output.replace("\n", "")
    result = runner.invoke(app, ["run", "--resume", "nope", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "no run store" in result.output


def test_run_help_has_examples() -> None:
    result = runner.invoke(app, ["run", "--help"])
    assert result.exit_code == 0 and "adaptlab run --resume" in result.output


def test_demo_runs_the_demo_ladder_and_ends_with_the_report_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The demo's own run takes ~12 minutes (README); here its wiring: the demo config goes to
    the ladder, and the last line names the report."""
    import adaptlab.cli.run as run_command
    from adaptlab.runs import RunOutcome

    seen = {}

    def fake_run(config: RunConfig, out: Path, **options: Any) -> RunOutcome:
        seen["config"], seen["out"] = config, out
        return RunOutcome("20261128-000000-abcdef", out / "20261128-000000-abcdef", None, None)  # type: ignore[arg-type]

    monkeypatch.setattr(run_command, "run_ladder_and_report", fake_run)
    result = runner.invoke(app, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert seen["config"] == demo_config() and seen["out"] == tmp_path
    unwrapped = result.output.replace("\n", "").rstrip()  # rich wraps at the terminal width
    report = tmp_path / "20261128-000000-abcdef" / "report.html"
    assert unwrapped.endswith(f"open the report: {report}")
