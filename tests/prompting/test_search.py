"""Prompt search chooses among the ladder's own rungs and instruction × demo-set prompts, on dev
only, and never ends below a candidate it scored: scripted backends through the real engine."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from searching import LABELS, calibrated_table, engine_context, label_word_embedder, make_task, split

from adaptlab.data.task import Example, Task
from adaptlab.evaluation.evaluate import evaluate
from adaptlab.prompting import Strategy, StrategyContext, get_strategy
from adaptlab.prompting.search import FINALISTS, SCREEN_EXAMPLES, PromptSearch
from fuzzing import cases

from fakes import LabelTableBackend, ScriptedBackend


@pytest.fixture
def task() -> Task:
    return make_task()


def copies_the_last_demo(prompt: str) -> str:
    """A model that answers with the label of the demo right before the input (none: nothing)."""
    turns = [line for line in prompt.splitlines() if line.startswith("assistant: ")]
    return turns[-1].removeprefix("assistant: ") if turns else ""


class GeneratesOnly(ScriptedBackend):
    """Label scoring always believes "neutral"; generation follows the script."""

    def label_logprobs(self, message: str, candidates: Sequence[str]) -> tuple[float, ...]:
        return tuple(0.0 if c == "neutral" else -5.0 for c in candidates)


def best_known(info: dict) -> float:
    """The best score the search's trace shows for any candidate, on the screen or the whole dev."""
    return max(max(t["screen_score"], t["dev_score"] or 0.0) for t in info["trials"])


def test_similar_demos_win_when_they_are_best_and_the_search_ends_at_their_score(task: Task) -> None:
    backend = GeneratesOnly(copies_the_last_demo, whole_prompt=True)
    search = PromptSearch(generated_instructions=0)
    search.prepare(engine_context(task, backend))
    info = search.describe()
    trials = {t["candidate"]: t for t in info["trials"]}
    assert {"few-shot-knn-2", "few-shot-random-4", "label-scoring-calibrated"} <= set(trials)
    # The old space alone (instructions × random demos, label scored) is stuck at a third.
    old_space = [t for t in info["trials"] if t["kind"] == "prompt" and t["demos"] != "knn"]
    assert max(t["screen_score"] for t in old_space) == pytest.approx(1 / 3, abs=0.05)
    # Two, four or eight similar demos are all perfect: the shortest prompt wins the tie.
    assert info["chosen"] == {"candidate": "few-shot-knn-2", "kind": "rung"}
    assert info["dev_score"] == 1.0 == best_known(info)
    assert info["answer_mode"] == search.answer_mode == "generate"
    assert (info["k"], info["embedder"]) == (2, "words")
    knn = get_strategy("few-shot-knn-2")
    knn.prepare(engine_context(task, backend))
    tests = split(task, "test")
    assert search.render_many(tests, task) == knn.render_many(tests, task)
    assert evaluate(task, tests, backend, search).metrics.score == 1.0


@settings(max_examples=cases(30))
@given(seed=st.integers(0, 10**6), levels=st.sampled_from([3, 5, 11]))
def test_the_chosen_candidate_is_never_below_one_it_scored(seed: int, levels: int) -> None:
    """Scripted score tables (coarse, so ties are common; screen and whole dev drawn apart, so
    screening misleads): the winner is the best finalist, every finalist screened at least as
    well as every candidate screened out, and none screened out scored above the winner."""
    task = make_task()
    rng = random.Random(seed)
    table: dict[tuple[int, int], float] = {}

    def dev_score(strategy: Strategy, dev: Sequence[Example]) -> float:
        return table.setdefault((id(strategy), len(dev)), rng.randrange(levels) / (levels - 1))

    context = StrategyContext(
        task=task,
        train=split(task, "train"),
        dev=split(task, "dev"),
        dev_score=dev_score,
        label_prior=lambda s, inputs: {label: math.log(1 / 3) for label in LABELS},
        embedder=label_word_embedder,
    )
    search = PromptSearch(generated_instructions=0)
    search.prepare(context)
    trials = search.describe()["trials"]
    finalists = [t for t in trials if t["dev_score"] is not None]
    (chosen,) = [t for t in trials if t["chosen"]]
    out = [t for t in trials if t["dev_score"] is None]
    assert len(finalists) >= FINALISTS
    assert chosen["dev_score"] == max(t["dev_score"] for t in finalists)
    assert chosen["prompt_chars"] == min(
        t["prompt_chars"] for t in finalists if t["dev_score"] == chosen["dev_score"]
    )
    assert all(t["screen_score"] <= chosen["dev_score"] for t in out)
    assert all(t["screen_score"] <= min(f["screen_score"] for f in finalists) for t in out)


def test_a_calibrated_label_scoring_winner_answers_as_calibrated_label_scoring(task: Task) -> None:
    backend = LabelTableBackend(calibrated_table)  # generation answers nothing at all
    context = engine_context(task, backend)
    search = PromptSearch(generated_instructions=0)
    search.prepare(context)
    info = search.describe()
    assert info["chosen"] == {"candidate": "label-scoring-calibrated", "kind": "rung"}
    assert info["strategy"] == "search" and search.answer_mode == info["answer_mode"] == "score"
    assert info["calibration"]["prior"] == pytest.approx({"negative": 0.2, "neutral": 0.1, "positive": 0.7})
    assert search.prepared_per_model
    calibrated = get_strategy("label-scoring-calibrated")
    calibrated.prepare(context)
    assert search.calibration_prior() == calibrated.calibration_prior()
    tests = split(task, "test")
    searched = evaluate(task, tests, backend, search, consistency_sample=6)
    direct = evaluate(task, tests, backend, calibrated, consistency_sample=6)
    assert [p.parsed for p in searched.predictions] == [p.parsed for p in direct.predictions]
    assert searched.metrics.score == 1.0 and searched.metrics.consistency == direct.metrics.consistency
    assert searched.strategy["mode"] == "score"


def test_without_an_embedder_there_are_no_similar_demos_and_the_trace_says_why(task: Task) -> None:
    search = PromptSearch(generated_instructions=0)
    search.prepare(engine_context(task, ScriptedBackend(lambda text: "neutral"), embedder=False))
    info = search.describe()
    assert not [t for t in info["trials"] if "knn" in t["candidate"] or t.get("demos") == "knn"]
    assert {
        "candidates": "similar (kNN) demos",
        "reason": "no sentence embedder was given to the search",
    } in info["left_out"]


def test_the_candidate_space_is_bounded_and_drops_repeats(task: Task) -> None:
    written = itertools.count(1)

    def answer(text: str) -> str:
        return (
            f"Decide the feeling of the tweet, take {next(written)}." if "Write one sentence" in text else "x"
        )

    backend = ScriptedBackend(answer)
    search = PromptSearch()
    search.prepare(engine_context(task, backend))
    info = search.describe()
    assert len(info["trials"]) == 28  # 9 rungs + 5 instructions × 4 demo sets, less one repeat
    assert len({t["candidate"] for t in info["trials"]}) == 28
    # The task's instruction without demos, label scored, is label-scoring itself.
    assert {
        "candidates": "instruction 1 (task) + no demos",
        "reason": "asks exactly what label-scoring asks",
    } in info["left_out"]
    assert info["screen_examples"] == SCREEN_EXAMPLES and info["dev_examples"] == 60


def test_small_train_splits_bound_the_shot_counts(task: Task) -> None:
    context = engine_context(task, ScriptedBackend(lambda text: "neutral"))
    context.train = context.train[:3]
    search = PromptSearch(generated_instructions=0)
    search.prepare(context)
    names = {t["candidate"] for t in search.describe()["trials"]}
    assert {"few-shot-random-2", "few-shot-knn-2"} <= names
    assert not {"few-shot-random-4", "few-shot-knn-8"} & names


def test_a_search_is_prepared_again_on_other_weights_as_the_same_choice(task: Task) -> None:
    """A hybrid reuses the searched prompt on tuned weights: the calibrated winner measures its
    prior on them, without a second search."""
    context = engine_context(task, LabelTableBackend(calibrated_table))
    search = PromptSearch(generated_instructions=0)
    search.prepare(context)
    assert search.chosen().label == "label-scoring-calibrated"
    uniform = LabelTableBackend(lambda message: dict.fromkeys(LABELS, 1 / 3))
    again = search.fresh()
    again.prepare(
        StrategyContext(task=task, train=context.train, label_prior=engine_context(task, uniform).label_prior)
    )
    assert again.chosen().label == "label-scoring-calibrated"
    assert again.calibration_prior() == pytest.approx(dict.fromkeys(LABELS, math.log(1 / 3)))
    assert search.calibration_prior() != again.calibration_prior()
