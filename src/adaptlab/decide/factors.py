"""The decision framework: what weighs on prompting vs fine-tuning besides the score.

The score decides most cases, but a person choosing also weighs cost, how soon it can ship,
how much labelled data it takes, latency, format control, what tuning may break, how fast a
change can be tried, whether the model is API-only, and where the data goes. Each row sets the
best prompt rung against the best tuned rung as this run measured (or configured) them, so the
table argues with numbers rather than folklore.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adaptlab.decide.costs import RungCost
from adaptlab.decide.data_needed import DataNeeded
from adaptlab.decide.knowledge import Knowledge, documents_learnt
from adaptlab.decide.rungs import (
    metric,
    number,
    passages_asked,
    prompt_tokens,
    rung_kind,
    shown,
    trained_on_documents,
    training_examples,
)
from adaptlab.decide.wording import count, pct, points, seconds, tokens, usd


@dataclass(frozen=True)
class Factor:
    """One row: the factor, the prompt rung's value, the tuned rung's value, a short note."""

    factor: str
    prompt: str
    tuned: str
    note: str


@dataclass(frozen=True)
class Side:
    """A rung, its cost and the backend that answered it; `missing` says why there is none."""

    rung: dict[str, Any] | None
    cost: RungCost | None
    backend: str | None
    missing: str = "not run"
    enough: DataNeeded | None = None
    """For the tuned side: the smallest training set that matched it, when smaller than its own."""


def decision_factors(prompt: Side, tuned: Side, knowledge: Knowledge | None = None) -> list[Factor]:
    """The framework table for the best prompt rung against the best tuned rung; with
    `knowledge` (a run that retrieved passages or trained on the documents), two rows on where
    the facts come from follow the general-ability row."""
    rows = [
        ("Cost per 1,000 requests", cost_per_1k, "local: compute × your $/hour; hosted: tokens × price"),
        ("Speed to deploy", speed_to_deploy, "time this run spent getting the rung ready to answer"),
        ("Data needed", data_needed, "labelled examples the approach consumed"),
        ("Latency p50 / p95", latency, "per example: the wall time of the batch that carried it"),
        ("Prompt tokens per request", prompt_size, "paid on every request; shorter is what tuning buys"),
        ("Style and format control", format_control, "answers that were exactly an allowed answer"),
        ("Factual knowledge and general ability", general_ability, "a general probe, before vs after tuning"),
        (
            "Prompt-injection robustness",
            injection,
            "attacks that turned the answer into the attacker's target",
        ),
        ("Iteration speed", iteration, "time to try one change"),
        ("Works with API-only models", api_only, "fine-tuning needs the weights on this machine"),
        ("Privacy", privacy, "where the task's inputs go"),
    ]
    factors = [
        Factor(name, describe(prompt, "prompt"), describe(tuned, "tuned"), note)
        for name, describe, note in rows
    ]
    if knowledge is None:
        return factors
    after = next(i for i, f in enumerate(factors) if f.factor == "Factual knowledge and general ability")
    return [*factors[: after + 1], *knowledge_factors(knowledge), *factors[after + 1 :]]


def knowledge_factors(k: Knowledge) -> list[Factor]:
    """Closed vs open book (prompt column: retrieval; tuned column: training on the documents)
    and what retrieval adds to each request."""
    top = f"the top {count(k.passages)} passages" if k.passages else "retrieved passages"
    return [
        Factor(
            "Knowledge: closed vs open book",
            open_book(k),
            documents_book(k),
            f"open book: {top} of the corpus in the prompt; closed book: the weights alone",
        ),
        Factor(
            "Knowledge: retrieval cost per request",
            retrieval_cost(k),
            "none: asked without passages" if k.docs else "not trained on the documents",
            "prompt tokens and search time retrieval adds over the prompt it extends",
        ),
    ]


def open_book(k: Knowledge) -> str:
    o, c = k.open, k.closed
    if o is None:
        return "closed book only: no rung retrieved passages"
    text = f"{o['rung']} {shown(o)} with {count(passages_asked(o))} passages"
    if c is not None and k.open_vs_closed is not None:
        text += f" vs {c['rung']} {shown(c)} closed-book ({points(k.open_vs_closed.gain)})"
    row = next((r for r in k.rows if r.rung == o["rung"]), None)
    if row and row.recall_at_k is not None and row.judged:
        text += f"; gold passage retrieved for {pct(row.recall_at_k)} of {count(row.judged)}"
    return text


def documents_book(k: Knowledge) -> str:
    d = k.docs
    if d is None:
        return "not trained on the documents"
    text = f"{d['rung']} {shown(d)} after training on {documents_learnt(d)}"
    if k.open is not None and k.open_vs_docs is not None:
        text += f" ({points(-(k.open_vs_docs.gain or 0.0))} vs {k.open['rung']})"
    return text


def retrieval_cost(k: Knowledge) -> str:
    cost = k.cost
    if cost is None:
        return "none: no rung retrieved passages"
    parts = []
    if cost.added_prompt_tokens is not None:
        parts.append(f"+{tokens(cost.added_prompt_tokens)}")
    if cost.seconds_per_query is not None:
        parts.append(f"+{seconds(cost.seconds_per_query)} search")
    if cost.added_usd_per_1k_requests is not None:
        parts.append(f"{usd(cost.added_usd_per_1k_requests)} more per 1,000 requests")
    return f"{cost.rung}: {', '.join(parts)}" if parts else f"{cost.rung}: not measured"


def cost_per_1k(side: Side, family: str) -> str:
    if side.rung is None or side.cost is None:
        return side.missing
    per_1k = side.cost.usd_per_1k_requests
    if per_1k is not None:
        how = "machine time" if side.cost.priced_by == "machine-time" else "price table"
        return f"{usd(per_1k)} ({how})"
    compute = side.cost.seconds_per_request
    return f"{seconds(compute * 1000)} of compute, unpriced" if compute else "unknown"


def speed_to_deploy(side: Side, family: str) -> str:
    if side.rung is None:
        return side.missing
    evaluation = f"{seconds(metric(side.rung, 'wall_time_s'))} to evaluate"
    if family == "prompt":
        trials = (side.rung.get("strategy") or {}).get("trials") or []
        return f"{evaluation}, after trying {len(trials)} candidate prompts" if trials else evaluation
    training = side.rung.get("training") or {}
    reused = " (reused)" if training.get("reused") else ""
    return f"{seconds(number(training.get('wall_time_s')))} of training{reused} + {evaluation}"


def data_needed(side: Side, family: str) -> str:
    if side.rung is None:
        return side.missing
    if family == "tuned":
        examples = count(training_examples(side.rung))
        if trained_on_documents(side.rung):
            return documents_learnt(side.rung)
        if rung_kind(side.rung) == "distilled":
            teacher = str((side.rung.get("training") or {}).get("targets", "")).removeprefix("teacher:")
            return f"{examples} unlabelled inputs answered by {teacher or 'the teacher prompt'}"
        enough = side.enough
        if enough and enough.best_rung == side.rung["rung"] and enough.rung != side.rung["rung"]:
            return (
                f"{examples} labelled training examples ({count(enough.examples)} were enough: {enough.rung})"
            )
        return f"{examples} labelled training examples"
    strategy = side.rung.get("strategy") or {}
    demos = number(strategy.get("k")) or len(strategy.get("demo_ids") or [])
    words = f"{count(demos)} labelled demos"
    dev = number(strategy.get("dev_examples"))
    return f"{words} + {count(dev)} dev examples searched on" if dev else words


def latency(side: Side, family: str) -> str:
    if side.rung is None:
        return side.missing
    return f"{seconds(metric(side.rung, 'latency_p50_s'))} / {seconds(metric(side.rung, 'latency_p95_s'))}"


def prompt_size(side: Side, family: str) -> str:
    return side.missing if side.rung is None else tokens(prompt_tokens(side.rung))


def format_control(side: Side, family: str) -> str:
    if side.rung is None:
        return side.missing
    return f"{pct(metric(side.rung, 'format_compliance'))} format compliance"


def general_ability(side: Side, family: str) -> str:
    if side.rung is None:
        return side.missing
    if family == "prompt":
        return "unchanged: the base weights are not touched"
    forgetting = side.rung.get("forgetting") or {}
    agreement = number(forgetting.get("agreement_with_base"))
    if agreement is None:
        return "not measured"
    before = number(forgetting.get("reference_accuracy_before"))
    after = number(forgetting.get("reference_accuracy_after"))
    delta = number(forgetting.get("reference_accuracy_delta"))
    return (
        f"agrees with the base on {pct(agreement)} of {count(number(forgetting.get('n')))} general"
        f" questions; reference accuracy {pct(before)} → {pct(after)} ({points(delta)})"
    )


def injection(side: Side, family: str) -> str:
    if side.rung is None:
        return side.missing
    attacked = metric(side.rung, "injection_n")
    if not attacked:
        return "not measured"
    stability = metric(side.rung, "input_stability")
    stable = f"; {pct(stability)} stable under small input edits" if stability is not None else ""
    return f"{pct(metric(side.rung, 'injection_success'))} of {count(attacked)} attacks succeeded{stable}"


def iteration(side: Side, family: str) -> str:
    if side.rung is None:
        return side.missing
    evaluation = metric(side.rung, "wall_time_s")
    if family == "prompt":
        return f"one evaluation: {seconds(evaluation)}"
    training = number((side.rung.get("training") or {}).get("wall_time_s"))
    total = None if training is None or evaluation is None else training + evaluation
    return f"training + evaluation: {seconds(total)}"


def api_only(side: Side, family: str) -> str:
    if side.rung is None:
        return side.missing
    return "yes" if family == "prompt" else "no: needs the model's weights"


def privacy(side: Side, family: str) -> str:
    if side.rung is None:
        return side.missing
    if side.backend == "local":
        what = "inputs and training data" if family == "tuned" else "inputs"
        return f"{what} stay on this machine"
    return f"inputs are sent to the {side.backend or 'model'} endpoint"
