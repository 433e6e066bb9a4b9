"""Reciprocal-rank fusion: merge rankings whose scores are not comparable.

BM25 scores are unbounded term weights and dense scores are cosines; rather than calibrate one
against the other, RRF (Cormack et al., 2009) scores an item ``sum(1 / (k + rank))`` over the
rankings it appears in, ranks counted from 1. ``k = 60`` is the paper's value, which damps the
lead of a first place so that agreement between rankings outweighs one ranker's confidence.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

Item = TypeVar("Item", bound=Hashable)

RRF_K = 60


def rrf(rankings: Sequence[Sequence[Item]], k: int = RRF_K) -> list[tuple[Item, float]]:
    """Items of all `rankings` with their fused scores, best first.

    Ties keep the order in which items were first met (ranking by ranking), so the result is
    deterministic. An item missing from a ranking gets nothing from it.

    >>> rrf([["a", "b"], ["b", "c"]], k=1)
    [('b', 0.8333333333333333), ('a', 0.5), ('c', 0.3333333333333333)]
    """
    if k < 0:
        raise ValueError(f"k must not be negative, got {k}")
    scores: dict[Item, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])
