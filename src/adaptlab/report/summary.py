"""Reading a parsed ``results.json`` for the report: rung kinds, the best prompt, costs, the
metric the scores are in.

Every accessor tolerates what a run may lack (an ``eval`` run has no decision and no tuned
rungs, a ``tune`` run may have no prompt rung but its base), so each section of the report can
ask "is my data here?" and hide itself when it is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adaptlab.decide.wording import ACCURACY, CI, score_interval, score_text
from adaptlab.report.formatting import MISSING, finite, score_gain, score_number, score_range

KINDS = ("prompt", "tuned", "hybrid", "distilled")
"""Rung kinds in ladder order (a rung's ``kind`` in results.json)."""


@dataclass(frozen=True)
class Metric:
    """A metric the rungs are scored by, with how the report writes its numbers: accuracy as a
    percentage (closed-label tasks, which read exactly as before free-text metrics existed),
    any other on a 0-100 scale named by its display name.

    >>> chrf = Metric("chrf", "chrF")
    >>> chrf.text(0.4134), chrf.number(0.4134), chrf.interval(0.38, 0.449), Metric().text(0.7125)
    ('chrF 41.3', '41.3', '95% CI 38.0–44.9', '71.2%')
    """

    name: str = ACCURACY
    display: str = ACCURACY

    @property
    def is_accuracy(self) -> bool:
        return self.name == ACCURACY

    @property
    def heading(self) -> str:
        """The display name as a column heading: ``Accuracy``, ``Exact match``, but ``chrF``."""
        return self.display[:1].upper() + self.display[1:] if self.display.islower() else self.display

    def text(self, value: Any) -> str:
        """A score as a card or a sentence cites it: ``71.2%``, ``chrF 41.3``."""
        number = finite(value)
        return MISSING if number is None else score_text(number, self.name, self.display)

    def interval(self, low: Any, high: Any) -> str:
        """``95% CI 36.7–45.8%`` (accuracy), ``95% CI 38.0–44.9`` (another metric)."""
        low_n, high_n = finite(low), finite(high)
        if low_n is None or high_n is None:
            return f"{CI} {MISSING}"
        return score_interval(low_n, high_n, self.name)

    def number(self, value: Any) -> str:
        """A score under a heading that names the metric: ``71.2%``, ``41.3``."""
        return score_number(value, self.name)

    def range(self, low: Any, high: Any) -> str:
        return score_range(low, high, self.name)

    def gain(self, value: Any) -> str:
        """A difference of two scores: ``+3.4 pp`` (accuracy), ``+3.4`` (another metric)."""
        return score_gain(value, self.name)


def primary_metric(results: dict[str, Any]) -> Metric:
    """The metric the run's scores (``score``, the decision, the baseline) are in: the task's,
    else the rungs' own, else accuracy."""
    declared = (results.get("task") or {}).get("metric") or {}
    if declared.get("name"):
        return Metric(str(declared["name"]), str(declared.get("display") or declared["name"]))
    for rung in rungs(results):
        metrics = rung.get("metrics") or {}
        if metrics.get("metric"):
            return Metric(str(metrics["metric"]), str(metrics.get("metric_display") or metrics["metric"]))
    return Metric()


def all_metrics(results: dict[str, Any]) -> list[Metric]:
    """The primary metric first, then every reported one: those the task declares, then any
    other a rung measured."""
    found = {metric.name: metric for metric in [primary_metric(results)]}
    for declared in (results.get("task") or {}).get("metrics") or []:
        if declared.get("name"):
            name = str(declared["name"])
            found.setdefault(name, Metric(name, str(declared.get("display") or name)))
    for rung in rungs(results):
        for name, summary in ((rung.get("metrics") or {}).get("by_metric") or {}).items():
            found.setdefault(name, Metric(name, str((summary or {}).get("display") or name)))
    return list(found.values())


@dataclass(frozen=True)
class Baseline:
    """The task's floor: what a rung that learnt nothing would score (always the majority
    label, always the most common output, copying the input)."""

    kind: str
    description: str
    """A phrase: ``always answering "negative"``, ``copying the input``."""
    score: float
    label: str | None

    @property
    def name(self) -> str:
        """How a chart names its line: ``majority baseline``, ``baseline (copying the input)``."""
        return "majority baseline" if self.kind == "majority" else f"baseline ({self.description})"


def baseline(results: dict[str, Any]) -> Baseline | None:
    """The run's baseline, when it has one scored in the run's primary metric."""
    block = results.get("baseline") or {}
    score = finite(block.get("score"))
    if score is None or block.get("metric") not in (None, primary_metric(results).name):
        return None
    kind = str(block.get("kind") or "majority")
    label = block.get("label")
    return Baseline(kind, str(block.get("description") or kind), score, None if label is None else str(label))


def rung_kind(rung: dict[str, Any]) -> str:
    """The rung's ``kind``; results written before rungs carried one are inferred from training.

    >>> rung_kind({"rung": "lora-100", "training": {"examples": 100}})
    'tuned'
    """
    return rung.get("kind") or ("prompt" if rung.get("training") is None else "tuned")


def metric(rung: dict[str, Any], name: str) -> float | None:
    """A metric of the rung, None when absent or not a finite number."""
    return finite((rung.get("metrics") or {}).get(name))


def rungs(results: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    """The run's rungs in ladder order, optionally only those of one kind."""
    return [r for r in results.get("rungs") or [] if kind is None or rung_kind(r) == kind]


def decision(results: dict[str, Any]) -> dict[str, Any]:
    """The run's decision block; empty for runs that made none (``eval``, ``tune``)."""
    return results.get("decision") or {}


def score_summary(rung: dict[str, Any]) -> dict[str, Any]:
    """The rung's score in the shape the decision uses for ``best_prompt``/``best_tuned``."""
    scores = {name: metric(rung, name) for name in ("score", "score_low", "score_high")}
    return {"rung": rung["rung"], **scores}


def best_of(results: dict[str, Any], kind: str | None = None) -> dict[str, Any] | None:
    """The best-scoring rung of `kind` (of any kind by default; the first one on ties), as a
    score summary."""
    measured = [r for r in rungs(results, kind) if metric(r, "score") is not None]
    if not measured:
        return None
    return score_summary(max(measured, key=lambda r: metric(r, "score") or 0.0))


def best_prompt(results: dict[str, Any]) -> dict[str, Any] | None:
    """The decision's best prompt rung, else the best-scoring prompt rung measured."""
    return decision(results).get("best_prompt") or best_of(results, "prompt")


def rung_costs(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The decision's per-rung costs by rung name (``usd_per_1k_requests``, …); may be empty."""
    return (decision(results).get("costs") or {}).get("rungs") or {}


def has_predictions(results: dict[str, Any]) -> bool:
    return any(r.get("predictions") for r in rungs(results))
