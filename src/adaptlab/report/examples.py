"""The per-example drill-down: one row per test example with every rung's answer beside it.

Closed-label tasks show each rung's parsed label, right or wrong. Free-text tasks show one
rung's whole answer beside the reference, with its score in every metric, so the answers can
be read and sorted by how well they scored.
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
class ExampleRow:
    example_id: str
    input: str
    gold: str
    answers: list[Answer | None]
    """One per rung, in the order of `Drilldown.rungs`; None where a rung did not answer it."""

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
    def free_text(self) -> bool:
        """Answers are text to read against a reference, not labels right or wrong."""
        return not self.metrics[0].is_accuracy


def drilldown(results: dict[str, Any]) -> Drilldown:
    """Every example any rung answered, in the order first seen, with each rung's answer."""
    metrics = all_metrics(results)
    with_predictions = [r for r in rungs(results) if r.get("predictions")]
    examples: dict[str, dict[str, Any]] = {}
    answers: dict[tuple[str, int], Answer] = {}
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
    rows = [
        ExampleRow(
            example_id=example_id,
            input=str(first.get("input") or ""),
            gold=str(first.get("gold") or ""),
            answers=[answers.get((example_id, column)) for column in range(len(with_predictions))],
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
