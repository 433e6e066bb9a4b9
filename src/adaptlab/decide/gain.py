"""Does one rung really score higher than another? The difference with its confidence interval.

Two rungs answered the same test examples, so the comparison is *paired*: the bootstrap
resamples examples and each resample keeps both rungs' answers to the same examples. Easy and
hard examples then cancel out, and the interval is much narrower than the two rungs' own
intervals would suggest — a 2-point gain can be real on 450 examples when both rungs' own
intervals are ±4.6 points wide.

When predictions are missing (a caller passed a summary), the difference falls back to an
unpaired interval built from the two rungs' own intervals (the MOVER method: each side's
distance to its bound, added in quadrature), which is wider but never pretends to more
certainty than the data gives.

>>> a = {"rung": "a", "predictions": [{"example_id": "x", "score": 0.0},
...                                   {"example_id": "y", "score": 1.0}]}
>>> b = {"rung": "b", "predictions": [{"example_id": "y", "score": 1.0},
...                                   {"example_id": "x", "score": 1.0}]}
>>> paired_gain(a, b).gain
0.5
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from adaptlab.decide.rungs import draw_scores, draw_spread, metric, metric_of, score
from adaptlab.decide.wording import score_text
from adaptlab.evaluation.metrics import bootstrap_interval


@dataclass(frozen=True)
class Gain:
    """How much higher `rung` scores than `vs` (negative: less), with the interval."""

    rung: str
    vs: str
    gain: float | None
    low: float | None
    high: float | None
    paired: bool
    """True when computed example by example; False for the unpaired fallback."""
    n: int
    """Examples both rungs answered (0 when unpaired)."""
    draws: DrawSpread | None = None
    """The larger demo-draw spread of the two rungs (`against_draws`); None when neither was
    measured under several demo draws."""

    @property
    def significant(self) -> bool:
        """True when the whole interval lies above zero and the gain is no smaller than the
        demo-draw spread: `rung` really scores higher."""
        return self.low is not None and self.low > 0 and not self.within_draw_spread

    @property
    def worse(self) -> bool:
        """True when the whole interval lies below zero and the loss is no smaller than the
        demo-draw spread: `rung` really scores lower."""
        return self.high is not None and self.high < 0 and not self.within_draw_spread

    @property
    def within_draw_spread(self) -> bool:
        """True when another draw of the random demos could have closed the difference: the
        other rung's score lies within the range the drawn rung scored across its demo draws
        (so the difference is also smaller than their spread) — the luck of the draw, whatever
        its interval says. A rung above (or below) every draw differs by more than luck."""
        if self.draws is None or self.gain is None:
            return False
        return self.draws.low <= self.draws.other <= self.draws.high

    @property
    def separated(self) -> bool:
        """True when the interval alone excludes zero, either way (the demo draws aside)."""
        return (self.low is not None and self.low > 0) or (self.high is not None and self.high < 0)

    def to_dict(self) -> dict[str, Any]:
        """``significant`` here means the interval excludes zero, either way (the sign of
        ``gain`` says which): what a reader of the report asks of a difference."""
        return {
            "rung": self.rung,
            "vs": self.vs,
            "gain": self.gain,
            "low": self.low,
            "high": self.high,
            "significant": self.significant or self.worse,
            "draw_spread": asdict(self.draws) if self.draws else None,
        }


@dataclass(frozen=True)
class DrawSpread:
    """How far a rung's score moved across its demo draws: `spread` (max - min) over `draws`,
    from `low` to `high`; `other` is the score of the rung it was compared with."""

    rung: str
    spread: float
    draws: int
    low: float
    high: float
    other_rung: str
    other: float
    metric: str
    display: str


def against_draws(gain: Gain, *rungs: dict[str, Any]) -> Gain:
    """`gain` judged against the largest demo-draw spread among the compared `rungs` (rung
    dicts): a difference smaller than it is noise (`Gain.within_draw_spread`)."""
    measured = [(spread, rung) for rung in rungs if (spread := draw_spread(rung)) is not None]
    if not measured:
        return gain
    spread, rung = max(measured, key=lambda pair: pair[0])
    other = next(r for r in rungs if r is not rung)
    scores = draw_scores(rung)
    name, display = metric_of(rung)
    drawn = DrawSpread(
        str(rung["rung"]),
        spread,
        len(scores),
        min(scores),
        max(scores),
        str(other["rung"]),
        score(other),
        name,
        display,
    )
    return replace(gain, draws=drawn)


def paired_gain(base: dict[str, Any], challenger: dict[str, Any], *, seed: int = 0) -> Gain:
    """The score of `challenger` minus that of `base` (rung dicts of ``results.json``).

    Predictions are matched by ``example_id``, not by position, and only examples both rungs
    answered count; seeded, so the same results always give the same interval.
    """
    differences = paired_differences(base, challenger)
    if not differences:
        return unpaired_gain(base, challenger)
    bounds = bootstrap_interval(differences, seed=seed)
    return Gain(
        rung=challenger["rung"],
        vs=base["rung"],
        gain=sum(differences) / len(differences),
        low=bounds.low,
        high=bounds.high,
        paired=True,
        n=len(differences),
    )


def paired_differences(base: dict[str, Any], challenger: dict[str, Any]) -> list[float]:
    """Per example both rungs scored: the challenger's score minus the base's (1, -1 or 0 for
    accuracy). An example whose grading failed on either side (a judge) is left out."""
    before = example_scores(base)
    after = example_scores(challenger)
    return [after[key] - before[key] for key in after if key in before]


def example_scores(rung: dict[str, Any]) -> dict[str, float]:
    """Each graded example's primary-metric score, by example id."""
    scores = {}
    for prediction in rung.get("predictions") or []:
        value = prediction.get("score")
        if "example_id" in prediction and isinstance(value, int | float) and not isinstance(value, bool):
            scores[str(prediction["example_id"])] = float(value)
    return scores


def unpaired_gain(base: dict[str, Any], challenger: dict[str, Any]) -> Gain:
    """The difference of scores with a MOVER interval from each rung's own interval."""
    acc_b, acc_c = metric(base, "score"), metric(challenger, "score")
    gain = None if acc_b is None or acc_c is None else acc_c - acc_b
    low = high = None
    spread_b, spread_c = spread(base), spread(challenger)
    if gain is not None and spread_b and spread_c:
        low = gain - math.hypot(spread_c[0], spread_b[1])
        high = gain + math.hypot(spread_c[1], spread_b[0])
    return Gain(rung=challenger["rung"], vs=base["rung"], gain=gain, low=low, high=high, paired=False, n=0)


def spread(rung: dict[str, Any]) -> tuple[float, float] | None:
    """How far the rung's score interval reaches below and above its score."""
    value, low, high = (metric(rung, name) for name in ("score", "score_low", "score_high"))
    if value is None or low is None or high is None:
        return None
    return value - low, high - value


def spread_words(gain: Gain) -> str:
    """Where the compared rung's score lies against the drawn rung's demo draws, as a sentence
    cites it: ``few-shot-knn-4's 71.2% is above the range of few-shot-random-4 across 3 demo
    draws (12.5%–57.5%, a 45.0-point spread)``."""
    assert gain.draws is not None, "only called on a gain judged against demo draws"
    d = gain.draws
    where = "within" if gain.within_draw_spread else ("above" if d.other > d.high else "below")
    scored = f"{score_text(d.low, d.metric, d.display)}–{score_text(d.high, d.metric, d.display)}"
    return (
        f"{d.other_rung}'s {score_text(d.other, d.metric, d.display)} is {where} the range of {d.rung}"
        f" across {d.draws} demo draws ({scored}, a {d.spread * 100:.1f}-point spread)"
    )
