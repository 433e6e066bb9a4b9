"""Recommend prompting, retrieval, fine-tuning, a hybrid or distillation — with the reasons, in numbers.

The rules, in the order they are tried:

1. No tuned, hybrid or distilled rung was measured (tuning was skipped, the model is API-only,
   the budget ran out): keep prompting with the best prompt rung. The reasons repeat the run's
   own account (``skipped``) of why there is no tuned rung.
2. The best prompt rung already scores full marks on every test example: keep prompting. Tuning
   cannot gain, so it is never recommended — not even when a tuned rung is also
   perfect and cheaper per request.
3. The best-scoring tuned-family rung beats the best prompt rung, the paired 95% interval
   of the gain lies wholly above zero and the gain is no smaller than the spread of the best
   prompt rung's scores across its demo draws (few-shot-random): recommend that rung's
   family — ``fine-tune`` (with the mode and the labelled data needed), ``hybrid`` (tuned
   weights asked with a prompt) or ``distil`` (a long prompt trained into the weights) —
   citing the gain and the break-even.
4. The interval lies wholly below zero (by more than that spread): keep prompting; it scores
   higher.
5. Otherwise the interval includes zero, or the gain is smaller than the best prompt rung's
   demo-draw spread: keep prompting; the tuning gain is inside the noise.
   When the tuned rung is cheaper per request (a shorter prompt: distillation's point), say
   after how many requests its training would pay back.

When the rung a rule chose is asked with passages of the user's corpus, the recommendation is
``retrieve`` (a prompt rung) or ``retrieve-tuned`` (tuned weights), headed with K and argued
with the knowledge figures (closed vs open book, retrieval's cost, training on the documents).

Two degenerate runs are decided too: with no measured rung the decision says there is nothing
to recommend, and a run with tuned rungs but no prompt rung recommends its best tuned rung.

The best prompt rung is the best-scoring one on the task's primary metric, ties going to fewer
prompt tokens. Every reason cites a measured figure (a score, an interval, tokens, seconds,
dollars or requests).

>>> decision = recommend(json.loads(Path("runs/<run-id>/results.json").read_text()), CostSettings())
>>> decision.recommendation, decision.headline
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from adaptlab.decide.breakeven import BreakEven
from adaptlab.decide.costs import MEANINGFUL_SAVING, CostSettings, RungCost, cheaper
from adaptlab.decide.data_needed import DataNeeded
from adaptlab.decide.evidence import Evidence, gather
from adaptlab.decide.factors import Factor, Side, decision_factors
from adaptlab.decide.gain import Gain
from adaptlab.decide.knowledge import Knowledge, documents_learnt, gather_knowledge
from adaptlab.decide.knowledge_reasons import (
    docs_sentence,
    knowledge_sentences,
    open_book_sentence,
    retrieval_cost_sentence,
    retrieve_headline,
    seen_unseen_sentence,
)
from adaptlab.decide.plateau import Plateau
from adaptlab.decide.reasons import (
    best_prompt_sentence,
    cost_sentence,
    family_sentence,
    forgetting_sentence,
    inside_noise_sentence,
    noise_bound,
    pairing,
    plateau_or_cost,
    priced_break_even,
    selection_sentence,
)
from adaptlab.decide.rungs import (
    backend_of,
    measured,
    metric,
    prompt_tokens,
    retrieval,
    rung_kind,
    score,
    score_summary,
    shown,
    shown_interval,
    trained_on_documents,
    training_examples,
    training_mode,
    tuning_skipped,
)
from adaptlab.decide.wording import count, gain_interval, points, usd

Recommendation = Literal["prompt", "retrieve", "fine-tune", "hybrid", "retrieve-tuned", "distil"]
"""``retrieve``: weights untouched, the corpus's passages in the prompt; ``retrieve-tuned``: tuned
weights asked with the passages (a hybrid with retrieval, or a model tuned to read them)."""
RECOMMENDATION_OF_KIND: dict[str, Recommendation] = {
    "tuned": "fine-tune",
    "hybrid": "hybrid",
    "distilled": "distil",
}
MAX_REASONS = 4


@dataclass(frozen=True)
class Decision:
    """What to do (`recommendation`, with which `rung`), why, and the evidence behind it."""

    recommendation: Recommendation
    rung: str
    headline: str
    reasons: list[str]
    best_prompt: dict[str, Any] | None
    best_tuned: dict[str, Any] | None
    """The best-scoring tuned, hybrid or distilled rung: the one compared with prompting."""
    plateau: Plateau
    tuning_gain: Gain | None
    data_needed: DataNeeded | None
    settings: CostSettings
    costs: dict[str, RungCost]
    break_even: BreakEven | None
    factors: list[Factor]
    selection: str = ""
    """How the winners were chosen (dev or test) and their selection beside their confirmation
    figures: the sentence that tells a reader whether the cited numbers chose themselves."""
    knowledge: Knowledge | None = None
    """Closed book vs open book vs trained on the documents; None when no rung retrieved
    passages or learnt the documents."""

    def to_dict(self) -> dict[str, Any]:
        """The ``decision`` block of ``results.json`` (docs/results-schema.md); ``knowledge`` is
        added only when the run retrieved passages or trained on the documents, so a decision
        without them reads exactly as before."""
        decision = {
            "recommendation": self.recommendation,
            "rung": self.rung,
            "headline": self.headline,
            "reasons": list(self.reasons),
            "best_prompt": self.best_prompt,
            "best_tuned": self.best_tuned,
            "plateau": self.plateau.to_dict(),
            "tuning_gain": self.tuning_gain.to_dict() if self.tuning_gain else None,
            "data_needed": asdict(self.data_needed) if self.data_needed else None,
            "costs": {
                "settings": self.settings.model_dump(mode="json"),
                "rungs": {name: cost.to_dict() for name, cost in self.costs.items()},
            },
            "break_even": self.break_even.to_dict() if self.break_even else None,
            "factors": [asdict(factor) for factor in self.factors],
            "selection": self.selection,
        }
        if self.knowledge is not None:
            sentences = knowledge_sentences(self.knowledge)
            decision["knowledge"] = self.knowledge.to_dict() | {"sentences": sentences}
        return decision


@dataclass(frozen=True)
class Choice:
    recommendation: Recommendation
    rung: str
    headline: str
    reasons: list[str]


def recommend(results: dict[str, Any], settings: CostSettings) -> Decision:
    """Decide from a parsed ``results.json`` (its rungs need not carry ``kind``)."""
    evidence = gather(results, settings)
    choice = choose(evidence)
    knowledge = gather_knowledge(results, evidence.costs, focus=choice.rung)
    if knowledge is not None:
        choice = with_knowledge(choice, evidence, knowledge)
    prompt, tuned = evidence.prompt, evidence.tuned
    return Decision(
        recommendation=choice.recommendation,
        rung=choice.rung,
        headline=choice.headline,
        reasons=choice.reasons[:MAX_REASONS],
        best_prompt=score_summary(prompt),
        best_tuned=score_summary(tuned),
        plateau=evidence.plateau,
        tuning_gain=evidence.gain,
        data_needed=evidence.needed,
        settings=settings,
        costs=evidence.costs,
        break_even=evidence.break_even,
        factors=decision_factors(
            side(prompt, evidence),
            side(tuned, evidence, missing=not_run(results), enough=evidence.needed),
            knowledge,
        ),
        selection=selection_sentence(evidence),
        knowledge=knowledge,
    )


def choose(e: Evidence) -> Choice:
    """Apply the rules of the module docstring, first match wins."""
    rules: list[Callable[[Evidence], Choice | None]] = [
        nothing_measured,
        prompt_only,
        tuned_only,
        prompt_perfect,
        tuning_wins,
        prompt_wins,
        within_noise,
    ]
    for rule in rules:
        choice = rule(e)
        if choice is not None:
            return choice
    raise AssertionError("within_noise always decides")


# -- the rules -------------------------------------------------------------------------------


def nothing_measured(e: Evidence) -> Choice | None:
    if e.prompt or e.tuned:
        return None
    held = len(e.results.get("rungs") or [])
    return Choice(
        "prompt",
        "",
        "No rung was measured: there is nothing to recommend yet.",
        [f"These results hold {held} rungs and none has a measured score, so nothing can be compared."],
    )


def prompt_only(e: Evidence) -> Choice | None:
    if e.prompt is None or e.tuned is not None:
        return None
    p = e.prompt
    total = len(measured(e.results.get("rungs") or []))
    skipped = tuning_skipped(e.results)
    if skipped:
        absent = (
            f"No tuned model was measured (0 of {total} rungs): {skipped['what']} was skipped"
            f" because {skipped['reason'].rstrip('.')}."
        )
    else:
        absent = (
            f"These results hold no tuned, hybrid or distilled rung (0 of {total} rungs), so"
            " prompting is the only approach measured."
        )
    return Choice(
        "prompt",
        p["rung"],
        f"Keep prompting with {p['rung']}: {shown(p)} ({shown_interval(p)}); no tuned model"
        " was measured to compare with.",
        [best_prompt_sentence(e), absent, e.plateau.explanation, cost_sentence(p, e.costs)],
    )


def tuned_only(e: Evidence) -> Choice | None:
    """A run with tuned rungs but no prompt rung: nothing to compare, the tuned rung stands."""
    if e.prompt is not None or e.tuned is None:
        return None
    t = e.tuned
    return Choice(
        RECOMMENDATION_OF_KIND[rung_kind(t)],
        t["rung"],
        f"{t['rung']} scores {shown(t)}; no prompt rung was measured to compare it with.",
        [
            f"{t['rung']} scores {shown(t)} ({shown_interval(t)}), and 0 prompt rungs"
            " were measured, so whether prompting would do as well is unknown.",
            cost_sentence(t, e.costs),
        ],
    )


def prompt_perfect(e: Evidence) -> Choice | None:
    p, t = e.prompt, e.tuned
    if p is None or t is None or score(p) < 1.0:
        return None
    n = count(metric(p, "n"))
    return Choice(
        "prompt",
        p["rung"],
        f"Keep prompting with {p['rung']}: it already scores full marks on all {n} test examples.",
        [
            f"{p['rung']} already scores full marks on all {n} test examples ({shown(p)}): fine-tuning"
            " cannot score higher.",
            f"The best tuned rung, {t['rung']}, scores {shown(t)}: at best a tie, so its"
            f" {usd(e.costs[t['rung']].upfront_usd)} of training buys nothing.",
            cost_sentence(p, e.costs),
        ],
    )


def tuning_wins(e: Evidence) -> Choice | None:
    p, t, gain = e.prompt, e.tuned, e.gain
    if p is None or t is None or gain is None or not gain.significant:
        return None
    kind = rung_kind(t)
    recommendation = RECOMMENDATION_OF_KIND[kind]
    by = f"{t['rung']} beats {p['rung']} by {points(gain.gain)} ({gain_interval(gain.low, gain.high)})."
    if recommendation == "fine-tune" and trained_on_documents(t):
        headline = f"Fine-tune on the documents ({training_mode(t) or 'tuned'}, {documents_learnt(t)}): {by}"
    elif recommendation == "fine-tune":
        examples = e.needed.examples if e.needed else training_examples(t)
        headline = f"Fine-tune ({training_mode(t) or 'tuned'}, {count(examples)} examples): {by}"
    elif recommendation == "hybrid":
        headline = f"Fine-tune and keep the prompt: {by}"
    else:
        headline = f"Distil the prompt into the weights: {by}"
    reasons = [
        f"{t['rung']} scores higher than the best prompt rung, {p['rung']}: {shown(t)} vs"
        f" {shown(p)}, {points(gain.gain)} ({gain_interval(gain.low, gain.high)}){pairing(gain)},"
        " beyond the noise.",
        *family_sentence(e, kind),
        *priced_break_even(e),
        *forgetting_sentence(t),
    ]
    return Choice(recommendation, t["rung"], headline, reasons)


def prompt_wins(e: Evidence) -> Choice | None:
    p, t, gain = e.prompt, e.tuned, e.gain
    if p is None or t is None or gain is None or not gain.worse:
        return None
    return Choice(
        "prompt",
        p["rung"],
        f"Keep prompting with {p['rung']} ({shown(p)}): it scores higher than {t['rung']} ({shown(t)}).",
        [
            f"{t['rung']} scores {shown(t)}, {points(gain.gain)} against {p['rung']}"
            f" ({gain_interval(gain.low, gain.high)}){pairing(gain)}: prompting scores higher"
            " beyond the noise.",
            best_prompt_sentence(e),
            plateau_or_cost(e),
        ],
    )


def within_noise(e: Evidence) -> Choice:
    p, t, gain = e.prompt, e.tuned, e.gain
    assert p is not None and t is not None and gain is not None, "the earlier rules took the rest"
    # A tuned rung asked with a prompt as long as the prompt rung's computes as much per
    # request (same architecture): any measured difference in its cost is timing noise.
    shorter = (prompt_tokens(t) or 0.0) < (prompt_tokens(p) or 0.0) * (1 - MEANINGFUL_SAVING)
    cheaper_requests = shorter and cheaper(e.costs[t["rung"]], e.costs[p["rung"]])
    return Choice(
        "prompt",
        p["rung"],
        f"Keep prompting with {p['rung']} ({shown(p)}): fine-tuning's {points(gain.gain)} is"
        f" within the noise ({noise_bound(gain)}).",
        [
            inside_noise_sentence(e),
            *(priced_break_even(e) if cheaper_requests else []),
            best_prompt_sentence(e),
            plateau_or_cost(e),
        ],
    )


# -- knowledge -------------------------------------------------------------------------------


def with_knowledge(choice: Choice, e: Evidence, k: Knowledge) -> Choice:
    """The choice told as where its facts come from. A chosen rung asked with retrieved passages
    is recommended as ``retrieve`` (or ``retrieve-tuned``), headed ``Retrieve`` (or ``Retrieve
    with a tuned model``) with K, and argued with the gain over the closed book, what retrieval
    costs, training on the documents instead, and the unseen vs seen facts, with the rule's
    first reason second (a prompt's: why not tuned weights) or first (a hybrid's: why tuned
    weights), and its others after.
    Any other choice keeps its headline and ends with the open-book comparison."""
    chosen = next((r for r in e.results.get("rungs") or [] if r.get("rung") == choice.rung), None)
    if chosen is None or retrieval(chosen) is None:
        closing = open_book_sentence(k) or docs_sentence(k)
        return replace(choice, reasons=[*choice.reasons[: MAX_REASONS - len(closing)], *closing])
    argued = [
        *open_book_sentence(k),
        *retrieval_cost_sentence(k),
        *docs_sentence(k),
        *seen_unseen_sentence(k),
    ]
    if rung_kind(chosen) == "prompt":
        # The rule's first reason says why not the tuned weights: it follows the open-book gain.
        reasons = [*argued[:1], *choice.reasons[:1], *argued[1:], *choice.reasons[1:]]
        recommendation: Recommendation = "retrieve"
    else:
        reasons = [*choice.reasons[:1], *argued, *choice.reasons[1:]]
        recommendation = "retrieve-tuned"
    return replace(
        choice, recommendation=recommendation, headline=retrieve_headline(k, chosen), reasons=reasons
    )


# -- the framework table ---------------------------------------------------------------------


def side(
    rung: dict[str, Any] | None, e: Evidence, *, missing: str = "not run", enough: DataNeeded | None = None
) -> Side:
    cost = e.costs.get(rung["rung"]) if rung else None
    return Side(rung, cost, backend_of(rung, e.results), missing, enough)


def not_run(results: dict[str, Any]) -> str:
    """The tuned column's text when no tuned rung ran: the run's own reason when it gave one."""
    skipped = tuning_skipped(results)
    return f"not run: {skipped['reason']}" if skipped else "not run: no tuned rung in these results"
