"""Retrieval: read a corpus, chunk it, index it (dense + BM25, cached) and search it.

>>> retriever = open_retriever(load_corpus(Path("docs/")), Path(".cache/retrieval"))
>>> retriever.search("how long do refunds take?", k=3)
"""

from adaptlab.retrieval.chunking import Passage, chunk
from adaptlab.retrieval.corpus import Corpus, Document, load_corpus
from adaptlab.retrieval.fusion import rrf
from adaptlab.retrieval.index import IndexSettings, Retriever, ScoredPassage, open_retriever
from adaptlab.retrieval.metrics import document_ids, mean_reciprocal_rank, passage_ids, recall_at_k

__all__ = [
    "Corpus",
    "Document",
    "IndexSettings",
    "Passage",
    "Retriever",
    "ScoredPassage",
    "chunk",
    "document_ids",
    "load_corpus",
    "mean_reciprocal_rank",
    "open_retriever",
    "passage_ids",
    "recall_at_k",
    "rrf",
]
