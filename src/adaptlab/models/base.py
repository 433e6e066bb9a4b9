"""What every model backend offers the rest of adaptlab.

A backend turns chat messages into text and counts tokens; it knows nothing about tasks,
prompts or metrics. Keeping the surface this small is what lets a local transformers model
and a remote OpenAI-compatible endpoint sit behind the same evaluation code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict


class ChatMessage(TypedDict):
    role: str
    content: str


Conversation = Sequence[ChatMessage]
DEFAULT_MAX_BATCH_SIZE = 32
"""Most requests answered in one batch, unless the user says otherwise (``--batch-size``)."""

ProgressCallback = Callable[[int], None]
"""Called with the number of requests just finished, so callers can drive a progress bar."""


@dataclass(frozen=True)
class Generation:
    """One model answer and what it cost.

    `latency_s` is the wall time from the start of the batch that carried this request to the
    moment its answer was ready: what a caller submitting that batch waited. With batch size 1
    it is plain request latency (an endpoint backend sends one request per conversation, so
    there it is always the request's own wall time, retries included).

    `error` says why there is no answer when a remote request failed for good (``"HTTP 500
    after 5 attempts: …"``); `text` is then empty. A backend reports such failures per request
    instead of raising, so one bad request does not throw away a whole rung.

    `stopped` says whether the answer ended by itself (a stop token, or one of the request's stop
    strings) rather than running out of `max_new_tokens` — what an API reports as
    ``finish_reason`` —, None when unknown.
    """

    text: str
    prompt_tokens: int
    output_tokens: int
    latency_s: float
    error: str | None = None
    stopped: bool | None = None


@dataclass(frozen=True)
class LabelScores:
    """Log-likelihood of each candidate answer for one conversation (same order as asked).

    `latency_s` follows `Generation.latency_s`: wall time of the batch that carried the request.
    `output_tokens` is what the backend had generated to score (0 for a local forward pass; an
    endpoint bills the token it samples to return log-probabilities). `error` follows
    `Generation.error`; `logprobs` are then all ``-inf``.
    """

    logprobs: tuple[float, ...]
    prompt_tokens: int
    latency_s: float
    output_tokens: int = 0
    error: str | None = None


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    r"""`text` up to the first of the `stop` strings found after its leading whitespace, and
    whether one was found (else `text` whole).

    Leading whitespace never ends an answer: a chat model that opens its reply with a newline
    has not answered yet, and stopping there would leave it with an empty answer.

    >>> cut_at_stop("\nReturn the sum.\n\nThe function adds", ["\n"])
    ('\nReturn the sum.', True)
    """
    start = len(text) - len(text.lstrip())
    found = [index for index in (text.find(s, start) for s in stop if s) if index >= 0]
    return (text[: min(found)], True) if found else (text, False)


class Backend(ABC):
    """A model that can answer chat conversations.

    `model_id` names the model and `fingerprint` the exact weights, so results (and later
    cached answers) are never attributed to the wrong model.
    """

    model_id: str
    fingerprint: str
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE

    def cache_identity(self) -> str:
        """What the result cache keys answers by: the model and its exact weights."""
        return f"{self.model_id}@{self.fingerprint}"

    @abstractmethod
    def generate(
        self,
        conversations: Sequence[Conversation],
        *,
        max_new_tokens: int,
        stop: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
    ) -> list[Generation]:
        """Greedy-decode an answer for every conversation, returned in input order. An answer
        ends at the first of the `stop` strings after its leading whitespace (see `cut_at_stop`);
        the stop string is not part of it."""

    @abstractmethod
    def score(
        self,
        conversations: Sequence[Conversation],
        candidates: Sequence[str],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> list[LabelScores]:
        """Log-likelihood of each of `candidates` as the assistant's whole answer to every
        conversation (answer end included, so a label that is a prefix of another is not
        favoured). Closed-label tasks use this instead of generating and parsing text."""

    @abstractmethod
    def render(self, conversation: Conversation) -> str:
        """The exact prompt text the model sees for `conversation` (chat template applied)."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Number of tokens `text` takes with this model's tokenizer."""

    def count_tokens_many(self, texts: Sequence[str]) -> list[int]:
        """`count_tokens` of each text; a remote backend overrides it to ask concurrently, since
        a free-text task sizes its answer budget from every gold output."""
        return [self.count_tokens(text) for text in texts]

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Facts about the model worth recording next to its results."""
