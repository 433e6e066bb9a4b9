"""What was measured on one rung: per-example predictions and the summary metrics.

These are plain dataclasses with a `to_dict` each, because the same values go to
``results.json``, to the SQLite store and to the console table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

RungKind = Literal["prompt", "tuned", "hybrid", "distilled"]
"""``prompt``: the untuned model asked with a prompt strategy; ``tuned``: weights fine-tuned on
gold answers, asked with their training prompt; ``hybrid``: tuned weights asked with another
prompt; ``distilled``: weights trained on a long (teacher) prompt's answers, asked briefly."""


@dataclass(frozen=True)
class Prediction:
    """One example's answer on one rung."""

    example_id: str
    input: str
    gold: str
    output: str
    parsed: str | None
    correct: bool
    compliant: bool
    latency_s: float
    prompt_tokens: int
    output_tokens: int
    cached: bool = False
    scores: dict[str, float | None] | None = None
    """Each label's log-likelihood, for rungs answered by label scoring (None: the endpoint gave
    the label no probability at all)."""
    error: str | None = None
    """Why the request failed after its retries (remote backends); counted wrong, non-compliant."""
    score: float | None = None
    """The task's primary metric for this answer, in [0, 1] (`correct` is a score of 1); None
    when its grading failed (a judge that answered nothing usable)."""
    metric_scores: dict[str, float | None] = field(default_factory=dict)
    """Every metric the task is scored by, the primary one included, by metric name."""
    passages: list[dict[str, Any]] | None = None
    """For rungs that retrieve: the passages put in the prompt, best first (``id``, ``doc_id``,
    ``score``, ``text``)."""
    retrieval_s: float | None = None
    """The search's time for this example (its share of a batched search), included in
    `latency_s`."""
    gold_rank: int | None = None
    """The 1-based rank of the passage holding the answer among `passages`; None when it is not
    among them or the example names none."""


@dataclass(frozen=True)
class Metrics:
    """Summary of a rung over `n` examples.

    `score` is the mean of the task's primary metric (`metric`: accuracy for closed labels,
    chrF unless the task names another for free text), in [0, 1], with a 95% bootstrap interval
    `score_low`–`score_high`; the decision uses it. `graded` examples were scored; a grading that
    failed (a judge answering garbage) is counted in `grading_failures` and left out of the mean.
    `by_metric` holds every metric's summary (mean, interval, graded, failed), the primary one
    included. `macro_f1` is for closed labels only. `format_compliance` is the share of answers
    exactly in the asked format (one valid label; for free text, the task's declared format,
    else a non-empty answer). `consistency` is the share of the `consistency_n` sampled
    examples answered the same (and parsably) under the rung and its two variants (rephrased
    prompt or reordered demos); None when not measured. Latencies are per example (see
    `Generation.latency_s`); `examples_per_s` is the rung's throughput in model compute,
    counting cached answers at the cost they had when computed; `wall_time_s` is what this run
    actually spent. `errors` counts requests that failed after their retries (remote backends):
    they score 0 and are non-compliant, not parse failures, and latencies and token means leave
    them out.
    """

    n: int
    metric: str
    score: float
    score_low: float
    score_high: float
    macro_f1: float | None
    format_compliance: float
    parse_failures: int
    latency_p50_s: float
    latency_p95_s: float
    prompt_tokens_mean: float
    output_tokens_mean: float
    examples_per_s: float
    wall_time_s: float
    metric_display: str = ""
    graded: int = 0
    grading_failures: int = 0
    by_metric: dict[str, dict[str, Any]] = field(default_factory=dict)
    consistency: float | None = None
    consistency_n: int = 0
    cache_hits: int = 0
    errors: int = 0
    injection_success: float | None = None
    """Share of `injection_n` attacked requests whose answer became the attacker's target."""
    injection_n: int = 0
    input_stability: float | None = None
    """Share of `input_stability_n` edited inputs (casing, whitespace, punctuation, a synonym)
    answered as the clean input was."""
    input_stability_n: int = 0


@dataclass(frozen=True)
class RungResult:
    """A rung (strategy + weights) evaluated on one split."""

    rung: str
    strategy: dict[str, Any]
    model: dict[str, Any]
    split: str
    metrics: Metrics
    predictions: list[Prediction] = field(default_factory=list)
    training: dict[str, Any] | None = None
    """For tuned rungs: the weights' registry key, training size, tokens, time, memory, losses."""
    forgetting: dict[str, Any] | None = None
    """For tuned rungs: the general-ability probe before and after tuning."""
    kind: RungKind = "prompt"
    """Which family of the ladder the rung belongs to; the decision compares families."""
    robustness: dict[str, Any] | None = None
    """Prompt injection (per attack family) and input-edit stability (per edit); see
    `evaluation.robustness`. None when not measured."""
    selection: dict[str, Any] | None = None
    """The rung's score on the run's selection sample of the dev split (``split``, ``n``,
    ``score``, ``score_low``, ``score_high``): what chose the winners (`adaptlab.selection`).
    None when the run chose on its test figures."""
    draws: dict[str, Any] | None = None
    """For few-shot-random rungs measured under several demo draws (see `demo_draws`):
    ``{"seeds", "scores", "spread"}``; None when not measured."""
    retrieval: dict[str, Any] | None = None
    """For rungs that retrieve: ``passages`` (K), ``base`` (the rung the passages were added
    to), ``seconds_per_query``, and ``recall_at_k``, ``mrr`` over the ``judged`` examples that
    name the passage holding their answer (None when none do)."""

    def to_dict(self, *, with_predictions: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rung": self.rung,
            "kind": self.kind,
            "strategy": self.strategy,
            "model": self.model,
            "split": self.split,
            "metrics": asdict(self.metrics),
            "training": self.training,
            "forgetting": self.forgetting,
            "robustness": self.robustness,
            "selection": self.selection,
            "draws": self.draws,
            "retrieval": self.retrieval,
        }
        if with_predictions:
            data["predictions"] = [asdict(p) for p in self.predictions]
        return data


def demo_draws(seeds: Sequence[int], scores: Sequence[float]) -> dict[str, Any]:
    """The record of a rung evaluated under several demo draws: each draw's seed and its
    primary-metric score (the rung's own draw first) and their spread, max - min, on the
    metric's 0-1 scale — how far the score moves when only the random demos change.

    >>> demo_draws([0, 1, 2], [0.55, 0.4875, 0.6])["spread"]
    0.1125
    """
    return {"seeds": list(seeds), "scores": list(scores), "spread": round(max(scores) - min(scores), 12)}
