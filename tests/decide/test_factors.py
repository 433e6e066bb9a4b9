from decide_results import correct_first, make_results, make_rung, trained

from adaptlab.decide import CostSettings, recommend

FACTORS = [
    "Cost per 1,000 requests",
    "Speed to deploy",
    "Data needed",
    "Latency p50 / p95",
    "Prompt tokens per request",
    "Style and format control",
    "Factual knowledge and general ability",
    "Prompt-injection robustness",
    "Iteration speed",
    "Works with API-only models",
    "Privacy",
]


def factors_of(results: dict) -> dict[str, dict]:
    return {row["factor"]: row for row in recommend(results, CostSettings()).to_dict()["factors"]}


def test_the_framework_sets_the_best_prompt_against_the_best_tuned_rung_in_numbers() -> None:
    search = make_rung(
        "search",
        "prompt",
        correct_first(140),
        prompt_tokens=320,
        examples_per_s=4.0,
        strategy={"strategy": "search", "k": 4, "dev_examples": 150, "trials": [{}, {}, {}]},
    )
    tuned = make_rung(
        "lora-100",
        "tuned",
        correct_first(170),
        prompt_tokens=40,
        training=trained(100, wall_time_s=120.0),
        forgetting={
            "n": 60,
            "agreement_with_base": 0.9,
            "reference_accuracy_before": 0.2,
            "reference_accuracy_after": 0.15,
            "reference_accuracy_delta": -0.05,
        },
    )

    search["metrics"] |= {"injection_success": 0.5, "injection_n": 34, "input_stability": 0.75}
    tuned["metrics"] |= {"injection_success": 0.125, "injection_n": 32}
    factors = factors_of(make_results([make_rung("zero-shot", "prompt", correct_first(100)), search, tuned]))

    assert list(factors) == FACTORS
    assert factors["Cost per 1,000 requests"]["prompt"] == "$0.0694 (machine time)"
    assert factors["Speed to deploy"]["prompt"] == "50.0 s to evaluate, after trying 3 candidate prompts"
    assert factors["Speed to deploy"]["tuned"] == "2 min 0 s of training + 20.0 s to evaluate"
    assert factors["Data needed"]["prompt"] == "4 labelled demos + 150 dev examples searched on"
    assert factors["Data needed"]["tuned"] == "100 labelled training examples"
    assert factors["Prompt tokens per request"]["prompt"] == "320 tokens"
    assert factors["Prompt tokens per request"]["tuned"] == "40 tokens"
    assert "90.0% of 60" in factors["Factual knowledge and general ability"]["tuned"]
    assert "-5.0 points" in factors["Factual knowledge and general ability"]["tuned"]
    assert factors["Iteration speed"]["tuned"] == "training + evaluation: 2 min 20 s"
    injection = factors["Prompt-injection robustness"]
    assert injection["prompt"] == "50.0% of 34 attacks succeeded; 75.0% stable under small input edits"
    assert injection["tuned"] == "12.5% of 32 attacks succeeded"
    assert factors["Works with API-only models"]["prompt"] == "yes"
    assert factors["Privacy"]["prompt"] == "inputs stay on this machine"
    assert all(row["note"] for row in factors.values())


def test_without_a_tuned_rung_the_tuned_column_says_why_it_was_not_run() -> None:
    results = make_results(
        [make_rung("zero-shot", "prompt", correct_first(100), backend="openai")],
        backend="openai",
        skipped=[{"phase": "fine-tuning", "reason": "not asked for (--no-tune)"}],
    )

    factors = factors_of(results)

    assert list(factors) == FACTORS
    assert {row["tuned"] for row in factors.values()} == {"not run: not asked for (--no-tune)"}
    assert factors["Privacy"]["prompt"] == "inputs are sent to the openai endpoint"
    assert factors["Cost per 1,000 requests"]["prompt"] == "1 min 40 s of compute, unpriced"


def test_without_a_tuned_rung_or_a_reason_the_tuned_column_says_not_run() -> None:
    factors = factors_of(make_results([make_rung("zero-shot", "prompt", correct_first(100))]))

    assert factors["Data needed"]["tuned"] == "not run: no tuned rung in these results"
