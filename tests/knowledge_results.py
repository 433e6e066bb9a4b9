"""A hand-built run over a corpus of documents, for the decision's and the report's tests:
closed-book, open-book (retrieval) and docs-tuned rungs on 100 test questions, the first 50 of
which are "seen" (their gold passage also answers a training example) and the last 50 "unseen".

Every rung answers the first `right` questions correctly (`correct_first`), so each figure can
be worked out by hand: zero-shot 10/100 (seen 10/50, unseen 0/50), lora-64 30/100 (30/50, 0/50),
docs-lora-426 15/100 (15/50, 0/50), rag-3 85/100 (50/50, 35/50).
"""

from __future__ import annotations

from typing import Any

from decide.decide_results import correct_first, make_results, make_rung, trained

N = 100
IDS = [f"ex-{i:04d}" for i in range(N)]
CORPUS = {"documents": 40, "passages": 426, "hash": "c0ffee"}


def retrieval_block(base: str, *, recall: float | None = 0.9, mrr: float | None = 0.8125) -> dict[str, Any]:
    """A rung's ``retrieval`` block: the top 3 passages added to `base`."""
    return {
        "passages": 3,
        "base": base,
        "corpus": CORPUS,
        "seconds_per_query": 0.012,
        "recall_at_k": recall,
        "mrr": mrr,
        "judged": N if recall is not None else 0,
    }


def with_passages(rung: dict[str, Any], gold_rank: int | None = 1) -> dict[str, Any]:
    """`rung` with three retrieved passages on every prediction, the gold one at `gold_rank`."""
    for prediction in rung["predictions"]:
        number = prediction["example_id"].removeprefix("ex-")
        prediction["passages"] = [
            {
                "id": f"country-{number}#{rank}",
                "doc_id": f"country-{number}",
                "score": round(1.0 - rank / 10, 2),
                "text": f"Passage {rank} about country {number}.",
            }
            for rank in range(3)
        ]
        prediction["retrieval_s"] = 0.012
        prediction["gold_rank"] = gold_rank
    return rung


def rag(name: str, right: int, base: str = "zero-shot", **kwargs: Any) -> dict[str, Any]:
    rung = make_rung(name, kwargs.pop("kind", "prompt"), correct_first(right, N), **kwargs)
    rung["retrieval"] = retrieval_block(base)
    return with_passages(rung)


def knowledge_run(*extra: dict[str, Any], knowledge: bool = True) -> dict[str, Any]:
    """zero-shot, lora-64, docs-lora-426 and rag-3 (plus `extra` rungs), with the run-level
    ``knowledge`` block unless `knowledge` is False."""
    rungs = [
        make_rung("zero-shot", "prompt", correct_first(10, N), prompt_tokens=40, examples_per_s=10.0),
        make_rung(
            "lora-64", "tuned", correct_first(30, N), prompt_tokens=40, training=trained(64, wall_time_s=30)
        ),
        make_rung(
            "docs-lora-426",
            "tuned",
            correct_first(15, N),
            prompt_tokens=40,
            training={**trained(426, wall_time_s=120, targets="documents"), "documents": 426},
        ),
        rag("rag-3", 85, prompt_tokens=440, examples_per_s=4.0),
        *extra,
    ]
    results = make_results(rungs, labels=[], baseline=None)
    if knowledge:
        results["knowledge"] = {
            "field": "context_id",
            "passages": 3,
            "corpus": {"path": "countries.jsonl", **CORPUS},
            "seen": IDS[:50],
            "unseen": IDS[50:],
        }
    return results
