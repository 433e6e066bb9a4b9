"""The bundled model gives the same answers one prompt at a time and 32 at a time, on 24 tweets of
the bundled task (the tiny model: tests/models/test_batch_invariance.py).

Measured on these 24 tweets, batch size 1 against 32 (one batch of 24): generated text equal on
24 of 24 for both generating rungs, the logits of any decoding step at most 6.6e-5 apart while
the two most likely tokens of any step are at least 0.048 apart; label scoring chose the same
label on 24 of 24, log-likelihoods at most 2.2e-5 apart, the two best labels of any tweet at
least 0.031 apart. Not bit-exact (different shapes round differently in fp32), so a tweet whose
top two tokens or labels were closer than the drift could flip; none of these is.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from adaptlab.data import load_task, split_task, stratified_sample
from adaptlab.data.task import Example
from adaptlab.models import load_backend
from adaptlab.models.local import LocalBackend
from adaptlab.prompting import StrategyContext
from batch_invariance import (
    BATCH_SIZES,
    Asked,
    ask_at_each_size,
    assert_same_generations,
    assert_same_label_scores,
)

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Setting:
    backends: dict[int, LocalBackend]
    context: StrategyContext
    examples: tuple[Example, ...]


@pytest.fixture(scope="module")
def setting() -> Setting:
    task = load_task("tweet-sentiment")
    split = split_task(task, fractions=(0.6, 0.1, 0.3), seed=0)
    backends = {size: load_backend("smollm2-135m", max_batch_size=size) for size in BATCH_SIZES}
    assert all(isinstance(backend, LocalBackend) for backend in backends.values())
    context = StrategyContext(task=task, train=split.train, seed=0)
    return Setting(backends, context, stratified_sample(split.test, 24))  # type: ignore[arg-type]


def asked(setting: Setting, rung: str) -> tuple[Asked, Asked]:
    return ask_at_each_size(setting.context.task, setting.examples, setting.backends, rung, setting.context)


@pytest.mark.parametrize("rung", ["zero-shot", "few-shot-random-4"])
def test_generation_is_the_same_at_batch_size_1_and_32(setting: Setting, rung: str) -> None:
    assert_same_generations(*asked(setting, rung))


def test_label_scoring_is_the_same_at_batch_size_1_and_32(setting: Setting) -> None:
    assert_same_label_scores(*asked(setting, "label-scoring"))
