"""The per-example drill-down: one row per test example with every rung's answer beside it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adaptlab.report.summary import rungs


@dataclass(frozen=True)
class Answer:
    parsed: str | None
    output: str
    correct: bool


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


def drilldown(results: dict[str, Any]) -> Drilldown:
    """Every example any rung answered, in the order first seen, with each rung's answer."""
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
    return Drilldown(rungs=[r["rung"] for r in with_predictions], rows=rows)
