"""What a server allows: who may call it, and how much one request and the queue may ask."""

from __future__ import annotations

from dataclasses import dataclass

from adaptlab.models.base import DEFAULT_MAX_BATCH_SIZE

DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_TOKENS_LIMIT = 512
DEFAULT_QUEUE_SIZE = 64


@dataclass(frozen=True)
class ServeSettings:
    """Limits and auth of one server.

    `token`: the bearer token every request but ``/health`` must carry (None: no auth, which
    `adaptlab serve` allows on a loopback address only). `max_body_bytes`: larger request
    bodies get a 413. `max_tokens_limit`: the most tokens one answer may ask for (larger: 400),
    and the plain model's budget when a request names none. `queue_size`: requests that may wait
    (more: 503). `max_batch_size`: the most requests answered by one model call.
    """

    token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_tokens_limit: int = DEFAULT_MAX_TOKENS_LIMIT
    queue_size: int = DEFAULT_QUEUE_SIZE
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_tokens_limit", "queue_size", "max_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.token is not None and not self.token.strip():
            raise ValueError("the token must not be empty")

    def __repr__(self) -> str:
        # Never print the token, even in a traceback or a debugger.
        hidden = None if self.token is None else "***"
        return (
            f"ServeSettings(token={hidden}, max_body_bytes={self.max_body_bytes},"
            f" max_tokens_limit={self.max_tokens_limit}, queue_size={self.queue_size},"
            f" max_batch_size={self.max_batch_size})"
        )
