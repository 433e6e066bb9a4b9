"""After how many requests does fine-tuning pay for itself?

Fine-tuning is paid up front (training time, labelled examples) and saves a little on every
request after: a shorter prompt costs less compute or fewer tokens, and — when the user says
what a correct answer is worth — a better-scoring model earns more per request (a score is the
share of a correct answer's value an answer earns: accuracy, or a free-text metric's 0-1
score). Break-even is the up-front cost divided by that saving per request; a saving of zero or
less never pays back.

The chart's curve counts each wrong answer at the value a correct one would have earned, so the
two totals cross exactly at break-even and stay non-negative:

    prompt total = requests × (prompt $/request + value × (1 − prompt score))
    tuned total  = up-front $ + requests × (tuned $/request + value × (1 − tuned score))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adaptlab.decide.costs import CostSettings, RungCost
from adaptlab.decide.rungs import metric_of, score
from adaptlab.decide.wording import count, points, usd

CURVE_POINTS = 21
DEFAULT_CURVE_REQUESTS = 10_000
"""Span of the chart when neither a break-even nor an expected volume gives it a scale."""


@dataclass(frozen=True)
class BreakEven:
    """`rung` (tuned) against `vs` (prompt): requests until the up-front cost is paid back."""

    rung: str
    vs: str
    requests: float | None
    """None when the tuned rung never pays back (or one of the two cannot be priced)."""
    upfront_usd: float
    saving_per_request_usd: float | None
    explanation: str
    curve: list[tuple[float, float, float]] = field(default_factory=list)
    """(requests, prompt total $, tuned total $), from 0 past break-even."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rung": self.rung,
            "vs": self.vs,
            "requests": self.requests,
            "training_usd": self.upfront_usd,
            "saving_per_request_usd": self.saving_per_request_usd,
            "explanation": self.explanation,
            "curve": [list(point) for point in self.curve],
        }


def break_even(
    prompt: dict[str, Any],
    tuned: dict[str, Any],
    prompt_cost: RungCost,
    tuned_cost: RungCost,
    settings: CostSettings,
) -> BreakEven:
    """Break-even of the `tuned` rung dict against the `prompt` rung dict.

    >>> from adaptlab.decide.costs import RungCost
    >>> p = RungCost(0.2, 0.0002, "machine-time", None, None, None)
    >>> t = RungCost(0.1, 0.0001, "machine-time", 36.0, 0.01, 0.0)
    >>> round(break_even({"rung": "few-shot-8", "metrics": {"score": 0.8}},
    ...                  {"rung": "lora-100", "metrics": {"score": 0.8}}, p, t, CostSettings()).requests)
    100
    """
    upfront = tuned_cost.upfront_usd
    prompt_usd, tuned_usd = prompt_cost.usd_per_request, tuned_cost.usd_per_request
    if prompt_usd is None or tuned_usd is None:
        unpriced = prompt["rung"] if prompt_usd is None else tuned["rung"]
        explanation = (
            f"{unpriced} has no price per request (a hosted model missing from the price table, or no"
            " measured throughput), so break-even cannot be computed."
        )
        return BreakEven(
            tuned["rung"],
            prompt["rung"],
            requests=None,
            upfront_usd=upfront,
            saving_per_request_usd=None,
            explanation=explanation,
        )
    value = settings.value_per_correct_usd
    score_gain = score(tuned) - score(prompt)
    saving = prompt_usd - tuned_usd + value * score_gain
    requests = upfront / saving if saving > 0 else None
    cost_words = f"{usd(tuned_usd)} vs {usd(prompt_usd)} per request"
    if value:
        cost_words += (
            f", and {points(score_gain)} of {metric_of(tuned)[1]} worth {usd(value * score_gain)} per request"
        )
    paid = "training and labelling" if tuned_cost.labelling_usd else "training"
    if requests is None:
        explanation = (
            f"{tuned['rung']} saves nothing per request over {prompt['rung']} ({cost_words}):"
            f" its {usd(upfront)} of {paid} never pays back"
        )
        if not value and score_gain > 0:
            explanation += f" (its {metric_of(tuned)[1]} gain counts once value_per_correct_usd is set)"
        explanation += "."
    else:
        explanation = (
            f"{tuned['rung']} saves {usd(saving)} per request over {prompt['rung']} ({cost_words}):"
            f" its {usd(upfront)} of {paid} pays back after {count(requests)} requests."
        )
    if settings.expected_requests:
        net = saving * settings.expected_requests - upfront
        outcome = "save" if net > 0 else "cost"
        explanation += (
            f" At the {count(settings.expected_requests)} requests you expect, fine-tuning would"
            f" {outcome} {usd(abs(net))} in total."
        )
    rates = (
        prompt_usd + value * (1 - score(prompt)),
        tuned_usd + value * (1 - score(tuned)),
    )
    curve = cost_curve(rates, upfront, horizon(requests, settings.expected_requests))
    return BreakEven(
        tuned["rung"],
        prompt["rung"],
        requests=requests,
        upfront_usd=upfront,
        saving_per_request_usd=saving,
        explanation=explanation,
        curve=curve,
    )


def horizon(requests: float | None, expected: int | None) -> float:
    """How far the chart runs: twice the break-even, and past the expected volume."""
    spans = [2 * requests if requests else 0.0, 1.25 * expected if expected else 0.0]
    return max(spans) or DEFAULT_CURVE_REQUESTS


def cost_curve(rates: tuple[float, float], upfront: float, last: float) -> list[tuple[float, float, float]]:
    """Total prompt and tuned cost at `CURVE_POINTS` request counts from 0 to `last`."""
    prompt_rate, tuned_rate = rates
    points_at = [last * i / (CURVE_POINTS - 1) for i in range(CURVE_POINTS)]
    return [(n, n * prompt_rate, upfront + n * tuned_rate) for n in points_at]
