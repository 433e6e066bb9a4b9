"""Everything the recommendation rules read, measured once from a parsed ``results.json``.

The rules and the sentences that explain them look at the same few things — the best prompt
rung, the best tuned-family rung, the paired gain between them, the plateau, the data needed,
the break-even and every rung's cost — so these are computed once, here, and handed around.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adaptlab.decide.breakeven import BreakEven, break_even
from adaptlab.decide.costs import CostSettings, RungCost, rung_costs
from adaptlab.decide.data_needed import DataNeeded, data_needed
from adaptlab.decide.gain import Gain, against_draws, paired_gain
from adaptlab.decide.plateau import Plateau, prompt_plateau
from adaptlab.decide.rungs import TUNED_KINDS, best_rung, measured, of_kind


@dataclass(frozen=True)
class Evidence:
    """The measurements a decision rests on."""

    results: dict[str, Any]
    prompt: dict[str, Any] | None
    """The best prompt rung: the best-scoring, ties going to fewer prompt tokens."""
    tuned: dict[str, Any] | None
    """The best tuned, hybrid or distilled rung: the one compared with prompting."""
    plateau: Plateau
    gain: Gain | None
    """`tuned` vs `prompt`, paired, judged against the demo-draw spread of `prompt`; None unless
    both exist."""
    needed: DataNeeded | None
    break_even: BreakEven | None
    costs: dict[str, RungCost]


def gather(results: dict[str, Any], settings: CostSettings) -> Evidence:
    """Measure what the rules need from the rungs that have a score."""
    rungs = measured(results.get("rungs") or [])
    prompts = of_kind(rungs, "prompt")
    prompt, tuned = best_rung(prompts), best_rung(of_kind(rungs, *TUNED_KINDS))
    costs = rung_costs(results, settings)
    gain = costs_break_even = None
    if prompt and tuned:
        gain = against_draws(paired_gain(prompt, tuned), prompt, tuned)
        costs_break_even = break_even(prompt, tuned, costs[prompt["rung"]], costs[tuned["rung"]], settings)
    return Evidence(
        results=results,
        prompt=prompt,
        tuned=tuned,
        plateau=prompt_plateau(prompts, (results.get("selection") or {}).get("pruned") or []),
        gain=gain,
        needed=data_needed(of_kind(rungs, "tuned")),
        break_even=costs_break_even,
        costs=costs,
    )
