"""`adaptlab run` with several models: one run per model on the same test examples, a teacher
behind an endpoint labelling the training inputs of two tiny local models, the decision across
models, resume after a kill, and the errors given before anything loads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.configs import RunConfig
from adaptlab.errors import UsageError
from adaptlab.multi_model import ModelsListener, run_models
from adaptlab.store import DB_FILENAME, Store
from fake_openai_server import FakeOpenAIServer, serve
from sample_tasks import SENTIMENT_EXAMPLES, write_sentiment_task

runner = CliRunner()
FAST = ["--consistency-sample", "0", "--robustness-sample", "0", "--demo-seeds", "1", "--epochs", "1"]


@pytest.fixture
def task_file(tmp_path: Path) -> Path:
    return write_sentiment_task(tmp_path / "tweets.jsonl", repeat=4)


@pytest.fixture(scope="module")
def smaller_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second tiny model, smaller than `tiny_model_dir`: the run must tell them apart."""
    from tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("smaller-model"), layers=1, hidden=16, seed=1)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with serve(FakeOpenAIServer(dict(SENTIMENT_EXAMPLES))) as running:
        yield running


@pytest.fixture
def unlabeled_file(tmp_path: Path) -> Path:
    """Inputs like the task's, none the same as one (a teacher answers them by their known part)."""
    rows = [{"input": f"well, {text} today"} for text, _ in SENTIMENT_EXAMPLES]
    rows.append({"messages": [{"role": "user", "content": "honestly the crew was lovely"}]})
    path = tmp_path / "more.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def model_runs(out: Path, parent: dict) -> list[dict]:
    return [json.loads((out / m["run_id"] / "results.json").read_text()) for m in parent["models"]]


def test_two_local_models_and_an_endpoint_teacher_in_one_run(
    task_file: Path,
    tiny_model_dir: Path,
    smaller_model_dir: Path,
    server: FakeOpenAIServer,
    unlabeled_file: Path,
    tmp_path: Path,
) -> None:
    out = tmp_path / "runs"
    args = ["run", str(task_file), "--model", str(tiny_model_dir), "--model", str(smaller_model_dir)]
    args += ["--model", "openai:fake", "--base-url", server.base_url, "--teacher", "openai:fake"]
    args += ["--unlabeled", str(unlabeled_file), "-s", "zero-shot,few-shot-random-4", "--sizes", "4,24"]
    args += ["--limit", "9", "--machine-usd-per-hour", "2.0", "--target", "0.5", "--out", str(out), *FAST]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output

    (parent_dir,) = [p for p in out.iterdir() if (p / "results.json").is_file() and p.name.count("-") == 2]
    parent = json.loads((parent_dir / "results.json").read_text())
    assert [m["spec"] for m in parent["models"]] == [
        str(tiny_model_dir),
        str(smaller_model_dir),
        "openai:fake",
    ]
    assert [m["run_id"] for m in parent["models"]] == [f"{parent['run_id']}-{i}" for i in (1, 2, 3)]
    runs = model_runs(out, parent)
    printed = " ".join(result.output.split())
    assert f"model run {parent['run_id']}-1, part of run {parent['run_id']}" in printed
    assert f"adaptlab run --resume {parent['run_id']} --out" in printed  # the whole run resumes

    # The same test examples for every model, and the same dev sample chose their winners.
    test_ids = [sorted(p["example_id"] for p in run["rungs"][0]["predictions"]) for run in runs]
    assert test_ids[0] == test_ids[1] == test_ids[2] and len(test_ids[0]) == 9
    assert len({json.dumps(run["task"]["split"]) for run in runs}) == 1

    # The endpoint climbs the prompt rungs only; each local model its gold curve and a student's.
    endpoint = runs[2]
    assert {r["kind"] for r in endpoint["rungs"]} == {"prompt"}
    teacher = parent["teacher"]
    assert teacher["spec"] == "openai:fake" and teacher["rung"] in {"zero-shot", "few-shot-random-4"}
    assert teacher["chosen_on"] == "dev"
    assert teacher["unlabeled_given"] == 10 and teacher["unlabeled_dropped"] == []
    # The 20 train examples, then 4 of the 10 unlabeled inputs: as many as the largest size (24).
    assert (teacher["examples"], teacher["train_examples"], teacher["unlabeled"]) == (24, 20, 4)
    assert teacher["answered"] == 24
    for run in runs[:2]:
        rungs = {r["rung"]: r for r in run["rungs"]}
        assert rungs["lora-4"]["training"]["targets"] == "gold"
        assert "lora-24" not in rungs and "lora-20" in rungs  # gold labels end with the train split
        student = rungs["teacher-lora-24"]
        assert student["kind"] == "distilled"
        assert student["training"]["targets"] == f"teacher:openai:fake:{teacher['rung']}"
        assert student["training"]["teacher"] == {"model": "openai:fake", "rung": teacher["rung"]}
        assert student["metrics"]["n"] == 9

    # The decision across models, and the report with its frontier.
    decision = parent["decision"]
    assert decision["headline"][:40] in " ".join(result.output.split())
    assert decision["target"]["score"] == 0.5 and decision["target"]["source"] == "given"
    assert (parent_dir / "report.html").stat().st_size > 10_000
    assert f"report: {parent_dir / 'report.html'}" in result.output.replace("\n", "")

    # A model's own run is an ordinary run: compare works on two of them; export names them.
    compared = runner.invoke(
        app,
        [
            "compare",
            runs[0]["run_id"],
            runs[1]["run_id"],
            "--out",
            str(out),
            "--output",
            str(tmp_path / "c.html"),
        ],
    )
    assert compared.exit_code == 0, compared.output
    (parent_dir / "report.html").unlink()
    rebuilt = runner.invoke(
        app, ["report", parent["run_id"], "--out", str(out), "--machine-usd-per-hour", "9"]
    )
    assert rebuilt.exit_code == 0, rebuilt.output
    assert (parent_dir / "report.html").is_file()
    assert json.loads((parent_dir / "results.json").read_text()) == parent  # the stored run is kept
    exported = runner.invoke(app, ["export", parent["run_id"], "--out", str(out)])
    assert exported.exit_code != 0 and "compared several models" in exported.output
    assert parent["models"][0]["run_id"] in exported.output


class Crash(RuntimeError):
    pass


def test_a_killed_run_of_several_models_resumes_reusing_the_finished_model(
    task_file: Path, tiny_model_dir: Path, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    config = RunConfig(
        task=str(task_file),
        models=["openai:fake", str(tiny_model_dir)],
        base_url=server.base_url,
        strategies=["zero-shot"],
        sizes=[4],
        epochs=1,
        limit=9,
        consistency_sample=0,
        robustness_sample=0,
        hybrid=False,
        distill=False,
    )
    out = tmp_path / "runs"

    class CrashInTheSecondModel(ModelsListener):
        model = 0

        def model_started(self, spec: str, position: int, total: int, run_id: str) -> None:
            self.model = position

        def rung_finished(self, result) -> None:
            if self.model == 2:
                raise Crash

    with pytest.raises(Crash):
        run_models(config, out_dir=out, listener=CrashInTheSecondModel())
    with Store.open(out / DB_FILENAME) as store:
        statuses = {run["id"]: run["status"] for run in store.list_runs()}
    parent_id = min(statuses, key=len)
    assert statuses == {parent_id: "failed", f"{parent_id}-1": "complete", f"{parent_id}-2": "failed"}
    asked = len(server.asked)

    outcome = run_models(config, out_dir=out, resume=parent_id)
    assert outcome.run_id == parent_id
    assert len(server.asked) == asked  # the endpoint's finished run was read back, not asked again
    assert outcome.runs[0][1] is None and outcome.runs[1][1] is not None
    with Store.open(out / DB_FILENAME) as store:
        assert {run["id"]: run["status"] for run in store.list_runs()} == dict.fromkeys(statuses, "complete")
    assert (out / parent_id / "results.json").is_file()


def test_bad_model_lists_fail_before_anything_loads(
    task_file: Path, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "runs"
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)

    def run(*extra: str, endpoint: bool = True) -> str:
        url = (
            ["--base-url", "http://127.0.0.1:9/v1"] if endpoint and any("openai:" in e for e in extra) else []
        )
        result = runner.invoke(app, ["run", str(task_file), *extra, *url, "--out", str(out)])
        assert result.exit_code != 0
        return " ".join(result.output.split())

    assert "neither a bundled model" in run("--model", str(tiny_model_dir), "--model", "no-such-model")
    assert "more than once" in run("--model", str(tiny_model_dir), "--model", str(tiny_model_dir))
    assert "must be one of the --model models" in run(
        "--model", str(tiny_model_dir), "--model", "openai:x", "--teacher", "openai:y"
    )
    assert "needs the server's address" in run(
        "--model", str(tiny_model_dir), "--model", "openai:x", endpoint=False
    )
    assert "has no student" in run("--model", "openai:a", "--model", "openai:b", "--teacher", "openai:a")
    assert "is for several models" in run("--model", str(tiny_model_dir), "--teacher", str(tiny_model_dir))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": "fine"}\n{"text": "no input field"}\n')
    message = run(
        "--model",
        "openai:a",
        "--model",
        str(tiny_model_dir),
        "--teacher",
        "openai:a",
        "--unlabeled",
        str(bad),
    )
    assert f"{bad} line 2" in message and 'field "input" is missing' in message
    assert not out.exists() or not any(out.iterdir())


def test_the_same_weights_under_two_names_are_refused(task_file: Path, tiny_model_dir: Path) -> None:
    config = RunConfig(task=str(task_file), models=[str(tiny_model_dir), f"{tiny_model_dir}/"])
    with pytest.raises(UsageError, match="are the same model"):
        run_models(config, out_dir=tiny_model_dir.parent / "never")


def test_the_teacher_is_one_of_the_models_with_an_optional_rung(
    task_file: Path, tiny_model_dir: Path
) -> None:
    from adaptlab.data import load_task
    from adaptlab.multi_model import TeacherChoice, parse_teacher

    task = load_task(str(task_file))
    local = str(tiny_model_dir)

    def teacher(given: str) -> TeacherChoice:
        return parse_teacher(
            RunConfig(task=str(task_file), models=["openai:gpt-4o", local], teacher=given), task
        )

    assert teacher("openai:gpt-4o") == TeacherChoice("openai:gpt-4o", None)
    assert teacher("openai:gpt-4o:few-shot-knn-4") == TeacherChoice("openai:gpt-4o", "few-shot-knn-4")
    with pytest.raises(UsageError, match="name one prompt rung"):
        teacher("openai:gpt-4o:few-shot-knn")  # a family, not one rung
    with pytest.raises(UsageError, match="few-shot-magic"):
        teacher("openai:gpt-4o:few-shot-magic")
    with pytest.raises(UsageError, match="has no student"):
        parse_teacher(
            RunConfig(task=str(task_file), models=["openai:a", "openai:b"], teacher="openai:b"), task
        )


def test_unlabeled_inputs_that_repeat_a_measured_input_are_left_out(task_file: Path, tmp_path: Path) -> None:
    from adaptlab.data import load_task, split_task
    from adaptlab.data.unlabeled import load_unlabeled
    from adaptlab.multi_model import teacher_pool

    split = split_task(load_task(str(task_file)))
    tested = split.test[0].input
    path = tmp_path / "more.jsonl"
    path.write_text(
        json.dumps({"input": f"  {tested.upper()} "}) + "\n" + json.dumps({"input": "brand new"}) + "\n"
    )
    config = RunConfig(task=str(task_file), models=["openai:a", "b"], sizes=[4, 100])
    pool, dropped = teacher_pool(config, split, load_unlabeled(path))
    assert [e.input for e in pool[len(split.train) :]] == ["brand new"]
    (left_out,) = dropped
    twins = {e.source for e in (*split.dev, *split.test) if e.input == tested}
    assert left_out["source"] == f"{path} line 1" and left_out["same_as"] in twins
    assert len(pool) == len(split.train) + 1

    small = RunConfig(task=str(task_file), models=["openai:a", "b"], sizes=[4, 8])
    assert len(teacher_pool(small, split, load_unlabeled(path))[0]) == 8  # the largest size


def test_each_model_gets_an_even_share_of_what_is_left_of_the_budget(task_file: Path) -> None:
    from adaptlab.multi_model import budget_share

    config = RunConfig(
        task=str(task_file), models=["openai:a", "openai:b", "openai:c"], budget_tokens=900, budget_usd=3.0
    )
    first = budget_share(config, config.for_model("openai:a"), {}, 0.0, 1)
    assert (first.budget_tokens, first.budget_usd) == (300, 1.0)
    finished = {"openai:a": (None, {"budget": {"spent": {"tokens": 100, "usd": 0.5}}})}
    second = budget_share(config, config.for_model("openai:b"), finished, 0.0, 2)
    assert (second.budget_tokens, second.budget_usd) == (400, 1.25)  # a's unspent share passes on
