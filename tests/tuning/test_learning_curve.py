"""The learning-curve run: sizes, nested stratified training sets, results next to the base
rung, forgetting, weights reused on a re-run, and `adaptlab tune` end to end."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.configs import TuneRunConfig
from adaptlab.data import Example
from adaptlab.errors import UsageError
from adaptlab.learning_curve import (
    curve_sizes,
    documents_rung_name,
    run_tune,
    stratified_order,
    tuned_rung_name,
)
from adaptlab.models.local import LocalBackend
from adaptlab.store import DB_FILENAME, Store
from sample_tasks import write_sentiment_task


@pytest.fixture()
def task_file(tmp_path: Path) -> Path:
    return write_sentiment_task(tmp_path / "tweets.jsonl", repeat=3)


def test_curve_sizes_cap_at_the_train_split() -> None:
    assert curve_sizes([25, 50, 100, 200], 120) == [25, 50, 100, 120]
    assert curve_sizes([400, 800], 120) == [120]
    assert curve_sizes([5], 0) == []


def test_rung_names_say_mode_size_training_prompt_and_distillation() -> None:
    assert tuned_rung_name(TuneRunConfig(task="t"), 100, "zero-shot") == "lora-100"
    assert tuned_rung_name(TuneRunConfig(task="t", mode="full"), 50, "cot") == "full-50@cot"
    assert tuned_rung_name(TuneRunConfig(task="t", distill="cot"), 8, "zero-shot") == "distill-lora-8"
    docs = TuneRunConfig(task="t")
    assert documents_rung_name(docs, 426) == "docs-lora-426"
    assert documents_rung_name(docs, 426, 64) == "docs-qa-lora-64"
    assert documents_rung_name(docs, 426, 64, then=True) == "docs-then-qa-lora-64"
    assert (
        documents_rung_name(TuneRunConfig(task="t", mode="full"), 426, 64, then=True)
        == "docs-then-qa-full-64"
    )


def test_training_order_keeps_the_label_mix_in_every_prefix() -> None:
    pool = [Example(id=str(i), input=f"x{i}", output="a" if i % 3 else "b") for i in range(60)]
    ordered = stratified_order(pool, seed=1)
    assert sorted(e.id for e in ordered) == sorted(e.id for e in pool)
    for size in (6, 12, 30):
        counts = Counter(e.output for e in ordered[:size])
        assert abs(counts["b"] - size / 3) <= 1
    assert stratified_order(pool, seed=1) == ordered
    assert stratified_order(pool, seed=2) != ordered


def test_config_refuses_bad_sizes_and_several_prompts(task_file: Path, tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError):
        TuneRunConfig(task=str(task_file), sizes=[0, 5])
    config = TuneRunConfig(task=str(task_file), model=str(tiny_model_dir), strategies=["zero-shot", "cot"])
    with pytest.raises(UsageError, match="one prompt strategy"):
        run_tune(config, out_dir=Path("unused"))


def test_run_tune_records_each_size_next_to_the_base_rung(
    task_file: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    config = TuneRunConfig(
        task=str(task_file),
        model=str(tiny_model_dir),
        sizes=[4, 8, 1000],
        epochs=1,
        train_batch_size=4,
        consistency_sample=2,
        max_new_tokens=3,
    )

    def factory(spec: str, **options: object) -> LocalBackend:
        return LocalBackend(Path(spec), model_id="tiny", fingerprint="t0", **options)  # type: ignore[arg-type]

    out = tmp_path / "runs"
    outcome = run_tune(config, out_dir=out, backend_factory=factory)
    names = [r.rung for r in outcome.results]
    train_size = len(outcome.split.train)
    assert names == ["zero-shot", "lora-4", "lora-8", f"lora-{train_size}"]
    base, *tuned = outcome.results
    assert base.training is None and base.forgetting is None
    for result, size in zip(tuned, [4, 8, train_size], strict=True):
        assert result.training["examples"] == size
        assert result.training["reused"] is False
        assert result.training["tokens"] > 0 and result.training["wall_time_s"] > 0
        assert result.forgetting["n"] == 60
        assert result.model["adapter"]["id"] == result.training["key"]
        assert result.metrics.n == len(outcome.examples)

    payload = json.loads((outcome.directory / "results.json").read_text())
    assert payload["command"] == "tune" and payload["schema_version"] == 6
    assert payload["rungs"][1]["training"]["examples"] == 4
    with Store.open(out / DB_FILENAME) as store:
        stored = store.rung_results(outcome.run_id)
    assert [r["rung"] for r in stored] == names
    assert stored[1]["training"]["key"] == tuned[0].training["key"]

    again = run_tune(config, out_dir=out, backend_factory=factory)
    assert all(r.training["reused"] for r in again.results[1:])
    assert [r.metrics.score for r in again.results] == [r.metrics.score for r in outcome.results]


def test_hybrid_and_distilled_rungs(task_file: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    """Hybrid: the largest tuned model asked with another prompt. Distillation: the student is
    trained on the teacher prompt's answers, and the teacher rung is measured for comparison."""
    common = dict(task=str(task_file), model=str(tiny_model_dir), epochs=1, train_batch_size=4)
    common |= dict(consistency_sample=0, forgetting=False, max_new_tokens=3)

    def factory(spec: str, **options: object) -> LocalBackend:
        return LocalBackend(Path(spec), model_id="tiny", fingerprint="t0", **options)  # type: ignore[arg-type]

    hybrid = run_tune(
        TuneRunConfig(**common, sizes=[4, 8], hybrid=["label-scoring"]),
        out_dir=tmp_path,
        backend_factory=factory,
    )
    assert [r.rung for r in hybrid.results] == ["zero-shot", "lora-4", "lora-8", "lora-8+label-scoring"]
    assert hybrid.results[3].training["key"] == hybrid.results[2].training["key"]
    assert hybrid.results[3].strategy["answer_mode"] == "score"

    distilled = run_tune(
        TuneRunConfig(**common, sizes=[6], distill="label-scoring"), out_dir=tmp_path, backend_factory=factory
    )
    assert [r.rung for r in distilled.results] == ["zero-shot", "label-scoring", "distill-lora-6"]
    student = distilled.results[2]
    assert student.training["targets"] == "teacher:label-scoring"
    assert distilled.results[1].training is None  # the teacher is the untuned model


def test_teacher_answers_are_parsed_and_failures_left_out(task_file: Path, tmp_path: Path) -> None:
    from adaptlab.data import load_task, split_task
    from adaptlab.learning_curve import TuneListener, Tuner
    from adaptlab.runs import RunOutcome

    from fakes import ScriptedBackend

    task = load_task(str(task_file))
    outcome = RunOutcome("run", tmp_path / "run", task, split_task(task))

    def tuner(teacher: ScriptedBackend, **settings: str) -> Tuner:
        config = TuneRunConfig(task=str(task_file), **settings)
        return Tuner(config, outcome, teacher, tmp_path, None, TuneListener())  # type: ignore[arg-type]

    teacher = ScriptedBackend(lambda text: "Positive." if "crew" in text else "no idea")
    distilling = tuner(teacher, distill="zero-shot")
    answers = distilling.teacher_answers(12)
    assert answers == {e.id: "positive" for e in distilling.ordered[:12] if "crew" in e.input}
    assert answers
    assert tuner(teacher).teacher_answers(12) is None
    silent = ScriptedBackend(lambda text: "no idea")
    with pytest.raises(UsageError, match="nothing to distil"):
        tuner(silent, distill="zero-shot").teacher_answers(12)


def test_unknown_hybrid_prompt_fails_before_loading(task_file: Path) -> None:
    config = TuneRunConfig(task=str(task_file), model="no-such-model", hybrid=["few-shot-magic"])
    with pytest.raises(UsageError, match="few-shot-magic"):
        run_tune(config, out_dir=Path("unused"))


runner = CliRunner()


def test_tune_command_end_to_end(task_file: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    args = ["tune", str(task_file), "--model", str(tiny_model_dir), "--sizes", "4,8", "--epochs", "1"]
    args += ["--train-batch-size", "4", "--consistency-sample", "0", "--no-forgetting", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "lora-4" in result.output and "lora-8" in result.output
    (run_dir,) = [p for p in out.iterdir() if p.is_dir() and p.name[0].isdigit()]
    payload = json.loads((run_dir / "results.json").read_text())
    assert [r["rung"] for r in payload["rungs"]] == ["zero-shot", "lora-4", "lora-8"]
    assert payload["rungs"][2]["forgetting"] is None
    assert len(list((out / "adapters").glob("*/manifest.json"))) == 2


def test_tune_command_rejects_bad_options(task_file: Path) -> None:
    result = runner.invoke(app, ["tune", str(task_file), "--sizes", "10,x"])
    assert result.exit_code != 0 and "--sizes" in result.output
    result = runner.invoke(app, ["tune", str(task_file), "--mode", "qlora"])
    assert result.exit_code != 0 and "--mode" in result.output


def test_tune_help_has_examples() -> None:
    result = runner.invoke(app, ["tune", "--help"])
    assert result.exit_code == 0
    assert "adaptlab tune tweet-sentiment --sizes 25,50,100" in result.output


def test_dev_loss_rows_keep_the_label_mix(
    task_file: Path, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A split's first dev rows can all share a label; early stopping must watch a mixed sample."""
    import adaptlab.learning_curve as curve

    seen: list[list[tuple[int, ...]]] = []
    real_finetune = curve.finetune

    def spy(base_dir, rows, dev_rows, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append([row.completion_ids for row in dev_rows])
        return real_finetune(base_dir, rows, dev_rows, *args, **kwargs)

    monkeypatch.setattr(curve, "finetune", spy)
    monkeypatch.setattr(curve, "DEV_LOSS_EXAMPLES", 3)
    config = TuneRunConfig(
        task=str(task_file),
        model=str(tiny_model_dir),
        sizes=[4],
        epochs=1,
        consistency_sample=0,
        forgetting=False,
    )
    config = config.model_copy(update={"fractions": (0.4, 0.3, 0.3), "max_new_tokens": 2})
    run_tune(config, out_dir=tmp_path)
    (dev_answers,) = seen
    assert len(dev_answers) == 3 and len(set(dev_answers)) == 3  # a sample of 3: one per label
