"""Per-example scorers: each metric a task names becomes a `Scorer` giving every example a score
in [0, 1], the only numbers the statistics downstream see.

Importing this package is cheap: sacrebleu, rouge-score, jsonschema and the sentence embedder
load when a scorer that needs them is built (or, for the embedder, first used).

>>> scorer = get_scorer(parse_metric("exact"))
>>> scorer.display, scorer.score_many([Scored("Paris.", "Paris.", "paris", "Capital of France?")])
('exact match', [1.0])
"""

from __future__ import annotations

from collections.abc import Callable

from adaptlab.data.scoring_spec import MetricSpec
from adaptlab.evaluation.scoring.base import Scored, Scorer, ScoringContext
from adaptlab.evaluation.scoring.overlap import BleuScorer, ChrfScorer, RougeLScorer
from adaptlab.evaluation.scoring.similarity import SimilarityScorer
from adaptlab.evaluation.scoring.structured import JsonFieldsScorer, JsonScorer
from adaptlab.evaluation.scoring.text import AccuracyScorer, ContainsScorer, ExactScorer, RegexScorer

__all__ = ["Scored", "Scorer", "ScoringContext", "get_scorer"]


def _regex(spec: MetricSpec, context: ScoringContext) -> Scorer:
    if spec.argument is None:
        raise ValueError('regex needs a pattern: write "regex:PATTERN", e.g. "regex:^Return "')
    return RegexScorer(spec.argument)


def _judge(spec: MetricSpec, context: ScoringContext) -> Scorer:
    from adaptlab.evaluation.scoring.judge import JudgeScorer

    return JudgeScorer(context)


_BUILDERS: dict[str, Callable[[MetricSpec, ScoringContext], Scorer]] = {
    "accuracy": lambda spec, context: AccuracyScorer(),
    "exact": lambda spec, context: ExactScorer(),
    "contains": lambda spec, context: ContainsScorer(),
    "regex": _regex,
    "json": lambda spec, context: JsonScorer(spec),
    "json-fields": lambda spec, context: JsonFieldsScorer(),
    "chrf": lambda spec, context: ChrfScorer(),
    "bleu": lambda spec, context: BleuScorer(),
    "rouge-l": lambda spec, context: RougeLScorer(),
    "similarity": lambda spec, context: SimilarityScorer(context.embedder),
    "judge": _judge,
}


def get_scorer(spec: MetricSpec, context: ScoringContext | None = None) -> Scorer:
    """The scorer for a metric as a task names it (see `adaptlab.data.scoring_spec.METRICS`);
    `context` supplies the sentence embedder and the judge for the metrics that need them."""
    builder = _BUILDERS.get(spec.name)
    if builder is None:
        raise ValueError(f'no scorer for the metric "{spec.name}"')
    return builder(spec, context or ScoringContext())
