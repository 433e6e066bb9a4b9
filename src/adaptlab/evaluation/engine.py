"""The evaluation engine: answer many prompts fast, and never compute the same answer twice.

`ask` takes a rung's conversations and a `Request` (generate text, or score the labels), looks
every rendered prompt up in the result cache, sends only the misses to the backend — longest
first, in chunks of a few batches — and writes each chunk's answers to the cache as soon as it
is done. The backend does the rest (length bucketing, shared-prefix KV cache, batched
generation or label scoring; see `models.local`; or concurrent requests to an endpoint, see
`models.openai`). Answers whose request failed for good are returned but never cached.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from adaptlab.evaluation.answers import Answer
from adaptlab.evaluation.cache import ResultCache
from adaptlab.models.base import Backend, Conversation, ProgressCallback
from adaptlab.prompting.strategy import AnswerMode

CHUNK_BATCHES = 4
"""Batches per chunk written to the cache: small enough that a killed run loses little, large
enough that length bucketing still has prompts of similar length to group."""


@dataclass(frozen=True)
class Request:
    """How to answer a rung's prompts: generate up to `max_new_tokens` greedily (ending early at
    any of the `stop` strings), or score `labels`."""

    mode: AnswerMode
    max_new_tokens: int = 0
    labels: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()

    def params(self) -> dict[str, Any]:
        """Everything besides model and prompt that changes the answer (part of the cache key).
        `stop` appears only when set, so requests without one keep the keys they always had."""
        if self.mode == "score":
            return {"mode": "score", "candidates": [surface for _, surface in label_surfaces(self.labels)]}
        params: dict[str, Any] = {
            "mode": "generate",
            "decoding": "greedy",
            "max_new_tokens": self.max_new_tokens,
        }
        if self.stop:
            params["stop"] = list(self.stop)
        return params


def label_surfaces(labels: Sequence[str]) -> list[tuple[str, str]]:
    """(label, written form) pairs scored for each label: as declared and Capitalised.

    Chat models often answer "Positive" for a label declared "positive"; scoring both spellings
    and adding their probabilities credits the model with what it means, not how it types.
    """
    surfaces = []
    for label in labels:
        surfaces.append((label, label))
        capitalised = label[:1].upper() + label[1:]
        if capitalised != label:
            surfaces.append((label, capitalised))
    return surfaces


def ask(
    backend: Backend,
    conversations: Sequence[Conversation],
    request: Request,
    *,
    cache: ResultCache | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[Answer]:
    """An `Answer` for every conversation, in order; cached answers are reused, new ones cached."""
    prompts = [backend.render(conversation) for conversation in conversations]
    params = request.params()
    keys = [cache.key(prompt, params) for prompt in prompts] if cache is not None else []
    answers: list[Answer | None] = [None] * len(prompts)
    if cache is not None and keys:
        found = cache.get_many(keys)
        for index, key in enumerate(keys):
            answers[index] = found.get(key)
        hits = sum(answer is not None for answer in answers)
        if hits and on_progress is not None:
            on_progress(hits)
    # Examples with the same input render the same prompt: ask it once and give every one of
    # them that answer (asking twice would compute, and cache, the same answer twice).
    first: dict[str, int] = {}
    for index, answer in enumerate(answers):
        if answer is None:
            first.setdefault(prompts[index], index)
    missing = sorted(first.values(), key=lambda i: -len(prompts[i]))
    chunk_size = max(1, CHUNK_BATCHES * backend.max_batch_size)
    for start in range(0, len(missing), chunk_size):
        chunk = missing[start : start + chunk_size]
        started = time.perf_counter()
        fresh = answer_now(backend, [conversations[i] for i in chunk], request, on_progress)
        share = (time.perf_counter() - started) / len(chunk)
        done = [replace(answer, compute_s=share) for answer in fresh]
        for index, answer in zip(chunk, done, strict=True):
            answers[index] = answer
        if cache is not None:
            # A failed request is not an answer: leave it out, so a re-run asks it again.
            cache.put_many([(keys[i], a) for i, a in zip(chunk, done, strict=True) if a.error is None])
    repeats = [i for i, answer in enumerate(answers) if answer is None]
    for index in repeats:
        answers[index] = answers[first[prompts[index]]]
    if repeats and on_progress is not None:
        on_progress(len(repeats))
    return [answer for answer in answers if answer is not None]


def answer_now(
    backend: Backend,
    conversations: Sequence[Conversation],
    request: Request,
    on_progress: ProgressCallback | None,
) -> list[Answer]:
    """Ask the backend itself (no cache)."""
    if request.mode == "score":
        surfaces = label_surfaces(request.labels)
        rows = backend.score(conversations, [surface for _, surface in surfaces], on_progress=on_progress)
        answers = []
        for row in rows:
            scores = combine_surfaces(request.labels, surfaces, row.logprobs)
            best = max(request.labels, key=lambda label: scores[label])  # ties: first declared label
            # No label with any probability (an endpoint's top tokens named none of them, or the
            # request failed) is no answer at all, not a vote for the first declared label.
            text = "" if row.error is not None or scores[best] == -math.inf else best
            answers.append(
                Answer(
                    text=text,
                    prompt_tokens=row.prompt_tokens,
                    output_tokens=row.output_tokens,
                    latency_s=row.latency_s,
                    compute_s=0.0,
                    scores=None if row.error is not None else scores,
                    error=row.error,
                )
            )
        return answers
    generations = backend.generate(
        conversations, max_new_tokens=request.max_new_tokens, stop=request.stop, on_progress=on_progress
    )
    return [
        Answer(
            text=g.text,
            prompt_tokens=g.prompt_tokens,
            output_tokens=g.output_tokens,
            latency_s=g.latency_s,
            compute_s=0.0,
            error=g.error,
        )
        for g in generations
    ]


def combine_surfaces(
    labels: Sequence[str], surfaces: Sequence[tuple[str, str]], logprobs: Sequence[float]
) -> dict[str, float]:
    """log(sum of probabilities) of each label's written forms."""
    per_label: dict[str, list[float]] = {label: [] for label in labels}
    for (label, _), logprob in zip(surfaces, logprobs, strict=True):
        per_label[label].append(logprob)
    return {label: _logsumexp(values) for label, values in per_label.items()}


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    if top == -math.inf:
        return top
    return top + math.log(sum(math.exp(v - top) for v in values))
