"""The pieces under the report: charts from results, number formats, the drill-down rows and the
matching of two runs' rungs, for closed-label runs (accuracy) and free-text ones (chrF)."""

from __future__ import annotations

from typing import Any

import pytest

from adaptlab.report import figures
from adaptlab.report.comparison import compare
from adaptlab.report.examples import drilldown
from adaptlab.report.formatting import num, pct, pct_range, points, seconds, usd
from adaptlab.report.summary import Metric, all_metrics, baseline, best_prompt, primary_metric, rung_kind

CHRF = Metric("chrf", "chrF")


def rung(name: str, score: float, *, training: int | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "rung": name,
        "training": None if training is None else {"examples": training, "wall_time_s": 30.0},
        "metrics": {
            "score": score,
            "score_low": max(0.0, score - 0.1),
            "score_high": min(1.0, score + 0.1),
            "examples_per_s": 4.0,
            "latency_p50_s": 0.2,
            "latency_p95_s": 0.3,
            "prompt_tokens_mean": 80.0,
            "output_tokens_mean": 2.0,
        },
        **extra,
    }


def predictions(answers: list[str | None], gold: str = "a") -> list[dict[str, Any]]:
    return [
        {
            "example_id": f"e{i}",
            "input": f"text {i}",
            "gold": gold,
            "parsed": answer,
            "output": answer or "",
            "correct": answer == gold,
            "score": float(answer == gold),
            "metric_scores": {"accuracy": float(answer == gold)},
        }
        for i, answer in enumerate(answers)
    ]


LADDER = {
    "baseline": {
        "kind": "majority",
        "description": 'always answering "a"',
        "score": 0.4,
        "metric": "accuracy",
        "label": "a",
    },
    "rungs": [
        rung("zero-shot", 0.5),
        rung("few-shot-knn-4", 0.7),
        rung("lora-100", 0.75, training=100),
        rung("lora-25", 0.6, training=25),
        rung("lora-100+few-shot-knn-4", 0.8, training=100, kind="hybrid"),
    ],
}


def test_formats_read_as_percentages_and_dollars() -> None:
    assert pct(0.4123) == "41.2%" and pct(None) == "—" and pct(float("nan")) == "—"
    assert pct_range(0.367, 0.458) == "36.7–45.8%" and pct_range(None, 0.5) == "—"
    assert points(0.034) == "+3.4 pp" and points(-0.1) == "-10.0 pp"
    assert seconds(0.045) == "45 ms" and seconds(1.914) == "1.91 s" and seconds(200) == "3 min 20 s"
    assert usd(0.0000175) == "$0.0000175" and usd(12.5) == "$12.50" and usd(1234) == "$1,234"
    assert num(12345) == "12,345" and num(True) == "—"


def test_kind_is_read_or_inferred_from_training() -> None:
    assert rung_kind(LADDER["rungs"][0]) == "prompt"
    assert rung_kind(LADDER["rungs"][2]) == "tuned"
    assert rung_kind(LADDER["rungs"][4]) == "hybrid"


def test_accuracy_chart_has_one_trace_per_kind_in_ladder_order_and_the_baseline() -> None:
    fig = figures.score_figure(LADDER)
    assert fig is not None
    assert [trace.name for trace in fig.data] == ["prompt", "tuned", "hybrid"]
    assert list(fig.data[0].y) == ["zero-shot", "few-shot-knn-4"]
    assert list(fig.data[0].error_x.array) == pytest.approx([0.1, 0.1])
    assert fig.layout.shapes[0].x0 == 0.4 and fig.layout.shapes[0].line.dash == "dash"
    assert fig.layout.annotations[0].text == "majority baseline 40.0%"
    assert fig.layout.xaxis.title.text == "accuracy on the test split (95% CI)"
    assert fig.layout.xaxis.tickformat == ".0%" and list(fig.layout.xaxis.range) == [0, 1]
    assert list(fig.layout.yaxis.categoryarray) == [r["rung"] for r in LADDER["rungs"]]


def test_learning_curve_sorts_by_training_size_and_draws_the_best_prompt_band() -> None:
    fig = figures.learning_curve_figure(LADDER)
    assert fig is not None
    assert len(fig.data) == 1  # the hybrid rung is not a point of the curve
    assert list(fig.data[0].x) == [25, 100] and list(fig.data[0].y) == [0.6, 0.75]
    band = next(shape for shape in fig.layout.shapes if shape.type == "rect")
    assert (band.y0, band.y1) == pytest.approx((0.6, 0.8))  # few-shot-knn-4's interval
    assert best_prompt(LADDER) == {
        "rung": "few-shot-knn-4",
        "score": 0.7,
        "score_low": 0.6,
        "score_high": 0.7999999999999999,
    }
    assert fig.layout.yaxis.title.text == "accuracy (95% CI)" and fig.layout.yaxis.tickformat == ".0%"
    assert figures.learning_curve_figure({"rungs": LADDER["rungs"][:2]}) is None


def test_cost_chart_uses_dollars_only_when_every_rung_is_priced() -> None:
    assert figures.cost_figure(LADDER).layout.xaxis.title.text == "compute seconds per 1,000 requests"
    assert figures.cost_figure(LADDER).data[0].x[0] == pytest.approx(250.0)  # 1000 / 4 examples/s
    named = [text for trace in figures.cost_figure(LADDER).data for text in trace.text if text]
    assert named == ["lora-100+few-shot-knn-4"]  # same cost for all: only the most accurate is efficient
    priced = {
        **LADDER,
        "decision": {"costs": {"rungs": {r["rung"]: {"usd_per_1k_requests": 0.5} for r in LADDER["rungs"]}}},
    }
    assert figures.cost_figure(priced).layout.xaxis.title.text == "USD per 1,000 requests"


def test_break_even_marks_the_crossing_on_the_prompt_cost_line() -> None:
    results = {
        "decision": {
            "break_even": {
                "rung": "lora-100",
                "vs": "few-shot-knn-4",
                "requests": 5000,
                "curve": [[1000, 1.0, 4.0], [10000, 10.0, 7.0], [100000, 100.0, 34.0]],
            }
        }
    }
    fig = figures.break_even_figure(results)
    assert [trace.name for trace in fig.data] == [
        "prompting: few-shot-knn-4",
        "fine-tuned: lora-100",
        "break-even",
    ]
    assert fig.data[2].x[0] == 5000 and fig.data[2].y[0] == pytest.approx(5.0)
    assert fig.layout.xaxis.type == "log"
    assert figures.break_even_figure({"decision": {"break_even": {"curve": []}}}) is None


def test_drilldown_rows_flag_disagreement_and_missing_answers() -> None:
    results = {
        "rungs": [
            {"rung": "p", "training": None, "predictions": predictions(["a", "b", None])},
            {"rung": "t", "training": {"examples": 8}, "predictions": predictions(["a", "a"])},
        ]
    }
    table = drilldown(results)
    assert table.rungs == ["p", "t"]
    assert [row.example_id for row in table.rows] == ["e0", "e1", "e2"]
    assert [row.disagree for row in table.rows] == [False, True, False]
    assert table.rows[2].answers[1] is None and table.rows[1].answers[0].correct is False


def test_comparison_pairs_same_task_runs_per_example() -> None:
    task = {"hash": "h1"}
    before = {
        "task": task,
        "rungs": [rung("zero-shot", 0.5, predictions=predictions(["a", "b", "a", "b"])), rung("cot", 0.5)],
    }
    after = {
        "task": task,
        "rungs": [
            rung("zero-shot", 0.75, predictions=predictions(["a", "a", "a", "b"])),
            rung("lora-8", 0.9, training=8),
        ],
    }
    comparison = compare(before, after)
    (pair,) = comparison.pairs
    assert pair.rung == "zero-shot" and pair.paired == 4
    assert pair.difference == pytest.approx(0.25) and pair.low <= 0.25 <= pair.high
    assert comparison.only_a == ["cot"] and comparison.only_b == ["lora-8"]
    other_task = compare(before, {**after, "task": {"hash": "h2"}})
    assert other_task.pairs[0].paired == 0 and other_task.pairs[0].low is None
    assert other_task.pairs[0].difference == pytest.approx(0.25)  # from the two accuracies


def test_comparison_leaves_out_failed_gradings_and_never_subtracts_different_metrics() -> None:
    before = {"task": {"hash": "h1"}, "rungs": [rung("zero-shot", 0.4, predictions=predictions(["a", "b"]))]}
    graded = predictions(["a", "a", "a"])
    graded[0]["score"] = None  # its grading failed: not an example both runs scored
    after = {"task": {"hash": "h1"}, "rungs": [rung("zero-shot", 0.5, predictions=graded)]}
    (pair,) = compare(before, after).pairs
    assert pair.paired == 1 and pair.difference == pytest.approx(1.0)  # e1 only: 0 -> 1
    rescored = {**after, "task": {"hash": "h1", "metric": {"name": "chrf", "display": "chrF"}}}
    comparison = compare(before, rescored)
    assert not comparison.same_metric and comparison.metric_b == CHRF
    assert comparison.pairs[0].difference is None and comparison.pairs[0].paired == 0


def test_scores_read_as_percentages_for_accuracy_and_as_the_metric_elsewhere() -> None:
    accuracy = Metric()
    assert (accuracy.text(0.7125), accuracy.number(0.7125), accuracy.heading) == (
        "71.2%",
        "71.2%",
        "Accuracy",
    )
    assert (
        accuracy.interval(0.367, 0.458) == "95% CI 36.7–45.8%"
        and accuracy.range(0.367, 0.458) == "36.7–45.8%"
    )
    assert accuracy.gain(0.034) == "+3.4 pp"
    assert (CHRF.text(0.4134), CHRF.number(0.4134), CHRF.heading) == ("chrF 41.3", "41.3", "chrF")
    assert CHRF.interval(0.38, 0.449) == "95% CI 38.0–44.9" and CHRF.range(0.38, 0.449) == "38.0–44.9"
    assert CHRF.gain(-0.021) == "-2.1" and Metric("exact", "exact match").heading == "Exact match"
    assert CHRF.text(None) == CHRF.number(None) == "—" and CHRF.interval(None, 0.5) == "95% CI —"


def test_a_free_text_run_is_charted_on_its_metric_against_its_baseline(
    free_text_results: dict[str, Any],
) -> None:
    assert primary_metric(free_text_results) == CHRF
    assert [m.display for m in all_metrics(free_text_results)] == ["chrF", "similarity", "exact match"]
    floor = baseline(free_text_results)
    assert floor is not None and floor.name == "baseline (copying the input)" and floor.label is None

    fig = figures.score_figure(free_text_results)
    assert fig.layout.xaxis.title.text == "chrF on the test split (95% CI)"
    assert list(fig.layout.xaxis.range) == [0, 100] and fig.layout.xaxis.tickformat == ""
    zero_shot = free_text_results["rungs"][0]["metrics"]["score"]
    assert fig.data[0].x[0] == pytest.approx(zero_shot * 100)  # the 0-100 scale of the tables
    assert fig.data[0].error_x.array[0] == pytest.approx(15.0)
    assert fig.layout.annotations[0].text == "baseline (copying the input) chrF 12.0"
    assert "%{x:.1f}" in fig.data[0].hovertemplate

    curve = figures.learning_curve_figure(free_text_results)
    assert curve.layout.yaxis.title.text == "chrF (95% CI)" and list(curve.layout.yaxis.range) == [-3, 105]
    best = free_text_results["decision"]["best_prompt"]
    assert any(
        a.text == f"best prompt: few-shot-knn-2 {CHRF.text(best['score'])}" for a in curve.layout.annotations
    )
    assert figures.cost_figure(free_text_results).layout.yaxis.title.text == "chrF (95% CI)"


def test_a_free_text_drilldown_keeps_every_metric_score_and_failed_gradings(
    free_text_results: dict[str, Any],
) -> None:
    table = drilldown(free_text_results)
    assert table.free_text and [m.name for m in table.metrics] == ["chrf", "similarity", "exact"]
    assert table.rungs == ["zero-shot", "few-shot-knn-2", "lora-4", "lora-8"]
    second = table.rows[1]
    assert second.gold.startswith("Read the file at path") and "\n\n" in second.gold
    assert second.answers[1].scores == (None, 0.9, 0.0)  # chrF's grading failed
    assert table.rows[3].answers[1].scores == (0.43, None, 0.0)
    assert not drilldown(LADDER).free_text
