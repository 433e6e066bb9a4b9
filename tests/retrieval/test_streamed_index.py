"""An index built and searched in pieces: the same scores and hits as in one piece, in bounded
memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import bm25s
import numpy as np
import pytest

import adaptlab.retrieval.bm25 as bm25_module
import adaptlab.retrieval.index as index_module
from adaptlab.retrieval import Corpus, Document, open_retriever
from adaptlab.retrieval.bm25 import build_bm25, load_bm25
from adaptlab.retrieval.index import best
from adaptlab.retrieval.passage_store import StoredPassages

from fakes import HashingEmbedder

TEXTS = [
    "The cat sat on the mat.",
    "Dogs and cats, cats and dogs!",
    "the of and",  # stopwords only: no words, length 0, as bm25s counts it
    "ISO 3166-1 code of France is FR.",
    "Paris is the capital of France; France uses the euro.",
    "euro euro euro code",
    "Ça coûte 3 € à Zürich — naïve café.",
] * 3
QUERIES = ["cat on a mat", "France code", "euro", "the", "words it never saw", "dogs cats", "café zürich"]


def plain_bm25_scores(texts: list[str], query: str) -> np.ndarray:
    """bm25s indexing the whole corpus at once, as its README does."""
    plain = bm25s.BM25()
    plain.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    words = bm25s.tokenize([query], stopwords="en", show_progress=False, return_ids=False)[0]
    return plain.get_scores(words) if words else np.zeros(len(texts), dtype=np.float32)


@pytest.mark.parametrize("shard", [1, 4, 100_000])
def test_sharded_bm25_scores_every_passage_exactly_as_one_bm25s_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shard: int
) -> None:
    monkeypatch.setattr(bm25_module, "SHARD_PASSAGES", shard)
    build_bm25([TEXTS[:5], TEXTS[5:12], TEXTS[12:]], "en", tmp_path)
    index = load_bm25(tmp_path, "en")
    assert len(index.shards) == -(-len(TEXTS) // shard)
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_file()) == ["stats.json", "vocab.json"]
    for query in QUERIES:
        assert np.array_equal(index.scores(query), plain_bm25_scores(TEXTS, query).astype(np.float32)), query


def test_best_keeps_ties_in_index_order_whatever_the_partition() -> None:
    scores = np.array([1.0, 3.0, 2.0, 3.0, 2.0, 2.0, 0.5], dtype=np.float32)
    indices = np.arange(len(scores))
    assert best(scores, indices, 4).tolist() == [1, 3, 2, 4]
    assert best(scores, indices, 10).tolist() == [1, 3, 2, 4, 5, 0, 6]
    assert best(scores[::-1].copy(), indices[::-1].copy(), 3).tolist() == [1, 3, 2]


def corpus_of(n: int, words: int = 60, numbered: bool = True) -> Corpus:
    """`n` documents over a small shared vocabulary (many BM25 ties), each about one passage;
    `numbered` ends each with its number (a word of its own)."""
    vocabulary = ["shipment", "dock", "crate", "harbour", "manifest", "customs", "pallet", "invoice"]
    return Corpus(
        tuple(
            Document(
                f"note-{i:05d}.md",
                " ".join(vocabulary[(i * j) % len(vocabulary)] for j in range(words))
                + (f" {i}." if numbered else "."),
            )
            for i in range(n)
        )
    )


def test_search_is_the_same_built_and_read_in_small_pieces(
    tmp_path: Path, embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = corpus_of(120)
    queries = ["shipment dock 17", "customs invoice", "pallet", "harbour crate manifest 99"]
    whole = open_retriever(corpus, tmp_path / "whole", embedder).search_many(queries, k=10)
    for name, value in [("CHUNK_DOCUMENTS", 7), ("EMBED_CHUNK", 9), ("DENSE_BLOCK", 11), ("CANDIDATES", 40)]:
        monkeypatch.setattr(index_module, name, value)
    monkeypatch.setattr(bm25_module, "SHARD_PASSAGES", 13)
    pieces = open_retriever(corpus, tmp_path / "pieces", embedder).search_many(queries, k=10)
    assert [[(h.passage.id, h.dense_rank, h.bm25_rank) for h in hits] for hits in pieces] == [
        [(h.passage.id, h.dense_rank, h.bm25_rank) for h in hits] for hits in whole
    ]


def test_a_reopened_index_reads_its_passages_and_vectors_from_disk(
    tmp_path: Path, embedder: HashingEmbedder
) -> None:
    corpus = corpus_of(30)
    open_retriever(corpus, tmp_path, embedder)
    reopened = open_retriever(corpus, tmp_path, embedder)
    assert isinstance(reopened.dense, np.memmap)
    assert isinstance(reopened.passages, StoredPassages)
    assert (
        reopened.passages[-1].doc_id == "note-00029.md"
        and reopened.passages[3:5][0].doc_id == "note-00003.md"
    )
    hits = reopened.search(corpus.documents[21].text, k=3)
    assert hits[0].passage.doc_id == "note-00021.md" and (hits[0].dense_rank, hits[0].bm25_rank) == (1, 1)
    assert len(reopened.search("dock", k=40)) == 30  # k above the corpus: every passage


def build_peak(tmp_path: Path, corpus: Corpus, embedder: HashingEmbedder) -> int:
    tracemalloc.start()
    try:
        open_retriever(corpus, tmp_path, embedder)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_building_holds_a_batch_not_the_corpus(
    tmp_path: Path, embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tripling the corpus leaves the build's peak memory about where it was: documents,
    passages, vectors and BM25 shards pass through in batches."""
    monkeypatch.setattr(index_module, "CHUNK_DOCUMENTS", 32)
    monkeypatch.setattr(index_module, "EMBED_CHUNK", 32)
    monkeypatch.setattr(bm25_module, "SHARD_PASSAGES", 64)
    small, large = corpus_of(200, words=150, numbered=False), corpus_of(600, words=150, numbered=False)
    open_retriever(corpus_of(20), tmp_path / "warm-up", embedder)  # imports and one-time caches
    text = sum(len(document.text) for document in large.documents) - sum(len(d.text) for d in small.documents)
    growth = build_peak(tmp_path / "large", large, embedder) - build_peak(tmp_path / "small", small, embedder)
    assert growth < text / 5, f"peak grew by {growth:,} bytes for {text:,} more characters"


def test_a_build_reports_each_stage_and_a_cached_index_reports_nothing(
    tmp_path: Path, embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "CHUNK_DOCUMENTS", 8)
    monkeypatch.setattr(index_module, "EMBED_CHUNK", 16)
    heard: list[tuple[str, int, int]] = []
    corpus = corpus_of(20)
    retriever = open_retriever(corpus, tmp_path, embedder, progress=lambda *told: heard.append(told))
    passages = len(retriever.passages)
    assert heard == [
        ("chunking", 8, 20),
        ("chunking", 16, 20),
        ("chunking", 20, 20),
        ("embedding", 16, passages),
        ("embedding", passages, passages),
        ("BM25", 16, passages),
        ("BM25", passages, passages),
    ]
    heard.clear()
    open_retriever(corpus, tmp_path, embedder, progress=lambda *told: heard.append(told))
    assert heard == []
