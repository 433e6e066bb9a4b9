"""Has prompting plateaued? The question that tells whether to keep prompting or try tuning.

Prompts are ordered by how elaborate they are, not by when they ran (`elaboration`): a bare
question (zero-shot, an instruction variant, a format instruction, label scoring), then
reasoning first (CoT), then random demos, then similar demos (kNN), then a searched prompt;
more demos are more elaborate than fewer. Each prompt rung is compared, paired, with the best
rung strictly simpler than it. Prompting has plateaued when the best prompt rung gains less than
the interval over the best strictly simpler one — the elaborate prompts bought nothing
measurable — or less than the spread of either rung's scores across its demo draws (another
draw of random demos moves the score that much: the gain is luck), or when the best prompt is
among the simplest. Three rungs are the least that can
show it (one to beat, two that failed to), and the verdict does not depend on the order in
which the rungs ran.

>>> prompt_plateau([]).plateaued
False
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from adaptlab.decide.gain import Gain, against_draws, paired_gain, spread_words
from adaptlab.decide.rungs import best_rung, measured, metric_of, score, shown
from adaptlab.decide.wording import count, gain_interval, points, score_text

MIN_PROMPT_RUNGS = 3


@dataclass(frozen=True)
class PlateauRow:
    """One prompt rung and its gain over the best strictly simpler prompt rung (`best_before`)."""

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
    """The best prompt rung against the best strictly simpler one (or, when the best is among
    the simplest, the best more elaborate one against it); None with too few rungs."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "plateaued": self.plateaued,
            "explanation": self.explanation,
            "rungs": [row.to_dict() for row in self.rows],
        }


ELABORATION = (
    (re.compile(r"^(zero-shot|instruction-[\w-]+|format-[\w-]+|label-scoring[\w-]*)$"), 0),
    (re.compile(r"^cot$"), 1),
    (re.compile(r"^few-shot-(random-)?(?P<k>\d+)$"), 2),
    (re.compile(r"^few-shot-knn-(?P<k>\d+)$"), 3),
    (re.compile(r"^search$"), 4),
)
"""How elaborate each prompt rung is: what it adds to the bare question, in the order a careful
engineer would add it. A rung no pattern names counts as the simplest, so it can never make
elaborate prompting look better than it measured."""


def elaboration(rung: dict[str, Any]) -> tuple[int, int]:
    """(level, demo count): ``few-shot-knn-8`` is (3, 8), more elaborate than ``few-shot-knn-4``."""
    name = str(rung.get("rung", ""))
    for pattern, level in ELABORATION:
        match = pattern.match(name)
        if match:
            return level, int(match.groupdict().get("k") or 0)
    return 0, 0


def prompt_plateau(prompt_rungs: Sequence[dict[str, Any]], pruned: Sequence[dict[str, Any]] = ()) -> Plateau:
    """Compare each prompt rung (rung dicts) with the best strictly simpler one, and say whether
    prompting plateaued; the order `prompt_rungs` ran in does not matter.

    `pruned` are the rungs a run left out after its dev screen (``selection.pruned`` entries),
    each worse there than the best beyond the interval: they count among the rungs tried, and a
    best rung more elaborate than one of them has already beaten a simpler prompt.
    """
    plateau = measured_plateau(prompt_rungs, len(pruned))
    best = best_rung(prompt_rungs)
    beaten = [p for p in pruned if best is not None and elaboration(p) < elaboration(best)]
    if not beaten or best is None:
        return plateau
    names = " and ".join(
        f"{p['rung']} ({score_text(p.get('score'), *metric_of(best))} against"
        f" {score_text(p.get('best_score'), *metric_of(best))} for {p.get('best')})"
        for p in beaten
    )
    dev = f"on {count(beaten[0].get('examples'))} dev examples"
    if any(row.rung == best["rung"] and row.best_before for row in plateau.rows):
        note = f" Simpler prompts pruned {dev} as worse beyond the noise: {names}."
        return replace(plateau, explanation=plateau.explanation + note)
    return Plateau(
        False,
        f"The best prompt rung, {best['rung']} ({shown(best)}), is more elaborate than prompts pruned"
        f" {dev} as worse beyond the noise — {names} — so more elaborate prompts paid, and may still.",
        plateau.rows,
        plateau.verdict,
    )


def measured_plateau(prompt_rungs: Sequence[dict[str, Any]], pruned: int) -> Plateau:
    """The plateau walk over the measured rungs; `pruned` rungs count among those tried."""
    rungs = sorted(measured(prompt_rungs), key=elaboration)
    rows = []
    for rung in rungs:
        simpler = best_rung([r for r in rungs if elaboration(r) < elaboration(rung)])
        gain = paired_gain(simpler, rung) if simpler else None
        rows.append(PlateauRow(rung["rung"], score(rung), simpler["rung"] if simpler else None, gain))
    if len(rungs) + pruned < MIN_PROMPT_RUNGS:
        explanation = (
            f"Only {len(rungs)} prompt rung{'' if len(rungs) == 1 else 's'} measured: at least"
            f" {MIN_PROMPT_RUNGS} are needed to tell a plateau from noise (one to beat, two that fail to)."
        )
        return Plateau(False, explanation, rows)
    best = best_rung(rungs)
    assert best is not None, "measured rungs all have a score"
    simpler = best_rung([r for r in rungs if elaboration(r) < elaboration(best)])
    if simpler is None:
        elaborate = best_rung([r for r in rungs if elaboration(r) > elaboration(best)])
        if elaborate is None:  # every rung equally simple: nothing more elaborate was tried
            return Plateau(
                False,
                f"Every prompt rung is as simple as {best['rung']}: no more elaborate prompt was tried.",
                rows,
            )
        verdict = against_draws(paired_gain(best, elaborate), best, elaborate)
        return Plateau(
            True,
            f"The best prompt rung, {best['rung']} ({shown(best)}), is among the simplest; the best more"
            f" elaborate one, {elaborate['rung']} ({shown(elaborate)}), differs by {points(verdict.gain)}"
            f" ({gain_interval(verdict.low, verdict.high)}): "
            + ("it is worse beyond the noise, " if verdict.worse else "")
            + (f"{spread_words(verdict)}, which is noise, " if verdict.within_draw_spread else "")
            + "so more elaborate prompting bought nothing and prompting has plateaued.",
            rows,
            verdict,
        )
    verdict = against_draws(paired_gain(simpler, best), simpler, best)
    plateaued = not verdict.significant
    comparison = (
        f"The best prompt rung, {best['rung']} ({shown(best)}), gains {points(verdict.gain)} over the best"
        f" simpler one, {simpler['rung']} ({shown(simpler)}; {gain_interval(verdict.low, verdict.high)})"
    )
    return Plateau(plateaued, f"{comparison}: {verdict_words(verdict)}.", rows, verdict)


def verdict_words(verdict: Gain) -> str:
    """Why the best rung's gain over the best simpler one does or does not count: its
    interval, and the spread of the demo draws when a compared rung was measured under several."""
    if verdict.significant:
        larger = f", and {spread_words(verdict)}" if verdict.draws else ""
        return f"a real improvement{larger}, so more elaborate prompts may still pay"
    if verdict.within_draw_spread and verdict.separated:
        return f"{spread_words(verdict)}, so the difference is noise and prompting has plateaued"
    words = "the interval includes zero, so the more elaborate prompts bought nothing measurable"
    if verdict.within_draw_spread:
        words += f"; {spread_words(verdict)} too"
    return words
