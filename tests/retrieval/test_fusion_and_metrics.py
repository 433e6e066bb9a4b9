"""Reciprocal-rank fusion and the retrieval metrics, against values computed by hand."""

from __future__ import annotations

import pytest

from adaptlab.retrieval import mean_reciprocal_rank, recall_at_k, rrf


def test_rrf_sums_reciprocal_ranks() -> None:
    fused = dict(rrf([["a", "b", "c"], ["c", "a"]], k=60))
    assert fused == pytest.approx({"a": 1 / 61 + 1 / 62, "b": 1 / 62, "c": 1 / 63 + 1 / 61})
    assert [item for item, _ in rrf([["a", "b", "c"], ["c", "a"]])] == ["a", "c", "b"]


def test_rrf_ties_keep_first_seen_order_and_k_zero_is_plain_reciprocal_rank() -> None:
    assert rrf([["x", "y"], ["y", "x"]], k=0) == [("x", 1.5), ("y", 1.5)]
    assert rrf([[], ["only"]]) == [("only", 1 / 61)]
    with pytest.raises(ValueError, match="k"):
        rrf([["a"]], k=-1)


def test_recall_at_k_by_hand() -> None:
    rankings = [["p1", "p2", "p3"], ["p4", "p5", "p6"], ["p7", "p8", "p9"]]
    gold = ["p2", "p6", "nowhere"]
    assert recall_at_k(rankings, gold, k=1) == 0.0
    assert recall_at_k(rankings, gold, k=2) == pytest.approx(1 / 3)
    assert recall_at_k(rankings, gold, k=3) == pytest.approx(2 / 3)
    assert recall_at_k(rankings, [{"p9", "p1"}, "p4", "p8"], k=1) == pytest.approx(2 / 3)


def test_mrr_by_hand() -> None:
    rankings = [["p1", "p2", "p3"], ["p4", "p5", "p6"], ["p7", "p8", "p9"]]
    assert mean_reciprocal_rank(rankings, ["p2", "p6", "nowhere"]) == pytest.approx((1 / 2 + 1 / 3 + 0) / 3)
    assert mean_reciprocal_rank(rankings, [{"p3", "p2"}, "p4", "p9"]) == pytest.approx(
        (1 / 2 + 1 + 1 / 3) / 3
    )


def test_metrics_refuse_mismatched_or_empty_input() -> None:
    with pytest.raises(ValueError, match="2 rankings but 1 gold"):
        recall_at_k([["a"], ["b"]], ["a"], k=1)
    with pytest.raises(ValueError, match="no queries"):
        mean_reciprocal_rank([], [])
