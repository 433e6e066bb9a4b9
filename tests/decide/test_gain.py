import math

import pytest
from decide_results import chrf_rung, correct_first, make_rung

from adaptlab.decide import paired_gain
from adaptlab.evaluation.metrics import bootstrap_interval


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
        0.3 - math.hypot(c["score"] - c["score_low"], b["score_high"] - b["score"])
    )
    assert gain.high == pytest.approx(
        0.3 + math.hypot(c["score_high"] - c["score"], b["score"] - b["score_low"])
    )
    # pairing removes the shared difficulty of the examples: narrower than the unpaired interval
    assert paired.high - paired.low < gain.high - gain.low


def test_no_interval_at_all_is_never_significant() -> None:
    base = {"rung": "a", "metrics": {"score": 0.2}}
    other = {"rung": "b", "metrics": {"score": 0.9}}

    gain = paired_gain(base, other)

    assert gain.gain == pytest.approx(0.7)
    assert gain.low is None and gain.high is None
    assert not gain.significant
    assert gain.to_dict()["significant"] is False


def scored(name: str, scores: list[float | None]) -> dict:
    """A chrF prompt rung over examples a, b, c and d."""
    return chrf_rung(name, "prompt", scores, ids=["a", "b", "c", "d"])


def test_fractional_scores_are_paired_by_their_difference_per_example() -> None:
    base = scored("zero-shot", [0.25, 0.5, 1.0, 0.0])
    other = scored("few-shot-4", [0.5, 0.25, 1.0, 0.75])

    gain = paired_gain(base, other)

    # per example: +0.25, -0.25, 0, +0.75; no answer turns from wrong to right, so `correct` sees no gain
    assert gain.paired and gain.n == 4
    assert gain.gain == pytest.approx((0.25 - 0.25 + 0.0 + 0.75) / 4)
    interval = bootstrap_interval([0.25, -0.25, 0.0, 0.75])
    assert (gain.low, gain.high) == (pytest.approx(interval.low), pytest.approx(interval.high))


@pytest.mark.parametrize("failed", ["base", "challenger"])
def test_an_example_whose_grading_failed_on_either_side_is_left_out_of_the_pairing(failed: str) -> None:
    base_scores: list[float | None] = [0.25, 0.5, 1.0, 0.0]
    other_scores: list[float | None] = [0.5, 0.5, 1.0, 0.5]
    (base_scores if failed == "base" else other_scores)[1] = None

    gain = paired_gain(scored("zero-shot", base_scores), scored("few-shot-4", other_scores))

    # examples a, c, d: +0.25, 0, +0.5
    assert gain.paired and gain.n == 3
    assert gain.gain == pytest.approx(0.25)
