"""Closed book, open book, trained on the documents: the evidence and how the decision cites it.

The figures are worked out by hand from `knowledge_results` (its docstring): each rung answers
the first `right` of 100 questions, the first 50 seen and the last 50 unseen.
"""

from __future__ import annotations

import json

import pytest
from decide_results import correct_first, make_results, make_rung, trained

from adaptlab.decide import CostSettings, recommend
from adaptlab.decide.costs import rung_costs
from adaptlab.decide.knowledge import book, gather_knowledge
from adaptlab.decide.rungs import is_tuned_name, learning_curve, rung_kind, training_mode
from knowledge_results import N, knowledge_run, rag, retrieval_block

SETTINGS = CostSettings(machine_usd_per_hour=3.6)
"""$0.001 per second: a rung answering 10 examples a second costs $0.1 per 1,000 requests."""


def knowledge_of(results: dict, focus: str | None = None):
    return gather_knowledge(results, rung_costs(results, SETTINGS), focus=focus)


def hybrid_rag(right: int = 100) -> dict:
    return rag("lora-64+rag-3", right, kind="hybrid", prompt_tokens=440, training=trained(64))


def test_rungs_tuned_on_documents_parse_and_keep_their_own_learning_curve() -> None:
    assert is_tuned_name("docs-lora-426") and is_tuned_name("docs-qa-lora-64")
    assert training_mode({"rung": "docs-qa-full-64"}) == "full"
    assert learning_curve({"rung": "docs-lora-426"}) == ("docs-", "lora", "")
    assert learning_curve({"rung": "docs-qa-lora-64"}) == ("docs-qa-", "lora", "")
    assert learning_curve({"rung": "lora-64"}) != learning_curve({"rung": "docs-lora-426"})
    assert rung_kind({"rung": "docs-lora-426", "training": {"targets": "documents"}}) == "tuned"
    assert rung_kind({"rung": "lora-64+rag-3", "training": {"targets": "gold"}}) == "hybrid"
    assert book({"rung": "docs-qa-lora-64", "training": {"targets": "documents+gold"}}) == "docs-tuned"
    assert book({"rung": "lora-64+rag-3", "retrieval": retrieval_block("zero-shot")}) == "open"


def test_a_rung_tuned_on_the_documents_then_on_pairs_is_its_own_curve() -> None:
    """``docs-then-qa-`` is matched whole (not as ``docs-`` followed by a bad mode)."""
    assert is_tuned_name("docs-then-qa-lora-64") and is_tuned_name("docs-then-qa-full-64@cot")
    assert training_mode({"rung": "docs-then-qa-full-64"}) == "full"
    assert learning_curve({"rung": "docs-then-qa-lora-64"}) == ("docs-then-qa-", "lora", "")
    assert learning_curve({"rung": "docs-then-qa-lora-64"}) != learning_curve({"rung": "docs-qa-lora-64"})
    sequential = {"rung": "docs-then-qa-lora-64", "training": {"targets": "documents, then gold"}}
    assert book(sequential) == "docs-tuned" and rung_kind(sequential) == "tuned"


def test_the_evidence_sets_open_book_against_closed_book_and_the_documents_in_numbers() -> None:
    k = knowledge_of(knowledge_run())

    assert k is not None
    assert (k.closed["rung"], k.open["rung"], k.docs["rung"]) == ("lora-64", "rag-3", "docs-lora-426")
    assert k.open_vs_closed.gain == pytest.approx(0.85 - 0.30)
    assert k.docs_vs_closed.gain == pytest.approx(0.15 - 0.30)
    assert k.open_vs_docs.gain == pytest.approx(0.85 - 0.15)
    assert k.open_vs_closed.paired and k.open_vs_closed.n == N
    assert k.cost.added_prompt_tokens == 400.0
    assert k.cost.seconds_per_query == 0.012
    assert k.cost.usd_per_1k_requests == pytest.approx(0.25)  # 4 examples/s
    assert k.cost.base_usd_per_1k_requests == pytest.approx(0.10)  # 10 examples/s
    assert k.cost.added_usd_per_1k_requests == pytest.approx(0.15)
    assert (k.passages, k.seen, k.unseen) == (3, 50, 50)
    assert k.corpus["path"] == "countries.jsonl"


def test_each_rung_is_scored_on_seen_and_unseen_facts_apart() -> None:
    rows = {row.rung: row for row in knowledge_of(knowledge_run()).rows}

    expected = {  # (seen, unseen) out of 50 each
        "zero-shot": (10, 0),
        "lora-64": (30, 0),
        "docs-lora-426": (15, 0),
        "rag-3": (50, 35),
    }
    for name, (seen, unseen) in expected.items():
        assert (rows[name].seen.score, rows[name].seen.n) == (pytest.approx(seen / 50), 50), name
        assert (rows[name].unseen.score, rows[name].unseen.n) == (pytest.approx(unseen / 50), 50), name
    assert [rows[n].book for n in expected] == ["closed", "closed", "docs-tuned", "open"]
    assert (rows["rag-3"].recall_at_k, rows["rag-3"].mrr, rows["rag-3"].judged) == (0.9, 0.8125, N)
    assert rows["docs-lora-426"].documents == 426 and rows["lora-64"].documents is None


def test_without_the_run_level_block_the_rung_gives_k_and_the_corpus_and_nothing_is_split() -> None:
    k = knowledge_of(knowledge_run(knowledge=False))

    assert (k.passages, k.corpus["passages"], k.seen, k.unseen) == (3, 426, 0, 0)
    assert all(row.seen is None and row.unseen is None for row in k.rows)
    sentences = recommend(knowledge_run(knowledge=False), SETTINGS).to_dict()["knowledge"]["sentences"]
    assert not any("unseen" in sentence for sentence in sentences)


def test_a_retrieval_winner_is_headed_retrieve_with_k_and_argued_in_numbers() -> None:
    decision = recommend(knowledge_run(), SETTINGS)

    assert (decision.recommendation, decision.rung) == ("retrieve", "rag-3")
    assert decision.headline.startswith(
        "Retrieve: ask the model with the top 3 passages of the corpus (rag-3) — 85.0% vs 30.0%"
        " closed-book (lora-64), +55.0 points (95% CI "
    )
    # The open-book gain, then why not the tuned weights (the rule's own first reason), then
    # what retrieval costs and what training on the documents bought instead.
    gain, rule, cost, docs = decision.reasons
    assert "rag-3 scores 85.0%" in gain and "+55.0 points" in gain
    assert "lora-64" in rule and "rag-3" in rule
    assert "400 tokens of prompt over zero-shot and 0.012 s of search" in cost
    assert "$0.250 per 1,000 requests vs $0.100 for zero-shot" in cost
    assert "docs-lora-426 scores 15.0%" in docs and "+70.0 points" in docs
    seen = decision.to_dict()["knowledge"]["sentences"][-1]
    assert "50 unseen questions" in seen and "rag-3 70.0%, docs-lora-426 0.0%, lora-64 0.0%" in seen


def test_tuned_weights_asked_with_passages_are_headed_retrieve_with_a_tuned_model() -> None:
    decision = recommend(knowledge_run(hybrid_rag()), SETTINGS)

    assert (decision.recommendation, decision.rung) == ("retrieve-tuned", "lora-64+rag-3")
    assert decision.headline.startswith(
        "Retrieve with a tuned model: ask lora-64 with the top 3 passages of the corpus (lora-64+rag-3)"
        " — 100.0% vs 30.0% closed-book (lora-64), +70.0 points"
    )
    assert decision.reasons[0].startswith("lora-64+rag-3 scores higher than the best prompt rung, rag-3")
    assert "+70.0 points" in decision.reasons[1]
    assert len(decision.reasons) == 4


def test_a_closed_book_winner_keeps_its_headline_and_ends_with_the_open_book_figures() -> None:
    results = knowledge_run()
    results["rungs"][3] = rag("rag-3", 20, prompt_tokens=440, examples_per_s=4.0)

    decision = recommend(results, SETTINGS)

    assert (decision.recommendation, decision.rung) == ("fine-tune", "lora-64")
    assert decision.headline.startswith("Fine-tune (lora, 64 examples): lora-64 beats rag-3 by +10.0 points")
    assert "rag-3 scores 20.0%" in decision.reasons[-1] and "-10.0 points" in decision.reasons[-1]
    assert len(decision.reasons) <= 4


def test_a_rung_trained_on_the_documents_is_recommended_as_such_and_needs_no_labels() -> None:
    docs = make_rung(
        "docs-lora-426",
        "tuned",
        correct_first(60, N),
        training={**trained(426, targets="documents"), "documents": 426},
    )
    qa = make_rung(
        "docs-qa-lora-64",
        "tuned",
        correct_first(40, N),
        training={**trained(64, targets="documents+gold"), "documents": 426},
    )
    results = make_results([make_rung("zero-shot", "prompt", correct_first(10, N)), docs, qa])

    decision = recommend(results, CostSettings(labelling_usd_per_example=1.0))

    assert decision.headline.startswith(
        "Fine-tune on the documents (lora, 426 corpus passages): docs-lora-426"
    )
    assert any(
        "It was trained on 426 corpus passages and is asked closed-book" in r for r in decision.reasons
    )
    assert decision.costs["docs-lora-426"].labelling_usd == 0.0
    assert decision.costs["docs-qa-lora-64"].labelling_usd == 64.0
    data = next(f for f in decision.factors if f.factor == "Data needed")
    assert data.tuned == "426 corpus passages"
    knowledge = decision.to_dict()["knowledge"]
    assert knowledge["open"] is None and knowledge["docs_tuned"]["rung"] == "docs-lora-426"


def test_a_rung_tuned_on_the_documents_then_on_pairs_is_cited_with_both_and_costs_both_stages() -> None:
    """Its labels are the pairs; its training time is both stages' (what produced the weights)."""
    sequential = make_rung(
        "docs-then-qa-lora-64",
        "tuned",
        correct_first(70, N),
        training={
            **trained(64, wall_time_s=100.0, targets="documents, then gold"),
            "documents": 426,
            "start_from": {"key": "0123456789abcdef", "reused": True, "wall_time_s": 80.0},
        },
    )
    results = make_results([make_rung("zero-shot", "prompt", correct_first(10, N)), sequential])

    decision = recommend(results, CostSettings(labelling_usd_per_example=1.0, machine_usd_per_hour=3.6))

    assert decision.headline.startswith(
        "Fine-tune on the documents (lora, 426 corpus passages, then 64 labelled question-answer pairs):"
        " docs-then-qa-lora-64"
    )
    assert any(
        "It was trained on 426 corpus passages, then 64 labelled question-answer pairs" in r
        for r in decision.reasons
    )
    cost = decision.costs["docs-then-qa-lora-64"]
    assert cost.labelling_usd == 64.0
    assert cost.training_usd == pytest.approx(0.1)  # 100 s at $0.001/s: both stages


def test_the_knowledge_rows_join_the_framework_only_when_a_rung_retrieved_or_read_the_documents() -> None:
    plain = recommend(make_results([make_rung("zero-shot", "prompt", correct_first(10, N))]), SETTINGS)
    with_knowledge = recommend(knowledge_run(), SETTINGS)

    names = [f.factor for f in with_knowledge.factors]
    assert [f.factor for f in plain.factors] == [n for n in names if not n.startswith("Knowledge")]
    at = names.index("Factual knowledge and general ability")
    assert names[at + 1 : at + 3] == [
        "Knowledge: closed vs open book",
        "Knowledge: retrieval cost per request",
    ]
    closed_open = with_knowledge.factors[at + 1]
    assert closed_open.prompt.startswith(
        "rag-3 85.0% with 3 passages vs lora-64 30.0% closed-book (+55.0 points)"
    )
    assert "90.0% of 100" in closed_open.prompt
    assert (
        closed_open.tuned
        == "docs-lora-426 15.0% after training on 426 corpus passages (-70.0 points vs rag-3)"
    )
    assert (
        with_knowledge.factors[at + 2].prompt
        == "rag-3: +400 tokens, +0.012 s search, $0.150 more per 1,000 requests"
    )
    assert "knowledge" not in plain.to_dict()


def test_the_knowledge_block_is_strict_json_and_names_its_figures() -> None:
    results = knowledge_run()
    results["rungs"][3]["retrieval"] = retrieval_block("few-shot-knn-4", recall=None, mrr=None)

    knowledge = recommend(results, SETTINGS).to_dict()["knowledge"]

    json.dumps(knowledge, allow_nan=False)
    assert list(knowledge) == [
        "passages",
        "corpus",
        "seen",
        "unseen",
        "closed",
        "open",
        "docs_tuned",
        "open_vs_closed",
        "docs_vs_closed",
        "open_vs_docs",
        "cost",
        "rows",
        "sentences",
    ]
    # the base few-shot-knn-4 was not measured: no added tokens or dollars, but the search time
    assert knowledge["cost"]["added_prompt_tokens"] is None
    assert knowledge["cost"]["added_usd_per_1k_requests"] is None
    assert not any("holding the answer" in sentence for sentence in knowledge["sentences"])
    assert any("0.012 s of search" in sentence for sentence in knowledge["sentences"])
