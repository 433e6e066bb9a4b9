import math

import pytest
from decide_results import correct_first, make_rung

from adaptlab.decide import paired_gain


def test_predictions_are_paired_by_example_id_not_by_position() -> None:
    ids = [f"t{i}" for i in range(10)]
    correct = [True] * 5 + [False] * 5
    base = make_rung("zero-shot", "prompt", correct, ids=ids)
    # the same answers to the same examples, listed in reverse order
    shuffled = make_rung("few-shot-4", "prompt", correct[::-1], ids=ids[::-1])

    gain = paired_gain(base, shuffled)

    assert gain.paired and gain.n == 10
    assert (gain.gain, gain.low, gain.high) == (0.0, 0.0, 0.0)
    assert not gain.significant and not gain.worse


def test_only_examples_both_rungs_answered_are_compared() -> None:
    base = make_rung("zero-shot", "prompt", [False, False, True], ids=["a", "b", "c"])
    other = make_rung("few-shot-4", "prompt", [True, True, True, True], ids=["b", "a", "z", "y"])

    gain = paired_gain(base, other)

    assert gain.n == 2
    assert gain.gain == 1.0


def test_a_clear_gain_is_significant_and_the_interval_is_seeded() -> None:
    base = make_rung("zero-shot", "prompt", correct_first(100))
    better = make_rung("few-shot-4", "prompt", correct_first(160))

    gain = paired_gain(base, better)

    assert gain.gain == pytest.approx(0.3)
    assert gain.significant and gain.low > 0.2
    assert gain == paired_gain(base, better)
    assert paired_gain(better, base).worse


def test_without_predictions_the_interval_comes_from_the_rungs_own_intervals() -> None:
    base = make_rung("zero-shot", "prompt", correct_first(100))
    better = make_rung("few-shot-4", "prompt", correct_first(160))
    paired = paired_gain(base, better)
    for rung in (base, better):
        del rung["predictions"]

    gain = paired_gain(base, better)

    b, c = base["metrics"], better["metrics"]
    assert not gain.paired and gain.n == 0
    assert gain.gain == pytest.approx(0.3)
    assert gain.low == pytest.approx(
        0.3 - math.hypot(c["accuracy"] - c["accuracy_low"], b["accuracy_high"] - b["accuracy"])
    )
    assert gain.high == pytest.approx(
        0.3 + math.hypot(c["accuracy_high"] - c["accuracy"], b["accuracy"] - b["accuracy_low"])
    )
    # pairing removes the shared difficulty of the examples: narrower than the unpaired interval
    assert paired.high - paired.low < gain.high - gain.low


def test_no_interval_at_all_is_never_significant() -> None:
    base = {"rung": "a", "metrics": {"accuracy": 0.2}}
    other = {"rung": "b", "metrics": {"accuracy": 0.9}}

    gain = paired_gain(base, other)

    assert gain.gain == pytest.approx(0.7)
    assert gain.low is None and gain.high is None
    assert not gain.significant
    assert gain.to_dict()["significant"] is False
