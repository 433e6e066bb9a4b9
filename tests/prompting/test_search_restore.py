"""A finished prompt search restored from what it recorded, as `adaptlab serve` rebuilds it:
the candidate it chose, prepared alone, never a second search."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import pytest
from searching import LABELS, calibrated_table, engine_context, make_task, split

from adaptlab.data.task import Example, Task
from adaptlab.errors import UsageError
from adaptlab.prompting import Strategy
from adaptlab.prompting.candidates import InstructedPrompt
from adaptlab.prompting.search import PromptSearch

from fakes import LabelTableBackend


@pytest.fixture
def task() -> Task:
    return make_task()


def chosen_by_rule(rule: Callable[[Strategy], bool]) -> Callable[[Strategy, Sequence[Example]], float]:
    """A dev scorer under which the candidates `rule` picks are the best."""
    return lambda strategy, dev: 1.0 if rule(strategy) else 0.0


@pytest.mark.parametrize(
    "rule",
    [
        lambda s: s.name == "few-shot-knn-4",
        lambda s: s.name == "label-scoring-calibrated",
        lambda s: isinstance(s, InstructedPrompt) and s.knn > 0 and s.origin == "template",
        lambda s: isinstance(s, InstructedPrompt) and len(s.demos) > 0,
    ],
    ids=["knn-rung", "calibrated-rung", "prompt-knn", "prompt-random"],
)
def test_every_kind_of_winner_is_restored_from_its_record(
    task: Task, rule: Callable[[Strategy], bool]
) -> None:
    backend = LabelTableBackend(calibrated_table)
    context = engine_context(task, backend)
    context.dev_score = chosen_by_rule(rule)
    search = PromptSearch(generated_instructions=0)
    search.prepare(context)
    assert rule(search.chosen().strategy)
    recorded = json.loads(json.dumps(search.describe()))
    restored = PromptSearch.restored(recorded, split(task, "train"))
    again = engine_context(task, backend)
    again.dev_score = None  # preparing must not search again
    restored.prepare(again)
    tests = split(task, "test")
    assert restored.render_many(tests, task) == search.render_many(tests, task)
    assert restored.answer_mode == search.answer_mode
    assert restored.calibration_prior() == search.calibration_prior()
    assert restored.describe() == search.describe()


def test_a_search_whose_demos_left_the_train_split_is_refused(task: Task) -> None:
    context = engine_context(task, LabelTableBackend(calibrated_table))
    context.dev_score = chosen_by_rule(lambda s: isinstance(s, InstructedPrompt) and len(s.demos) > 0)
    search = PromptSearch(generated_instructions=0)
    search.prepare(context)
    with pytest.raises(UsageError, match="not in the train split"):
        PromptSearch.restored(search.describe(), split(task, "train")[:1])


def test_a_search_recorded_before_rungs_were_candidates_is_restored(task: Task) -> None:
    """Runs made by an earlier adaptlab recorded an instruction prompt and its trials only."""
    train = split(task, "train")
    recorded = {
        "strategy": "search",
        "answer_mode": "score",
        "instruction": "Decide which label fits the input best: negative, neutral or positive.",
        "origin": "template",
        "demo_ids": ["train0", "train4"],
        "dev_examples": 60,
        "trials": [
            {
                "instruction": "x",
                "origin": "task",
                "demo_ids": [],
                "screen_score": 0.5,
                "dev_score": 0.5,
                "chosen": True,
            }
        ],
    }
    restored = PromptSearch.restored(recorded, train)
    restored.prepare(engine_context(task, LabelTableBackend(calibrated_table)))
    query = split(task, "test")[0]
    messages = restored.render(query, task)
    assert [m["content"] for m in messages if m["role"] == "assistant"] == ["negative", LABELS[1]]
    assert restored.answer_mode == "score"
    assert restored.describe()["trials"][0]["instruction"] == "x"
