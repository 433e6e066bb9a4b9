"""Asking a rung at batch size 1 and at batch size 32 must give the same answers (issue 16;
lm-evaluation-harness users have long reported the opposite of its own, its issue #1625).

Shared by the fast test on a tiny model and the slow test on the bundled one. The two batch
sizes run different computations: at 1 the "shared prefix" is the whole prompt but its last
token, at 32 it is the rung's common instruction and demos, and each row's suffix is left-padded
to the longest in its batch. In fp32 the results then differ in the last bits (different matmul
shapes and blocking, attention reductions over different lengths), never by more than
`LOGPROB_TOLERANCE`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from adaptlab.data.task import Example, Task
from adaptlab.evaluation import evaluate
from adaptlab.evaluation.result import Prediction
from adaptlab.models.base import DEFAULT_MAX_BATCH_SIZE
from adaptlab.models.local import LocalBackend
from adaptlab.prompting import StrategyContext, get_strategy

BATCH_SIZES = (1, DEFAULT_MAX_BATCH_SIZE)
LOGPROB_TOLERANCE = 1e-4
"""Largest |Δ log-likelihood| (nats) allowed between batch sizes for one label. Measured: at
most 3.6e-6 on the tiny test model and 2.2e-5 on smollm2-135m (24 tweets), the rounding of
fp32 sums over different shapes; 1e-4 is 4.5x the larger, a probability ratio of 1.0001, and 300x
below the smallest gap between the two best labels seen on those tweets (0.031). A batching bug
(a padded position seen, a position id off by one) moves log-likelihoods by far more."""


@dataclass(frozen=True)
class Asked:
    """A rung's predictions at one batch size, and the most rows any batch of it held."""

    predictions: list[Prediction]
    largest_batch: int


def ask_rung(
    task: Task,
    examples: Sequence[Example],
    backend: LocalBackend,
    rung: str,
    context: StrategyContext,
    max_new_tokens: int | None = None,
) -> Asked:
    """Evaluate `rung` on `examples` through the path every run takes (strategy, engine, backend)."""
    strategy = get_strategy(rung)
    strategy.prepare(context)
    batches: list[int] = []
    result = evaluate(
        task, examples, backend, strategy, max_new_tokens=max_new_tokens, on_progress=batches.append
    )
    return Asked(result.predictions, max(batches))


def ask_at_each_size(
    task: Task,
    examples: Sequence[Example],
    backends: Mapping[int, LocalBackend],
    rung: str,
    context: StrategyContext,
    max_new_tokens: int | None = None,
) -> tuple[Asked, Asked]:
    """`rung` asked through `backends[1]`, then through `backends[32]`."""
    one, many = (
        ask_rung(task, examples, backends[size], rung, context, max_new_tokens) for size in BATCH_SIZES
    )
    return one, many


def assert_same_generations(one: Asked, many: Asked) -> None:
    """Generated text equal, character for character, with the second run truly batched."""
    assert one.largest_batch == 1
    assert many.largest_batch > 1, "the batched run never put two prompts in one batch"
    assert [p.output for p in one.predictions] == [p.output for p in many.predictions]


def assert_same_label_scores(one: Asked, many: Asked) -> None:
    """The chosen label equal, and every label's log-likelihood within `LOGPROB_TOLERANCE`."""
    assert one.largest_batch == 1
    assert many.largest_batch > 1, "the batched run never put two prompts in one batch"
    assert [p.parsed for p in one.predictions] == [p.parsed for p in many.predictions]
    for single, batched in zip(one.predictions, many.predictions, strict=True):
        assert single.scores is not None and batched.scores is not None
        assert single.scores.keys() == batched.scores.keys()
        for label, logprob in single.scores.items():
            assert abs(logprob - batched.scores[label]) <= LOGPROB_TOLERANCE, (single.example_id, label)
