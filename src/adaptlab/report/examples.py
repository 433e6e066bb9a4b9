"""The per-example drill-down: one row per test example with every rung's answer beside it.

Closed-label tasks show each rung's parsed label, right or wrong. Free-text tasks show one
rung's whole answer beside the reference, with its score in every metric, so the answers can
be read and sorted by how well they scored. Under the input, the passages the retrieving rungs
were given (best first, the gold one marked), once for every rung that was given the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adaptlab.report.formatting import finite
from adaptlab.report.summary import Metric, all_metrics, rungs


@dataclass(frozen=True)
class Answer:
    parsed: str | None
    output: str
    correct: bool
    scores: tuple[float | None, ...] = ()
    """One per metric of `Drilldown.metrics`, the primary first; None where its grading failed."""
    error: str | None = None
    """Why the request failed after its retries (remote backends)."""


@dataclass(frozen=True)
class Passage:
    id: str
    doc_id: str
    score: float | None
    text: str
    gold: bool
    """The passage that holds the example's answer (its ``gold_rank``)."""


@dataclass(frozen=True)
class Retrieved:
    """The passages some rungs were asked with for one example, best first."""

    rungs: tuple[str, ...]
    passages: tuple[Passage, ...]


@dataclass(frozen=True)
class ExampleRow:
    example_id: str
    input: str
    gold: str
    answers: list[Answer | None]
    """One per rung, in the order of `Drilldown.rungs`; None where a rung did not answer it."""
    retrieved: tuple[Retrieved, ...] = ()
    """Empty unless some rung retrieved passages for this example."""

    @property
    def disagree(self) -> bool:
        """Whether the rungs that answered gave different (parsed) answers."""
        return len({answer.parsed for answer in self.answers if answer is not None}) > 1


@dataclass(frozen=True)
class Drilldown:
    rungs: list[str]
    rows: list[ExampleRow]
    metrics: list[Metric] = field(default_factory=lambda: [Metric()])
    """The primary metric first, then the reported ones: the columns of a free-text drill-down."""

    @property
    def retrieves(self) -> bool:
        """Whether some rung was asked with retrieved passages."""
        return any(row.retrieved for row in self.rows)

    @property
    def free_text(self) -> bool:
        """Answers are text to read against a reference, not labels right or wrong."""
        return not self.metrics[0].is_accuracy


def drilldown(results: dict[str, Any]) -> Drilldown:
    """Every example any rung answered, in the order first seen, with each rung's answer."""
    metrics = all_metrics(results)
    with_predictions = [r for r in rungs(results) if r.get("predictions")]
    examples: dict[str, dict[str, Any]] = {}
    answers: dict[tuple[str, int], Answer] = {}
    retrieved: dict[str, dict[tuple[Passage, ...], list[str]]] = {}
    for column, rung in enumerate(with_predictions):
        for prediction in rung["predictions"]:
            example_id = str(prediction["example_id"])
            examples.setdefault(example_id, prediction)
            answers[example_id, column] = Answer(
                parsed=prediction.get("parsed"),
                output=str(prediction.get("output") or ""),
                correct=bool(prediction.get("correct")),
                scores=_scores(prediction, metrics),
                error=prediction.get("error"),
            )
            passages = _passages(prediction)
            if passages:
                retrieved.setdefault(example_id, {}).setdefault(passages, []).append(str(rung["rung"]))
    rows = [
        ExampleRow(
            example_id=example_id,
            input=str(first.get("input") or ""),
            gold=str(first.get("gold") or ""),
            answers=[answers.get((example_id, column)) for column in range(len(with_predictions))],
            retrieved=tuple(
                Retrieved(tuple(names), passages) for passages, names in retrieved.get(example_id, {}).items()
            ),
        )
        for example_id, first in examples.items()
    ]
    return Drilldown(rungs=[r["rung"] for r in with_predictions], rows=rows, metrics=metrics)


def _scores(prediction: dict[str, Any], metrics: list[Metric]) -> tuple[float | None, ...]:
    """The prediction's score in each metric: the primary one is its ``score``."""
    by_name = prediction.get("metric_scores") or {}
    return tuple(
        finite(prediction.get("score") if index == 0 else by_name.get(metric.name))
        for index, metric in enumerate(metrics)
    )


def _passages(prediction: dict[str, Any]) -> tuple[Passage, ...]:
    """The prediction's retrieved passages, best first, the one at ``gold_rank`` marked."""
    gold_rank = prediction.get("gold_rank")
    return tuple(
        Passage(
            id=str(passage.get("id") or ""),
            doc_id=str(passage.get("doc_id") or ""),
            score=finite(passage.get("score")),
            text=str(passage.get("text") or ""),
            gold=rank == gold_rank,
        )
        for rank, passage in enumerate(prediction.get("passages") or [], start=1)
        if isinstance(passage, dict)
    )
