"""Hand-built ``results.json`` dicts for the decision tests: rungs from a vector of per-example
scores, so each test states exactly what each rung scored on each example.

A vector of booleans is an accuracy rung (right or wrong); a vector of floats in [0, 1] is a
free-text metric's (chrF), where None stands for a grading that failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from adaptlab.evaluation.metrics import Interval, bootstrap_interval

Scores = Sequence[bool] | Sequence[float | None]


def correct_first(right: int, n: int = 200) -> list[bool]:
    """`right` correct answers then wrong ones: two such rungs differ only on the examples
    between their two counts, which keeps paired differences easy to reason about."""
    return [i < right for i in range(n)]


def alternating(first: float, second: float, n: int = 200) -> list[float]:
    """Free-text scores `first`, `second`, `first`, …: the mean is their midpoint, and two such
    rungs with the values swapped differ on every example, in both directions."""
    return [first if i % 2 == 0 else second for i in range(n)]


def trained(examples: int, *, wall_time_s: float = 60.0, targets: str = "gold") -> dict[str, Any]:
    return {"examples": examples, "wall_time_s": wall_time_s, "targets": targets, "reused": False}


def make_rung(
    name: str,
    kind: str | None,
    scores: Scores,
    *,
    metric: str = "accuracy",
    metric_display: str | None = None,
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
    """A rung dict as ``results.json`` (schema 6) holds it, scored by `metric`; ``kind=None``
    leaves the key out (old files)."""
    values = [None if s is None else float(s) for s in scores]
    ids = list(ids) if ids is not None else [f"ex-{i:04d}" for i in range(len(values))]
    graded = tuple(v for v in values if v is not None)
    bounds = score_interval(graded)
    n = len(values)
    rung: dict[str, Any] = {
        "rung": name,
        "split": "test",
        "strategy": strategy or {"strategy": name},
        "model": {"model_id": model_id, "backend": backend},
        "metrics": {
            "n": n,
            "metric": metric,
            "metric_display": metric_display or metric,
            "score": sum(graded) / len(graded),
            "score_low": bounds.low,
            "score_high": bounds.high,
            "graded": len(graded),
            "grading_failures": n - len(graded),
            "format_compliance": 0.95,
            "latency_p50_s": 0.5,
            "latency_p95_s": 0.8,
            "prompt_tokens_mean": prompt_tokens,
            "output_tokens_mean": output_tokens,
            "examples_per_s": examples_per_s,
            "wall_time_s": n / examples_per_s,
        },
        "predictions": [
            {
                "example_id": example_id,
                "correct": value == 1.0,
                "score": value,
                "metric_scores": {metric: value},
            }
            for example_id, value in zip(ids, values, strict=True)
        ],
        "training": training,
        "forgetting": forgetting,
    }
    if kind is not None:
        rung["kind"] = kind
    return rung


def with_draws(rung: dict[str, Any], *others: float) -> dict[str, Any]:
    """`rung` as measured under more demo draws, which scored `others` (its own score is the
    first draw's), as ``results.json`` records it."""
    scores = [rung["metrics"]["score"], *others]
    rung["draws"] = {
        "seeds": list(range(len(scores))),
        "scores": scores,
        "spread": max(scores) - min(scores),
    }
    return rung


def chrf_rung(name: str, kind: str | None, scores: Sequence[float | None], **kwargs: Any) -> dict[str, Any]:
    """A free-text rung scored by chrF (`make_rung`'s other arguments pass through)."""
    return make_rung(name, kind, scores, metric="chrf", metric_display="chrF", **kwargs)


@cache
def score_interval(scores: tuple[float, ...]) -> Interval:
    """The rung's own bootstrap interval, as evaluation reports it (cached: tests reuse vectors)."""
    return bootstrap_interval(list(scores))


MAJORITY_BASELINE = {
    "kind": "majority",
    "description": 'always answering "negative"',
    "score": 0.5,
    "metric": "accuracy",
    "label": "negative",
}


def make_results(
    rungs: Sequence[dict[str, Any]],
    *,
    backend: str = "local",
    model_id: str = "tiny-model",
    skipped: list[dict[str, str]] | None = None,
    baseline: dict[str, Any] | None = MAJORITY_BASELINE,
    labels: list[str] | None = None,
) -> dict[str, Any]:
    """A run over the labelled tweets task by default; pass `labels=[]` and a `baseline` for a
    free-text one."""
    results: dict[str, Any] = {
        "schema_version": 6,
        "task": {"name": "tweets", "labels": ["negative", "positive"] if labels is None else labels},
        "model": {"model_id": model_id, "backend": backend},
        "baseline": dict(baseline) if baseline else None,
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
