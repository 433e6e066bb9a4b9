"""The cost-score frontier: the options worth considering at all.

An option is on the frontier when no other is at least as cheap and at least as good, and
strictly better on one of the two: every option off it is beaten on both counts by one on it,
so a choice never needs to look past the frontier whatever the user's trade-off. Two options
with the same cost and score are both kept: neither beats the other.

>>> sorted(pareto_frontier({"a": (1.0, 0.6), "b": (2.0, 0.8), "c": (3.0, 0.7), "d": (1.0, 0.6)}))
['a', 'b', 'd']
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)


def pareto_frontier(points: Mapping[Key, tuple[float, float]]) -> set[Key]:
    """The keys of `points` (cost, score) that no other point dominates: lower cost is better,
    higher score is better."""
    return {
        key
        for key, (cost, score) in points.items()
        if not any(
            other_cost <= cost and other_score >= score and (other_cost, other_score) != (cost, score)
            for other_cost, other_score in points.values()
        )
    }
