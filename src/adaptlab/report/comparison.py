"""Two runs side by side: the rungs they share, matched by name, and the accuracy difference.

When both runs answered the same examples of the same task (same task hash), the difference
gets a paired bootstrap interval over those examples, which is much tighter than comparing the
two runs' separate intervals; otherwise it is reported without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adaptlab.evaluation.metrics import bootstrap_interval
from adaptlab.report.formatting import finite
from adaptlab.report.summary import metric, rungs


@dataclass(frozen=True)
class RungPair:
    rung: str
    a: dict[str, Any]
    b: dict[str, Any]
    difference: float | None
    """Accuracy of B minus accuracy of A (on the examples both answered, when paired)."""
    low: float | None
    high: float | None
    paired: int
    """Examples both runs answered, on which the interval was computed (0: no interval)."""


@dataclass(frozen=True)
class Comparison:
    pairs: list[RungPair]
    only_a: list[str]
    only_b: list[str]


def compare(a: dict[str, Any], b: dict[str, Any]) -> Comparison:
    """Match the rungs of runs `a` and `b` by name (in `a`'s order) and measure B − A."""
    by_name_b = {r["rung"]: r for r in rungs(b)}
    names_a = {r["rung"] for r in rungs(a)}
    same_task = bool((a.get("task") or {}).get("hash")) and (a.get("task") or {}).get("hash") == (
        b.get("task") or {}
    ).get("hash")
    pairs = [
        _pair(rung, by_name_b[rung["rung"]], same_task) for rung in rungs(a) if rung["rung"] in by_name_b
    ]
    return Comparison(
        pairs=pairs,
        only_a=[r["rung"] for r in rungs(a) if r["rung"] not in by_name_b],
        only_b=[r["rung"] for r in rungs(b) if r["rung"] not in names_a],
    )


def _pair(rung_a: dict[str, Any], rung_b: dict[str, Any], same_task: bool) -> RungPair:
    deltas = _paired_deltas(rung_a, rung_b) if same_task else []
    if deltas:
        difference: float | None = sum(deltas) / len(deltas)
        interval = bootstrap_interval(deltas)
    else:
        accuracy_a, accuracy_b = metric(rung_a, "accuracy"), metric(rung_b, "accuracy")
        difference = None if accuracy_a is None or accuracy_b is None else accuracy_b - accuracy_a
        interval = None
    return RungPair(
        rung=rung_a["rung"],
        a=rung_a,
        b=rung_b,
        difference=difference,
        low=finite(interval.low) if interval else None,
        high=finite(interval.high) if interval else None,
        paired=len(deltas),
    )


def _paired_deltas(rung_a: dict[str, Any], rung_b: dict[str, Any]) -> list[float]:
    """Per shared example: correct in B minus correct in A (−1, 0 or 1)."""
    correct_a = {str(p["example_id"]): bool(p.get("correct")) for p in rung_a.get("predictions") or []}
    return [
        float(bool(p.get("correct"))) - float(correct_a[str(p["example_id"])])
        for p in rung_b.get("predictions") or []
        if str(p["example_id"]) in correct_a
    ]
