"""Has prompting plateaued? The question that tells whether to keep prompting or try tuning.

The prompt rungs are walked in the order they were run (zero-shot, instruction variants,
few-shot, search), keeping the best so far; each rung's gain over the best before it is
recorded with its paired interval. Prompting has plateaued when the better of the last two
prompt rungs gains less than the interval over the best rung before them — its gain interval
includes zero, or lies below it: the latest, most elaborate prompts bought nothing measurable.
Three rungs are the least that can show it (one to beat, two that failed to).

>>> prompt_plateau([]).plateaued
False
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from adaptlab.decide.gain import Gain, paired_gain
from adaptlab.decide.rungs import best_rung, measured, score, shown
from adaptlab.decide.wording import gain_interval, points

MIN_PROMPT_RUNGS = 3


@dataclass(frozen=True)
class PlateauRow:
    """One prompt rung and its gain over the best prompt rung run before it."""

    rung: str
    score: float
    best_before: str | None
    gain: Gain | None

    def to_dict(self) -> dict[str, Any]:
        gain = self.gain
        return {
            "rung": self.rung,
            "score": self.score,
            "best_before": self.best_before,
            "gain": gain.gain if gain else None,
            "gain_low": gain.low if gain else None,
            "gain_high": gain.high if gain else None,
        }


@dataclass(frozen=True)
class Plateau:
    """The verdict, the sentence that explains it, and the walk it rests on."""

    plateaued: bool
    explanation: str
    rows: list[PlateauRow] = field(default_factory=list)
    verdict: Gain | None = None
    """Better of the last two prompt rungs vs the best before them; None with too few rungs."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "plateaued": self.plateaued,
            "explanation": self.explanation,
            "rungs": [row.to_dict() for row in self.rows],
        }


def prompt_plateau(prompt_rungs: Sequence[dict[str, Any]]) -> Plateau:
    """Walk the prompt rungs (rung dicts, in run order) and say whether prompting plateaued."""
    rungs = measured(prompt_rungs)
    rows: list[PlateauRow] = []
    best: dict[str, Any] | None = None
    for rung in rungs:
        gain = paired_gain(best, rung) if best else None
        rows.append(PlateauRow(rung["rung"], score(rung), best["rung"] if best else None, gain))
        if best is None or best_rung([best, rung]) is rung:
            best = rung
    if len(rungs) < MIN_PROMPT_RUNGS:
        explanation = (
            f"Only {len(rungs)} prompt rung{'' if len(rungs) == 1 else 's'} measured: at least"
            f" {MIN_PROMPT_RUNGS} are needed to tell a plateau from noise (one to beat, two that fail to)."
        )
        return Plateau(False, explanation, rows)
    previous, latest = best_rung(rungs[:-2]), best_rung(rungs[-2:])
    assert previous is not None and latest is not None, "measured rungs all have a score"
    verdict = paired_gain(previous, latest)
    plateaued = not verdict.significant
    comparison = (
        f"The better of the last two prompt rungs, {latest['rung']} ({shown(latest)}), gains"
        f" {points(verdict.gain)} over the best before them, {previous['rung']} ({shown(previous)};"
        f" {gain_interval(verdict.low, verdict.high)})"
    )
    if not plateaued:
        verdict_words = "a real improvement, so better prompts may still pay"
    elif verdict.worse:
        verdict_words = "it is worse beyond the noise, so prompting has plateaued"
    else:
        verdict_words = "the interval includes zero, so the newest prompts bought nothing measurable"
    return Plateau(plateaued, f"{comparison}: {verdict_words}.", rows, verdict)
