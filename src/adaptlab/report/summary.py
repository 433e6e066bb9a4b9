"""Reading a parsed ``results.json`` for the report: rung kinds, the best prompt, costs.

Every accessor tolerates what a run may lack (an ``eval`` run has no decision and no tuned
rungs, a ``tune`` run may have no prompt rung but its base), so each section of the report can
ask "is my data here?" and hide itself when it is not.
"""

from __future__ import annotations

from typing import Any

from adaptlab.report.formatting import finite

KINDS = ("prompt", "tuned", "hybrid", "distilled")
"""Rung kinds in ladder order (a rung's ``kind`` in results.json)."""


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


def accuracy_summary(rung: dict[str, Any]) -> dict[str, Any]:
    """The rung's accuracy in the shape the decision uses for ``best_prompt``/``best_tuned``."""
    return {
        "rung": rung["rung"],
        **{name: metric(rung, name) for name in ("accuracy", "accuracy_low", "accuracy_high")},
    }


def best_of(results: dict[str, Any], kind: str | None = None) -> dict[str, Any] | None:
    """The most accurate rung of `kind` (of any kind by default; the first one on ties), as an
    accuracy summary."""
    measured = [r for r in rungs(results, kind) if metric(r, "accuracy") is not None]
    if not measured:
        return None
    return accuracy_summary(max(measured, key=lambda r: metric(r, "accuracy") or 0.0))


def best_prompt(results: dict[str, Any]) -> dict[str, Any] | None:
    """The decision's best prompt rung, else the most accurate prompt rung measured."""
    return decision(results).get("best_prompt") or best_of(results, "prompt")


def rung_costs(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The decision's per-rung costs by rung name (``usd_per_1k_requests``, …); may be empty."""
    return (decision(results).get("costs") or {}).get("rungs") or {}


def baseline_accuracy(results: dict[str, Any]) -> float | None:
    """Accuracy of always answering the majority label; None for free-text tasks."""
    return finite((results.get("baseline") or {}).get("accuracy"))


def has_predictions(results: dict[str, Any]) -> bool:
    return any(r.get("predictions") for r in rungs(results))
