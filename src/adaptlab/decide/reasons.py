"""The sentences a decision gives as reasons, each citing a measured figure.

Kept apart from the rules (`adaptlab.decide.recommend`) so a rule reads as "which sentences",
and the wording of a figure lives in one place.
"""

from __future__ import annotations

from typing import Any

from adaptlab.decide.costs import RungCost
from adaptlab.decide.evidence import Evidence
from adaptlab.decide.gain import Gain, spread_words
from adaptlab.decide.knowledge import documents_learnt
from adaptlab.decide.rungs import (
    chosen_on,
    measured,
    metric,
    number,
    prompt_tokens,
    selection_n,
    selection_score,
    shown,
    shown_interval,
    trained_on_documents,
    training_mode,
)
from adaptlab.decide.wording import CI, count, gain_interval, pct, points, seconds, tokens, usd


def best_prompt_sentence(e: Evidence) -> str:
    p = e.prompt
    assert p is not None
    baseline = e.results.get("baseline") or {}
    floor = number(baseline.get("score"))
    against = f", against {shown(p, floor)} for {baseline.get('description')}" if floor is not None else ""
    return (
        f"{p['rung']} is the best prompt rung: {shown(p)} ({shown_interval(p)}) on"
        f" {count(metric(p, 'n'))} test examples{against}, with {tokens(prompt_tokens(p))} per request."
    )


def cost_sentence(rung: dict[str, Any], costs: dict[str, RungCost]) -> str:
    cost = costs[rung["rung"]]
    compute = f"{seconds(cost.seconds_per_request)} of compute per request"
    if cost.usd_per_1k_requests is None:
        return f"{rung['rung']} takes {compute} (unpriced: add its model to the cost settings' prices)."
    return f"{rung['rung']} costs {usd(cost.usd_per_1k_requests)} per 1,000 requests ({compute})."


def plateau_or_cost(e: Evidence) -> str:
    """The plateau verdict when there was enough evidence for one, else what prompting costs."""
    assert e.prompt is not None
    return e.plateau.explanation if e.plateau.verdict else cost_sentence(e.prompt, e.costs)


def family_sentence(e: Evidence, kind: str) -> list[str]:
    """What the winning family needs: labelled data, a prompt on top, or a teacher."""
    p, t = e.prompt, e.tuned
    assert p is not None and t is not None
    if kind == "tuned" and trained_on_documents(t):
        return [
            f"It was trained on {documents_learnt(t)} and is asked closed-book, with"
            f" {tokens(prompt_tokens(t))} per request vs {tokens(prompt_tokens(p))} for {p['rung']}."
        ]
    if kind == "tuned":
        needed = e.needed
        if needed is None:
            return []
        low = metric(t, "score_low") if needed.best_rung == t["rung"] else None
        within = f" (from {shown(t, low)})" if low is not None else ""
        return [
            f"Fine-tuning ({training_mode(t) or 'tuned'}) needs about {count(needed.examples)} labelled"
            f" examples: {needed.rung} reached {shown(t, needed.score)}, the smallest training set inside"
            f" the {CI} of {needed.best_rung}{within}."
        ]
    if kind == "hybrid":
        asked_with = t["rung"].partition("+")[2] or "a prompt"
        return [
            f"It asks the tuned weights with the {asked_with} prompt: {tokens(prompt_tokens(t))} per"
            f" request, vs {tokens(prompt_tokens(p))} for {p['rung']}."
        ]
    teacher = str((t.get("training") or {}).get("targets", "")).removeprefix("teacher:") or "a teacher prompt"
    return [
        f"It learned {teacher}'s answers and asks with {tokens(prompt_tokens(t))} per request, where"
        f" {p['rung']} needs {tokens(prompt_tokens(p))}: the long prompt now lives in the weights."
    ]


def inside_noise_sentence(e: Evidence) -> str:
    """Why a tuning gain does not count: its interval includes zero, or it is smaller than the
    spread of the best prompt rung's scores across its demo draws (the luck of the draw)."""
    p, t, gain = e.prompt, e.tuned, e.gain
    assert p is not None and t is not None and gain is not None
    measured = (
        f"{t['rung']} scores {shown(t)} vs {shown(p)} for {p['rung']}, {points(gain.gain)}"
        f" ({gain_interval(gain.low, gain.high)}){pairing(gain)}"
    )
    if gain.within_draw_spread and gain.separated:
        return f"The tuning gain is inside the demo-draw noise: {measured}; {spread_words(gain)}."
    also = f"; {spread_words(gain)}" if gain.within_draw_spread else ""
    return f"The tuning gain is inside the {CI}: {measured}, an interval that includes zero{also}."


def noise_bound(gain: Gain) -> str:
    """What a gain within the noise stays inside: the demo draws' spread when that is what
    absorbs it, else its interval."""
    if gain.within_draw_spread and gain.separated:
        return spread_words(gain)
    return gain_interval(gain.low, gain.high)


def priced_break_even(e: Evidence) -> list[str]:
    """The break-even explanation, when both rungs could be priced."""
    be = e.break_even
    return [be.explanation] if be and be.saving_per_request_usd is not None else []


def forgetting_sentence(rung: dict[str, Any]) -> list[str]:
    forgetting = rung.get("forgetting") or {}
    agreement = number(forgetting.get("agreement_with_base"))
    if agreement is None:
        return []
    return [
        f"On {count(number(forgetting.get('n')))} general questions it still answers as the base model"
        f" did {pct(agreement)} of the time (general-question accuracy"
        f" {points(number(forgetting.get('reference_accuracy_delta')))})."
    ]


def pairing(gain: Gain) -> str:
    if gain.paired:
        return f" on the {count(gain.n)} test examples both answered"
    return " (unpaired: the rungs' predictions were not available)"


def selection_sentence(e: Evidence) -> str:
    """How the winners were chosen, and each one's selection score beside its confirmation."""
    winners = [rung for rung in (e.prompt, e.tuned) if rung is not None]
    if not winners:
        return ""
    if chosen_on(measured(e.results.get("rungs") or [])) == "test":
        return (
            "The winners were chosen on the same test examples their figures come from (these"
            " results hold no dev scores to choose on), so the winners' figures may be flattered"
            " by the choice."
        )
    figures = "; ".join(
        f"{rung['rung']} {shown(rung, selection_score(rung))} on dev, {shown(rung)} on test"
        for rung in winners
    )
    dev_n = max(selection_n(rung) or 0 for rung in winners)
    test_n = max(int(metric(rung, "n") or 0) for rung in winners)
    return (
        f"The winners were chosen on {count(dev_n)} dev examples, and every figure cited comes"
        f" from the {count(test_n)} test examples they were not chosen on: {figures}."
    )
