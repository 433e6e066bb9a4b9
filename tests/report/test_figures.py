"""The pieces under the report: charts from results, number formats, the drill-down rows and the
matching of two runs' rungs."""

from __future__ import annotations

from typing import Any

import pytest

from adaptlab.report import figures
from adaptlab.report.comparison import compare
from adaptlab.report.examples import drilldown
from adaptlab.report.formatting import num, pct, pct_range, points, seconds, usd
from adaptlab.report.summary import best_prompt, rung_kind


def rung(name: str, accuracy: float, *, training: int | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "rung": name,
        "training": None if training is None else {"examples": training, "wall_time_s": 30.0},
        "metrics": {
            "accuracy": accuracy,
            "accuracy_low": max(0.0, accuracy - 0.1),
            "accuracy_high": min(1.0, accuracy + 0.1),
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
        }
        for i, answer in enumerate(answers)
    ]


LADDER = {
    "baseline": {"majority_label": "a", "accuracy": 0.4},
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
    fig = figures.accuracy_figure(LADDER)
    assert fig is not None
    assert [trace.name for trace in fig.data] == ["prompt", "tuned", "hybrid"]
    assert list(fig.data[0].y) == ["zero-shot", "few-shot-knn-4"]
    assert list(fig.data[0].error_x.array) == pytest.approx([0.1, 0.1])
    assert fig.layout.shapes[0].x0 == 0.4 and fig.layout.shapes[0].line.dash == "dash"
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
        "accuracy": 0.7,
        "accuracy_low": 0.6,
        "accuracy_high": 0.7999999999999999,
    }
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
