"""What a rung has to beat to be worth anything: the score of answering without looking.

For closed labels, always answering the most frequent label of the evaluated examples (a rung
at that accuracy has learned the label mix, nothing more). For free text, the better of two
answers that need no model: always the most common output of the train split (a house reply),
and the input copied back (summaries and extractions share many words with their input) —
each scored by the task's own primary metric, so the floor is in the unit the decision uses.

>>> floor = task_floor(task, split.train, split.test, scorers)  # doctest: +SKIP
>>> floor.description, round(floor.score, 3)  # doctest: +SKIP
('copying the input', 0.182)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from adaptlab.data.task import Example, Task
from adaptlab.evaluation.metrics import majority_baseline, mean
from adaptlab.evaluation.scoring.base import Scored
from adaptlab.evaluation.scoring.task_scorers import TaskScorers

FloorKind = Literal["majority", "most-common-output", "copy-input"]
QUOTED_CHARACTERS = 40
"""How much of a constant answer a description quotes."""


@dataclass(frozen=True)
class Floor:
    kind: FloorKind
    description: str
    """How the floor answers, as a sentence ends: ``always answering "negative"``."""
    score: float
    metric: str
    label: str | None = None
    """The constant answer (the majority label, or the most common train output)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def task_floor(
    task: Task, train: Sequence[Example], examples: Sequence[Example], scorers: TaskScorers
) -> Floor | None:
    """The floor of `examples` (the evaluated ones); None when there is nothing to evaluate,
    or when the primary metric is graded by a judge (asking it about non-answers costs money
    and tells nothing)."""
    if not examples or scorers.primary.name == "judge":
        return None
    if task.labels and scorers.primary.name == "accuracy":
        label, accuracy = majority_baseline([example.output for example in examples])
        return Floor("majority", f'always answering "{label}"', accuracy, "accuracy", label)
    candidates = []
    common = Counter(example.output for example in train or examples).most_common(1)[0][0]
    constant = scored(scorers, examples, [common] * len(examples))
    candidates.append(Floor("most-common-output", f"always answering {quoted(common)}", constant, "", common))
    if not task.labels:
        copied = scored(scorers, examples, [example.input for example in examples])
        candidates.append(Floor("copy-input", "copying the input", copied, ""))
    best = max(candidates, key=lambda candidate: candidate.score)
    return Floor(best.kind, best.description, best.score, scorers.primary.name, best.label)


def scored(scorers: TaskScorers, examples: Sequence[Example], answers: Sequence[str]) -> float:
    """The mean primary-metric score of `answers` to `examples`."""
    items = [
        Scored(answer=answer, output=answer, reference=example.output, input=example.input)
        for example, answer in zip(examples, answers, strict=True)
    ]
    values = [value for value in scorers.primary.score_many(items) if value is not None]
    return mean(values) if values else 0.0


def quoted(answer: str) -> str:
    """A constant answer as a sentence quotes it, cut at `QUOTED_CHARACTERS`."""
    flat = " ".join(answer.split())
    return f'"{flat}"' if len(flat) <= QUOTED_CHARACTERS else f'"{flat[:QUOTED_CHARACTERS].rstrip()}…"'
