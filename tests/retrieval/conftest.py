"""The bundled embedder's tokenizer, and a fast stand-in embedder that counts its work."""

from __future__ import annotations

from typing import Any

import pytest

from fakes import HashingEmbedder, bundled_embedder_tokenizer


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    """The real all-MiniLM-L6-v2 tokenizer: chunking must be right for the offsets it gives."""
    return bundled_embedder_tokenizer()


@pytest.fixture
def embedder(tokenizer: Any) -> HashingEmbedder:
    return HashingEmbedder(tokenizer)
