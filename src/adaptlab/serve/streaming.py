"""Server-sent events for ``"stream": true``: the answer as ``chat.completion.chunk`` lines.

The answer is computed first (it comes out of a batched model call, not token by token), then
sent as a role chunk, one chunk per word (with its leading whitespace), a chunk carrying the
``finish_reason``, a usage chunk when ``stream_options.include_usage`` asks for one, and
``data: [DONE]``. Joined, the content chunks are exactly the non-streamed content, so a
streaming client gets the same answer, just not sooner.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from adaptlab.serve.schemas import Reply, chunk_body, logprobs_block, usage

_PIECE = re.compile(r"\s*\S+|\s+$")


def pieces(content: str) -> list[str]:
    """`content` cut before each word, whitespace kept: ``"".join(pieces(c)) == c``.

    >>> pieces("The answer is  positive.")
    ['The', ' answer', ' is', '  positive.']
    """
    return _PIECE.findall(content)


def sse(payload: dict[str, Any] | str) -> str:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n"


async def completion_events(
    identifier: str, model: str, reply: Reply, top_logprobs: int | None, include_usage: bool
) -> AsyncIterator[str]:
    """The SSE lines of one streamed completion, ending with ``data: [DONE]``."""
    created = int(time.time())
    yield sse(chunk_body(identifier, model, created, {"role": "assistant", "content": ""}))
    for index, piece in enumerate(pieces(reply.content)):
        logprobs = logprobs_block(reply, top_logprobs) if index == 0 and top_logprobs is not None else None
        yield sse(chunk_body(identifier, model, created, {"content": piece}, logprobs=logprobs))
    yield sse(chunk_body(identifier, model, created, {}, finish_reason=reply.finish_reason))
    if include_usage:
        final = chunk_body(identifier, model, created, {})
        yield sse({**final, "choices": [], "usage": usage(reply)})
    yield sse("[DONE]")
