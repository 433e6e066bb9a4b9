"""`adaptlab run` chooses on dev and confirms on test: every rung carries its dev score, a
hopeless prompt rung is pruned after the dev screen (never asked on test, never probed), and
the budget keeps a share for the learning curve."""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from adaptlab.configs import RunConfig
from adaptlab.data import load_task, split_task
from adaptlab.ladder import LadderListener, run_ladder
from adaptlab.selection import Selection
from sample_tasks import SENTIMENT_EXAMPLES

from fakes import ScriptedBackend

GOLD = dict(SENTIMENT_EXAMPLES)
TERSE = "neutral or positive?"
"""What only instruction-terse's prompt says: the scripted model answers it nonsense."""


def knows_the_answer(text: str) -> str:
    return next((label for words, label in GOLD.items() if words in text), "neutral")


def hopeless_when_terse(text: str) -> str:
    return "banana" if TERSE in text else knows_the_answer(text)


def write_distinct_task(path: Path, repeat: int) -> Path:
    """`repeat` numbered cases of each sentiment example: every input distinct."""
    rows = [
        {"id": f"r{i}", "input": f"{text} (case {i})", "output": label}
        for i, (text, label) in enumerate(SENTIMENT_EXAMPLES * repeat)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture()
def task_file(tmp_path: Path) -> Path:
    """90 distinct inputs."""
    return write_distinct_task(tmp_path / "tweets.jsonl", repeat=10)


def test_a_hopeless_rung_is_pruned_on_the_dev_screen_and_never_reaches_test(
    task_file: Path, tmp_path: Path
) -> None:
    backend = ScriptedBackend(hopeless_when_terse)
    config = RunConfig(
        task=str(task_file), strategies=["zero-shot", "instruction-terse", "instruction-role"], tune=False
    )
    outcome = run_ladder(config, out_dir=tmp_path / "runs", backend_factory=lambda *a, **k: backend)

    results = json.loads((outcome.directory / "results.json").read_text())
    assert [rung["rung"] for rung in results["rungs"]] == ["zero-shot", "instruction-role"]
    (pruned,) = results["selection"]["pruned"]
    assert pruned["rung"] == "instruction-terse" and pruned["score"] == 0.0 and pruned["best_score"] == 1.0
    assert pruned["gain_high"] < 0
    reason = next(entry["reason"] for entry in results["skipped"] if entry.get("rung") == "instruction-terse")
    assert reason.startswith(
        f"pruned after {pruned['examples']} dev examples: 0.0% against zero-shot's 100.0%"
    )
    assert reason in html.unescape((outcome.directory / "report.html").read_text())
    # Every kept rung carries its dev score, on the whole selection sample.
    split = split_task(load_task(task_file), fractions=config.fractions, seed=config.seed)
    for rung in results["rungs"]:
        assert rung["selection"] == rung["selection"] | {"split": "dev", "n": len(split.dev), "score": 1.0}
    assert results["selection"]["examples"] == len(split.dev)
    # The pruned rung was asked the dev screen only: no test input, no probe.
    dev_inputs = {example.input for example in split.dev}
    terse_prompts = [text for text in backend.seen if TERSE in text]
    assert terse_prompts
    assert all(any(text.startswith(words) for words in dev_inputs) for text in terse_prompts)


def test_without_a_dev_sample_the_run_chooses_on_test_and_says_so(task_file: Path, tmp_path: Path) -> None:
    backend = ScriptedBackend(hopeless_when_terse)
    config = RunConfig(
        task=str(task_file),
        strategies=["zero-shot", "instruction-terse"],
        tune=False,
        selection_examples=0,
    )
    outcome = run_ladder(config, out_dir=tmp_path / "runs", backend_factory=lambda *a, **k: backend)
    results = json.loads((outcome.directory / "results.json").read_text())
    assert [rung["rung"] for rung in results["rungs"]] == ["zero-shot", "instruction-terse"]
    assert all(rung["selection"] is None for rung in results["rungs"])
    assert "selection" not in results
    assert "same test examples their figures come from" in results["decision"]["selection"]


def test_probes_go_to_the_contenders_only(task_file: Path, tmp_path: Path) -> None:
    config = RunConfig(
        task=str(task_file),
        strategies=["zero-shot", "instruction-terse"],
        tune=False,
        screen_examples=2,
        consistency_sample=4,
    )
    split = split_task(load_task(task_file), fractions=config.fractions, seed=config.seed)
    selection = Selection.for_run(config, split, len(split.test))
    assert selection is not None and len(selection.examples) > 4
    screen = {example.input for example in selection.screen}

    def right_on_the_screen_only(text: str) -> str:
        if TERSE in text and not any(text.startswith(words) for words in screen):
            return "banana"
        return knows_the_answer(text)

    backend = ScriptedBackend(right_on_the_screen_only)
    outcome = run_ladder(config, out_dir=tmp_path / "runs", backend_factory=lambda *a, **k: backend)
    zero_shot, terse = outcome.results
    assert zero_shot.selection is not None and zero_shot.selection["score"] == 1.0
    assert zero_shot.metrics.consistency is not None and zero_shot.metrics.injection_success is not None
    # Survived the screen (right on both), then worse than zero-shot beyond the interval on
    # the whole dev sample: measured on test, but not probed.
    assert terse.rung == "instruction-terse"
    assert terse.selection is not None and terse.selection["score"] == 2 / len(selection.examples)
    assert terse.metrics.consistency is None and terse.metrics.injection_success is None


class Clock:
    """The budget's clock, advanced ten seconds per evaluation (test or dev) a rung starts."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("tuning_share", [0.5, 0.0])
def test_the_budget_keeps_a_share_for_the_learning_curve(
    task_file: Path,
    tmp_path: Path,
    tiny_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tuning_share: float,
) -> None:
    clock = Clock()
    monkeypatch.setattr("adaptlab.budget.time", SimpleNamespace(monotonic=clock))

    class Ticking(LadderListener):
        def __init__(self) -> None:
            self.skips: dict[str, str] = {}

        def rung_started(self, rung: str, total: int) -> None:
            clock.now += 10

        def skipped(self, what: str, reason: str) -> None:
            self.skips[what] = reason

    rungs = [
        "zero-shot",
        "instruction-terse",
        "instruction-role",
        "instruction-detailed",
        "few-shot-random-2",
    ]
    config = RunConfig(
        task=str(task_file),
        model=str(tiny_model_dir),
        strategies=rungs,
        sizes=[4],
        epochs=1,
        consistency_sample=0,
        robustness_sample=0,
        forgetting=False,
        hybrid=False,
        distill=False,
        budget_minutes=2,
        tuning_share=tuning_share,
    )
    listener = Ticking()
    outcome = run_ladder(config, out_dir=tmp_path / "runs", listener=listener)
    tuned = [r.rung for r in outcome.results if r.kind == "tuned"]
    prompt_skips = {what: why for what, why in listener.skips.items() if what in rungs}
    if tuning_share:
        # The prompt rungs stop at a minute, and the curve gets the other one.
        assert prompt_skips and all("kept for the learning curve" in why for why in prompt_skips.values())
        assert tuned == ["lora-4"], listener.skips
    else:
        # Without a share kept, the prompt rungs take the whole budget and no curve is trained.
        assert "fine-tuning" in listener.skips and not tuned


def test_a_budgeted_run_prunes_hopeless_rungs_and_spends_the_time_on_the_curve(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The budget's clock runs one second per request (probes included). On the tiny model the
    four generating rungs answer nothing parsable (0%) and label scoring names a label: on the
    20-example dev screen they are pruned, so of an 8.4-minute budget the prompt rungs take
    about 220 s and the curve gets three sizes (each 80 test and 40 dev requests); chosen on
    test without pruning, the five rungs take 400 s with their probes and the curve gets two."""
    task = write_distinct_task(tmp_path / "tweets.jsonl", repeat=34)
    clock = Clock()
    monkeypatch.setattr("adaptlab.budget.time", SimpleNamespace(monotonic=clock))

    class PerRequest(LadderListener):
        def rung_started(self, rung: str, total: int) -> None:
            clock.now += total

    hopeless = ["zero-shot", "instruction-terse", "instruction-role", "instruction-detailed"]
    config = RunConfig(
        task=str(task),
        model=str(tiny_model_dir),
        strategies=["label-scoring", *hopeless],
        limit=40,
        sizes=[4, 8, 12],
        epochs=1,
        consistency_sample=10,
        robustness_sample=10,
        demo_seeds=1,
        forgetting=False,
        hybrid=False,
        distill=False,
        budget_minutes=8.4,
        tuning_share=0,
    )

    def tuned_sizes(config: RunConfig, out: Path) -> tuple[list[str], dict]:
        clock.now = time.monotonic()
        outcome = run_ladder(config, out_dir=out, listener=PerRequest())
        results = json.loads((outcome.directory / "results.json").read_text())
        return [r.rung for r in outcome.results if r.kind == "tuned"], results

    pruned_curve, results = tuned_sizes(config, tmp_path / "pruned")
    assert [entry["rung"] for entry in results["selection"]["pruned"]] == hopeless
    assert [rung["rung"] for rung in results["rungs"] if rung["kind"] == "prompt"] == ["label-scoring"]
    report = html.unescape((next((tmp_path / "pruned").glob("2*")) / "report.html").read_text())
    reasons = [entry["reason"] for entry in results["selection"]["pruned"]]
    assert all(
        reason.startswith("pruned after 20 dev examples: 0.0%") and reason in report for reason in reasons
    )
    assert pruned_curve == ["lora-4", "lora-8", "lora-12"]

    on_test_curve, _ = tuned_sizes(config.model_copy(update={"selection_examples": 0}), tmp_path / "on-test")
    assert on_test_curve == ["lora-4", "lora-8"]
