import math

import pytest

from adaptlab.evaluation.metrics import bootstrap_interval, macro_f1, majority_baseline, percentile


def test_bootstrap_interval_is_seeded_and_brackets_the_mean() -> None:
    values = [1.0] * 60 + [0.0] * 40
    first = bootstrap_interval(values)
    assert first == bootstrap_interval(values)
    assert first.low < 0.6 < first.high
    # normal approximation: 0.6 ± 1.96 * sqrt(0.24 / 100) ≈ ±0.096
    assert first.high - first.low == pytest.approx(0.19, abs=0.03)


def test_bootstrap_interval_narrows_with_more_data() -> None:
    small = bootstrap_interval([1.0, 0.0] * 25)
    large = bootstrap_interval([1.0, 0.0] * 500)
    assert (large.high - large.low) < (small.high - small.low) / 3


def test_bootstrap_interval_of_constant_values_is_a_point() -> None:
    interval = bootstrap_interval([1.0] * 30)
    assert (interval.low, interval.high) == (1.0, 1.0)


def test_bootstrap_interval_of_nothing_is_nan() -> None:
    interval = bootstrap_interval([])
    assert math.isnan(interval.low) and math.isnan(interval.high)


def test_macro_f1_penalises_a_majority_guesser() -> None:
    golds = ["a"] * 8 + ["b"] * 2
    always_a = ["a"] * 10
    # F1(a) = 2*8/(16+2) = 0.889, F1(b) = 0
    assert macro_f1(always_a, golds, ["a", "b"]) == pytest.approx((16 / 18) / 2)
    assert macro_f1(golds, golds, ["a", "b"]) == 1.0


def test_macro_f1_counts_unparsed_answers_as_misses() -> None:
    assert macro_f1([None, "b"], ["a", "b"], ["a", "b"]) == pytest.approx(0.5)


def test_majority_baseline() -> None:
    assert majority_baseline(["x", "y", "y", "z"]) == ("y", 0.5)


def test_percentile() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert math.isnan(percentile([], 50))
