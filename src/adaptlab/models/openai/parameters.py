"""Request parameters a server refuses: learned from its first refusal, remembered after.

adaptlab asks every server the same way — ``max_tokens``, ``temperature: 0`` (greedy), ``n: 1``,
and ``stop`` when a rung has stop strings — because vLLM, the llama.cpp server, Ollama and
OpenAI's chat models all accept that. Reasoning models behind the same API (OpenAI's o-series
and gpt-5, and the providers that copy them) refuse parts of it with an HTTP 400 that names
the parameter::

    {"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with this model.
      Use 'max_completion_tokens' instead.", "param": "max_tokens", "code": "unsupported_parameter"}}
    {"error": {"message": "Unsupported value: 'temperature' does not support 0 with this model.
      Only the default (1) value is supported.", "param": "temperature", "code": "unsupported_value"}}

`RequestParameters` learns from such a refusal: from then on ``max_tokens`` goes out as
``max_completion_tokens`` (the same budget under its newer name, plus `REASONING_ALLOWANCE` for
the model's reasoning) and any other refused parameter is left out. The request is asked again
at once, adjusted.

Why ``max_tokens`` first rather than the newer name with a fall-back: a server mostly ignores a
field it does not know rather than refusing it, so a server that predates
``max_completion_tokens`` would answer without any length limit and nothing would say so; a
server that no longer takes ``max_tokens`` refuses it loudly and names the replacement.

Not learned, so still an error as before: a refusal of ``model``, ``messages`` or
``max_completion_tokens``; a refusal of ``logprobs`` or ``top_logprobs``, which label scoring
answers with its own fall-back to generation (and records why); and any 400 whose code is not
one of `UNSUPPORTED_CODES` — ``max_tokens`` too large, a prompt too long — since those are the
request's fault, not a parameter the server lacks.

The result cache keys answers by model, prompt and the rung's decoding parameters, not by what
was learned here: the same server and model refuse the same parameters on every run, so every
answer stored under its identity was asked the same way, and a resumed or repeated run reuses
them rather than paying for them again. A server that refused temperature 0 sampled those
answers; a re-run reuses the samples (``--no-cache`` draws new ones), and one that finds every
answer cached sends nothing, so it reports the decoding as `UNCONFIRMED` rather than greedy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from adaptlab.models.openai.client import Reply

MAX_TOKENS = "max_tokens"
MAX_COMPLETION_TOKENS = "max_completion_tokens"
TEMPERATURE = "temperature"
UNSUPPORTED_CODES = ("unsupported_parameter", "unsupported_value")
NOT_LEARNED = ("model", "messages", MAX_COMPLETION_TOKENS, "logprobs", "top_logprobs")
"""Parameters a refusal of which is an error: see the module docstring."""
REASONING_ALLOWANCE = 4096
"""Tokens added to a request's budget once the server takes ``max_completion_tokens``: that
field caps the reasoning and the answer together, and a rung's budget is sized for the answer
alone (a label takes a few tokens), so a reasoning model would spend all of it thinking and
answer nothing. It is a cap, not a charge: the cost counts the tokens the server reports used."""
GREEDY = "greedy"
SAMPLED = "sampled at the server's default temperature (the server refused temperature 0)"
UNCONFIRMED = (
    "greedy as asked, not confirmed: the server answered no request"
    " (answers from the result cache keep the decoding of the run that asked them)"
)
NAMED_IN_MESSAGE = re.compile(r"Unsupported (?:parameter|value): '([A-Za-z_]+)'")
"""OpenAI's wording, for servers that copy its message but not its ``param`` and ``code``."""


@dataclass(frozen=True)
class Refusal:
    """A parameter the server said it does not support, in the server's words."""

    param: str
    message: str


def refused_parameter(reply: Reply) -> Refusal | None:
    """The parameter a refused request's OpenAI-style error names as unsupported, else None.

    >>> error = {"message": "Unsupported value: …", "param": "temperature", "code": "unsupported_value"}
    >>> body = {"error": error}
    >>> refused_parameter(Reply(400, None, "HTTP 400: …", 1, 0.1, body))
    Refusal(param='temperature', message='Unsupported value: …')
    """
    error = (reply.error_body or {}).get("error")
    if not reply.refused or not isinstance(error, dict):
        return None
    message = error.get("message") if isinstance(error.get("message"), str) else ""
    param = error.get("param")
    if error.get("code") in UNSUPPORTED_CODES and isinstance(param, str) and param:
        return Refusal(param, message)
    named = NAMED_IN_MESSAGE.match(message)
    return Refusal(named.group(1), message) if named else None


class RequestParameters:
    """How requests to one server are adjusted, learned from its refusals; held for the
    backend's life, so every later request is sent adjusted and refused no more.

    Several requests may be in flight when the first refusal comes back; they were refused for
    the same reason. `learn` adjusts only once for each parameter, and `apply` on each refused
    request's standard payload shows whether asking it again is worth it.

    >>> parameters = RequestParameters()
    >>> standard = {"model": "o3", "messages": [], "max_tokens": 8, "temperature": 0}
    >>> parameters.learn("max_tokens", "HTTP 400: Unsupported parameter: …", standard)
    >>> parameters.apply(standard)
    {'model': 'o3', 'messages': [], 'temperature': 0, 'max_completion_tokens': 4104}
    """

    def __init__(self) -> None:
        self.max_tokens_field = MAX_TOKENS
        self.omitted: list[str] = []
        self.learned_from: list[str] = []
        """Why each adjustment was made: the refusal that taught it, one per adjustment."""
        self.answered = False
        """Whether the server has answered a request as `apply` builds it."""

    def apply(self, standard: dict[str, Any]) -> dict[str, Any]:
        """`standard` as this server accepts it: the token budget under the field it takes (with
        `REASONING_ALLOWANCE` for a reasoning model), the parameters it refused left out."""
        adjusted = {name: value for name, value in standard.items() if name not in self.omitted}
        if self.max_tokens_field == MAX_COMPLETION_TOKENS and MAX_TOKENS in adjusted:
            adjusted[MAX_COMPLETION_TOKENS] = adjusted.pop(MAX_TOKENS) + REASONING_ALLOWANCE
        return adjusted

    def learn(self, param: str, reason: str, sent: dict[str, Any]) -> None:
        """Adjust for a refusal of `param` in the request `sent`, unless it cannot be adjusted
        for, or already has been (another request in flight was refused for it first)."""
        if param in NOT_LEARNED or param not in self.apply(sent):
            return
        if param == MAX_TOKENS:
            self.max_tokens_field = MAX_COMPLETION_TOKENS
        else:
            self.omitted.append(param)
        self.learned_from.append(reason)

    @property
    def decoding(self) -> str:
        """`SAMPLED` once the server refused temperature 0, `GREEDY` once it answered with it,
        and `UNCONFIRMED` before either: a re-run that finds every answer in the result cache
        sends nothing, so learns nothing, and must not claim answers another run sampled were
        greedy."""
        if TEMPERATURE in self.omitted:
            return SAMPLED
        return GREEDY if self.answered else UNCONFIRMED

    def describe(self) -> dict[str, Any]:
        return {
            "max_tokens_field": self.max_tokens_field,
            "reasoning_allowance": (
                REASONING_ALLOWANCE if self.max_tokens_field == MAX_COMPLETION_TOKENS else 0
            ),
            "omitted": list(self.omitted),
            "learned_from": list(self.learned_from),
        }
