"""A hybrid passage index: dense embeddings and BM25, fused by reciprocal rank.

Dense vectors find paraphrases that share no word with the query; BM25 finds the rare names,
codes and numbers that a 384-dimensional embedding blurs. Fusing their rankings with RRF needs
no score calibration and beats either alone on most retrieval benchmarks.

Building embeds every passage, which is the slow part, so the index is cached on disk under a
key of everything that changes it: the corpus content, the chunking settings, the embedder's
identity and the BM25 tokenisation. Opening an index with the same key loads it without
embedding anything; a changed corpus gets a new key and a new index.

The build streams: documents are chunked a batch at a time into a passage file, vectors are
written into a memory-mapped matrix `EMBED_CHUNK` passages at a time, and BM25 is built in
shards (`adaptlab.retrieval.bm25`), so neither the corpus, its passages nor its vectors are
ever whole in memory. Search reads the vectors block by block and fuses each ranker's best
`CANDIDATES` passages.

>>> retriever = open_retriever(load_corpus(Path("docs/")), Path(".cache/retrieval"))
>>> [hit.passage.doc_id for hit in retriever.search("how long do refunds take?", k=2)]
['faq.md', 'billing.md']
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from adaptlab.retrieval.bm25 import ShardedBM25, build_bm25
from adaptlab.retrieval.chunking import DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP, Passage, chunk
from adaptlab.retrieval.corpus import Corpus, Document
from adaptlab.retrieval.fusion import RRF_K, rrf
from adaptlab.retrieval.passage_store import StoredPassages, batches, write_passages
from adaptlab.retrieval.store import BM25_FOLDER, DENSE, load_index, staged, write_manifest

if TYPE_CHECKING:
    import torch

INDEX_FORMAT = 2  # bump when the files an index is saved as change (2: streamed, sharded BM25)
CHUNK_DOCUMENTS = 256
"""Documents chunked per tokenizer call while building: one batch of text in memory at a time."""
# Passages per `encode` call while building: bounds the token lists and vectors in flight,
# while each call is still big enough for the embedder's length-sorted batching to pay.
EMBED_CHUNK = 1024
# Texts per forward pass. Passages are long (up to 200 tokens) and attention grows with the
# square of length, so on CPU small batches win: on 2 cores, 200 python-docstrings functions
# embed in 3.05 s one at a time, 1.95 s by 16, 2.76 s by 64 (the embedder's default, tuned for
# short texts such as tweets).
EMBED_BATCH = 16
CANDIDATES = 1000
"""Passages each ranker hands to the fusion per query (the usual hybrid-search practice, which
bounds the fusion's work whatever the corpus size). Up to 1,000 passages the fusion is exact;
beyond, a passage a ranker placed below 1,000th gets nothing from it instead of less than
1/1060, which can only reorder hits whose fused scores are that close."""
IndexProgress = Callable[[str, int, int], None]
"""Told ``(stage, done, total)`` as a build advances: "chunking" counts documents, "embedding"
and "BM25" count passages. Never called when the index is loaded from the cache."""
DENSE_BLOCK = 65_536
"""Passage vectors scored at a time: the memory-mapped matrix is read block by block."""


class TextEmbedder(Protocol):
    """What the index needs of an embedder; `adaptlab.models.embeddings.Embedder` is one."""

    model_id: str
    fingerprint: str
    max_seq_length: int
    tokenizer: Any

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, *, remember: bool = True
    ) -> torch.Tensor: ...


@dataclass(frozen=True)
class IndexSettings:
    """Everything besides the corpus and embedder that changes what an index holds."""

    max_tokens: int = DEFAULT_MAX_TOKENS
    overlap: int = DEFAULT_OVERLAP
    stopwords: str = "en"  # bm25s's English list: "the" and "of" would swamp BM25 otherwise


@dataclass(frozen=True)
class ScoredPassage:
    """A search hit: its fused RRF `score`, and its 1-based rank in each ranking (None where
    BM25 found none of its words, or where the passage was not among a ranker's candidates)."""

    passage: Passage
    score: float
    dense_rank: int | None
    bm25_rank: int | None


def cache_key(corpus: Corpus, embedder: TextEmbedder, settings: IndexSettings) -> str:
    """The hex sha256 naming the index of `corpus` built with `embedder` and `settings`."""
    import bm25s

    identity = {
        "format": INDEX_FORMAT,
        "corpus": corpus.content_hash,
        "settings": asdict(settings),
        "embedder": [embedder.model_id, embedder.fingerprint, embedder.max_seq_length],
        "bm25s": bm25s.__version__,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def open_retriever(
    corpus: Corpus,
    cache_dir: Path,
    embedder: TextEmbedder | None = None,
    settings: IndexSettings = IndexSettings(),
    progress: IndexProgress | None = None,
) -> Retriever:
    """The `Retriever` of `corpus`, loaded from `cache_dir` or built and saved there.

    `embedder` defaults to the bundled all-MiniLM-L6-v2, shared with the rest of the process;
    `progress` hears how a build advances (a big corpus takes minutes to embed).
    """
    if embedder is None:
        from adaptlab.models.embeddings import shared_embedder

        embedder = shared_embedder()
    if settings.max_tokens + 2 > embedder.max_seq_length:  # [CLS] and [SEP] take two
        raise ValueError(
            f"max_tokens {settings.max_tokens} does not fit the embedder's window of "
            f"{embedder.max_seq_length} tokens (2 are taken by special tokens)"
        )
    key = cache_key(corpus, embedder, settings)
    folder = Path(cache_dir) / key[:32]
    loaded = load_index(folder, settings.stopwords)
    if loaded is None:
        build_index(corpus, embedder, settings, folder, key, progress)
        loaded = load_index(folder, settings.stopwords)
        if loaded is None:
            raise OSError(f"the index built in {folder} cannot be read back")
    return Retriever(*loaded, embedder=embedder)


def build_index(
    corpus: Corpus,
    embedder: TextEmbedder,
    settings: IndexSettings,
    folder: Path,
    key: str,
    progress: IndexProgress | None = None,
) -> None:
    """Chunk, embed and BM25-index `corpus` into `folder`, streaming (see the module's doc)."""
    report = progress or (lambda stage, done, total: None)
    with staged(folder) as staging:
        documents = batches(corpus.documents, CHUNK_DOCUMENTS)
        documents = _reported(documents, "chunking", len(corpus.documents), report)
        passages = write_passages(staging, (_chunk(batch, embedder, settings) for batch in documents))
        stored = StoredPassages(staging)
        texts = _reported(stored.texts(EMBED_CHUNK), "embedding", passages, report)
        embed_passages(embedder, texts, passages, staging / DENSE)
        texts = _reported(stored.texts(EMBED_CHUNK), "BM25", passages, report)
        build_bm25(texts, settings.stopwords, staging / BM25_FOLDER)
        manifest = {
            "key": key,
            "passages": passages,
            "settings": asdict(settings),
            "embedder": embedder.model_id,
        }
        write_manifest(staging, manifest)


def _chunk(documents: Sequence[Document], embedder: TextEmbedder, settings: IndexSettings) -> list[Passage]:
    return chunk(documents, embedder.tokenizer, settings.max_tokens, settings.overlap)


def _reported(
    batches: Iterable[Sequence[Any]], stage: str, total: int, report: IndexProgress
) -> Iterator[Any]:
    """`batches` as they come, telling `report` how many items have passed after each."""
    done = 0
    for batch in batches:
        yield batch
        done += len(batch)
        report(stage, done, total)


def embed_passages(embedder: TextEmbedder, batches: Iterable[Sequence[str]], count: int, path: Path) -> None:
    """Write a ``count x dim`` float32 matrix of unit rows to the .npy at `path`, embedding the
    texts of `batches` and writing each batch's rows as they come (memory-mapped)."""
    matrix: np.ndarray | None = None
    row = 0
    for texts in batches:
        vectors = embedder.encode(texts, batch_size=EMBED_BATCH, remember=False).numpy()
        if matrix is None:
            matrix = np.lib.format.open_memmap(
                path, mode="w+", dtype=np.float32, shape=(count, vectors.shape[1])
            )
        matrix[row : row + len(vectors)] = vectors
        row += len(vectors)
    if matrix is None:  # no passages: an empty matrix keeps the files uniform
        np.save(path, np.zeros((0, 0), dtype=np.float32))
        return
    matrix.flush()
    if row != count:
        raise RuntimeError(f"embedded {row} passages, expected {count}")


class Retriever:
    """Searches one corpus's passages; build it with `open_retriever`."""

    def __init__(
        self,
        passages: Sequence[Passage],
        dense: np.ndarray,
        bm25: ShardedBM25,
        *,
        embedder: TextEmbedder,
        rrf_k: int = RRF_K,
    ) -> None:
        self.passages = passages
        self.dense = dense
        self.bm25 = bm25
        self.embedder = embedder
        self.rrf_k = rrf_k

    def search(self, query: str, k: int = 5) -> list[ScoredPassage]:
        """The `k` best passages for `query`, best first."""
        return self.search_many([query], k)[0]

    def search_many(self, queries: Sequence[str], k: int = 5) -> list[list[ScoredPassage]]:
        """`search` for each of `queries`, with one embedding call for all.

        Each ranker hands its best `CANDIDATES` passages (at least `k`; BM25 only those sharing
        a word with the query) to the fusion, ties in passage order, so results are the same
        whatever the corpus size or block size; for corpora of up to `CANDIDATES` passages the
        fusion is over every passage.
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if not queries:
            return []
        depth = min(len(self.passages), max(k, CANDIDATES))
        vectors = self.embedder.encode(list(queries)).numpy()
        dense_rankings = self._dense_rankings(vectors, depth)
        results = []
        for query, dense_ranking in zip(queries, dense_rankings, strict=True):
            scores = self.bm25.scores(query)
            positive = np.flatnonzero(scores > 0)
            bm25_ranking = best(scores[positive], positive, depth).tolist()
            dense_rank = {index: rank for rank, index in enumerate(dense_ranking, start=1)}
            bm25_rank = {index: rank for rank, index in enumerate(bm25_ranking, start=1)}
            fused = rrf([dense_ranking, bm25_ranking], k=self.rrf_k)[:k]
            results.append(
                [
                    ScoredPassage(self.passages[index], score, dense_rank.get(index), bm25_rank.get(index))
                    for index, score in fused
                ]
            )
        return results

    def _dense_rankings(self, vectors: np.ndarray, depth: int) -> list[list[int]]:
        """Per query vector, the `depth` passages of highest cosine similarity, best first (ties
        in passage order), reading the matrix `DENSE_BLOCK` rows at a time."""
        kept: list[tuple[np.ndarray, np.ndarray]] = [
            (np.zeros(0, np.float32), np.zeros(0, np.int64)) for _ in vectors
        ]
        for start in range(0, len(self.dense), DENSE_BLOCK):
            block = np.asarray(self.dense[start : start + DENSE_BLOCK])
            block_scores = vectors @ block.T
            block_indices = np.arange(start, start + len(block))
            for row, (scores, indices) in enumerate(kept):
                scores = np.concatenate([scores, block_scores[row]])
                indices = np.concatenate([indices, block_indices])
                order = _best_order(scores, indices, depth)
                kept[row] = scores[order], indices[order]
        return [indices.tolist() for _, indices in kept]


def best(scores: np.ndarray, indices: np.ndarray, depth: int) -> np.ndarray:
    """The `indices` of the `depth` highest `scores`, best first, ties in index order."""
    return indices[_best_order(scores, indices, depth)]


def _best_order(scores: np.ndarray, indices: np.ndarray, depth: int) -> np.ndarray:
    """Positions of the `depth` best (score, then lower index) entries, best first.

    Only entries at or above the `depth`-th highest score are sorted, so a query costs a
    linear pass plus a sort of the candidates, not a sort of the corpus; everything tied at
    that score is kept until the sort, so which tie makes the cut never depends on the
    partition's order.
    """
    if len(scores) > depth:
        threshold = np.partition(scores, len(scores) - depth)[len(scores) - depth]
        candidates = np.flatnonzero(scores >= threshold)
    else:
        candidates = np.arange(len(scores))
    order = np.lexsort((indices[candidates], -scores[candidates]))[:depth]
    return candidates[order]
