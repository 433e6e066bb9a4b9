"""Reading the rungs of a parsed ``results.json`` the way the decision needs them.

The decision works on the plain dicts of ``results.json`` (not on `RungResult`) so that
``adaptlab report`` can decide again, with other cost settings, from a stored run. Results
written before rungs carried a ``kind`` are inferred from their training, so an old run is
split into the same families as a new one.

>>> rung_kind({"rung": "lora-100+few-shot-knn-4", "training": {"examples": 100}})
'hybrid'
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from adaptlab.decide.wording import ACCURACY, score_interval, score_text

TUNED_KINDS = ("tuned", "hybrid", "distilled")
"""The families that change the weights; each is compared with the best prompt rung."""

TUNED_NAME = re.compile(
    r"^(?P<source>distill-|teacher-|docs-then-qa-|docs-qa-|docs-)?"
    r"(?P<mode>lora|full)-(?P<size>\d+)(?P<prompt>@[^+]+)?"
)
"""``lora-100``, ``full-50@cot``, ``distill-lora-100``, ``teacher-lora-100``, ``docs-lora-426`` (trained
on the corpus text), ``docs-qa-lora-64`` (the corpus and 64 question-answer pairs together),
``docs-then-qa-lora-64`` (the corpus, then 64 question-answer pairs): what it learnt from, mode,
training size, training prompt. Longer sources come first in the alternation."""

DOCUMENTS = "documents"
"""``training.targets`` of weights trained on the corpus text alone."""
DOCUMENTS_AND_GOLD = "documents+gold"
"""``training.targets`` of weights trained on the corpus text and labelled question-answer pairs
in one shuffle."""
DOCUMENTS_THEN_GOLD = "documents, then gold"
"""``training.targets`` of weights trained on the corpus text, then (those weights trained on)
on labelled question-answer pairs."""


def number(value: Any) -> float | None:
    """`value` as a float when it is a finite number, else None: NaN must never reach JSON."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def metric(rung: dict[str, Any], name: str) -> float | None:
    """A metric of the rung, None when absent or not a finite number."""
    return number((rung.get("metrics") or {}).get(name))


def score(rung: dict[str, Any]) -> float:
    """The rung's primary-metric score; only call it on rungs `measured` kept."""
    value = metric(rung, "score")
    if value is None:
        raise ValueError(f"rung {rung.get('rung')} has no score")
    return value


def measured(rungs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rungs that have a score, in run order: a rung without one cannot be compared."""
    return [r for r in rungs if metric(r, "score") is not None]


def metric_of(rung: dict[str, Any]) -> tuple[str, str]:
    """The rung's primary metric: its name and how people read it (``chrf``, ``chrF``)."""
    metrics = rung.get("metrics") or {}
    name = str(metrics.get("metric") or ACCURACY)
    return name, str(metrics.get("metric_display") or name)


def shown(rung: dict[str, Any], value: float | None = None) -> str:
    """The rung's score (or `value`, another score in its metric) as a sentence cites it:
    ``71.2%`` for accuracy, ``chrF 41.3`` for chrF."""
    name, display = metric_of(rung)
    return score_text(score(rung) if value is None else value, name, display)


def shown_interval(rung: dict[str, Any]) -> str:
    """``95% CI 61.3–81.2%`` (accuracy) or ``95% CI 38.0–44.9`` (another metric)."""
    return score_interval(metric(rung, "score_low"), metric(rung, "score_high"), metric_of(rung)[0])


def rung_kind(rung: dict[str, Any]) -> str:
    """The rung's family; inferred from its training for results written before ``kind``."""
    if rung.get("kind"):
        return str(rung["kind"])
    training = rung.get("training")
    if training is None:
        return "prompt"
    if str(training.get("targets") or "").startswith("teacher:"):
        return "distilled"
    return "hybrid" if "+" in str(rung.get("rung", "")) else "tuned"


def of_kind(rungs: Sequence[dict[str, Any]], *kinds: str) -> list[dict[str, Any]]:
    return [r for r in rungs if rung_kind(r) in kinds]


def best_rung(rungs: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The best rung by its selection score when every candidate has one (`chosen_on` dev:
    the test figures then stay free of the choice), else by its score; ties go to fewer prompt
    tokens (cheaper to ask), then the earlier.

    >>> best_rung([
    ...     {"rung": "a", "metrics": {"score": 0.8, "prompt_tokens_mean": 90}},
    ...     {"rung": "b", "metrics": {"score": 0.8, "prompt_tokens_mean": 40}},
    ... ])["rung"]
    'b'
    >>> best_rung([
    ...     {"rung": "lucky", "metrics": {"score": 0.9}, "selection": {"score": 0.5}},
    ...     {"rung": "steady", "metrics": {"score": 0.8}, "selection": {"score": 0.8}},
    ... ])["rung"]
    'steady'
    """
    candidates = measured(rungs)
    if not candidates:
        return None
    key = selection_score if chosen_on(candidates) == "dev" else score
    return min(candidates, key=lambda r: (-(key(r) or 0.0), prompt_tokens(r) or math.inf))


def selection_score(rung: dict[str, Any]) -> float | None:
    """The rung's score on the run's selection sample (dev), None when it has none."""
    return number((rung.get("selection") or {}).get("score"))


def selection_n(rung: dict[str, Any]) -> int | None:
    n = number((rung.get("selection") or {}).get("n"))
    return None if n is None else int(n)


def chosen_on(rungs: Sequence[dict[str, Any]]) -> str:
    """``dev`` when every rung has a selection score, so winners are chosen there; else
    ``test`` (an ``eval`` run, a run without a dev split, results from before selection)."""
    return "dev" if rungs and all(selection_score(r) is not None for r in rungs) else "test"


def prompt_tokens(rung: dict[str, Any]) -> float | None:
    return metric(rung, "prompt_tokens_mean")


def score_summary(rung: dict[str, Any] | None) -> dict[str, Any] | None:
    """``{"rung", "score", "score_low", "score_high", "selection_score", "selection_n"}``: how
    the decision names a rung — its confirmation (test) figures, and the dev score that chose it
    (None when chosen on test)."""
    if rung is None:
        return None
    return {
        "rung": rung["rung"],
        **{name: metric(rung, name) for name in ("score", "score_low", "score_high")},
        "selection_score": selection_score(rung),
        "selection_n": selection_n(rung),
    }


def training_examples(rung: dict[str, Any]) -> int | None:
    """Training-set size of a tuned rung, None for prompt rungs."""
    examples = number((rung.get("training") or {}).get("examples"))
    return None if examples is None else int(examples)


def training_mode(rung: dict[str, Any]) -> str | None:
    """``lora`` or ``full``: from the training record, else from the rung's name."""
    mode = (rung.get("training") or {}).get("mode")
    if mode:
        return str(mode)
    match = TUNED_NAME.match(str(rung.get("rung", "")))
    return match["mode"] if match else None


def learning_curve(rung: dict[str, Any]) -> tuple[str, str | None, str]:
    """The curve a tuned rung is a point of: what it learnt from, its mode and training prompt,
    so that ``lora-25`` and ``lora-100`` are compared but ``lora-100@cot`` (another prompt) and
    ``docs-lora-426`` (the corpus, not labelled answers) are not."""
    match = TUNED_NAME.match(str(rung.get("rung", "")))
    if not match:
        return "", training_mode(rung), ""
    return match["source"] or "", training_mode(rung), match["prompt"] or ""


def retrieval(rung: dict[str, Any]) -> dict[str, Any] | None:
    """The rung's ``retrieval`` block (the passages it was asked with), None when it was asked
    closed-book or its results predate retrieval."""
    block = rung.get("retrieval")
    return block if isinstance(block, dict) else None


def passages_asked(rung: dict[str, Any]) -> int | None:
    """K: how many retrieved passages each request carried, None without retrieval."""
    k = number((retrieval(rung) or {}).get("passages"))
    return None if k is None else int(k)


def trained_on_documents(rung: dict[str, Any]) -> bool:
    """Whether the rung's weights were trained on the corpus text (``training.targets``
    ``documents``, ``documents+gold`` or ``documents, then gold``) rather than on labelled
    answers alone.

    >>> trained_on_documents({"training": {"targets": "documents+gold", "documents": 426}})
    True
    >>> trained_on_documents({"training": {"targets": "documents, then gold", "documents": 426}})
    True
    >>> trained_on_documents({"training": {"targets": "gold"}})
    False
    """
    return str((rung.get("training") or {}).get("targets") or "").startswith(DOCUMENTS)


def is_tuned_name(name: str) -> bool:
    return TUNED_NAME.match(name) is not None


def tuning_skipped(results: dict[str, Any]) -> dict[str, str] | None:
    """The run's own account of why it has no tuned rung: the skipped fine-tuning phase first,
    else the first skipped tuning phase or tuned rung. None when the run says nothing."""
    entries = [e for e in results.get("skipped") or [] if isinstance(e, dict) and e.get("reason")]
    about_tuning = [
        e
        for e in entries
        if e.get("phase") in ("fine-tuning", "hybrid", "distillation")
        or is_tuned_name(str(e.get("rung", "")))
    ]
    ranked = sorted(about_tuning, key=lambda e: e.get("phase") != "fine-tuning")
    if not ranked:
        return None
    entry = ranked[0]
    return {"what": str(entry.get("phase") or entry.get("rung")), "reason": str(entry["reason"])}


def backend_of(rung: dict[str, Any] | None, results: dict[str, Any]) -> str | None:
    """The backend that answered the rung (``local``, ``openai``), falling back to the run's."""
    own = ((rung or {}).get("model") or {}).get("backend")
    return own or (results.get("model") or {}).get("backend")


def draw_scores(rung: dict[str, Any]) -> list[float]:
    """The rung's score under each demo draw it was measured with (``draws.scores``, its own
    draw first); empty when it was measured under one."""
    values = [number(value) for value in ((rung.get("draws") or {}).get("scores") or [])]
    return [value for value in values if value is not None]


def draw_spread(rung: dict[str, Any]) -> float | None:
    """How far the rung's score moved when only its random demos changed (max - min over its
    demo draws), None unless it was measured under two or more: a difference between rungs
    smaller than this is the luck of the draw.

    >>> round(draw_spread({"draws": {"scores": [0.55, 0.4875, 0.6]}}), 4)
    0.1125
    """
    scores = draw_scores(rung)
    return max(scores) - min(scores) if len(scores) >= 2 else None
