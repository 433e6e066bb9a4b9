"""Retrieval metrics: did the gold passage (or document) come back, and how high?

Both take, per query, the ids a retriever returned best first and the gold id (or ids: any of
them counts); pass passage ids to score passages, or `document_ids` of the hits to score
documents, where several passages of the gold document should count once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from adaptlab.retrieval.index import ScoredPassage

Gold = str | Collection[str]


def recall_at_k(rankings: Sequence[Sequence[str]], gold: Sequence[Gold], k: int) -> float:
    """The share of queries with a gold id among their first `k` results.

    >>> recall_at_k([["a", "b"], ["c", "d"]], ["b", "x"], k=2)
    0.5
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    pairs = _pairs(rankings, gold)
    hits = sum(any(item in _as_set(wanted) for item in ranking[:k]) for ranking, wanted in pairs)
    return hits / len(pairs)


def mean_reciprocal_rank(rankings: Sequence[Sequence[str]], gold: Sequence[Gold]) -> float:
    """The mean over queries of 1 / (rank of the first gold id), 0 when none came back.

    >>> mean_reciprocal_rank([["a", "b"], ["c", "d"]], ["b", "x"])
    0.25
    """
    total = 0.0
    for ranking, wanted in _pairs(rankings, gold):
        wanted_set = _as_set(wanted)
        total += next((1.0 / rank for rank, item in enumerate(ranking, start=1) if item in wanted_set), 0.0)
    return total / len(rankings)


def document_ids(hits: Sequence[ScoredPassage]) -> list[str]:
    """The documents of `hits` in rank order, each once (at its best passage's rank)."""
    return list(dict.fromkeys(hit.passage.doc_id for hit in hits))


def passage_ids(hits: Sequence[ScoredPassage]) -> list[str]:
    return [hit.passage.id for hit in hits]


def _pairs(rankings: Sequence[Sequence[str]], gold: Sequence[Gold]) -> list[tuple[Sequence[str], Gold]]:
    if len(rankings) != len(gold):
        raise ValueError(f"{len(rankings)} rankings but {len(gold)} gold ids")
    if not rankings:
        raise ValueError("no queries to score")
    return list(zip(rankings, gold, strict=True))


def _as_set(wanted: Gold) -> frozenset[str]:
    return frozenset([wanted]) if isinstance(wanted, str) else frozenset(wanted)
