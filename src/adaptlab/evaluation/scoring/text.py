"""Scorers that compare an answer's text with its reference, one example at a time: the gold
label, equality or containment after normalising, and a pattern the raw output must match.

>>> ContainsScorer().score_many([Scored("Refund: 40 EUR.", "Refund: 40 EUR.", "40 eur", "")])
[1.0]
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from adaptlab.data.scoring_spec import compiled_pattern
from adaptlab.evaluation.scoring.base import Scored, Scorer
from adaptlab.prompting.parsing import normalize_answer


class ItemScorer(Scorer):
    """A scorer that judges each example on its own. An example with no answer (nothing was
    parsable, or the request failed) scores 0 without reaching `score_one`."""

    def score_many(self, items: Sequence[Scored]) -> list[float | None]:
        return [0.0 if item.answer is None else self.score_one(item.answer, item) for item in items]

    @abstractmethod
    def score_one(self, answer: str, item: Scored) -> float:
        """The score in [0, 1] of `answer` (``item.answer``, never None here)."""


def clipped(value: float) -> float:
    """`value` inside [0, 1]: library scores can overshoot by a rounding error (sacrebleu gives
    an identical sentence a BLEU of 100.00000000000004)."""
    return min(1.0, max(0.0, value))


class AccuracyScorer(ItemScorer):
    """The answer is the gold label, character for character: closed-label answers are already
    mapped onto the task's own label spelling by parsing."""

    name = "accuracy"
    display = "accuracy"

    def score_one(self, answer: str, item: Scored) -> float:
        return float(answer == item.reference)


class ExactScorer(ItemScorer):
    """Equality once case, unicode forms, whitespace runs and edge punctuation are normalised
    (`normalize_answer`, the rule free-text answers have always been scored by)."""

    name = "exact"
    display = "exact match"

    def score_one(self, answer: str, item: Scored) -> float:
        return float(normalize_answer(answer) == normalize_answer(item.reference))


class ContainsScorer(ItemScorer):
    """The normalised reference occurs in the normalised answer as whole words, so a reply that
    wraps the right value in a sentence still counts, and a part of a word or number does not
    (the code "AND" is not in "Andorra", "20" not in "2020"). A reference that normalises to
    nothing (``"..."``) would be contained in every answer; it only credits an answer that
    normalises to nothing too."""

    name = "contains"
    display = "contains"

    def score_one(self, answer: str, item: Scored) -> float:
        reference = normalize_answer(item.reference)
        answer = normalize_answer(answer)
        if not reference:
            return float(not answer)
        return float(re.search(rf"(?<!\w){re.escape(reference)}(?!\w)", answer) is not None)


class RegexScorer(ItemScorer):
    """A format check on the raw output: 1 when the pattern is found anywhere in it
    (``re.search``, ``.`` matching newlines), else 0. Anchor with ``^``/``$`` to pin a layout."""

    def __init__(self, pattern: str) -> None:
        self.pattern = compiled_pattern(pattern)
        self.name = f"regex:{pattern}"
        self.display = f"regex /{pattern}/"

    def score_one(self, answer: str, item: Scored) -> float:
        return float(self.pattern.search(item.output) is not None)

    def describe(self) -> dict[str, Any]:
        return super().describe() | {"pattern": self.pattern.pattern, "flags": "DOTALL"}
