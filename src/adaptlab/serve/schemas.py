"""The HTTP request bodies (validated with pydantic) and OpenAI-shaped replies.

Requests accept what OpenAI clients send: fields the server has no use for (``seed``,
``user``, ``presence_penalty`` …) are ignored rather than refused, as vLLM does, so any client
works unchanged; fields that would change the answer and cannot be honoured (``n`` > 1, stop
sequences sent to the task model) are refused by the app with a 400 saying so.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_TOP_LOGPROBS = 20
"""OpenAI's own limit on ``top_logprobs``."""


class TextPart(BaseModel):
    """One part of a message's content in the list form (``[{"type": "text", "text": ...}]``)."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["text"]
    text: str


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)

    def as_chat(self) -> dict[str, str]:
        """The message as the chat template takes it (a ``developer`` message is a system one)."""
        role = "system" if self.role == "developer" else self.role
        return {"role": role, "content": self.text()}


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """``POST /v1/chat/completions``. Sampling settings are accepted and ignored: answers are
    greedy, so the same request always gets the same answer."""

    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    n: int | None = Field(None, ge=1)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    logprobs: bool | None = False
    top_logprobs: int | None = Field(None, ge=0, le=MAX_TOP_LOGPROBS)
    stop: str | list[str] | None = None

    def token_limit(self) -> int | None:
        """``max_completion_tokens`` (the newer name) or ``max_tokens``."""
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens


class TokenizeRequest(BaseModel):
    """``POST /tokenize`` as vLLM takes it (the prompt form)."""

    model_config = ConfigDict(extra="ignore")

    model: str
    prompt: str
    add_special_tokens: bool = True


@dataclass(frozen=True)
class Reply:
    """One answer as the API reports it. `top_logprobs` holds the first generated token's most
    likely alternatives (token text, log-probability), most likely first, when asked for."""

    content: str
    finish_reason: Literal["stop", "length"]
    prompt_tokens: int
    completion_tokens: int
    top_logprobs: Sequence[tuple[str, float]] | None = None


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def usage(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }


def logprobs_block(reply: Reply, top: int) -> dict[str, Any] | None:
    """OpenAI's ``logprobs`` for the first generated token: the greedy token (the most likely)
    with its log-probability, and its `top` most likely alternatives."""
    if reply.top_logprobs is None:
        return None

    def entry(token: str, logprob: float) -> dict[str, Any]:
        return {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}

    chosen_token, chosen_logprob = reply.top_logprobs[0]
    alternatives = [entry(token, logprob) for token, logprob in reply.top_logprobs[:top]]
    return {
        "content": [{**entry(chosen_token, chosen_logprob), "top_logprobs": alternatives}],
        "refusal": None,
    }


def completion_body(identifier: str, model: str, reply: Reply, top_logprobs: int | None) -> dict[str, Any]:
    """A whole ``chat.completion`` object."""
    return {
        "id": identifier,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content, "refusal": None},
                "logprobs": logprobs_block(reply, top_logprobs) if top_logprobs is not None else None,
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": usage(reply),
    }


def chunk_body(
    identifier: str,
    model: str,
    created: int,
    delta: dict[str, Any],
    *,
    finish_reason: str | None = None,
    logprobs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a streamed answer."""
    return {
        "id": identifier,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}],
    }


def model_card(model_id: str, description: str, max_model_len: int) -> dict[str, Any]:
    """One entry of ``GET /v1/models``."""
    return {
        "id": model_id,
        "object": "model",
        "created": int(time.time()),
        "owned_by": "adaptlab",
        "description": description,
        "max_model_len": max_model_len,
    }
