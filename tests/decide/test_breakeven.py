import pytest

from adaptlab.decide import CostSettings
from adaptlab.decide.breakeven import CURVE_POINTS, break_even
from adaptlab.decide.costs import RungCost


def rung(name: str, score: float, metric: str = "accuracy", display: str = "accuracy") -> dict:
    return {"rung": name, "metrics": {"score": score, "metric": metric, "metric_display": display}}


def cost(
    usd_per_request: float | None, training_usd: float | None = None, labelling: float | None = None
) -> RungCost:
    priced = "machine-time" if usd_per_request is not None else None
    return RungCost(0.1, usd_per_request, priced, 36.0 if training_usd else None, training_usd, labelling)


def test_break_even_is_the_upfront_cost_over_the_saving_per_request() -> None:
    # $0.01 training + $0.02 labelling, saving $0.0002 - $0.0001 per request: 300 requests
    be = break_even(
        rung("few-shot-8", 0.8), rung("lora-100", 0.8), cost(0.0002), cost(0.0001, 0.01, 0.02), CostSettings()
    )

    assert be.requests == pytest.approx(300)
    assert be.saving_per_request_usd == pytest.approx(0.0001)
    assert be.to_dict()["training_usd"] == pytest.approx(0.03)
    assert "pays back after 300 requests" in be.explanation
    assert "training and labelling" in be.explanation


def test_the_curve_spans_twice_the_break_even_and_the_totals_cross_there() -> None:
    be = break_even(
        rung("few-shot-8", 0.8), rung("lora-100", 0.8), cost(0.0002), cost(0.0001, 0.01), CostSettings()
    )

    assert be.requests == pytest.approx(100)
    assert len(be.curve) == CURVE_POINTS
    assert be.curve[0] == (0.0, 0.0, pytest.approx(0.01))
    assert be.curve[-1][0] == pytest.approx(200)
    middle = be.curve[CURVE_POINTS // 2]
    assert middle[0] == pytest.approx(100)
    assert middle[1] == pytest.approx(middle[2])


def test_a_tuned_rung_that_saves_nothing_per_request_never_pays_back() -> None:
    be = break_even(
        rung("zero-shot", 0.8), rung("lora-100", 0.8), cost(0.0001), cost(0.0001, 0.01), CostSettings()
    )

    assert be.requests is None
    assert be.saving_per_request_usd == 0.0
    assert "never pays back" in be.explanation
    assert len(be.curve) == CURVE_POINTS


def test_the_value_of_a_correct_answer_counts_toward_the_saving() -> None:
    prompt, tuned = rung("zero-shot", 0.7), rung("lora-100", 0.8)
    costs = (cost(0.0001), cost(0.0001, 0.01))

    plain = break_even(prompt, tuned, *costs, CostSettings())
    valued = break_even(prompt, tuned, *costs, CostSettings(value_per_correct_usd=0.001))

    assert plain.requests is None
    assert "value_per_correct_usd" in plain.explanation
    # 10 points more accuracy at $0.001 a correct answer: $0.0001 a request; $0.01 / $0.0001
    assert valued.requests == pytest.approx(100)
    assert "+10.0 points of accuracy worth $0.000100 per request" in valued.explanation
    middle = valued.curve[CURVE_POINTS // 2]
    assert middle[1] == pytest.approx(middle[2])


def test_a_less_accurate_tuned_rung_can_lose_its_cheaper_requests_to_the_value_of_accuracy() -> None:
    prompt, tuned = rung("few-shot-8", 0.9), rung("lora-100", 0.8)
    be = break_even(prompt, tuned, cost(0.0002), cost(0.0001, 0.01), CostSettings(value_per_correct_usd=0.01))

    assert be.requests is None
    assert be.saving_per_request_usd == pytest.approx(0.0001 - 0.001)


def test_the_expected_volume_is_put_in_context() -> None:
    be = break_even(
        rung("few-shot-8", 0.8),
        rung("lora-100", 0.8),
        cost(0.0002),
        cost(0.0001, 0.01),
        CostSettings(expected_requests=1000),
    )

    assert "At the 1,000 requests you expect, fine-tuning would save $0.0900 in total." in be.explanation
    assert be.curve[-1][0] == pytest.approx(1250)


def test_an_unpriced_rung_has_no_break_even() -> None:
    be = break_even(
        rung("few-shot-8", 0.8), rung("lora-100", 0.8), cost(None), cost(0.0001, 0.01), CostSettings()
    )

    assert be.requests is None and be.saving_per_request_usd is None
    assert be.curve == []
    assert "few-shot-8 has no price" in be.explanation


def test_a_free_text_gain_is_valued_in_points_of_its_own_metric() -> None:
    prompt, tuned = rung("zero-shot", 0.4, "chrf", "chrF"), rung("lora-100", 0.5, "chrf", "chrF")
    costs = (cost(0.0001), cost(0.0001, 0.01))

    plain = break_even(prompt, tuned, *costs, CostSettings())
    valued = break_even(prompt, tuned, *costs, CostSettings(value_per_correct_usd=0.001))

    assert "(its chrF gain counts once value_per_correct_usd is set)" in plain.explanation
    # 10 points more chrF at $0.001 for a full score: $0.0001 a request; $0.01 / $0.0001
    assert valued.requests == pytest.approx(100)
    assert "+10.0 points of chrF worth $0.000100 per request" in valued.explanation
    assert "accuracy" not in plain.explanation + valued.explanation
