import pytest
from decide_results import correct_first, make_results, make_rung, trained

from adaptlab.decide import CostSettings, TokenPrice
from adaptlab.decide.costs import rung_cost, rung_costs


def test_adaptlab_ships_no_prices() -> None:
    assert CostSettings().prices == {}


def test_a_local_rung_is_priced_by_its_measured_compute_time() -> None:
    rung = make_rung("zero-shot", "prompt", correct_first(100), examples_per_s=4.0)

    cost = rung_cost(rung, CostSettings(machine_usd_per_hour=7.2))

    assert cost.seconds_per_request == 0.25
    assert cost.usd_per_request == pytest.approx(0.25 * 7.2 / 3600)
    assert cost.usd_per_1k_requests == pytest.approx(0.5)
    assert cost.priced_by == "machine-time"
    assert (cost.training_s, cost.training_usd, cost.labelling_usd) == (None, None, None)


def test_a_hosted_rung_is_priced_by_its_tokens_from_the_price_table() -> None:
    rung = make_rung(
        "few-shot-4", "prompt", correct_first(100), prompt_tokens=1000, output_tokens=10, backend="openai"
    )
    prices = {"tiny-model": TokenPrice(input_usd_per_million=2.0, output_usd_per_million=8.0)}

    cost = rung_cost(rung, CostSettings(prices=prices))

    assert cost.usd_per_request == pytest.approx((1000 * 2.0 + 10 * 8.0) / 1e6)
    assert cost.priced_by == "price-table"
    assert cost.seconds_per_request == 0.1


def test_a_hosted_model_missing_from_the_price_table_is_unpriced() -> None:
    rung = make_rung("few-shot-4", "prompt", correct_first(100), backend="openai", model_id="other")
    prices = {"tiny-model": TokenPrice(input_usd_per_million=2.0, output_usd_per_million=8.0)}

    cost = rung_cost(rung, CostSettings(prices=prices))

    assert (cost.usd_per_request, cost.usd_per_1k_requests, cost.priced_by) == (None, None, None)
    assert cost.to_dict()["seconds_per_request"] == 0.1


def test_training_and_labelling_are_paid_once() -> None:
    settings = CostSettings(machine_usd_per_hour=2.0, labelling_usd_per_example=0.05)
    tuned = make_rung("lora-100", "tuned", correct_first(150), training=trained(100, wall_time_s=360.0))
    distilled = make_rung(
        "distill-lora-100",
        "distilled",
        correct_first(150),
        training=trained(100, wall_time_s=360.0, targets="teacher:few-shot-8"),
    )

    tuned_cost, distilled_cost = rung_cost(tuned, settings), rung_cost(distilled, settings)

    assert tuned_cost.training_s == 360.0
    assert tuned_cost.training_usd == pytest.approx(0.2)
    assert tuned_cost.labelling_usd == pytest.approx(5.0)
    assert tuned_cost.upfront_usd == pytest.approx(5.2)
    # distillation learns the teacher prompt's answers: nothing to label
    assert distilled_cost.labelling_usd == 0.0
    assert distilled_cost.upfront_usd == pytest.approx(0.2)


def test_the_runs_model_fills_in_a_rung_without_its_own() -> None:
    rung = make_rung("zero-shot", "prompt", correct_first(100))
    del rung["model"]
    results = make_results([rung], backend="local")

    assert rung_costs(results, CostSettings())["zero-shot"].priced_by == "machine-time"


def test_a_few_percent_of_throughput_is_not_a_saving() -> None:
    from adaptlab.decide.costs import cheaper

    settings = CostSettings()
    same_prompt = rung_cost(
        make_rung("few-shot-4", "prompt", correct_first(100), examples_per_s=1.62), settings
    )
    tuned_same_prompt = rung_cost(
        make_rung("lora+few-shot-4", "hybrid", correct_first(100), examples_per_s=1.67), settings
    )
    short_prompt = rung_cost(make_rung("lora", "tuned", correct_first(100), examples_per_s=7.0), settings)

    assert not cheaper(tuned_same_prompt, same_prompt)  # 3% faster: measurement noise
    assert cheaper(short_prompt, same_prompt)
