"""Calibrated label scoring (`label-scoring-calibrated`) against priors and choices computed by
hand, with a backend whose label probabilities are a table."""

from __future__ import annotations

import math
from functools import partial

import pytest

from adaptlab.data.task import Example, Task
from adaptlab.errors import UsageError
from adaptlab.evaluation import evaluate
from adaptlab.evaluation.engine import best_label, label_prior
from adaptlab.evaluation.evaluate import prompt_prior
from adaptlab.prompting import Strategy, StrategyContext, get_strategy
from adaptlab.prompting.formats import LabelScoring

from fakes import LabelTableBackend

LABELS = ("negative", "neutral", "positive")
# Made-up words: no robustness edit has a synonym for them, and no prompt says them.
WORDS = {"zorp": "negative", "blip": "neutral", "quux": "positive"}
TRAIN = tuple(
    Example(id=f"train{i}", input=f"{word} {i}", output=label)
    for i, (word, label) in enumerate(WORDS.items())
)
TEST = tuple(
    Example(id=f"test{i}", input=f"{word} {word}", output=label)
    for i, (word, label) in enumerate(WORDS.items())
)
TASK = Task(name="t", examples=TRAIN + TEST, labels=LABELS, instruction="Classify the tweet.")

# (negative, neutral, positive) probabilities. The content-free inputs favour "positive", and
# so do the real ones: the model says "positive" to everything.
CONTENT_FREE = {"N/A": (0.1, 0.2, 0.7), "[MASK]": (0.05, 0.05, 0.4), "": (0.2, 0.2, 0.6)}
INPUTS = {"zorp": (0.25, 0.15, 0.6), "blip": (0.1, 0.3, 0.6), "quux": (0.05, 0.05, 0.9)}
# The prior by hand: mean probability (0.35/3, 0.45/3, 1.7/3), normalised over the labels
# (their sum is 2.5/3).
PRIOR = {"negative": 0.14, "neutral": 0.18, "positive": 0.68}
# Calibrated: zorp 0.25/0.14 = 1.79, 0.15/0.18 = 0.83, 0.6/0.68 = 0.88 -> negative;
# blip 0.71, 1.67, 0.88 -> neutral; quux 0.36, 0.28, 1.32 -> positive.


def probabilities(message: str) -> dict[str, float]:
    for word, row in INPUTS.items():
        if word in message.lower():
            return dict(zip(LABELS, row, strict=True))
    asked = next((text for text in ("N/A", "[MASK]") if text in message), "")
    return dict(zip(LABELS, CONTENT_FREE[asked], strict=True))


def prepared(name: str, backend: LabelTableBackend) -> Strategy:
    strategy = get_strategy(name)
    context = StrategyContext(
        task=TASK, train=TRAIN, backend=backend, label_prior=partial(prompt_prior, TASK, backend)
    )
    strategy.prepare(context)
    return strategy


def test_the_prior_is_the_content_free_inputs_mean_label_probability_normalised() -> None:
    backend = LabelTableBackend(probabilities)
    strategy = prepared("label-scoring-calibrated", backend)
    calibration = strategy.describe()["calibration"]
    assert calibration["prior"] == pytest.approx(PRIOR)
    assert calibration["content_free_inputs"] == ["N/A", "", "[MASK]"]
    assert calibration["ties"] == "first label in declared order"
    # asked through the rung's own prompt and through each consistency variant's phrasing
    header = "Classify the tweet.\nAnswer with exactly one of: negative, neutral, positive."
    assert sorted(backend.seen[:3]) == [
        f"{header}\n\nInput: ",
        f"{header}\n\nInput: N/A",
        f"{header}\n\nInput: [MASK]",
    ]
    assert len(backend.seen) == 9 and len(set(backend.seen)) == 9


def test_calibration_turns_the_prior_favoured_label_into_the_right_one() -> None:
    backend = LabelTableBackend(probabilities)
    plain = evaluate(TASK, TEST, backend, prepared("label-scoring", backend))
    calibrated = evaluate(TASK, TEST, backend, prepared("label-scoring-calibrated", backend))
    assert [p.parsed for p in plain.predictions] == ["positive", "positive", "positive"]
    assert plain.metrics.score == pytest.approx(1 / 3)
    assert [p.parsed for p in calibrated.predictions] == ["negative", "neutral", "positive"]
    assert [p.output for p in calibrated.predictions] == ["negative", "neutral", "positive"]
    assert all(p.correct for p in calibrated.predictions) and calibrated.metrics.score == 1.0
    # the recorded scores stay the model's log-likelihoods; the prior explains the choice
    first = calibrated.predictions[0]
    assert first.scores == pytest.approx(
        {label: math.log(p) for label, p in zip(LABELS, INPUTS["zorp"], strict=True)}
    )
    assert calibrated.strategy["calibration"]["prior"] == pytest.approx(PRIOR)
    assert calibrated.strategy["strategy"] == "label-scoring-calibrated"


def test_probes_ask_through_the_calibrated_choice() -> None:
    """Consistency variants and robustness probes re-ask through the rung: were their answers
    the model's raw argmax ("positive"), the calibrated clean answers would look unstable."""
    backend = LabelTableBackend(probabilities)
    strategy = prepared("label-scoring-calibrated", backend)
    result = evaluate(TASK, TEST, backend, strategy, consistency_sample=3, robustness_sample=3)
    assert result.metrics.consistency == 1.0
    assert result.metrics.input_stability == 1.0


def test_ties_go_to_the_first_label_in_declared_order() -> None:
    scores = {"a": -1.0, "b": -2.0, "c": -3.0}
    prior = {"a": -0.5, "b": -1.5, "c": -0.1}  # calibrated: a -0.5, b -0.5, c -2.9 (exact in binary)
    assert best_label(["a", "b", "c"], scores, prior) == "a"
    assert best_label(["b", "a", "c"], scores, prior) == "b"
    assert best_label(["c", "a", "b"], scores) == "a"  # uncalibrated, no tie
    assert best_label(["a", "b"], {"a": -math.inf, "b": -math.inf}, {"a": -1.0, "b": -0.1}) == ""


def test_a_label_no_content_free_input_gave_probability_gets_the_smallest_prior() -> None:
    """An endpoint's top tokens may never name a label: it gets the least prior any label has;
    a failed request (None) is left out; with nothing at all the prior is uniform."""
    rows = [
        {"a": math.log(0.6), "b": math.log(0.3), "c": -math.inf},
        None,
        {"a": math.log(0.2), "b": math.log(0.2), "c": -math.inf},
    ]
    prior = {label: math.exp(value) for label, value in label_prior(["a", "b", "c"], rows).items()}
    assert prior == pytest.approx({"a": 0.4 / 0.9, "b": 0.25 / 0.9, "c": 0.25 / 0.9})
    uniform = label_prior(["a", "b"], [None, {"a": -math.inf, "b": -math.inf}])
    assert uniform == pytest.approx({"a": math.log(0.5), "b": math.log(0.5)})


def test_calibration_is_an_option_of_label_scoring_and_needs_its_prior() -> None:
    option = LabelScoring(calibrate=True)
    assert option.name == "label-scoring" and option.prepared_per_model
    assert get_strategy("label-scoring").calibration_prior() is None
    with pytest.raises(RuntimeError, match="prepare must measure the label prior"):
        get_strategy("label-scoring-calibrated").calibration_prior()
    with pytest.raises(UsageError, match="needs the evaluation layer's label prior"):
        option.prepare(StrategyContext(task=TASK, train=TRAIN))
