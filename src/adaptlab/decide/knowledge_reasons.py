"""The sentences that explain where the facts should come from, each citing a measured figure.

Kept apart from the evidence (`adaptlab.decide.knowledge`) as `adaptlab.decide.reasons` is from
`adaptlab.decide.evidence`: the rules pick sentences, and the wording of a figure lives here.
"""

from __future__ import annotations

from typing import Any

from adaptlab.decide.gain import Gain
from adaptlab.decide.knowledge import BookRow, Knowledge, documents_learnt
from adaptlab.decide.reasons import pairing
from adaptlab.decide.rungs import passages_asked, rung_kind, shown, shown_interval
from adaptlab.decide.wording import count, gain_interval, pct, points, seconds, tokens, usd


def retrieve_headline(k: Knowledge, rung: dict[str, Any]) -> str:
    """The headline when the chosen `rung` retrieves: ``Retrieve: ask the model with the top 3
    passages of the corpus (rag-3) — 85.0% vs 10.0% closed-book (zero-shot), +75.0 points (…).``
    A hybrid asks tuned weights with the passages: ``Retrieve with a tuned model: …``."""
    top = f"the top {count(passages_asked(rung))} passages"
    if rung_kind(rung) == "prompt":
        what = f"Retrieve: ask the model with {top} of the corpus ({rung['rung']})"
    else:
        weights, _, trained_with = rung["rung"].partition("+")[0].partition("@")
        tuned = f"{weights}, tuned with them in its prompt," if trained_with else weights
        what = f"Retrieve with a tuned model: ask {tuned} with {top} of the corpus ({rung['rung']})"
    closed, gain = k.closed, k.open_vs_closed
    if closed is None or gain is None:
        return f"{what} — {shown(rung)} ({shown_interval(rung)}); no closed-book rung was measured."
    return (
        f"{what} — {shown(rung)} vs {shown(closed)} closed-book ({closed['rung']}),"
        f" {points(gain.gain)} ({gain_interval(gain.low, gain.high)})."
    )


def knowledge_sentences(k: Knowledge) -> list[str]:
    """Every knowledge sentence the run's figures support, in the order a reader needs them."""
    return [
        *open_book_sentence(k),
        *retrieval_quality_sentence(k),
        *retrieval_cost_sentence(k),
        *docs_sentence(k),
        *seen_unseen_sentence(k),
    ]


def open_book_sentence(k: Knowledge) -> list[str]:
    """Open book against closed book: the gain the passages bring."""
    o, c, gain = k.open, k.closed, k.open_vs_closed
    if o is None:
        return []
    top = count(passages_asked(o))
    asked = f"{o['rung']} scores {shown(o)} ({shown_interval(o)}) with the top {top} passages"
    if c is None or gain is None:
        return [f"{asked}; no closed-book rung was measured to compare it with."]
    return [f"{asked}, against {shown(c)} for the best closed-book rung, {c['rung']}: {_difference(gain)}."]


def retrieval_quality_sentence(k: Knowledge) -> list[str]:
    """How often the passage holding the answer came back, over the questions that name one."""
    row = _row(k, k.open)
    if row is None or row.recall_at_k is None or not row.judged:
        return []
    mrr = f" (MRR {row.mrr:.2f})" if row.mrr is not None else ""
    return [
        f"The passage holding the answer was among the top {count(row.passages)} for"
        f" {pct(row.recall_at_k)} of the {count(row.judged)} test questions that name one{mrr}."
    ]


def retrieval_cost_sentence(k: Knowledge) -> list[str]:
    """What retrieval adds per request: prompt tokens, search time, dollars per 1,000."""
    cost = k.cost
    if cost is None:
        return []
    added = []
    if cost.added_prompt_tokens is not None:
        added.append(f"{tokens(cost.added_prompt_tokens)} of prompt over {cost.base}")
    if cost.seconds_per_query is not None:
        added.append(f"{seconds(cost.seconds_per_query)} of search")
    if not added:
        return []
    priced = ""
    if cost.usd_per_1k_requests is not None and cost.base_usd_per_1k_requests is not None:
        priced = (
            f": {usd(cost.usd_per_1k_requests)} per 1,000 requests vs"
            f" {usd(cost.base_usd_per_1k_requests)} for {cost.base}"
        )
    elif cost.usd_per_1k_requests is not None:
        priced = f": {cost.rung} costs {usd(cost.usd_per_1k_requests)} per 1,000 requests"
    return [f"Retrieval adds {' and '.join(added)} to each request of {cost.rung}{priced}."]


def docs_sentence(k: Knowledge) -> list[str]:
    """Training on the documents against the closed book and against retrieving them."""
    d = k.docs
    if d is None:
        return []
    versus = []
    if k.closed is not None and k.docs_vs_closed is not None:
        versus.append(f"{_interval(k.docs_vs_closed)} against {k.closed['rung']}")
    if k.open is not None and k.open_vs_docs is not None:
        versus.append(f"retrieval with {k.open['rung']} scores {_interval(k.open_vs_docs)} against it")
    trained = (
        f"Trained on {documents_learnt(d)}, {d['rung']} scores {shown(d)} ({shown_interval(d)}) closed-book"
    )
    if not versus:
        return [f"{trained}."]
    paired = next(g for g in (k.open_vs_docs, k.docs_vs_closed) if g is not None)
    return [f"{trained}, {'; '.join(versus)}{pairing(paired)}."]


def seen_unseen_sentence(k: Knowledge) -> list[str]:
    """Each compared rung's score on the facts no training example covers (unseen) and on
    those one does (seen): tuning on labelled answers can only recall the latter."""
    compared = [(rung, row) for rung in (k.open, k.docs, k.closed) if (row := _row(k, rung)) is not None]
    parts = []
    for name, how in (
        ("unseen", "whose passage answers no training example"),
        ("seen", "whose passage also answers a training example"),
    ):
        scored = [
            (rung, subset)
            for rung, row in compared
            if (subset := getattr(row, name)) is not None and subset.score is not None
        ]
        if scored:
            n = max(subset.n for _, subset in scored)
            figures = ", ".join(f"{rung['rung']} {shown(rung, subset.score)}" for rung, subset in scored)
            parts.append(f"on the {count(n)} {name} questions ({how}): {figures}")
    if not parts:
        return []
    text = "; ".join(parts)
    return [text[:1].upper() + text[1:] + "."]


def _difference(gain: Gain) -> str:
    return f"{_interval(gain)}{pairing(gain)}"


def _interval(gain: Gain) -> str:
    return f"{points(gain.gain)} ({gain_interval(gain.low, gain.high)})"


def _row(k: Knowledge, rung: dict[str, Any] | None) -> BookRow | None:
    if rung is None:
        return None
    return next((row for row in k.rows if row.rung == rung["rung"]), None)
