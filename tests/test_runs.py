"""Runs of several rungs through `run_eval`, with a scripted backend standing in for a model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adaptlab.configs import EvalConfig
from adaptlab.errors import UsageError
from adaptlab.prompting.search import SCREEN_EXAMPLES
from adaptlab.runs import RunListener, run_eval, rung_names
from adaptlab.store import Store

from fakes import ScriptedBackend, WordEmbedder

LABELS = ("negative", "neutral", "positive")
WORDS = {"negative": "awful delay", "neutral": "boarding time", "positive": "lovely crew"}


def write_task(path: Path, n: int = 60) -> Path:
    rows = [
        {"id": f"r{i}", "input": f"{WORDS[LABELS[i % 3]]} number {i} end", "output": LABELS[i % 3]}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def knows_the_answer(prompt: str) -> str:
    """Answers the last input in the prompt correctly, except for every fourth one."""
    last = prompt.rsplit("number ", 1)
    number = int(last[1].split()[0].strip(".,")) if len(last) == 2 else 0
    for label, words in WORDS.items():
        if words in last[0].rsplit("\n", 1)[-1] or words in last[0][-40:]:
            return label if number % 4 else "neutral"
    return "neutral"


class SnapshotListener(RunListener):
    """Keeps what the backend had been asked when each rung's test evaluation began."""

    def __init__(self, backend: ScriptedBackend) -> None:
        self.backend = backend
        self.seen_before_rung: dict[str, list[str]] = {}

    def rung_started(self, rung: str, total: int) -> None:
        self.seen_before_rung[rung] = list(self.backend.seen)
        return None


def test_rung_names_expand_the_ladder_keyword_and_shot_families() -> None:
    config = EvalConfig(task="t", strategies=["zero-shot", "few-shot-knn", "zero-shot"], shots=[2])
    assert rung_names(config) == ["zero-shot", "few-shot-knn-2"]
    assert len(rung_names(EvalConfig(task="t", strategies=["ladder"]))) == 14


def test_search_chooses_on_dev_and_never_sees_test_inputs(tmp_path: Path) -> None:
    task = write_task(tmp_path / "t.jsonl")
    backend = ScriptedBackend(knows_the_answer)
    listener = SnapshotListener(backend)
    outcome = run_eval(
        EvalConfig(task=str(task), strategies=["search"], consistency_sample=0),
        out_dir=tmp_path / "runs",
        listener=listener,
        backend_factory=lambda *a, **k: backend,
        embedder_factory=lambda: WordEmbedder(" ".join(WORDS.values()).split()),
    )
    test_inputs = {e.input for e in outcome.split.test}
    dev_inputs = {e.input for e in outcome.split.dev}
    seen_while_searching = "\n".join(listener.seen_before_rung["search"])
    assert not [text for text in test_inputs if text in seen_while_searching]
    assert any(text in seen_while_searching for text in dev_inputs)
    info = outcome.results[0].strategy
    assert info["dev_examples"] == len(outcome.split.dev)
    assert len(info["trials"]) >= 6 and sum(t["chosen"] for t in info["trials"]) == 1
    # A dev split no larger than the screen is screened whole: every candidate has its dev score.
    assert len(outcome.split.dev) <= SCREEN_EXAMPLES
    assert info["dev_score"] == max(t["dev_score"] for t in info["trials"])
    assert {"few-shot-knn-4", "label-scoring-calibrated"} <= {t["candidate"] for t in info["trials"]}
    (chosen,) = [t for t in info["trials"] if t["chosen"]]
    assert info["chosen"]["candidate"] == chosen["candidate"]
    assert info["mode"] == info["answer_mode"] == chosen["answer_mode"]


def test_a_ladder_run_records_every_rung_in_results_and_store(tmp_path: Path) -> None:
    task = write_task(tmp_path / "t.jsonl")
    backend = ScriptedBackend(knows_the_answer)
    names = ["zero-shot", "instruction-role", "few-shot-random-2", "cot", "format-json", "label-scoring"]
    outcome = run_eval(
        EvalConfig(task=str(task), strategies=names, consistency_sample=5),
        out_dir=tmp_path / "runs",
        backend_factory=lambda *a, **k: backend,
    )
    results = json.loads((outcome.directory / "results.json").read_text())
    assert [rung["rung"] for rung in results["rungs"]] == names
    for rung in results["rungs"]:
        assert rung["metrics"]["consistency_n"] == 5
        assert 0.0 <= rung["metrics"]["consistency"] <= 1.0
    with Store.open(tmp_path / "runs" / "adaptlab.db") as store:
        assert [r["rung"] for r in store.rung_results(outcome.run_id)] == sorted(names) or len(
            store.rung_results(outcome.run_id)
        ) == len(names)
        assert store.cache_size() > 0


def test_rerunning_a_run_recomputes_nothing(tmp_path: Path) -> None:
    task = write_task(tmp_path / "t.jsonl")
    config = EvalConfig(task=str(task), strategies=["zero-shot", "few-shot-random-2"], consistency_sample=4)
    first = ScriptedBackend(knows_the_answer)
    run_eval(config, out_dir=tmp_path / "runs", backend_factory=lambda *a, **k: first)
    second = ScriptedBackend(knows_the_answer)
    outcome = run_eval(config, out_dir=tmp_path / "runs", backend_factory=lambda *a, **k: second)
    assert second.calls == []
    assert all(r.metrics.cache_hits == r.metrics.n for r in outcome.results)


def test_rungs_the_task_cannot_support_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    free_text = tmp_path / "qa.jsonl"
    free_text.write_text(
        "".join(json.dumps({"input": f"q{i}", "output": f"answer {i}"}) + "\n" for i in range(30))
    )
    with pytest.raises(UsageError, match="label-scoring needs a closed label set"):
        run_eval(EvalConfig(task=str(free_text), strategies=["label-scoring"]), out_dir=tmp_path / "runs")
    task = write_task(tmp_path / "t.jsonl")
    with pytest.raises(UsageError, match="few-shot-random-4 draws on the train split"):
        run_eval(
            EvalConfig(task=str(task), strategies=["few-shot-random"], split="train"), out_dir=tmp_path / "r"
        )
    assert not (tmp_path / "runs").exists() and not (tmp_path / "r").exists()
