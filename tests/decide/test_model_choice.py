"""The choice across models, on hand-built runs whose costs are easy to work out (see
model_runs.py): every figure asserted below follows from them by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adaptlab.decide import TokenPrice
from adaptlab.decide.model_choice import ModelChoice, choose_configuration
from model_runs import HOSTED, LARGE, SMALL, TEACHER, hosted, large, run, rung, settings, small, student


def named(choice: ModelChoice, spec: str, name: str) -> dict[str, Any]:
    return next(c for c in choice.to_dict()["configurations"] if (c["spec"], c["rung"]) == (spec, name))


def chosen(choice: ModelChoice) -> tuple[str, str]:
    assert choice.chosen is not None
    return choice.chosen.spec, choice.chosen.name


def test_by_default_the_cheapest_configuration_within_the_noise_of_the_best_is_chosen() -> None:
    choice = choose_configuration([small(), large()], settings(labelling_usd_per_example=0.01), None)

    # the best on dev: gemma3-270m few-shot-knn-4 at 75% (65-85%); lora-64 reaches 72% > 65%
    assert choice.target is not None
    assert (choice.target.score, choice.target.source, choice.target.split) == (
        pytest.approx(0.65),
        "best-interval",
        "dev",
    )
    assert chosen(choice) == (SMALL, "lora-64")
    assert choice.best is not None and choice.best.label == f"{LARGE} few-shot-knn-4"
    assert choice.headline == (
        "Serve smollm2-135m lora-64 (74.0%, $0.0200 per 1,000 requests): the cheapest configuration"
        " within the noise of the best, gemma3-270m few-shot-knn-4 (75.0%, $0.100 per 1,000 requests)."
    )
    assert choice.reasons[0] == (
        "The target is 65.0% on dev, the lower end of the 95% CI of the best configuration,"
        " gemma3-270m few-shot-knn-4 (75.0% on dev): 2 of 4 configurations reach it."
    )
    assert [c.label for c in choice.reaching] == [f"{SMALL} lora-64", f"{LARGE} few-shot-knn-4"]
    lora = named(choice, SMALL, "lora-64")
    assert lora["usd_per_1k_requests"] == pytest.approx(0.02)
    assert lora["upfront_usd"] == pytest.approx(0.06 + 64 * 0.01)  # training + labels
    assert "$0.700 once, before its first request: $0.0600 of training" in choice.reasons[2]


def test_break_even_between_the_chosen_and_the_runner_up_is_the_extra_one_off_over_the_saving() -> None:
    choice = choose_configuration([small(), large()], settings(labelling_usd_per_example=0.01), None)

    # lora-64: $0.70 up front, $0.00002 a request; few-shot-knn-4: $0, $0.0001 -> 0.70 / 0.00008
    assert choice.runner_up is not None and choice.runner_up.label == f"{LARGE} few-shot-knn-4"
    assert choice.break_even is not None
    assert choice.break_even.upfront.label == f"{SMALL} lora-64"
    assert choice.break_even.requests == pytest.approx(8750)
    assert choice.break_even.upfront_difference_usd == pytest.approx(0.70)
    assert choice.break_even.saving_per_request_usd == pytest.approx(0.00008)
    assert "so it pays back after 8,750 requests" in choice.reasons[1]
    assert choice.to_dict()["break_even"]["requests"] == pytest.approx(8750)


@pytest.mark.parametrize(
    ("requests", "expected"), [(5_000, (LARGE, "few-shot-knn-4")), (20_000, (SMALL, "lora-64"))]
)
def test_with_an_expected_volume_the_total_cost_decides(requests: int, expected: tuple[str, str]) -> None:
    costs = settings(labelling_usd_per_example=0.01, expected_requests=requests)
    choice = choose_configuration([small(), large()], costs, None)

    # lora-64 costs 0.70 + n x 0.00002, few-shot-knn-4 n x 0.0001: equal at 8,750 requests
    assert chosen(choice) == expected
    assert named(choice, SMALL, "lora-64")["total_usd"] == pytest.approx(0.70 + requests * 0.00002)
    assert named(choice, LARGE, "few-shot-knn-4")["total_usd"] == pytest.approx(requests * 0.0001)
    assert choice.to_dict()["compared_by"] == "total_usd"
    assert f"At the {requests:,} requests you expect, the total cost is" in " ".join(choice.reasons)
    if expected[0] == LARGE:
        assert choice.headline.endswith(
            "the best configuration, and none within its noise costs clearly less at the 5,000 requests"
            " you expect."
        )
    else:
        assert "$0.700 one-off" in choice.headline
        assert "the cheapest in total at the 20,000 requests you expect." in choice.headline


def test_a_given_target_is_judged_on_dev_and_can_leave_only_the_best() -> None:
    choice = choose_configuration([small(), large()], settings(), 0.74)

    assert choice.target is not None and choice.target.source == "given"
    assert chosen(choice) == (LARGE, "few-shot-knn-4")  # lora-64: 74% on test but 72% on dev
    assert choice.headline == (
        "Serve gemma3-270m few-shot-knn-4 (75.0%, $0.100 per 1,000 requests): the best configuration,"
        " and the only one that reaches your target of 74.0%."
    )
    assert choice.reasons[0] == "Your target is 74.0%, judged on dev: 1 of 4 configurations reach it."


def test_a_target_nothing_reaches_names_the_best_and_says_so() -> None:
    choice = choose_configuration([small(), large()], settings(), 0.9)

    assert chosen(choice) == (LARGE, "few-shot-knn-4")
    assert choice.headline.startswith(
        "No configuration reaches your target of 90.0%: the best is gemma3-270m"
    )
    assert not named(choice, LARGE, "few-shot-knn-4")["reaches_target"]


def test_winners_are_chosen_on_dev_and_the_figures_cited_from_test() -> None:
    lucky = rung("few-shot-random-4", "prompt", 0.80, 0.70)  # best on test, not on dev
    steady = rung("few-shot-knn-4", "prompt", 0.75, 0.78)
    choice = choose_configuration([(LARGE, run(LARGE, lucky, steady))], settings(), None)

    assert choice.chosen_on == "dev"
    assert choice.best is not None and choice.best.name == "few-shot-knn-4"
    assert choice.target is not None and choice.target.score == pytest.approx(0.68)  # 78% - 10
    assert choice.selection == (
        "The configurations were judged on 80 dev examples, and every figure cited comes from the 200"
        " test examples they were not chosen on: gemma3-270m few-shot-knn-4 78.0% on dev, 75.0% on test."
    )


def test_without_every_dev_score_the_choice_is_made_on_test_and_may_flatter_the_winner() -> None:
    lucky = rung("few-shot-random-4", "prompt", 0.80, None)
    steady = rung("few-shot-knn-4", "prompt", 0.75, 0.78)
    choice = choose_configuration([(LARGE, run(LARGE, lucky, steady))], settings(), None)

    assert choice.chosen_on == "test"
    assert choice.best is not None and choice.best.name == "few-shot-random-4"
    assert choice.target is not None
    assert (choice.target.score, choice.target.split) == (pytest.approx(0.75), "test")  # 80% - 5
    assert "may be flattered by the choice" in choice.selection


def test_without_an_interval_the_target_is_the_best_score_itself() -> None:
    only = rung("few-shot-knn-4", "prompt", 0.75, 0.78, dev_interval=False)
    choice = choose_configuration([(LARGE, run(LARGE, only))], settings(), None)

    assert choice.target is not None
    assert (choice.target.score, choice.target.source) == (pytest.approx(0.78), "best-score")


def test_a_teacher_labelled_student_pays_for_its_teachers_answers() -> None:
    choice = choose_configuration([small(student()), large()], settings(labelling_usd_per_example=0.01), None)

    taught = named(choice, SMALL, "teacher-lora-64")
    assert taught["teacher"] == TEACHER
    assert taught["labelling_usd"] == 0  # nobody labelled its examples
    assert taught["teacher_usd"] == pytest.approx(64 * 0.0001)  # the teacher's price per request
    assert taught["upfront_usd"] == pytest.approx(0.06 + 0.0064)
    # ties lora-64 per request, and costs less up front than gold labels
    assert chosen(choice) == (SMALL, "teacher-lora-64")
    assert choice.reasons[2] == (
        "smollm2-135m teacher-lora-64 costs $0.0664 once, before its first request: $0.0600 of training"
        " (60.0 s of machine time) and $0.00640 for 64 answers of its teacher, gemma3-270m few-shot-knn-4."
    )


def test_a_student_of_an_unpriced_teacher_has_an_unknown_one_off_cost_until_it_is_priced() -> None:
    teacher = {"model": HOSTED, "rung": "few-shot-knn-4"}
    runs = [small(student(teacher=teacher)), hosted()]

    unpriced = named(choose_configuration(runs, settings(), None), SMALL, "teacher-lora-64")
    assert unpriced["upfront_usd"] is None
    assert unpriced["upfront_unknown"] == (
        "its teacher, openai:big few-shot-knn-4, is unpriced: add openai:big to the cost settings' prices"
    )

    price = TokenPrice(input_usd_per_million=1.0, output_usd_per_million=2.0)
    priced = named(
        choose_configuration(runs, settings(prices={HOSTED: price}), None), SMALL, "teacher-lora-64"
    )
    # (100 prompt tokens x $1 + 2 output tokens x $2) per million, for each of 64 answers
    assert priced["teacher_usd"] == pytest.approx(64 * 104e-6)


def test_context_distillation_names_no_other_model_and_costs_its_training() -> None:
    distilled = rung(
        "distill-lora-64", "distilled", 0.70, 0.70, per_s=50, examples=64, targets="teacher:few-shot-knn-4"
    )
    choice = choose_configuration([small(distilled)], settings(labelling_usd_per_example=0.01), None)

    config = named(choice, SMALL, "distill-lora-64")
    assert config["teacher"] is None
    assert config["upfront_usd"] == pytest.approx(0.06)


def test_an_unpriced_endpoint_is_listed_never_called_cheapest() -> None:
    choice = choose_configuration([small(), large(), hosted()], settings(), None)

    assert choice.best is not None and choice.best.spec == HOSTED
    assert chosen(choice) == (SMALL, "lora-64")
    assert choice.headline.endswith("the best, openai:big few-shot-knn-4 (80.0%, unpriced).")
    assert [c.label for c in choice.unpriced] == [f"{HOSTED} few-shot-knn-4"]
    assert choice.reasons[-1] == (
        "1 configuration has no price per request (1 reaching the target): add openai:big to the cost"
        " settings' prices to compare it."
    )
    assert choice.to_dict()["unpriced"] == [{"spec": HOSTED, "rung": "few-shot-knn-4"}]


def test_when_nothing_that_reaches_the_target_is_priced_the_best_is_named() -> None:
    choice = choose_configuration([hosted()], settings(), None)

    assert chosen(choice) == (HOSTED, "few-shot-knn-4")
    assert choice.headline == (
        "Serve openai:big few-shot-knn-4 (80.0%, unpriced): the best configuration; none within its"
        " noise has a price to compare."
    )


def test_the_frontier_holds_the_configurations_no_other_beats_on_price_and_score() -> None:
    choice = choose_configuration([small(), large(), hosted()], settings(), None)

    # (price per 1k, test score): small zero-shot (0.02, 50%) and large zero-shot (0.1, 60%) are
    # beaten by lora-64 (0.02, 74%); the unpriced endpoint has no place
    assert [c.label for c in choice.frontier] == [f"{SMALL} lora-64", f"{LARGE} few-shot-knn-4"]
    assert [ref for ref in choice.to_dict()["frontier"]] == [
        {"spec": SMALL, "rung": "lora-64"},
        {"spec": LARGE, "rung": "few-shot-knn-4"},
    ]
    assert named(choice, SMALL, "lora-64")["on_frontier"]
    assert not named(choice, SMALL, "zero-shot")["on_frontier"]


@pytest.mark.parametrize(("per_s", "expected"), [(46.0, "few-shot-4"), (40.0, "lora-64")])
def test_a_prompt_within_the_noise_of_the_cheapest_wins_the_tie(per_s: float, expected: str) -> None:
    # few-shot-4 costs $0.0217 per 1,000 at 46/s (within 10% of lora-64's $0.0200), $0.0250 at 40/s
    prompt = rung("few-shot-4", "prompt", 0.73, 0.73, per_s=per_s)
    choice = choose_configuration([small(prompt), large()], settings(), None)

    assert chosen(choice) == (SMALL, expected)
    tie = [reason for reason in choice.reasons if "within 10% of each other" in reason]
    if expected == "few-shot-4":
        assert tie == [
            "smollm2-135m few-shot-4 and smollm2-135m lora-64 cost within 10% of each other per request"
            " ($0.0000217 vs $0.0000200), a difference inside the throughput noise: smollm2-135m"
            " few-shot-4 is chosen because a prompt needs no weights of its own."
        ]
    else:
        assert tie == []


def test_between_equally_cheap_prompts_the_smaller_model_wins() -> None:
    # $0.100 vs $0.0952 per 1,000 requests: within 10%
    runs = [
        (SMALL, run(SMALL, rung("few-shot-knn-4", "prompt", 0.75, 0.75), parameters=135_000_000)),
        (LARGE, run(LARGE, rung("few-shot-knn-4", "prompt", 0.75, 0.75, per_s=10.5), parameters=270_000_000)),
    ]
    choice = choose_configuration(runs, settings(), None)

    assert chosen(choice) == (SMALL, "few-shot-knn-4")
    assert any("because it is the smaller model" in reason for reason in choice.reasons)


def test_the_decision_is_json_safe_and_names_every_configuration() -> None:
    choice = choose_configuration([small(student()), large(), hosted()], settings(), None)
    decision = json.loads(json.dumps(choice.to_dict(), allow_nan=False))

    assert decision["chosen"] == {"spec": SMALL, "rung": "lora-64"}
    assert len(decision["configurations"]) == 6
    assert decision["target"] == {"score": pytest.approx(0.7), "source": "best-interval", "split": "dev"}
    assert decision["costs"]["settings"]["machine_usd_per_hour"] == 3.6
    assert set(decision["configurations"][0]) >= {
        "spec", "rung", "model_id", "backend", "kind", "score", "score_low", "score_high", "n",
        "selection_score", "selection_n", "usd_per_1k_requests", "priced_by", "seconds_per_request",
        "tokens_per_request", "latency_p50_s", "upfront_usd", "reaches_target", "on_frontier",
    }  # fmt: skip


def test_nothing_measured_leaves_nothing_to_choose() -> None:
    choice = choose_configuration([(SMALL, run(SMALL))], settings(), None)

    assert choice.chosen is None
    assert choice.headline == "No configuration was measured: there is nothing to choose from."
    assert json.dumps(choice.to_dict(), allow_nan=False)
