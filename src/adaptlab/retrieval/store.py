"""The index on disk: one folder per cache key, written whole or not at all.

A folder is built in a staging folder beside its final place and renamed into it, so a reader
(or a second process building the same index) sees a complete index or none; a half-written
one left by a killed build is a hidden staging folder that no key points at.

Everything is opened memory-mapped or read on demand (`StoredPassages`, the dense ``.npy``, the
BM25 shards): an index larger than memory is searched from the page cache.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from adaptlab.files import atomic_write_json, give_default_modes
from adaptlab.retrieval.bm25 import ShardedBM25, load_bm25
from adaptlab.retrieval.passage_store import StoredPassages

MANIFEST = "manifest.json"
DENSE = "dense.npy"
BM25_FOLDER = "bm25"


@contextlib.contextmanager
def staged(folder: Path) -> Iterator[Path]:
    """A staging folder to build the index in; renamed to `folder` when the block ends well.

    When another process has put the same index there first, its copy is kept: same key,
    same content.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    try:
        yield staging
        give_default_modes(staging)
        with contextlib.suppress(OSError):
            os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def write_manifest(staging: Path, manifest: dict[str, Any]) -> None:
    """Write last: its presence marks a whole index."""
    atomic_write_json(staging / MANIFEST, manifest)


def load_index(folder: Path, stopwords: str) -> tuple[StoredPassages, np.ndarray, ShardedBM25] | None:
    """The passages, dense matrix and BM25 index in `folder`, or None when there is no
    complete index there.

    A folder that cannot be read back (a file deleted or damaged since) is removed, so that
    the caller's rebuild can take its place: a cache is never worth an error.
    """
    if not (folder / MANIFEST).is_file():
        return None
    try:
        passages = StoredPassages(folder)
        dense = np.load(folder / DENSE, allow_pickle=False, mmap_mode="r")
        bm25 = load_bm25(folder / BM25_FOLDER, stopwords)
        expected = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["passages"]
    except (OSError, ValueError, TypeError, KeyError):  # JSON and numpy errors are ValueErrors
        shutil.rmtree(folder, ignore_errors=True)
        return None
    if not len(passages) == len(dense) == bm25.passages == expected:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return passages, dense, bm25
