"""Where a run's documents are and how they are retrieved: shared by ``eval``, ``tune`` and ``run``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import Field, model_validator

from adaptlab.retrieval.chunking import DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP
from adaptlab.retrieval.index import IndexSettings
from adaptlab.settings import Cli, Settings

MAX_CHUNK_TOKENS = 254
"""The bundled embedder reads 256 tokens, two of them [CLS] and [SEP]."""


class RetrievalSettings(Settings):
    """The corpus the retrieval rungs (``rag-K``) search, and how it is cut and searched."""

    group: ClassVar[str] = "Retrieval"

    corpus: Annotated[Path | None, Cli(metavar="PATH")] = None
    """Documents the questions are about: a folder of .txt/.md files or a JSONL file of id and
    text; adds the rag rungs to `ladder` and, in `run`, tuning on the documents [default: the
    task spec's corpus]."""
    passages: Annotated[int, Field(ge=1, le=50)] = 3
    """Passages a rag rung puts in the prompt when named without a count (rag, or in `ladder`)."""
    chunk_tokens: Annotated[int, Field(ge=16, le=MAX_CHUNK_TOKENS)] = DEFAULT_MAX_TOKENS
    """Longest passage, in embedder tokens: documents are cut into passages of at most this size."""
    chunk_overlap: Annotated[int, Field(ge=0)] = DEFAULT_OVERLAP
    """Tokens each passage repeats from the one before it, so a fact cut in two is whole in one."""

    @model_validator(mode="after")
    def _overlap_below_chunk(self) -> RetrievalSettings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be below chunk_tokens ({self.chunk_tokens})"
            )
        return self

    def index_settings(self) -> IndexSettings:
        return IndexSettings(max_tokens=self.chunk_tokens, overlap=self.chunk_overlap)
