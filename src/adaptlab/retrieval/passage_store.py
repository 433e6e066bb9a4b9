"""An index's passages on disk, read one at a time: a corpus's passages need not fit in memory.

Passages are JSON lines in ``passages.jsonl``, and ``passage_offsets.npy`` holds where each
starts (one more offset: the file's end), so passage ``i`` is one positioned read
(`os.pread`, safe from any thread of a server) and a full pass is a sequential read.
"""

from __future__ import annotations

import itertools
import json
import os
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar, overload

import numpy as np

from adaptlab.retrieval.chunking import Passage

T = TypeVar("T")

PASSAGES = "passages.jsonl"
OFFSETS = "passage_offsets.npy"


def write_passages(folder: Path, batches: Iterable[Sequence[Passage]]) -> int:
    """Write the passages arriving in `batches` into `folder`; returns how many there were."""
    offsets = array("q", [0])  # 8 bytes a passage
    with open(folder / PASSAGES, "wb") as handle:
        for batch in batches:
            for passage in batch:
                line = json.dumps(asdict(passage), ensure_ascii=False).encode("utf-8") + b"\n"
                handle.write(line)
                offsets.append(offsets[-1] + len(line))
    np.save(folder / OFFSETS, np.frombuffer(offsets, dtype=np.int64))
    return len(offsets) - 1


class StoredPassages(Sequence[Passage]):
    """The passages of `folder`, read from disk when asked for.

    >>> passages = StoredPassages(Path("runs/index/3f2a…"))
    >>> passages[17].doc_id, len(passages)
    ('guide/install.md', 5120)
    """

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / PASSAGES
        self.offsets = np.load(Path(folder) / OFFSETS, mmap_mode="r")
        if len(self.offsets) < 1 or int(self.offsets[-1]) != self.path.stat().st_size:
            raise ValueError(f"{self.path}: the offsets do not match the file (written partly?)")
        self._fd = os.open(self.path, os.O_RDONLY)  # opened once: server threads share it

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, index: int) -> Passage: ...
    @overload
    def __getitem__(self, index: slice) -> list[Passage]: ...
    def __getitem__(self, index: int | slice) -> Passage | list[Passage]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"passage {index} of {len(self)}")
        start, end = int(self.offsets[index]), int(self.offsets[index + 1])
        return _passage(os.pread(self._fd, end - start, start))

    def __iter__(self) -> Iterator[Passage]:
        with open(self.path, "rb") as handle:
            for line in handle:
                yield _passage(line)

    def texts(self, batch: int) -> Iterator[list[str]]:
        """Every passage's text in order, `batch` at a time (what embedding and BM25 read)."""
        return batches((passage.text for passage in self), batch)

    def __del__(self) -> None:
        if hasattr(self, "_fd"):
            os.close(self._fd)


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last shorter), drawn lazily: one list in memory at a time."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _passage(line: bytes) -> Passage:
    return Passage(**json.loads(line))
