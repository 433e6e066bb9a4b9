"""The one shape every scorer has: a name, and a score in [0, 1] per example.

The statistics downstream (bootstrap intervals, paired gains, plateau, break-even) only ever see
these numbers, so a new metric needs nothing but a `Scorer`. A score of None means the grading
itself failed (a judge that answered garbage): it is counted as a failed grading and left out of
the mean, never silently turned into a zero.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adaptlab.data.scoring_spec import JudgeSpec

if TYPE_CHECKING:
    from adaptlab.models.base import Backend
    from adaptlab.store import Store


@dataclass(frozen=True)
class Scored:
    """What one scorer needs to know about one example."""

    answer: str | None
    """The parsed answer (a label, or the stripped free text); None when nothing was parsable
    or the request failed — every scorer gives that 0."""
    output: str
    """The model's raw output (format and JSON scorers judge what was written)."""
    reference: str
    """The gold output."""
    input: str


class Scorer(ABC):
    """Scores answers against references; `name` is how tasks, results and reports call it
    (``chrf``, ``regex:^Return ``), `display` how people read it (``chrF``)."""

    name: str
    display: str

    @abstractmethod
    def score_many(self, items: Sequence[Scored]) -> list[float | None]:
        """A score in [0, 1] per item, in order; None for a grading that failed."""

    def describe(self) -> dict[str, Any]:
        """What results.json records about the scorer (library and version, settings)."""
        return {"name": self.name, "display": self.display}


@dataclass
class ScoringContext:
    """What building a scorer may need besides its name: the bundled sentence embedder (loaded
    on first use), the judge's endpoint, and how to reach it (tests pass a fake backend)."""

    embedder: Callable[[], Any] | None = None
    judge: JudgeSpec | None = None
    judge_backend: Callable[[JudgeSpec], Backend] | None = None
    """Builds the judge's backend (default: `adaptlab.models.load_backend` on `judge.model`)."""
    store: Store | None = None
    """Where judge gradings are cached, under the judge model's identity (a failed grading
    never is); None: no cache."""
