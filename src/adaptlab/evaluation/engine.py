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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from adaptlab.evaluation.answers import Answer
from adaptlab.evaluation.cache import ResultCache
from adaptlab.models.base import Backend, Conversation, ProgressCallback
from adaptlab.prompting.strategy import AnswerMode, Strategy

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
            text = "" if row.error is not None else best_label(request.labels, scores)
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


def best_label(
    labels: Sequence[str], scores: Mapping[str, float], log_prior: Mapping[str, float] | None = None
) -> str:
    """The label with the highest score, less its `log_prior` when given (contextual
    calibration); an exact tie goes to the first label in declared order.
    "" when no label has any probability (an endpoint's top tokens named none of them, so the
    request said nothing): that is no answer at all, not a vote for the first label."""
    offsets = log_prior or {}
    calibrated = {label: scores[label] - offsets.get(label, 0.0) for label in labels}
    best = max(labels, key=calibrated.__getitem__)  # max keeps the first of equal keys
    return "" if calibrated[best] == -math.inf else best


def chosen_by(strategy: Strategy, labels: Sequence[str], answers: Sequence[Answer]) -> list[Answer]:
    """Scored `answers` with the label `strategy` chooses: for calibrated label scoring, the
    highest log-likelihood less the label's log-prior on content-free inputs; unchanged for any
    other rung. Applied after the cache, which holds the model's own argmax, so both rungs
    share it; `scores` stay the model's log-likelihoods."""
    log_prior = strategy.calibration_prior()
    if log_prior is None:
        return list(answers)
    return [
        answer
        if answer.scores is None or answer.error is not None
        else replace(answer, text=best_label(labels, answer.scores, log_prior))
        for answer in answers
    ]


def label_prior(labels: Sequence[str], rows: Sequence[Mapping[str, float] | None]) -> dict[str, float]:
    """The label prior of a prompt, as log-probabilities (Zhao et al., "Calibrate Before Use",
    ICML 2021): each label's probability averaged over the `rows` (the label scores of
    content-free inputs asked through that prompt; None for a failed request), normalised over
    the labels.

    A label no row gave any probability (an endpoint's top tokens never named it) gets the
    smallest prior of the others: its own is unknown, only below the endpoint's cut-off. With
    no probability at all the prior is uniform, which changes no choice.

    >>> {k: round(math.exp(v), 2) for k, v in label_prior(["a", "b"], [{"a": -0.1, "b": -2.4}]).items()}
    {'a': 0.91, 'b': 0.09}
    """
    answered = [row for row in rows if row is not None]
    mean = {
        label: _logsumexp([row[label] for row in answered]) - math.log(len(answered))
        if answered
        else -math.inf
        for label in labels
    }
    floor = min((value for value in mean.values() if value > -math.inf), default=0.0)
    floored = {label: value if value > -math.inf else floor for label, value in mean.items()}
    total = _logsumexp(list(floored.values()))
    return {label: value - total for label, value in floored.items()}


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
