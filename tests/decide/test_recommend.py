import json
import re

import pytest
from decide_results import (
    alternating,
    chrf_rung,
    correct_first,
    make_results,
    make_rung,
    trained,
    with_draws,
    without_predictions,
)

from adaptlab.decide import CostSettings, Decision, recommend

FORGETTING = {
    "n": 60,
    "reference_accuracy_before": 0.15,
    "reference_accuracy_after": 0.13,
    "reference_accuracy_delta": -0.02,
    "agreement_with_base": 0.85,
}


RUNG_SUMMARY_KEYS = {"rung", "score", "score_low", "score_high", "selection_score", "selection_n"}
"""How the decision names its best prompt and best tuned rung: test figures and the dev score."""


def prompt_ladder(best: int = 140) -> list[dict]:
    """zero-shot, then an instruction variant and a few-shot rung that plateau at `best`/200."""
    return [
        make_rung("zero-shot", "prompt", correct_first(100), prompt_tokens=40),
        make_rung("instruction-detailed", "prompt", correct_first(best), prompt_tokens=90),
        make_rung("few-shot-4", "prompt", correct_first(best - 1), prompt_tokens=300, examples_per_s=5.0),
    ]


def tuned_curve(*rights: int) -> list[dict]:
    """LoRA rungs trained on 25, 50, 100 examples with `rights`/200 correct."""
    return [
        make_rung(
            f"lora-{size}",
            "tuned",
            correct_first(right),
            prompt_tokens=40,
            examples_per_s=20.0,
            training=trained(size, wall_time_s=0.6 * size),
            forgetting=FORGETTING,
        )
        for size, right in zip((25, 50, 100), rights, strict=False)
    ]


def scenario(name: str) -> dict:
    """A run whose rungs make the decision `name` (one of `SCENARIOS`)."""
    skipped = [
        {
            "phase": "fine-tuning",
            "reason": "gpt-x is served by an API: only local weights can be fine-tuned here",
        }
    ]
    builders = {
        "perfect prompt": lambda: make_results(
            [
                make_rung("zero-shot", "prompt", correct_first(150)),
                make_rung("few-shot-4", "prompt", correct_first(200), prompt_tokens=300),
                make_rung("lora-100", "tuned", correct_first(200), examples_per_s=50, training=trained(100)),
            ]
        ),
        "within noise": lambda: make_results([*prompt_ladder(140), *tuned_curve(120, 138, 143)]),
        "fine-tune": lambda: make_results([*prompt_ladder(140), *tuned_curve(130, 178, 180)]),
        "hybrid": lambda: make_results(
            [
                *prompt_ladder(140),
                *tuned_curve(150, 160),
                make_rung(
                    "lora-50+few-shot-4",
                    "hybrid",
                    correct_first(190),
                    prompt_tokens=300,
                    training=trained(50),
                ),
            ]
        ),
        "distil": lambda: make_results(
            [
                *prompt_ladder(140),
                make_rung(
                    "distill-lora-100",
                    "distilled",
                    correct_first(175),
                    prompt_tokens=40,
                    training=trained(100, targets="teacher:few-shot-4"),
                ),
            ]
        ),
        "prompt better": lambda: make_results([*prompt_ladder(170), *tuned_curve(100, 110)]),
        "api only": lambda: make_results(
            [
                make_rung(name, "prompt", correct_first(r), backend="openai", model_id="gpt-x")
                for name, r in [("zero-shot", 120), ("few-shot-4", 150)]
            ],
            backend="openai",
            model_id="gpt-x",
            skipped=skipped,
        ),
    }
    return builders[name]()


SCENARIOS = ("perfect prompt", "within noise", "fine-tune", "hybrid", "distil", "prompt better", "api only")


def decide(name: str, settings: CostSettings | None = None) -> Decision:
    return recommend(scenario(name), settings or CostSettings())


def test_perfect_prompting_is_never_tuned_even_against_a_perfect_cheaper_tuned_rung() -> None:
    decision = decide("perfect prompt", CostSettings(value_per_correct_usd=10.0, expected_requests=10**9))

    assert decision.recommendation == "prompt"
    assert decision.rung == "few-shot-4"
    assert "already scores full marks on all 200 test examples" in decision.headline
    assert decision.costs["lora-100"].usd_per_request < decision.costs["few-shot-4"].usd_per_request


def test_a_tuning_gain_inside_the_interval_keeps_prompting() -> None:
    decision = decide("within noise")

    assert decision.recommendation == "prompt"
    assert decision.rung == "instruction-detailed"
    assert decision.tuning_gain is not None
    assert (decision.tuning_gain.rung, decision.tuning_gain.vs) == ("lora-100", "instruction-detailed")
    assert decision.tuning_gain.low <= 0 <= decision.tuning_gain.high
    inside = decision.reasons[0]
    assert "inside the 95% CI" in inside and "+1.5 points" in inside and "includes zero" in inside
    # the tuned rung asks with 40 tokens instead of 90: cheaper, so say when it would pay back
    assert any("pays back after" in reason for reason in decision.reasons)


def test_a_hybrid_with_the_same_prompt_claims_no_saving_from_faster_timing() -> None:
    """Tuned weights asked with the prompt rung's own prompt compute as much per request; a
    faster measured throughput is timing noise, not a saving that pays back training."""
    prompts = [
        make_rung("zero-shot", "prompt", correct_first(100), prompt_tokens=40),
        make_rung("few-shot-4", "prompt", correct_first(140), prompt_tokens=300, examples_per_s=5.0),
    ]
    hybrid = make_rung(
        "lora-100+few-shot-4",
        "hybrid",
        correct_first(143),
        prompt_tokens=300,
        examples_per_s=6.5,  # 30% faster than few-shot-4's 5.0, with the same 300 tokens
        training=trained(100),
    )
    decision = recommend(make_results([*prompts, hybrid]), CostSettings())

    assert (decision.recommendation, decision.rung) == ("prompt", "few-shot-4")
    assert decision.tuning_gain is not None and decision.tuning_gain.rung == "lora-100+few-shot-4"
    assert not any("pays back" in reason for reason in decision.reasons)


def test_a_significant_gain_recommends_fine_tuning_with_the_data_needed() -> None:
    decision = decide("fine-tune")

    assert decision.recommendation == "fine-tune"
    assert decision.rung == "lora-100"
    assert decision.tuning_gain is not None and decision.tuning_gain.significant
    # lora-50 (89.0%) is inside lora-100's interval (90.0%, low ≈ 85.5%); lora-25 (65.0%) is not
    assert decision.data_needed is not None
    assert (decision.data_needed.rung, decision.data_needed.examples) == ("lora-50", 50)
    assert decision.data_needed.best_rung == "lora-100"
    assert decision.headline.startswith("Fine-tune (lora, 50 examples)")
    assert any("needs about 50 labelled examples" in reason for reason in decision.reasons)
    data = next(f for f in decision.factors if f.factor == "Data needed")
    assert data.tuned == "100 labelled training examples (50 were enough: lora-50)"
    assert any("pays back after" in reason for reason in decision.reasons)


def test_a_hybrid_rung_that_wins_recommends_the_hybrid() -> None:
    decision = decide("hybrid")

    assert (decision.recommendation, decision.rung) == ("hybrid", "lora-50+few-shot-4")
    assert decision.best_tuned is not None and decision.best_tuned["rung"] == "lora-50+few-shot-4"
    assert any("few-shot-4 prompt" in reason for reason in decision.reasons)


def test_a_distilled_rung_that_wins_recommends_distillation() -> None:
    decision = decide("distil")

    assert (decision.recommendation, decision.rung) == ("distil", "distill-lora-100")
    assert any("learned few-shot-4's answers" in reason for reason in decision.reasons)


def test_a_prompt_significantly_better_keeps_prompting() -> None:
    decision = decide("prompt better")

    assert decision.recommendation == "prompt"
    assert decision.tuning_gain is not None and decision.tuning_gain.worse
    assert "beyond the noise" in decision.reasons[0]


def random_demos_then_tuned(*other_draws: float) -> dict:
    """few-shot-random-4 is the best prompt rung at 70% (and scored `other_draws` under other
    demo draws); lora-100 scores 78%, 16 examples more: a paired gain beyond its interval."""
    return make_results(
        [
            make_rung("zero-shot", "prompt", correct_first(100), prompt_tokens=40),
            make_rung("instruction-detailed", "prompt", correct_first(104), prompt_tokens=90),
            with_draws(
                make_rung("few-shot-random-4", "prompt", correct_first(140), prompt_tokens=300), *other_draws
            ),
            *tuned_curve(120, 150, 156),
        ]
    )


def test_a_tuning_gain_smaller_than_the_best_prompts_demo_draw_spread_keeps_prompting() -> None:
    decision = recommend(random_demos_then_tuned(0.61, 0.80), CostSettings())

    gain = decision.tuning_gain
    assert gain is not None and (gain.rung, gain.vs) == ("lora-100", "few-shot-random-4")
    assert gain.low > 0 and not gain.significant and gain.within_draw_spread
    assert (decision.recommendation, decision.rung) == ("prompt", "few-shot-random-4")
    spread = (
        "lora-100's 78.0% is within the range of few-shot-random-4 across 3 demo draws"
        " (61.0%–80.0%, a 19.0-point spread)"
    )
    assert decision.headline.endswith(f"fine-tuning's +8.0 points is within the noise ({spread}).")
    assert decision.reasons[0].startswith(
        "The tuning gain is inside the demo-draw noise: lora-100 scores 78.0%"
    )
    assert decision.reasons[0].endswith(f"; {spread}.")
    assert decision.to_dict()["tuning_gain"]["draw_spread"] == {
        "rung": "few-shot-random-4",
        "spread": pytest.approx(0.19),
        "draws": 3,
        "low": pytest.approx(0.61),
        "high": pytest.approx(0.80),
        "other_rung": "lora-100",
        "other": pytest.approx(0.78),
        "metric": "accuracy",
        "display": "accuracy",
    }


def test_a_tuning_gain_larger_than_the_demo_draw_spread_still_recommends_tuning() -> None:
    decision = recommend(random_demos_then_tuned(0.68, 0.72), CostSettings())

    assert decision.tuning_gain is not None and decision.tuning_gain.significant
    assert (decision.recommendation, decision.rung) == ("fine-tune", "lora-100")


def test_without_tuned_rungs_the_reasons_say_why_tuning_is_absent() -> None:
    decision = decide("api only")

    assert (decision.recommendation, decision.rung) == ("prompt", "few-shot-4")
    assert decision.tuning_gain is None and decision.break_even is None and decision.best_tuned is None
    assert any(
        "fine-tuning was skipped because gpt-x is served by an API" in reason for reason in decision.reasons
    )


def test_without_tuned_rungs_or_an_account_of_why_the_reasons_say_so() -> None:
    decision = recommend(make_results(prompt_ladder()), CostSettings())

    assert decision.recommendation == "prompt"
    assert any("no tuned, hybrid or distilled rung (0 of 3 rungs)" in reason for reason in decision.reasons)


def test_skipped_rungs_unrelated_to_tuning_are_not_cited_as_its_reason() -> None:
    results = make_results(prompt_ladder(), skipped=[{"rung": "search", "reason": "the budget is spent"}])

    reasons = " ".join(recommend(results, CostSettings()).reasons)

    assert "budget" not in reasons
    assert "no tuned, hybrid or distilled rung" in reasons


def test_the_best_prompt_rung_ties_go_to_fewer_prompt_tokens() -> None:
    results = make_results(
        [
            make_rung("few-shot-8", "prompt", correct_first(150), prompt_tokens=600),
            make_rung("instruction-short", "prompt", correct_first(150), prompt_tokens=60),
        ]
    )

    assert recommend(results, CostSettings()).rung == "instruction-short"


def test_old_results_without_kinds_are_inferred_from_their_training() -> None:
    for name, expected in [("distil", "distil"), ("hybrid", "hybrid"), ("fine-tune", "fine-tune")]:
        results = scenario(name)
        for rung in results["rungs"]:
            del rung["kind"]
        assert recommend(results, CostSettings()).recommendation == expected


def test_a_summary_without_predictions_is_decided_on_the_rungs_own_intervals() -> None:
    decision = recommend(without_predictions(scenario("fine-tune")), CostSettings())

    assert decision.recommendation == "fine-tune"
    assert decision.tuning_gain is not None and not decision.tuning_gain.paired
    assert "unpaired" in decision.reasons[0]


def test_hosted_rungs_are_priced_from_the_price_table() -> None:
    settings = CostSettings.model_validate(
        {"prices": {"gpt-x": {"input_usd_per_million": 1.0, "output_usd_per_million": 4.0}}}
    )

    decision = decide("api only", settings)

    costs = decision.to_dict()["costs"]["rungs"]["few-shot-4"]
    assert costs["priced_by"] == "price-table"
    assert costs["usd_per_request"] == pytest.approx((50 * 1.0 + 2 * 4.0) / 1e6)
    assert any("$0.0580 per 1,000 requests" in reason for reason in decision.reasons)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_reason_cites_a_measured_figure(name: str) -> None:
    decision = decide(name)

    assert 2 <= len(decision.reasons) <= 4
    for reason in decision.reasons:
        assert re.search(r"\d", reason), reason
    assert re.search(r"\d", decision.headline)


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_decision_is_strict_json_in_the_documented_shape(name: str) -> None:
    data = decide(name, CostSettings(expected_requests=5000)).to_dict()

    json.dumps(data, allow_nan=False)
    assert list(data) == [
        "recommendation",
        "rung",
        "headline",
        "reasons",
        "best_prompt",
        "best_tuned",
        "plateau",
        "tuning_gain",
        "data_needed",
        "costs",
        "break_even",
        "factors",
        "selection",
    ]
    assert data["recommendation"] in ("prompt", "fine-tune", "hybrid", "distil")
    assert set(data["best_prompt"]) == RUNG_SUMMARY_KEYS
    assert set(data["plateau"]) == {"plateaued", "explanation", "rungs"}
    for row in data["plateau"]["rungs"]:
        assert set(row) == {"rung", "score", "best_before", "gain", "gain_low", "gain_high"}
    assert set(data["costs"]) == {"settings", "rungs"}
    assert data["costs"]["settings"]["expected_requests"] == 5000
    for cost in data["costs"]["rungs"].values():
        assert set(cost) == {
            "seconds_per_request",
            "usd_per_request",
            "usd_per_1k_requests",
            "priced_by",
            "training_s",
            "training_usd",
            "labelling_usd",
        }
    if data["tuning_gain"] is not None:
        assert set(data["tuning_gain"]) == {"rung", "vs", "gain", "low", "high", "significant", "draw_spread"}
    if data["best_tuned"] is not None:
        assert set(data["best_tuned"]) == RUNG_SUMMARY_KEYS
    if data["data_needed"] is not None:
        assert set(data["data_needed"]) == {"rung", "examples", "score", "best_rung"}
    if data["break_even"] is not None:
        assert set(data["break_even"]) == {
            "rung",
            "vs",
            "requests",
            "training_usd",
            "saving_per_request_usd",
            "explanation",
            "curve",
        }
        assert all(len(point) == 3 for point in data["break_even"]["curve"])
    for factor in data["factors"]:
        assert set(factor) == {"factor", "prompt", "tuned", "note"}


def test_results_without_rungs_still_decide_something_printable() -> None:
    data = recommend(make_results([]), CostSettings()).to_dict()

    assert data["recommendation"] == "prompt" and data["best_prompt"] is None
    json.dumps(data, allow_nan=False)


COPY_INPUT = {
    "kind": "copy-input",
    "description": "copying the input",
    "score": 0.12,
    "metric": "chrf",
    "label": None,
}


def free_text_results() -> dict:
    """Docstrings scored by chrF: instruction-detailed is the best prompt (chrF 41.3), and
    lora-100 (chrF 42.0) scores high where it scores low and low where it scores high, so its
    +0.7 points is noise."""
    return make_results(
        [
            chrf_rung("zero-shot", "prompt", alternating(0.4, 0.2), prompt_tokens=40),
            chrf_rung("instruction-detailed", "prompt", alternating(0.626, 0.2), prompt_tokens=90),
            chrf_rung("few-shot-4", "prompt", alternating(0.62, 0.2), prompt_tokens=300),
            chrf_rung(
                "lora-100",
                "tuned",
                alternating(0.2, 0.64),
                prompt_tokens=40,
                examples_per_s=20.0,
                training=trained(100),
            ),
        ],
        labels=[],
        baseline=COPY_INPUT,
    )


def chrf_interval(rung: dict) -> str:
    """The rung's own interval as a free-text sentence cites it: on chrF's scale, no "%"."""
    metrics = rung["metrics"]
    return f"95% CI {metrics['score_low'] * 100:.1f}–{metrics['score_high'] * 100:.1f}"


def test_a_free_text_decision_cites_its_metric_and_never_a_percentage() -> None:
    results = free_text_results()
    best = results["rungs"][1]

    decision = recommend(results, CostSettings(value_per_correct_usd=0.01))

    assert (decision.recommendation, decision.rung) == ("prompt", "instruction-detailed")
    assert decision.best_prompt is not None and decision.best_prompt["score"] == pytest.approx(0.413)
    assert decision.headline.startswith(
        "Keep prompting with instruction-detailed (chrF 41.3): fine-tuning's +0.7 points is within the noise"
    )
    text = " ".join([decision.headline, *decision.reasons])
    assert "lora-100 scores chrF 42.0 vs chrF 41.3 for instruction-detailed, +0.7 points" in text
    assert f"instruction-detailed is the best prompt rung: chrF 41.3 ({chrf_interval(best)}) on" in text
    assert "few-shot-4 (chrF 41.0), differs by -0.3 points" in text  # the plateau verdict's figures
    assert "+0.7 points of chrF worth $0.0000700 per request" in text  # the break-even's value
    assert "%" not in text.replace("95% CI", ""), text
    assert "accuracy" not in text.lower(), text


def test_the_floor_of_a_free_text_run_is_cited_in_its_metric() -> None:
    results = free_text_results()
    results["rungs"] = results["rungs"][:3]  # prompting only: the best-prompt sentence comes first
    best = results["rungs"][1]

    decision = recommend(results, CostSettings())

    assert decision.reasons[0] == (
        f"instruction-detailed is the best prompt rung: chrF 41.3 ({chrf_interval(best)}) on 200 test"
        " examples, against chrF 12.0 for copying the input, with 90 tokens per request."
    )


def test_the_floor_of_a_classification_run_is_its_majority_label() -> None:
    results = make_results(prompt_ladder())
    metrics = results["rungs"][1]["metrics"]
    interval = f"95% CI {metrics['score_low'] * 100:.1f}–{metrics['score_high'] * 100:.1f}%"

    decision = recommend(results, CostSettings())

    assert decision.reasons[0] == (
        f"instruction-detailed is the best prompt rung: 70.0% ({interval}) on 200 test examples,"
        ' against 50.0% for always answering "negative", with 90 tokens per request.'
    )
