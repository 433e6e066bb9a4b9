"""Where the model should get its facts: closed book, open book, or trained on the documents.

A task whose answers live in a corpus can be served three ways: ask the weights alone (closed
book: a prompt rung, or one tuned on labelled answers), put the top K retrieved passages in the
prompt (open book: ``rag-3``, or tuned weights asked with them, ``lora-64+rag-3``), or train the
weights on the corpus text (``docs-lora-426``). Ovadia et al. (2023, "Fine-Tuning or
Retrieval?") found retrieval ahead of training on the documents for facts the model never saw;
this module measures the same comparison on the run's own test split, plus what retrieval costs
per request, and splits each rung's score into the questions whose fact a training example also
answers (seen) and those it does not (unseen): tuning on labelled answers can only recall the
former.

>>> knowledge = gather_knowledge(results, rung_costs(results, CostSettings()), focus="rag-3")
>>> knowledge.open_vs_closed.gain if knowledge else None
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from adaptlab.decide.costs import RungCost
from adaptlab.decide.gain import Gain, example_scores, paired_gain
from adaptlab.decide.rungs import (
    DOCUMENTS_AND_GOLD,
    DOCUMENTS_THEN_GOLD,
    best_rung,
    measured,
    metric,
    number,
    passages_asked,
    prompt_tokens,
    retrieval,
    rung_kind,
    score_summary,
    trained_on_documents,
    training_examples,
)
from adaptlab.decide.wording import count

Book = Literal["closed", "open", "docs-tuned"]


def book(rung: dict[str, Any]) -> Book:
    """``open`` when the rung was asked with retrieved passages, ``docs-tuned`` when its weights
    learnt the corpus text (and it is asked without passages), else ``closed``.

    >>> book({"rung": "rag-3", "retrieval": {"passages": 3}}), book({"rung": "lora-64"})
    ('open', 'closed')
    """
    if retrieval(rung) is not None:
        return "open"
    return "docs-tuned" if trained_on_documents(rung) else "closed"


@dataclass(frozen=True)
class Subset:
    """A rung's mean primary-metric score over a subset of the test examples it answered."""

    score: float | None
    n: int


@dataclass(frozen=True)
class BookRow:
    """One rung of the knowledge table, every figure as the run measured it."""

    rung: str
    kind: str
    book: Book
    score: float | None
    score_low: float | None
    score_high: float | None
    seen: Subset | None
    """Over the test questions whose gold passage also answers a training example."""
    unseen: Subset | None
    """Over the other test questions that name a gold passage."""
    passages: int | None
    recall_at_k: float | None
    mrr: float | None
    judged: int | None
    prompt_tokens: float | None
    latency_p50_s: float | None
    documents: int | None
    """Corpus passages the rung's weights were trained on (docs-tuned rungs)."""


@dataclass(frozen=True)
class RetrievalCost:
    """What retrieval adds to each request of `rung` over `base`, the prompt its passages were
    added to: prompt tokens, search time, and dollars per 1,000 requests where both are priced."""

    rung: str
    base: str | None
    added_prompt_tokens: float | None
    seconds_per_query: float | None
    usd_per_1k_requests: float | None
    base_usd_per_1k_requests: float | None

    @property
    def added_usd_per_1k_requests(self) -> float | None:
        if self.usd_per_1k_requests is None or self.base_usd_per_1k_requests is None:
            return None
        return self.usd_per_1k_requests - self.base_usd_per_1k_requests

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"added_usd_per_1k_requests": self.added_usd_per_1k_requests}


@dataclass(frozen=True)
class Knowledge:
    """The three ways to the facts, their best rungs, and the paired gains between them."""

    closed: dict[str, Any] | None
    """The best closed-book rung: no retrieval, not trained on the documents."""
    open: dict[str, Any] | None
    """The open-book rung the decision stands on: the chosen rung when it retrieves, else the
    best rung asked with retrieved passages."""
    docs: dict[str, Any] | None
    """The best rung trained on the documents and asked closed-book."""
    open_vs_closed: Gain | None
    docs_vs_closed: Gain | None
    open_vs_docs: Gain | None
    cost: RetrievalCost | None
    rows: list[BookRow]
    passages: int | None
    corpus: dict[str, Any] | None
    seen: int
    """Test questions whose gold passage also answers a training example."""
    unseen: int

    def to_dict(self) -> dict[str, Any]:
        """The ``knowledge`` block of the decision."""
        return {
            "passages": self.passages,
            "corpus": self.corpus,
            "seen": self.seen,
            "unseen": self.unseen,
            "closed": score_summary(self.closed),
            "open": score_summary(self.open),
            "docs_tuned": score_summary(self.docs),
            "open_vs_closed": self.open_vs_closed.to_dict() if self.open_vs_closed else None,
            "docs_vs_closed": self.docs_vs_closed.to_dict() if self.docs_vs_closed else None,
            "open_vs_docs": self.open_vs_docs.to_dict() if self.open_vs_docs else None,
            "cost": self.cost.to_dict() if self.cost else None,
            "rows": [asdict(row) for row in self.rows],
        }


def gather_knowledge(
    results: dict[str, Any], costs: dict[str, RungCost], *, focus: str | None = None
) -> Knowledge | None:
    """The knowledge evidence of a parsed ``results.json``; None unless some measured rung
    retrieved passages or was trained on the documents (a run from before retrieval, or one
    without a corpus). `focus` names the chosen rung: when it retrieves, it is the open-book
    rung compared."""
    rungs = measured(results.get("rungs") or [])
    by_book = {name: [r for r in rungs if book(r) == name] for name in ("closed", "open", "docs-tuned")}
    if not by_book["open"] and not by_book["docs-tuned"]:
        return None
    chosen = next((r for r in by_book["open"] if r["rung"] == focus), None)
    closed, docs = best_rung(by_book["closed"]), best_rung(by_book["docs-tuned"])
    opened = chosen or best_rung(by_book["open"])
    block = results.get("knowledge") or {}
    seen, unseen = _ids(block.get("seen")), _ids(block.get("unseen"))
    asked = passages_asked(opened) if opened else None
    return Knowledge(
        closed=closed,
        open=opened,
        docs=docs,
        open_vs_closed=_gain(closed, opened),
        docs_vs_closed=_gain(closed, docs),
        open_vs_docs=_gain(docs, opened),
        cost=retrieval_cost(opened, rungs, costs) if opened else None,
        rows=[_row(r, seen, unseen) for r in rungs],
        passages=_int(block.get("passages")) or asked,
        corpus=block.get("corpus") or (retrieval(opened or {}) or {}).get("corpus"),
        seen=len(seen),
        unseen=len(unseen),
    )


def retrieval_cost(
    rung: dict[str, Any], rungs: Sequence[dict[str, Any]], costs: dict[str, RungCost]
) -> RetrievalCost:
    """What `rung`'s retrieval adds per request over its base prompt rung, when that was
    measured in the same run: the difference of their mean prompt tokens and of their prices."""
    block = retrieval(rung) or {}
    base_name = block.get("base")
    base = next((r for r in rungs if r["rung"] == base_name), None) if base_name else None
    own, theirs = prompt_tokens(rung), prompt_tokens(base) if base else None
    cost = costs.get(rung["rung"])
    base_cost = costs.get(base["rung"]) if base else None
    return RetrievalCost(
        rung=rung["rung"],
        base=str(base_name) if base_name else None,
        added_prompt_tokens=None if own is None or theirs is None else own - theirs,
        seconds_per_query=number(block.get("seconds_per_query")),
        usd_per_1k_requests=cost.usd_per_1k_requests if cost else None,
        base_usd_per_1k_requests=base_cost.usd_per_1k_requests if base_cost else None,
    )


def documents_learnt(rung: dict[str, Any]) -> str:
    """What a docs-tuned rung's weights learnt, as a sentence says it: ``426 corpus passages``,
    ``426 corpus passages and 64 labelled question-answer pairs`` (``documents+gold``),
    ``426 corpus passages, then 64 labelled question-answer pairs`` (``documents, then gold``).

    >>> documents_learnt({"training": {"targets": "documents+gold", "documents": 426, "examples": 64}})
    '426 corpus passages and 64 labelled question-answer pairs'
    >>> documents_learnt({"training": {"targets": "documents, then gold", "documents": 426, "examples": 64}})
    '426 corpus passages, then 64 labelled question-answer pairs'
    """
    training = rung.get("training") or {}
    passages = _int(training.get("documents"))
    text = "the corpus text" if passages is None else f"{count(passages)} corpus passages"
    pairs = f"{count(training_examples(rung))} labelled question-answer pairs"
    if training.get("targets") == DOCUMENTS_AND_GOLD:
        text += f" and {pairs}"
    elif training.get("targets") == DOCUMENTS_THEN_GOLD:
        text += f", then {pairs}"
    return text


def subset_score(rung: dict[str, Any], ids: frozenset[str]) -> Subset:
    """`rung`'s mean score over the examples of `ids` it answered and that were graded.

    >>> subset_score({"predictions": [{"example_id": "a", "score": 1.0},
    ...                               {"example_id": "b", "score": 0.0}]}, frozenset({"a"}))
    Subset(score=1.0, n=1)
    """
    scores = [value for example_id, value in example_scores(rung).items() if example_id in ids]
    return Subset(sum(scores) / len(scores) if scores else None, len(scores))


def _row(rung: dict[str, Any], seen: frozenset[str], unseen: frozenset[str]) -> BookRow:
    block = retrieval(rung) or {}
    return BookRow(
        rung=rung["rung"],
        kind=rung_kind(rung),
        book=book(rung),
        score=metric(rung, "score"),
        score_low=metric(rung, "score_low"),
        score_high=metric(rung, "score_high"),
        seen=subset_score(rung, seen) if seen else None,
        unseen=subset_score(rung, unseen) if unseen else None,
        passages=passages_asked(rung),
        recall_at_k=number(block.get("recall_at_k")),
        mrr=number(block.get("mrr")),
        judged=_int(block.get("judged")),
        prompt_tokens=prompt_tokens(rung),
        latency_p50_s=metric(rung, "latency_p50_s"),
        documents=_int((rung.get("training") or {}).get("documents")) if trained_on_documents(rung) else None,
    )


def _gain(base: dict[str, Any] | None, challenger: dict[str, Any] | None) -> Gain | None:
    return paired_gain(base, challenger) if base and challenger else None


def _ids(values: Any) -> frozenset[str]:
    return frozenset(str(value) for value in values or [])


def _int(value: Any) -> int | None:
    found = number(value)
    return None if found is None else int(found)
