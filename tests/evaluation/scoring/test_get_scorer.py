"""Every metric a task may name has a scorer, built cheaply."""

from __future__ import annotations

import subprocess
import sys

import pytest

from adaptlab.data.scoring_spec import METRICS, MetricSpec, parse_metric
from adaptlab.evaluation.scoring import Scored, Scorer, ScoringContext, get_scorer

DISPLAY = {
    "accuracy": "accuracy",
    "exact": "exact match",
    "contains": "contains",
    "regex:^Dear ": "regex /^Dear /",
    "json": "valid JSON",
    "json-fields": "JSON fields",
    "chrf": "chrF",
    "bleu": "BLEU",
    "rouge-l": "ROUGE-L",
    "similarity": "similarity",
}


class OnesEmbedder:
    def encode(self, texts):
        import torch

        return torch.ones((len(texts), 3))


@pytest.mark.parametrize("name", [name for name in METRICS if name != "judge"])
def test_every_metric_but_the_judge_has_a_scorer(name: str) -> None:
    text = "regex:^Dear " if name == "regex" else name
    scorer = get_scorer(parse_metric(text), ScoringContext(embedder=OnesEmbedder))
    assert isinstance(scorer, Scorer)
    assert (scorer.name, scorer.display) == (text, DISPLAY[text])
    assert scorer.describe()["name"] == text
    reference = '{"greeting": "Dear Ana"}' if name.startswith("json") else "Dear Ana"
    [score] = scorer.score_many([Scored(answer=reference, output=reference, reference=reference, input="q")])
    assert score == pytest.approx(1.0)


def test_a_metric_without_a_scorer_is_refused() -> None:
    with pytest.raises(ValueError, match='no scorer for the metric "meteor"'):
        get_scorer(MetricSpec("meteor"))
    with pytest.raises(ValueError, match="regex needs a pattern"):
        get_scorer(MetricSpec("regex"))


def test_importing_scoring_loads_no_metric_library() -> None:
    code = (
        "import sys, adaptlab.evaluation.scoring\n"
        "heavy = {'sacrebleu', 'rouge_score', 'nltk', 'jsonschema'} & set(sys.modules)\n"
        "assert not heavy, heavy"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
