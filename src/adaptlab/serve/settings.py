"""What a server allows: who may call it, and how much one request and the queue may ask."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import ConfigDict, Field, field_validator

from adaptlab.models.base import DEFAULT_MAX_BATCH_SIZE
from adaptlab.settings import Settings

DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_TOKENS_LIMIT = 512
DEFAULT_QUEUE_SIZE = 64


class ServeSettings(Settings):
    """Limits and auth of one server; ``adaptlab serve`` takes an option for each limit."""

    model_config = ConfigDict(frozen=True)
    group: ClassVar[str] = "Limits"

    token: Annotated[str | None, Field(repr=False)] = None
    """The bearer token every request but /health must carry (None: no auth, which `adaptlab
    serve` allows on a loopback address only). Never shown, even in a traceback."""
    max_body_bytes: Annotated[int, Field(ge=1)] = DEFAULT_MAX_BODY_BYTES
    """Largest request body in bytes (larger: a 413)."""
    max_tokens_limit: Annotated[int, Field(ge=1)] = DEFAULT_MAX_TOKENS_LIMIT
    """Most tokens one answer may ask for (more: a 400); also the budget of a plain-model
    request that names none."""
    queue_size: Annotated[int, Field(ge=1)] = DEFAULT_QUEUE_SIZE
    """Requests that may wait for the model (more: a 503, server busy)."""
    max_batch_size: Annotated[int, Field(ge=1)] = DEFAULT_MAX_BATCH_SIZE
    """Most requests answered by one model call."""

    @field_validator("token")
    @classmethod
    def _not_blank(cls, token: str | None) -> str | None:
        if token is not None and not token.strip():
            raise ValueError("the token must not be empty")
        return token
