"""Summary statistics of a rung, each with the uncertainty the decision needs.

Accuracy comes with a 95% percentile-bootstrap interval because every later comparison
("did few-shot beat zero-shot?", "has prompting plateaued?") is only meaningful relative to
how much the number would move on another sample of the same size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 10_000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def bootstrap_interval(
    values: Sequence[float],
    *,
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of the mean of `values`.

    Seeded, so the same predictions always report the same interval.

    >>> bootstrap_interval([1, 1, 0, 1])
    Interval(low=0.25, high=1.0)
    """
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return Interval(float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    # Chunked so memory stays small for large test sets (resamples x n indices at once).
    chunk = max(1, 2_000_000 // data.size)
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        idx = rng.integers(0, data.size, size=(stop - start, data.size))
        means[start:stop] = data[idx].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return Interval(float(low), float(high))


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0–100), NaN for no values."""
    if len(values) == 0:
        return float("nan")
    return float(np.percentile(np.asarray(values, dtype=float), q))


def mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def macro_f1(predictions: Sequence[str | None], golds: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted mean of per-label F1: a majority-class guesser scores high accuracy on skewed
    data but a low macro-F1, so the two together expose it."""
    scores = []
    for label in labels:
        tp = sum(p == label and g == label for p, g in zip(predictions, golds, strict=True))
        fp = sum(p == label and g != label for p, g in zip(predictions, golds, strict=True))
        fn = sum(p != label and g == label for p, g in zip(predictions, golds, strict=True))
        denominator = 2 * tp + fp + fn
        scores.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(scores)) if scores else float("nan")


def majority_baseline(golds: Sequence[str]) -> tuple[str, float]:
    """The most frequent gold label and the accuracy of always answering it: the floor any
    rung on a classification task has to beat to be worth anything."""
    counts = Counter(golds)
    label, count = max(counts.items(), key=lambda item: (item[1], item[0]))
    return label, count / len(golds)
