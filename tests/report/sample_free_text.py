"""A free-text run in ``results.json``'s shape, written by hand: docstrings for Python functions
scored by chrF, with similarity and exact match reported beside it.

Small enough to read: four test examples with multi-line inputs and references, two prompt
rungs and a two-point learning curve. One grading failed (a null primary score), as a judge's
can, and one similarity too, so the report's dash for "grading failed" has something to show.
"""

from __future__ import annotations

from typing import Any

from sample_decision import decision_for

METRICS = {"chrf": "chrF", "similarity": "similarity", "exact": "exact match"}
"""The primary metric first, then the reported ones."""

EXAMPLES = [
    ("doc-1", "def add(a, b):\n    return a + b", "Return the sum of a and b."),
    (
        "doc-2",
        "def read_text(path):\n    with open(path) as handle:\n        return handle.read()",
        "Read the file at path and return its text.\n\nThe file is closed before returning.",
    ),
    ("doc-3", "def is_even(n):\n    return n % 2 == 0", "Whether n is even."),
    (
        "doc-4",
        "def mean(values):\n    return sum(values) / len(values)",
        "The arithmetic mean of values; raises ZeroDivisionError when values is empty.",
    ),
]

ANSWERS: dict[str, list[tuple[str, tuple[float | None, float | None, float]]]] = {
    # rung: per example, (answer, (chrf, similarity, exact))
    "zero-shot": [
        ("Adds two numbers.", (0.21, 0.74, 0.0)),
        ("Reads a file.", (0.18, 0.81, 0.0)),
        ("Return True if n is even.", (0.46, 0.92, 0.0)),
        ("Computes the mean.", (0.25, 0.79, 0.0)),
    ],
    "few-shot-knn-2": [
        ("Return the sum of a and b.", (1.0, 1.0, 1.0)),
        ("Read the file at path.\n\nReturns its text.", (None, 0.9, 0.0)),
        ("Whether n is even.", (1.0, 1.0, 1.0)),
        ("The mean of values.", (0.43, None, 0.0)),
    ],
    "lora-4": [
        ("Return a plus b.", (0.52, 0.88, 0.0)),
        ("Read text.", (0.2, 0.7, 0.0)),
        ("Whether n is odd.", (0.75, 0.85, 0.0)),
        ("Mean.", (0.1, 0.6, 0.0)),
    ],
    "lora-8": [
        ("Return the sum of a and b.", (1.0, 1.0, 1.0)),
        ("Read the file at path and return its text.", (0.71, 0.95, 0.0)),
        ("Whether n is even.", (1.0, 1.0, 1.0)),
        ("The arithmetic mean of values.", (0.58, 0.93, 0.0)),
    ],
}

BASELINE = 0.12
"""chrF of copying the input as the answer."""


def free_text_results() -> dict[str, Any]:
    """The results of a decided free-text run (a decision built from its rungs by
    `decision_for`, like the classification ladder's)."""
    results: dict[str, Any] = {
        "schema_version": 6,
        "run_id": "20261201-090000-d0c5a1",
        "command": "run",
        "created_at": "2026-12-01T09:04:00+00:00",
        "adaptlab_version": "0.1.0",
        "task": {
            "name": "python-docstrings",
            "hash": "5d0c0ffee0ddba11",
            "labels": None,
            "labels_declared": False,
            "instruction": "Write a one-line docstring for the function.",
            "examples": 20,
            "metric": {"name": "chrf", "display": "chrF"},
            "metrics": [{"name": name, "display": display} for name, display in list(METRICS.items())[1:]],
            "format": None,
            "split": {"seed": 0, "fractions": [0.6, 0.2, 0.2], "sizes": {"train": 12, "dev": 4, "test": 4}},
        },
        "model": {"model_id": "tiny-model", "backend": "local"},
        "baseline": {
            "kind": "copy-input",
            "description": "copying the input",
            "score": BASELINE,
            "metric": "chrf",
            "label": None,
        },
        "rungs": [rung(name) for name in ANSWERS],
    }
    results["decision"] = decision_for(results)
    return results


def rung(name: str) -> dict[str, Any]:
    training = int(name.split("-")[1]) if name.startswith("lora-") else None
    predictions = [
        prediction(example, answer, scores)
        for example, (answer, scores) in zip(EXAMPLES, ANSWERS[name], strict=True)
    ]
    by_metric = {
        metric: summary([p["metric_scores"][metric] for p in predictions], display)
        for metric, display in METRICS.items()
    }
    primary = by_metric["chrf"]
    return {
        "rung": name,
        "kind": "prompt" if training is None else "tuned",
        "split": "test",
        "strategy": {"strategy": name},
        "training": None if training is None else {"examples": training, "wall_time_s": 20.0 * training},
        "forgetting": None,
        "robustness": None,
        "metrics": {
            "n": len(predictions),
            "metric": "chrf",
            "metric_display": "chrF",
            "score": primary["mean"],
            "score_low": primary["low"],
            "score_high": primary["high"],
            "graded": primary["graded"],
            "grading_failures": primary["failed"],
            "by_metric": by_metric,
            "macro_f1": None,
            "format_compliance": 1.0,
            "parse_failures": 0,
            "latency_p50_s": 0.4,
            "latency_p95_s": 0.6,
            "prompt_tokens_mean": 120.0 if training is None else 40.0,
            "output_tokens_mean": 14.0,
            "examples_per_s": 2.5 if training is None else 5.0,
            "wall_time_s": 1.6,
            "consistency": None,
            "consistency_n": 0,
            "cache_hits": 0,
            "errors": 0,
        },
        "predictions": predictions,
    }


def prediction(
    example: tuple[str, str, str], answer: str, scores: tuple[float | None, ...]
) -> dict[str, Any]:
    example_id, text, reference = example
    metric_scores = dict(zip(METRICS, scores, strict=True))
    return {
        "example_id": example_id,
        "input": text,
        "gold": reference,
        "output": answer,
        "parsed": answer,
        "correct": metric_scores["chrf"] == 1.0,
        "compliant": True,
        "latency_s": 0.4,
        "prompt_tokens": 120,
        "output_tokens": 14,
        "cached": False,
        "scores": None,
        "error": None,
        "score": metric_scores["chrf"],
        "metric_scores": metric_scores,
    }


def summary(values: list[float | None], display: str) -> dict[str, Any]:
    """A metric's mean over the graded examples, with a made-up interval around it."""
    graded = [value for value in values if value is not None]
    mean = sum(graded) / len(graded)
    return {
        "display": display,
        "mean": mean,
        "low": max(0.0, mean - 0.15),
        "high": min(1.0, mean + 0.15),
        "graded": len(graded),
        "failed": len(values) - len(graded),
    }
