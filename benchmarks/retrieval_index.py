"""Retrieval index: building and querying it against a plain one-passage-at-a-time loop.

The corpus is the bundled python-docstrings task's functions (one document each, so it runs
offline); the queries are their docstrings, so each query has one gold document and the run
also reports recall@5 and MRR. The index chunks, embeds in length-sorted batches, builds BM25
and saves to disk; the plain loop embeds each of the same passages with its own ``encode``
call on a fresh copy of the same model (so no memo is shared) and answers a query with the
dense half alone: one query embedding and a dot product with every passage.

Run: ``python benchmarks/retrieval_index.py [--documents 500] [--queries 100]``. The last line
gives the setup and ``ratio=<passages/s building the index / passages/s of the plain loop>``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np
import torch

from adaptlab.data import load_task
from adaptlab.models.embeddings import Embedder, load_embedder
from adaptlab.retrieval import (
    Corpus,
    Document,
    document_ids,
    mean_reciprocal_rank,
    open_retriever,
    recall_at_k,
)


def warmed_embedder() -> Embedder:
    """A fresh embedder (empty memo) that has run once, so neither side pays for warm-up."""
    embedder = load_embedder()
    embedder.encode(["def warm_up(): pass"])
    embedder._memo.clear()
    return embedder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=500, help="functions in the corpus (default 500)")
    parser.add_argument(
        "--queries", type=int, default=100, help="docstrings asked, one at a time (default 100)"
    )
    args = parser.parse_args()

    examples = load_task("python-docstrings").examples[: args.documents]
    corpus = Corpus(tuple(Document(example.id, example.input) for example in examples))
    asked = examples[: args.queries]
    queries = [example.output for example in asked]

    with tempfile.TemporaryDirectory() as cache:
        embedder = warmed_embedder()
        started = time.perf_counter()
        retriever = open_retriever(corpus, Path(cache), embedder)
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        open_retriever(corpus, Path(cache), embedder)
        reopen_s = time.perf_counter() - started
        texts = [passage.text for passage in retriever.passages]
        n = len(texts)
        index_rate = n / build_s

        plain = warmed_embedder()
        started = time.perf_counter()
        matrix = torch.cat([plain.encode([text]) for text in texts]).numpy()
        loop_s = time.perf_counter() - started
        loop_rate = n / loop_s
        same = float(np.abs(matrix - np.asarray(retriever.dense)).max())

        index_latency, loop_latency, rankings = [], [], []
        for query in queries:
            started = time.perf_counter()
            hits = retriever.search(query, k=5)
            index_latency.append(time.perf_counter() - started)
            rankings.append(document_ids(hits))
            started = time.perf_counter()
            np.argsort(-(matrix @ plain.encode([query]).numpy()[0]))[:5]
            loop_latency.append(time.perf_counter() - started)
        started = time.perf_counter()
        retriever.embedder = warmed_embedder()  # a fresh memo: the batch is timed from scratch too
        retriever.search_many(queries, k=5)
        batched_ms = (time.perf_counter() - started) * 1000 / len(queries)

    gold = [example.id for example in asked]
    index_ms, loop_ms = (statistics.median(times) * 1000 for times in (index_latency, loop_latency))
    print(f"corpus: {len(corpus.documents)} functions -> {n} passages; largest vector difference {same:.1e}")
    print(f"index build: {build_s:.2f} s, {index_rate:.1f} passages/s (chunk, embed, BM25, save)")
    print(f"index reopen with the same key: {reopen_s * 1000:.1f} ms, nothing embedded")
    print(f"plain loop:  {loop_s:.2f} s, {loop_rate:.1f} passages/s (one encode call per passage)")
    print(
        f"query latency: index median {index_ms:.1f} ms (hybrid), batched {batched_ms:.1f} ms/query; "
        f"plain loop median {loop_ms:.1f} ms (dense only)"
    )
    print(
        f"docstring -> function: recall@1 {recall_at_k(rankings, gold, 1):.2f}, "
        f"recall@5 {recall_at_k(rankings, gold, 5):.2f}, MRR {mean_reciprocal_rank(rankings, gold):.3f}"
    )
    print(
        f"setup: {embedder.model_id} on python-docstrings, {n} passages, {len(queries)} queries, "
        f"{platform.machine()} {os.cpu_count()} cpu, torch {torch.__version__}, "
        f"threads {torch.get_num_threads()} ratio={index_rate / loop_rate:.1f}"
    )


if __name__ == "__main__":
    main()
