"""The index on disk: one folder per cache key, written whole or not at all.

A folder is staged beside its final place and renamed into it, so a reader (or a second
process building the same index) sees a complete index or none; a half-written one left by a
killed build is a hidden staging folder that no key points at.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from adaptlab.files import atomic_write_json, give_default_modes
from adaptlab.retrieval.chunking import Passage

MANIFEST = "manifest.json"
PASSAGES = "passages.json"
DENSE = "dense.npy"
BM25_FOLDER = "bm25"


def save_index(
    folder: Path, manifest: dict[str, Any], passages: list[Passage], dense: np.ndarray, bm25: Any
) -> None:
    """Write the index into `folder` via a staging folder renamed into place.

    When another process has put the same index there first, its copy is kept: same key,
    same content.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    try:
        atomic_write_json(staging / PASSAGES, [asdict(passage) for passage in passages])
        with open(staging / DENSE, "wb") as handle:
            np.save(handle, dense, allow_pickle=False)
        bm25.save(str(staging / BM25_FOLDER))
        atomic_write_json(staging / MANIFEST, manifest)  # last: its presence marks a whole index
        give_default_modes(staging)
        with contextlib.suppress(OSError):
            os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def load_index(folder: Path) -> tuple[list[Passage], np.ndarray, Any] | None:
    """The passages, dense matrix and BM25 index in `folder`, or None when there is no
    complete index there.

    A folder that cannot be read back (a file deleted or damaged since) is removed, so that
    the caller's rebuild can take its place: a cache is never worth an error.
    """
    import bm25s

    if not (folder / MANIFEST).is_file():
        return None
    try:
        rows = json.loads((folder / PASSAGES).read_text(encoding="utf-8"))
        passages = [Passage(**row) for row in rows]
        dense = np.load(folder / DENSE, allow_pickle=False)
        bm25 = bm25s.BM25.load(str(folder / BM25_FOLDER))
    except (OSError, ValueError, TypeError):  # JSON and numpy errors are ValueErrors
        shutil.rmtree(folder, ignore_errors=True)
        return None
    if len(passages) != len(dense):
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return passages, dense, bm25
