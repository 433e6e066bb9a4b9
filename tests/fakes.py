"""Test doubles: a backend that answers from a script, for tests about scoring and bookkeeping
where a real model's answers would only add noise."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from adaptlab.models.base import Backend, Conversation, Generation, LabelScores, ProgressCallback, cut_at_stop


class ScriptedBackend(Backend):
    """Answers each conversation with `answer(last user message)`, cut at a stop string as a
    model's would be; tokens are whitespace words."""

    def __init__(self, answer: Callable[[str], str], *, model_id: str = "scripted", latency_s: float = 0.01):
        self.answer = answer
        self.model_id = model_id
        self.fingerprint = "0" * 12
        self.latency_s = latency_s
        self.calls: list[int] = []
        self.seen: list[str] = []
        """Every user message the backend was asked about (tests check what a rung may see)."""

    def render(self, conversation: Conversation) -> str:
        return "\n".join(f"{m['role']}: {m['content']}" for m in conversation)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def generate(
        self,
        conversations: Sequence[Conversation],
        *,
        max_new_tokens: int,
        stop: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
    ) -> list[Generation]:
        self.calls.append(len(conversations))
        results = []
        for conversation in conversations:
            self.seen.append(conversation[-1]["content"])
            text, stopped = cut_at_stop(self.answer(conversation[-1]["content"]), stop)
            results.append(
                Generation(
                    text=text,
                    prompt_tokens=self.count_tokens(self.render(conversation)),
                    output_tokens=self.count_tokens(text),
                    latency_s=self.latency_s,
                    stopped=True if stopped else None,
                )
            )
            if on_progress:
                on_progress(1)
        return results

    def score(
        self,
        conversations: Sequence[Conversation],
        candidates: Sequence[str],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> list[LabelScores]:
        """The scripted answer gets log-likelihood 0; every other candidate -5 per word it lacks."""
        self.calls.append(len(conversations))
        results = []
        for conversation in conversations:
            self.seen.append(conversation[-1]["content"])
            answer = self.answer(conversation[-1]["content"]).strip().lower()
            logprobs = tuple(0.0 if c.lower() == answer else -5.0 * (1 + len(c.split())) for c in candidates)
            prompt_tokens = self.count_tokens(self.render(conversation))
            results.append(
                LabelScores(logprobs=logprobs, prompt_tokens=prompt_tokens, latency_s=self.latency_s)
            )
            if on_progress:
                on_progress(1)
        return results

    def describe(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "backend": "scripted"}
