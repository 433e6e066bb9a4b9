"""A task's scorers — the primary metric decisions use, and the ones reported beside it — and
what they make of a rung's answers.

Built once per run (a judge opens its endpoint client once) and applied to every rung, so every
rung of a run is scored by the same metrics with the same settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from adaptlab.data.scoring_spec import DEFAULT_CLASSIFICATION_METRIC, AnswerFormat, MetricSpec
from adaptlab.data.task import Task
from adaptlab.evaluation.scoring.base import Scored, Scorer, ScoringContext
from adaptlab.store import Store


@dataclass
class TaskScorers:
    """`primary` decides; `reported` are shown beside it; `answer_format` (the task's declared
    layout) decides format compliance of free-text answers."""

    primary: Scorer
    reported: list[Scorer] = field(default_factory=list)
    answer_format: AnswerFormat | None = None

    @classmethod
    def for_task(cls, task: Task, context: ScoringContext | None = None) -> TaskScorers:
        """The task's scorers; an unusable one (a judge without an endpoint) fails here, before
        any model answers."""
        from adaptlab.evaluation.scoring import get_scorer

        context = context or ScoringContext(judge=task.judge)
        if context.judge is None:
            context.judge = task.judge
        return cls(
            primary=get_scorer(task.primary_metric, context),
            reported=[get_scorer(metric, context) for metric in task.reported_metrics],
            answer_format=task.answer_format,
        )

    @classmethod
    def cheapest(cls, task: Task) -> TaskScorers:
        """Accuracy (closed labels) or exact match: for answers nobody reports on (a teacher's
        training targets), so no embedder loads and no judge is asked."""
        from adaptlab.evaluation.scoring import get_scorer

        name = DEFAULT_CLASSIFICATION_METRIC if task.labels else "exact"
        return cls(primary=get_scorer(MetricSpec(name), ScoringContext()), answer_format=task.answer_format)

    def primary_only(self) -> TaskScorers:
        """The primary metric alone: for answers that only decide (a prompt search's dev
        scores, a rung's other demo draws), where the reported metrics would only cost time."""
        return TaskScorers(primary=self.primary, answer_format=self.answer_format)

    def cache_in(self, store: Store) -> None:
        """Keep what costs money to compute again (a judge's gradings) in the run store."""
        for scorer in self.all:
            keep = getattr(scorer, "cache_in", None)
            if keep is not None:
                keep(store)

    @property
    def all(self) -> list[Scorer]:
        return [self.primary, *self.reported]

    def score(self, items: Sequence[Scored]) -> list[dict[str, float | None]]:
        """Every metric's score of every item: one ``{metric name: score}`` per item."""
        columns = {scorer.name: scorer.score_many(items) for scorer in self.all}
        return [{name: values[index] for name, values in columns.items()} for index in range(len(items))]

    def describe(self) -> dict[str, Any]:
        """What results.json records: the primary metric and each scorer's own account."""
        return {
            "primary": self.primary.name,
            "scorers": [scorer.describe() for scorer in self.all],
            "format": self.answer_format.describe() if self.answer_format else None,
        }
