"""What the evaluation engine gets back for one request, whichever way it was answered."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    """A model's answer to one rendered prompt and what it cost.

    `text` is the generated text, or for a scored request the winning label. `scores` holds
    every label's log-likelihood for scored requests. `latency_s` is the wall time of the batch
    that carried the request (see `Generation.latency_s`); `compute_s` is this request's share
    of its chunk's wall time, so throughput can be computed the same way for fresh and cached
    answers. `cached` says whether it came from the result cache in this run. `error` says why
    a remote request failed for good (its `text` is then empty); such answers are never cached,
    so running the same command again asks exactly those requests again.
    """

    text: str
    prompt_tokens: int
    output_tokens: int
    latency_s: float
    compute_s: float
    scores: dict[str, float] | None = None
    cached: bool = False
    error: str | None = None
