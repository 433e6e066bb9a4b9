"""Reading what an OpenAI-compatible server sends back, tolerating what servers leave out.

Servers differ in the optional parts of a reply: some send no ``usage``, some no ``logprobs``,
some no ``finish_reason``. Each reader returns None for a part that is missing, so the backend
can decide what to do (estimate, fall back) and say so in its description.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

CHARS_PER_TOKEN = 4
"""The estimate used when a server neither reports usage nor counts tokens: about right for
English text with the BPE vocabularies of current chat models."""


@dataclass(frozen=True)
class ChatAnswer:
    """The parts of a chat completion adaptlab records; None where the server sent nothing."""

    text: str
    prompt_tokens: int | None
    output_tokens: int | None
    """Every generated token, reasoning included (see `output_tokens`)."""
    stopped: bool | None
    """Whether the model ended the answer itself (``finish_reason: stop``) rather than running
    out of tokens (``length``)."""
    reasoning_tokens: int | None = None
    """Of `output_tokens`, those a reasoning model thought in before answering."""

    @property
    def cut_short_by_reasoning(self) -> bool:
        """The token budget ran out while the model was still reasoning: no answer at all."""
        return not self.text and self.stopped is False and bool(self.reasoning_tokens)


def read_chat(body: dict[str, Any]) -> ChatAnswer | None:
    """The answer in a chat-completions reply; None when it has no ``choices[0].message``.

    >>> read_chat({"choices": [{"message": {"content": " positive"}, "finish_reason": "stop"}]})
    ChatAnswer(text='positive', prompt_tokens=None, output_tokens=None, stopped=True, reasoning_tokens=None)
    """
    try:
        choice = body["choices"][0]
        content = choice["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    prompt = usage.get("prompt_tokens")
    output, reasoning = output_tokens(usage)
    finish = choice.get("finish_reason")
    return ChatAnswer(
        text=content.strip() if isinstance(content, str) else "",
        prompt_tokens=prompt if isinstance(prompt, int) else None,
        output_tokens=output,
        stopped={"stop": True, "length": False}.get(finish) if isinstance(finish, str) else None,
        reasoning_tokens=reasoning,
    )


def output_tokens(usage: dict[str, Any]) -> tuple[int | None, int | None]:
    """(output tokens, reasoning tokens) of a reply's ``usage``; output counts the reasoning
    too, since a provider bills the tokens a model thought in as output.

    OpenAI's ``completion_tokens`` already include them (``completion_tokens_details.
    reasoning_tokens`` says how many of them there were). A server whose ``completion_tokens``
    leave them out shows it by a ``total_tokens`` that adds them on top, or by more reasoning
    than completion tokens; its reasoning tokens are added.

    >>> details = {"reasoning_tokens": 24}
    >>> output_tokens({"completion_tokens": 30, "completion_tokens_details": details})  # OpenAI
    (30, 24)
    >>> usage = {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 39}
    >>> output_tokens({**usage, "completion_tokens_details": details})  # reasoning on top
    (30, 24)
    """
    completion = usage.get("completion_tokens")
    completion = completion if isinstance(completion, int) else None
    details = usage.get("completion_tokens_details")
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
    if not isinstance(reasoning, int):
        return completion, None
    if completion is None or reasoning <= 0:
        return completion, reasoning
    prompt, total = usage.get("prompt_tokens"), usage.get("total_tokens")
    on_top = isinstance(prompt, int) and isinstance(total, int) and total == prompt + completion + reasoning
    return (completion + reasoning if on_top or reasoning > completion else completion), reasoning


def top_logprobs(body: dict[str, Any]) -> list[tuple[str, float]] | None:
    """The first generated token's alternatives as (token, logprob), or None when the reply
    carries no log-probabilities (servers that ignore the ``logprobs`` request field)."""
    try:
        alternatives = body["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    except (KeyError, IndexError, TypeError):
        return None
    if isinstance(alternatives, dict):  # the legacy completions shape, {token: logprob}
        alternatives = [{"token": token, "logprob": value} for token, value in alternatives.items()]
    pairs = []
    for entry in alternatives or []:
        if isinstance(entry, dict) and isinstance(entry.get("token"), str):
            value = entry.get("logprob")
            if isinstance(value, int | float):
                pairs.append((entry["token"], float(value)))
    return pairs or None


def token_count(body: dict[str, Any] | None, text: str) -> int | None:
    """The count in a ``/tokenize`` reply (vLLM: ``count``; others: a ``tokens`` list); None
    when there is none, or when a non-empty text came back as no tokens (a server that did not
    understand the request)."""
    if body is None:
        return None
    count = body.get("count")
    if not isinstance(count, int):
        tokens = body.get("tokens")
        count = len(tokens) if isinstance(tokens, list) else None
    if count is None or (text and count <= 0):
        return None
    return count


def estimate_tokens(text: str) -> int:
    """`CHARS_PER_TOKEN` characters a token, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)
