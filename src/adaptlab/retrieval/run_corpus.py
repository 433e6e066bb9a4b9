"""A run's corpus: read before the model loads, indexed on first use, described in results.

The index lives under the runs directory (``runs/index/<key>/``), keyed by the corpus content
and the index settings (`open_retriever`), so every rung of a run, a resumed run and the next
run on the same documents open it without embedding anything again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adaptlab.data.task import Example
from adaptlab.retrieval.corpus import Corpus, load_corpus
from adaptlab.retrieval.index import IndexProgress, IndexSettings, Retriever, open_retriever
from adaptlab.retrieval.metrics import mean_reciprocal_rank, recall_at_k

INDEX_DIR = "index"
"""Folder of the runs directory holding corpus indexes."""


@dataclass
class RunCorpus:
    """The documents a run's retrieval rungs search, and their index once opened."""

    path: str
    corpus: Corpus
    settings: IndexSettings
    index_dir: Path
    on_indexing: Callable[[int], IndexProgress | None] | None = None
    """Told the number of documents before the index is opened (built, the first time); what
    it returns hears how a build advances."""
    _retriever: Retriever | None = field(default=None, repr=False)

    @classmethod
    def read(cls, path: str | Path, settings: IndexSettings, runs_dir: Path) -> RunCorpus:
        """Read and check the corpus at `path` (`TaskFileError` with file and line otherwise)."""
        return cls(str(path), load_corpus(Path(path)), settings, Path(runs_dir) / INDEX_DIR)

    def retriever(self) -> Retriever:
        """The index, opened once per run (built and cached the first time)."""
        if self._retriever is None:
            progress = self.on_indexing(len(self.corpus.documents)) if self.on_indexing else None
            self._retriever = open_retriever(
                self.corpus, self.index_dir, settings=self.settings, progress=progress
            )
        return self._retriever

    def describe(self) -> dict[str, Any]:
        passages = len(self._retriever.passages) if self._retriever is not None else None
        return {
            "path": self.path,
            "documents": len(self.corpus.documents),
            "passages": passages,
            "hash": self.corpus.content_hash[:16],
            "chunk_tokens": self.settings.max_tokens,
            "chunk_overlap": self.settings.overlap,
        }


def holds_evidence(hit_id: str, doc_id: str, text: str, example: Example) -> bool:
    """Whether a retrieved passage is the example's gold evidence: its id or its document's id is
    the example's ``context_id``, or it contains (or lies within) the example's ``context``."""
    if example.context_id is not None:
        return example.context_id in (hit_id, doc_id)
    if example.context is not None:
        context, passage = " ".join(example.context.split()), " ".join(text.split())
        return bool(passage) and (context in passage or passage in context)
    return False


def gold_rank(example: Example, hits: Sequence[Any]) -> int | None:
    """The 1-based rank of the first hit holding `example`'s evidence; None when none does (or
    the example names no evidence)."""
    for rank, hit in enumerate(hits, start=1):
        if holds_evidence(hit.passage.id, hit.passage.doc_id, hit.passage.text, example):
            return rank
    return None


def retrieval_quality(examples: Sequence[Example], ranks: Sequence[int | None], k: int) -> dict[str, Any]:
    """recall@`k` and MRR over the examples that name their evidence (None with none), and how
    many did, from each example's `gold_rank`: the retrieval measured on its own, apart from
    what the model made of it."""
    judged = [rank for e, rank in zip(examples, ranks, strict=True) if e.evidence is not None]
    if not judged:
        return {"recall_at_k": None, "mrr": None, "judged": 0}
    # Each ranking as its ranks, the gold one named by its rank (0: not retrieved).
    rankings = [[str(i) for i in range(1, max(k, rank or 0) + 1)] for rank in judged]
    gold = [str(rank or 0) for rank in judged]
    return {
        "recall_at_k": recall_at_k(rankings, gold, k),
        "mrr": mean_reciprocal_rank(rankings, gold),
        "judged": len(judged),
    }


def seen_and_unseen(train: Sequence[Example], test: Sequence[Example]) -> dict[str, list[str]] | None:
    """Test example ids whose evidence also answers a train example ("seen": the fact could be
    learnt from the training pairs) and the others that name evidence ("unseen": only reading the
    documents can answer them); None when no test example names its evidence."""
    taught = {e.evidence for e in train if e.evidence is not None}
    named = [e for e in test if e.evidence is not None]
    if not named:
        return None
    return {
        "seen": [e.id for e in named if e.evidence in taught],
        "unseen": [e.id for e in named if e.evidence not in taught],
    }
