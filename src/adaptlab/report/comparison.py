"""Two runs side by side: the rungs they share, matched by name, and the score difference.

When both runs answered the same examples of the same task (same task hash), the difference
gets a paired bootstrap interval over those examples, which is much tighter than comparing the
two runs' separate intervals; otherwise it is reported without one. Runs scored by different
primary metrics (the task's metric changed) are shown side by side but not subtracted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adaptlab.decide.gain import paired_differences
from adaptlab.evaluation.metrics import bootstrap_interval
from adaptlab.report.formatting import finite
from adaptlab.report.summary import Metric, metric, primary_metric, rungs


@dataclass(frozen=True)
class RungPair:
    rung: str
    a: dict[str, Any]
    b: dict[str, Any]
    difference: float | None
    """Score of B minus score of A (on the examples both graded, when paired)."""
    low: float | None
    high: float | None
    paired: int
    """Examples both runs graded, on which the interval was computed (0: no interval)."""


@dataclass(frozen=True)
class Comparison:
    pairs: list[RungPair]
    only_a: list[str]
    only_b: list[str]
    metric: Metric
    """Run A's primary metric, the one the pairs' scores are in."""
    metric_b: Metric
    """Run B's; when it differs from `metric`, no difference is computed."""

    @property
    def same_metric(self) -> bool:
        return self.metric.name == self.metric_b.name


def compare(a: dict[str, Any], b: dict[str, Any]) -> Comparison:
    """Match the rungs of runs `a` and `b` by name (in `a`'s order) and measure B − A."""
    by_name_b = {r["rung"]: r for r in rungs(b)}
    names_a = {r["rung"] for r in rungs(a)}
    same_task = bool((a.get("task") or {}).get("hash")) and (a.get("task") or {}).get("hash") == (
        b.get("task") or {}
    ).get("hash")
    metric_a, metric_b = primary_metric(a), primary_metric(b)
    comparable = metric_a.name == metric_b.name
    pairs = [
        _pair(rung, by_name_b[rung["rung"]], same_task=same_task, comparable=comparable)
        for rung in rungs(a)
        if rung["rung"] in by_name_b
    ]
    return Comparison(
        pairs=pairs,
        only_a=[r["rung"] for r in rungs(a) if r["rung"] not in by_name_b],
        only_b=[r["rung"] for r in rungs(b) if r["rung"] not in names_a],
        metric=metric_a,
        metric_b=metric_b,
    )


def _pair(rung_a: dict[str, Any], rung_b: dict[str, Any], *, same_task: bool, comparable: bool) -> RungPair:
    deltas = paired_differences(rung_a, rung_b) if same_task and comparable else []
    difference: float | None = None
    interval = None
    if deltas:
        difference = sum(deltas) / len(deltas)
        interval = bootstrap_interval(deltas)
    elif comparable:
        score_a, score_b = metric(rung_a, "score"), metric(rung_b, "score")
        difference = None if score_a is None or score_b is None else score_b - score_a
    return RungPair(
        rung=rung_a["rung"],
        a=rung_a,
        b=rung_b,
        difference=difference,
        low=finite(interval.low) if interval else None,
        high=finite(interval.high) if interval else None,
        paired=len(deltas),
    )
