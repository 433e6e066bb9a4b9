"""Retrieval index memory: the streamed build against building it all in memory.

The obvious way to index a corpus — and how adaptlab did it before — is to read every
document, chunk them all, embed them into one matrix and hand bm25s the whole tokenised corpus.
Its memory grows with the corpus, several times the text's size. adaptlab's build streams:
documents are read when chunked, passages go to a file, vectors into a memory-mapped matrix and
BM25 is built in shards. Both sides here index the same corpus with the same warmed embedder
in the same process; the corpus is the bundled python-docstrings functions, repeated
``--copies`` times with distinct ids and a comment line naming the copy (so it runs offline,
can be made larger and no text repeats), written to a JSONL file that both read.

Memory is tracemalloc's peak: everything allocated through Python's allocators (objects,
numpy arrays), not the embedder's torch activations (per batch on both sides) nor the page
cache behind memory-mapped files. The searches of both indexes are compared on the docstrings.

Run: ``python benchmarks/retrieval_memory.py [--copies 4] [--queries 100]``. The last line gives
the setup and ``ratio=<in-memory build's peak / streamed build's peak>``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"

import bm25s
import numpy as np
import torch

from adaptlab.data import load_task
from adaptlab.models.embeddings import Embedder, load_embedder
from adaptlab.retrieval import Document, chunk, load_corpus, open_retriever
from adaptlab.retrieval.index import EMBED_BATCH, IndexSettings


def warmed_embedder() -> Embedder:
    """A fresh embedder (empty memo) that has run once, so neither side pays for warm-up."""
    embedder = load_embedder()
    embedder.encode(["def warm_up(): pass"])
    embedder._memo.clear()
    return embedder


def measured(work: Callable[[], Any]) -> tuple[Any, float, int]:
    """`work`'s result, seconds and tracemalloc peak in bytes."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = work()
        return result, time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def in_memory_index(path: Path, embedder: Embedder) -> tuple[np.ndarray, Any]:
    """Every document read, chunked, embedded and BM25-indexed at once (the same settings)."""
    settings = IndexSettings()
    with open(path, encoding="utf-8") as handle:
        documents = [Document(**json.loads(line)) for line in handle]
    passages = chunk(documents, embedder.tokenizer, settings.max_tokens, settings.overlap)
    texts = [passage.text for passage in passages]
    dense = embedder.encode(texts, batch_size=EMBED_BATCH, remember=False).numpy().copy()
    bm25 = bm25s.BM25()
    bm25.index(bm25s.tokenize(texts, stopwords=settings.stopwords, show_progress=False), show_progress=False)
    return dense, bm25


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=4, help="times the functions are repeated (default 4)")
    parser.add_argument("--queries", type=int, default=100, help="docstrings searched on both (default 100)")
    args = parser.parse_args()

    examples = load_task("python-docstrings").examples
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "corpus.jsonl"
        with open(path, "w", encoding="utf-8") as handle:
            for copy in range(args.copies):
                for example in examples:
                    text = f"{example.input}\n# copy {copy}"  # distinct: the embedder embeds repeats once
                    handle.write(json.dumps({"id": f"{example.id}~{copy}", "text": text}) + "\n")
        size = path.stat().st_size
        embedder = warmed_embedder()
        retriever, streamed_s, streamed_peak = measured(
            lambda: open_retriever(load_corpus(path), Path(folder) / "index", embedder)
        )
        embedder._memo.clear()
        (dense, _), memory_s, memory_peak = measured(lambda: in_memory_index(path, embedder))
        difference = float(np.abs(dense - np.asarray(retriever.dense)).max())
        queries = [example.output for example in examples[: args.queries]]
        found = sum(
            hits[0].passage.doc_id.split("~")[0] == example.id
            for hits, example in zip(retriever.search_many(queries, k=1), examples, strict=False)
        )
        passages = len(retriever.passages)

    print(
        f"corpus: {args.copies} x {len(examples)} functions, {size / 1e6:.1f} MB of JSONL,"
        f" {passages} passages"
    )
    for name, seconds, peak in (
        ("streamed", streamed_s, streamed_peak),
        ("in-memory", memory_s, memory_peak),
    ):
        print(f"{name} build: {seconds:.1f} s, peak {peak / 1e6:.1f} MB ({peak / size:.2f}x the file)")
    print(
        f"largest vector difference {difference:.1e}; streamed index: docstring -> its function first for "
        f"{found} of {len(queries)}"
    )
    print(
        f"setup: {embedder.model_id}, python-docstrings x{args.copies}, {passages} passages, "
        f"{platform.machine()} {os.cpu_count()} cpu, torch {torch.__version__}, "
        f"bm25s {bm25s.__version__} ratio={memory_peak / streamed_peak:.1f}"
    )


if __name__ == "__main__":
    main()
