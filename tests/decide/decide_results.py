"""Hand-built ``results.json`` dicts for the decision tests: rungs from a vector of correct
answers, so each test states exactly which examples each rung got right."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from adaptlab.evaluation.metrics import Interval, bootstrap_interval


def correct_first(right: int, n: int = 200) -> list[bool]:
    """`right` correct answers then wrong ones: two such rungs differ only on the examples
    between their two counts, which keeps paired differences easy to reason about."""
    return [i < right for i in range(n)]


def trained(examples: int, *, wall_time_s: float = 60.0, targets: str = "gold") -> dict[str, Any]:
    return {"examples": examples, "wall_time_s": wall_time_s, "targets": targets, "reused": False}


def make_rung(
    name: str,
    kind: str | None,
    correct: Sequence[bool],
    *,
    examples_per_s: float = 10.0,
    prompt_tokens: float = 50.0,
    output_tokens: float = 2.0,
    training: dict[str, Any] | None = None,
    forgetting: dict[str, Any] | None = None,
    strategy: dict[str, Any] | None = None,
    backend: str = "local",
    model_id: str = "tiny-model",
    ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A rung dict as ``results.json`` holds it; ``kind=None`` leaves the key out (old files)."""
    ids = list(ids) if ids is not None else [f"ex-{i:04d}" for i in range(len(correct))]
    bounds = accuracy_interval(tuple(bool(c) for c in correct))
    n = len(correct)
    rung: dict[str, Any] = {
        "rung": name,
        "split": "test",
        "strategy": strategy or {"strategy": name},
        "model": {"model_id": model_id, "backend": backend},
        "metrics": {
            "n": n,
            "accuracy": sum(correct) / n,
            "accuracy_low": bounds.low,
            "accuracy_high": bounds.high,
            "format_compliance": 0.95,
            "latency_p50_s": 0.5,
            "latency_p95_s": 0.8,
            "prompt_tokens_mean": prompt_tokens,
            "output_tokens_mean": output_tokens,
            "examples_per_s": examples_per_s,
            "wall_time_s": n / examples_per_s,
        },
        "predictions": [
            {"example_id": example_id, "correct": bool(right)}
            for example_id, right in zip(ids, correct, strict=True)
        ],
        "training": training,
        "forgetting": forgetting,
    }
    if kind is not None:
        rung["kind"] = kind
    return rung


@cache
def accuracy_interval(correct: tuple[bool, ...]) -> Interval:
    """The rung's own bootstrap interval, as evaluation reports it (cached: tests reuse vectors)."""
    return bootstrap_interval([float(c) for c in correct])


def make_results(
    rungs: Sequence[dict[str, Any]],
    *,
    backend: str = "local",
    model_id: str = "tiny-model",
    skipped: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "schema_version": 3,
        "task": {"name": "tweets", "labels": ["negative", "positive"]},
        "model": {"model_id": model_id, "backend": backend},
        "baseline": {"majority_label": "negative", "accuracy": 0.5},
        "rungs": list(rungs),
    }
    if skipped is not None:
        results["skipped"] = skipped
    return results


def without_predictions(results: dict[str, Any]) -> dict[str, Any]:
    """The same results as a summary: metrics only, as a caller without predictions passes."""
    return {
        **results,
        "rungs": [{k: v for k, v in r.items() if k != "predictions"} for r in results["rungs"]],
    }
