"""A finished prompt search restored from what it recorded, as `adaptlab serve` rebuilds it."""

from __future__ import annotations

import json

import pytest

from adaptlab.data.task import Task
from adaptlab.errors import UsageError
from adaptlab.prompting import StrategyContext
from adaptlab.prompting.search import PromptSearch


def test_a_search_rung_is_restored_from_what_it_recorded(task: Task) -> None:
    """Serving a search rung asks the prompt the search chose, without searching again."""
    train = [e for e in task.examples if e.split == "train"]
    dev = [e for e in task.examples if e.split == "dev"]
    search = PromptSearch(generated_instructions=0)
    # Prefer the candidates with demos and the longest instruction: a choice only the record holds.
    search.prepare(
        StrategyContext(
            task=task, train=train, dev=dev, dev_score=lambda c, _: len(c.demos) + len(c.instruction)
        )
    )
    recorded = json.loads(json.dumps(search.describe()))
    restored = PromptSearch.restored(recorded, train)
    tests = [e for e in task.examples if e.split == "test"]
    assert restored.render_many(tests, task) == search.render_many(tests, task)
    assert restored.answer_mode == search.answer_mode == "score"
    assert restored.describe() == search.describe()
    with pytest.raises(UsageError, match="not in the train split"):
        PromptSearch.restored(recorded, train[:1])
