"""The report's charts, each a function from a parsed ``results.json`` to a Plotly figure.

A function returns None when the run lacks its data (no tuned rungs, no decision, …), and the
report leaves the section out. Nothing here renders HTML; `html.py` embeds the figures.
Rung names go into Plotly's pseudo-HTML text with ``<``/``>``/``&`` escaped, so a name is shown
as written and never interpreted.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go

from adaptlab.decide.frontier import pareto_frontier
from adaptlab.report.formatting import finite, num
from adaptlab.report.summary import (
    KINDS,
    Baseline,
    Metric,
    baseline,
    best_prompt,
    decision,
    metric,
    primary_metric,
    rung_costs,
    rung_kind,
    rungs,
)

KIND_COLOURS = {"prompt": "#4c78a8", "tuned": "#f58518", "hybrid": "#54a24b", "distilled": "#b279a2"}
OTHER_COLOUR = "#9d755d"
BASELINE_COLOUR = "#7f7f7f"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
SCORE_MARGIN = 0.03, 0.05
"""A little room below 0 and above the top score, so markers there are not cut by the plot's edge."""
ROW_HEIGHT = 30
"""Pixels per rung in the horizontal bar charts, so long ladders stay legible."""


@dataclass(frozen=True)
class ScoreScale:
    """How the charts plot scores of `metric`: accuracy as the fraction with percent ticks
    (``40%``), any other metric multiplied onto 0-100 (``chrF 40``), as the tables write them."""

    metric: Metric

    @property
    def factor(self) -> float:
        return 1.0 if self.metric.is_accuracy else 100.0

    @property
    def hover(self) -> str:
        """The Plotly number format of a score in a hover text."""
        return ".1%" if self.metric.is_accuracy else ".1f"

    def value(self, fraction: float | None) -> float | None:
        return None if fraction is None else fraction * self.factor

    def scores(self, group: Sequence[dict[str, Any]]) -> list[float | None]:
        return [self.value(metric(r, "score")) for r in group]

    def ci_bars(self, group: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Asymmetric error bars from each rung's score interval (none where it is missing)."""
        above, below = [], []
        for rung in group:
            score = metric(rung, "score") or 0.0
            low, high = metric(rung, "score_low"), metric(rung, "score_high")
            above.append(max(0.0, high - score) * self.factor if high is not None else 0.0)
            below.append(max(0.0, score - low) * self.factor if low is not None else 0.0)
        return {
            "type": "data",
            "array": above,
            "arrayminus": below,
            "color": "#333",
            "thickness": 1.2,
            "width": 4,
        }

    def ci_data(self, group: Sequence[dict[str, Any]]) -> list[list[str]]:
        """Each rung's interval as hover text: ``36.7%–45.8%``, ``38.0–44.9``."""
        number = self.metric.number
        return [[f"{number(metric(r, 'score_low'))}–{number(metric(r, 'score_high'))}"] for r in group]

    def title(self, what: str = "") -> str:
        """An axis title: ``accuracy on the test split (95% CI)``, ``chrF (95% CI)``."""
        return f"{self.metric.display}{what} (95% CI)"

    def axis(self, fig: go.Figure, axis: str, *, margin: bool) -> None:
        """Fix the score axis to the metric's whole range (0 to 100%, 0 to 100), with room for
        markers at its ends when `margin`."""
        low, high = (-SCORE_MARGIN[0], 1 + SCORE_MARGIN[1]) if margin else (0.0, 1.0)
        update = fig.update_xaxes if axis == "x" else fig.update_yaxes
        ticks = ".0%" if self.metric.is_accuracy else ""
        update(range=[low * self.factor, high * self.factor], tickformat=ticks)


def score_figure(results: dict[str, Any]) -> go.Figure | None:
    """The primary metric's score per rung with its 95% CI, coloured by kind, against the
    task's baseline (the majority label, the most common output, a copy of the input)."""
    measured = _measured(rungs(results))
    if not measured:
        return None
    scale = ScoreScale(primary_metric(results))
    fig = go.Figure()
    for kind, group in _by_kind(measured):
        fig.add_trace(
            go.Bar(
                orientation="h",
                y=_names(group),
                x=scale.scores(group),
                error_x=scale.ci_bars(group),
                customdata=scale.ci_data(group),
                marker_color=_colour(kind),
                name=kind,
                hovertemplate=f"%{{y}}: %{{x:{scale.hover}}} (95% CI %{{customdata[0]}})"
                f"<extra>{kind}</extra>",
            )
        )
    floor = baseline(results)
    if floor is not None:
        fig.add_vline(
            x=scale.value(floor.score),
            line_dash="dash",
            line_color=BASELINE_COLOUR,
            annotation_text=_baseline_text(floor, scale),
            annotation_position="top",
            annotation_font_color=BASELINE_COLOUR,
        )
    layout(fig, height=_bar_height(len(measured)), x_title=scale.title(" on the test split"))
    if floor is not None and floor.score < 0.5:
        # The line's label sits above the plot's left half, where the legend starts: move it right.
        fig.update_layout(legend={"x": 1, "xanchor": "right"})
    fig.update_layout(barmode="overlay")
    scale.axis(fig, "x", margin=False)
    _rung_axis(fig, _names(measured))
    return fig


def learning_curve_figure(results: dict[str, Any]) -> go.Figure | None:
    """Score of the fine-tuned rungs against their training-set size, with the best prompt
    rung's score and CI as a horizontal band: where the curve crosses it, tuning pays."""
    tuned = [r for r in _measured(rungs(results, "tuned")) if _examples(r) is not None]
    if not tuned:
        return None
    scale = ScoreScale(primary_metric(results))
    fig = go.Figure()
    series: dict[str, list[dict[str, Any]]] = {}
    for rung in tuned:
        series.setdefault(_curve_name(rung["rung"]), []).append(rung)
    for name, points in series.items():
        points.sort(key=lambda r: _examples(r) or 0)
        fig.add_trace(
            go.Scatter(
                x=[_examples(r) for r in points],
                y=scale.scores(points),
                error_y=scale.ci_bars(points),
                customdata=scale.ci_data(points),
                text=_names(points),
                mode="lines+markers",
                name=f"{html.escape(name, quote=False)} (fine-tuned)",
                showlegend=True,
                line_color=KIND_COLOURS["tuned"] if len(series) == 1 else None,
                hovertemplate=f"%{{text}}: %{{y:{scale.hover}}} (95% CI %{{customdata[0]}})"
                " after %{x} examples<extra></extra>",
            )
        )
    best = best_prompt(results)
    if best is not None and finite(best.get("score")) is not None:
        reference_line(fig, best, scale, f"best prompt: {html.escape(str(best['rung']))}")
    floor = baseline(results)
    if floor is not None:
        fig.add_hline(
            y=scale.value(floor.score),
            line_dash="dash",
            line_color=BASELINE_COLOUR,
            annotation_text=_baseline_text(floor, scale),
            annotation_position="bottom right",
            annotation_font_color=BASELINE_COLOUR,
        )
    sizes = sorted({_examples(r) or 0 for r in tuned})
    layout(fig, height=420, x_title="training examples", y_title=scale.title())
    scale.axis(fig, "y", margin=True)
    fig.update_xaxes(tickvals=sizes, type="log" if spans(sizes, 4) else "linear")
    return fig


def cost_figure(results: dict[str, Any]) -> go.Figure | None:
    """Score against what 1,000 requests cost: dollars when the decision priced every rung,
    otherwise the measured compute seconds (1 / examples per second)."""
    measured = _measured(rungs(results))
    costs = rung_costs(results)
    dollars = {r["rung"]: finite(costs.get(r["rung"], {}).get("usd_per_1k_requests")) for r in measured}
    if measured and all(value is not None for value in dollars.values()):
        per_1k, title, hover = dollars, "USD per 1,000 requests", "$%{x:.4g}"
    else:
        per_1k = {r["rung"]: _seconds_per_1k(r, costs.get(r["rung"], {})) for r in measured}
        title, hover = "compute seconds per 1,000 requests", "%{x:.3g} s"
    placed = [r for r in measured if per_1k[r["rung"]] is not None]
    if not placed:
        return None
    scale = ScoreScale(primary_metric(results))
    efficient = pareto_frontier(
        {r["rung"]: (per_1k[r["rung"]] or 0.0, metric(r, "score") or 0.0) for r in placed}
    )
    fig = go.Figure()
    for kind, group in _by_kind(placed):
        names = _names(group)
        fig.add_trace(
            go.Scatter(
                x=[per_1k[r["rung"]] for r in group],
                y=scale.scores(group),
                error_y=scale.ci_bars(group),
                customdata=[[ci, name] for (ci,), name in zip(scale.ci_data(group), names, strict=True)],
                text=[name if r["rung"] in efficient else "" for r, name in zip(group, names, strict=True)],
                mode="markers+text",
                textposition="middle right",
                textfont_size=11,
                marker={"color": _colour(kind), "size": 11},
                name=kind,
                hovertemplate=f"%{{customdata[1]}}: %{{y:{scale.hover}}} (95% CI %{{customdata[0]}})"
                f" for {hover} per 1,000 requests<extra>{kind}</extra>",
            )
        )
    values = [per_1k[r["rung"]] or 0.0 for r in placed]
    layout(fig, height=440, x_title=title, y_title=scale.title())
    scale.axis(fig, "y", margin=True)
    fig.update_xaxes(type="log" if spans(values, 20) else "linear", rangemode="tozero")
    return fig


def latency_figure(results: dict[str, Any]) -> go.Figure | None:
    """Median and 95th-percentile latency per example, per rung."""
    measured = [r for r in rungs(results) if metric(r, "latency_p50_s") is not None]
    if not measured:
        return None
    fig = go.Figure()
    for name, field, colour in (("p50", "latency_p50_s", "#9ecae9"), ("p95", "latency_p95_s", "#3182bd")):
        fig.add_trace(
            go.Bar(
                orientation="h",
                y=_names(measured),
                x=[metric(r, field) for r in measured],
                name=name,
                marker_color=colour,
                hovertemplate=f"%{{y}}: %{{x:.3g}} s<extra>{name}</extra>",
            )
        )
    layout(fig, height=_bar_height(len(measured), 1.4), x_title="seconds per example")
    fig.update_layout(barmode="group")
    _rung_axis(fig, _names(measured))
    return fig


def robustness_figure(results: dict[str, Any]) -> go.Figure | None:
    """Prompt-injection success (lower is better) and input-edit stability (higher is better)
    per rung, prompting and tuned rungs on the same attacked and edited inputs."""
    measured = [r for r in rungs(results) if metric(r, "injection_n")]
    if not measured:
        return None
    fig = go.Figure()
    for name, field, colour in (
        ("attack success", "injection_success", "#de2d26"),
        ("stable under input edits", "input_stability", "#31a354"),
    ):
        fig.add_trace(
            go.Bar(
                orientation="h",
                y=_names(measured),
                x=[100 * (metric(r, field) or 0.0) for r in measured],
                name=name,
                marker_color=colour,
                hovertemplate=f"%{{y}}: %{{x:.1f}}% {name}<extra></extra>",
            )
        )
    layout(fig, height=_bar_height(len(measured), 1.4), x_title="% of probed examples")
    fig.update_layout(barmode="group")
    _rung_axis(fig, _names(measured))
    return fig


def tokens_figure(results: dict[str, Any]) -> go.Figure | None:
    """Prompt and output tokens per request, per rung: what a hosted model would bill."""
    measured = [r for r in rungs(results) if metric(r, "prompt_tokens_mean") is not None]
    if not measured:
        return None
    fig = go.Figure()
    for name, field, colour in (
        ("prompt", "prompt_tokens_mean", "#6baed6"),
        ("output", "output_tokens_mean", "#fd8d3c"),
    ):
        fig.add_trace(
            go.Bar(
                orientation="h",
                y=_names(measured),
                x=[metric(r, field) or 0.0 for r in measured],
                name=name,
                marker_color=colour,
                hovertemplate=f"%{{y}}: %{{x:.1f}} {name} tokens<extra></extra>",
            )
        )
    layout(fig, height=_bar_height(len(measured), 1.4), x_title="tokens per request (mean)")
    fig.update_layout(barmode="stack", legend_traceorder="normal")
    _rung_axis(fig, _names(measured))
    return fig


def break_even_figure(results: dict[str, Any]) -> go.Figure | None:
    """Total cost of prompting vs fine-tuning (training included) as requests accumulate,
    with the break-even point marked."""
    break_even = decision(results).get("break_even") or {}
    curve = [row for row in break_even.get("curve") or [] if len(row) == 3 and None not in row]
    if len(curve) < 2:
        return None
    requests, prompt_usd, tuned_usd = (list(column) for column in zip(*curve, strict=True))
    fig = go.Figure()
    for label, rung, values, colour in (
        ("prompting", break_even.get("vs"), prompt_usd, KIND_COLOURS["prompt"]),
        ("fine-tuned", break_even.get("rung"), tuned_usd, KIND_COLOURS["tuned"]),
    ):
        name = f"{label}: {html.escape(str(rung), quote=False)}" if rung else label
        fig.add_trace(
            go.Scatter(
                x=requests,
                y=values,
                mode="lines",
                name=name,
                line={"color": colour, "width": 3},
                hovertemplate="%{x:,} requests: $%{y:,.2f}<extra>" + name + "</extra>",
            )
        )
    point = finite(break_even.get("requests"))
    if point is not None:
        fig.add_trace(
            go.Scatter(
                x=[point],
                y=[float(np.interp(point, requests, prompt_usd))],
                mode="markers+text",
                text=[f"break-even: {num(point)} requests"],
                textposition="top left" if point > requests[len(requests) // 2] else "top right",
                name="break-even",
                marker={"symbol": "star", "size": 16, "color": "#222"},
                hovertemplate="break-even: %{x:,.0f} requests, $%{y:,.2f}<extra></extra>",
            )
        )
    layout(fig, height=420, x_title="requests served", y_title="total cost (USD)")
    fig.update_yaxes(tickprefix="$", rangemode="tozero")
    fig.update_xaxes(type="log" if spans(requests, 20) else "linear")
    return fig


def comparison_figure(
    pairs: Sequence[tuple[str, dict[str, Any], dict[str, Any]]], labels: tuple[str, str], scored_by: Metric
) -> go.Figure | None:
    """Score (in `scored_by`, the runs' primary metric) with CI of the rungs two runs share, the
    runs' bars side by side.

    `pairs` holds (rung name, rung of run A, rung of run B)."""
    if not pairs:
        return None
    scale = ScoreScale(scored_by)
    fig = go.Figure()
    names = _names([{"rung": name} for name, _, _ in pairs])
    for side, (label, colour) in enumerate(zip(labels, ("#4c78a8", "#e45756"), strict=True)):
        sides = [pair[side + 1] for pair in pairs]
        fig.add_trace(
            go.Bar(
                orientation="h",
                y=names,
                x=scale.scores(sides),
                error_x=scale.ci_bars(sides),
                customdata=scale.ci_data(sides),
                name=html.escape(label, quote=False),
                marker_color=colour,
                hovertemplate=f"%{{y}}: %{{x:{scale.hover}}} (95% CI %{{customdata[0]}})<extra>"
                + html.escape(label, quote=False)
                + "</extra>",
            )
        )
    layout(fig, height=_bar_height(len(pairs), 1.6), x_title=scale.title(" on the test split"))
    fig.update_layout(barmode="group")
    scale.axis(fig, "x", margin=False)
    _rung_axis(fig, names)
    return fig


def _measured(candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in candidates if metric(r, "score") is not None]


def reference_line(fig: go.Figure, reference: dict[str, Any], scale: ScoreScale, label: str) -> None:
    """A prompted configuration a curve is measured against (the best prompt rung, a teacher):
    its score as a dotted line labelled `label` (already HTML-escaped) and its 95% interval as a
    band behind the curve."""
    low, high = finite(reference.get("score_low")), finite(reference.get("score_high"))
    if low is not None and high is not None:
        fig.add_hrect(
            y0=scale.value(low),
            y1=scale.value(high),
            fillcolor=KIND_COLOURS["prompt"],
            opacity=0.15,
            line_width=0,
            layer="below",
        )
    fig.add_hline(
        y=scale.value(reference["score"]),
        line_dash="dot",
        line_color=KIND_COLOURS["prompt"],
        annotation_text=f"{label} {scale.metric.text(reference['score'])}",
        annotation_position="top left",
        annotation_font_color=KIND_COLOURS["prompt"],
    )


def _baseline_text(floor: Baseline, scale: ScoreScale) -> str:
    """``majority baseline 57.8%``, ``baseline (copying the input) chrF 12.3``."""
    return f"{html.escape(floor.name, quote=False)} {scale.metric.text(floor.score)}"


def _by_kind(group: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The rungs split by kind, kinds in ladder order (unknown kinds last): one trace each."""
    kinds = sorted({rung_kind(r) for r in group}, key=lambda k: (KINDS.index(k) if k in KINDS else 99, k))
    return [(kind, [r for r in group if rung_kind(r) == kind]) for kind in kinds]


def _colour(kind: str) -> str:
    return KIND_COLOURS.get(kind, OTHER_COLOUR)


def _names(group: Sequence[dict[str, Any]]) -> list[str]:
    return [html.escape(str(r["rung"]), quote=False) for r in group]


def _examples(rung: dict[str, Any]) -> float | None:
    return finite((rung.get("training") or {}).get("examples"))


def _curve_name(rung: str) -> str:
    """One learning curve per training recipe: ``lora-100`` and ``lora-200`` are both ``lora``."""
    return re.sub(r"-\d+(?=$|\W)", "", rung, count=1)


def _seconds_per_1k(rung: dict[str, Any], cost: dict[str, Any]) -> float | None:
    per_request = finite(cost.get("seconds_per_request"))
    if per_request is None:
        throughput = metric(rung, "examples_per_s")
        per_request = 1.0 / throughput if throughput else None
    return None if per_request is None else per_request * 1000.0


def spans(values: Sequence[float], ratio: float) -> bool:
    """Whether positive `values` span at least `ratio`, so a log axis reads better."""
    return bool(values) and min(values) > 0 and max(values) / min(values) >= ratio


def _bar_height(rows: int, per_row: float = 1.0) -> int:
    return int(150 + ROW_HEIGHT * per_row * rows)


def layout(fig: go.Figure, *, height: int, x_title: str, y_title: str | None = None) -> None:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 30, "t": 40, "b": 50},
        font={"family": FONT, "size": 13, "color": "#1f2933"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        hoverlabel={"font_family": FONT},
        xaxis_title=x_title,
        yaxis_title=y_title,
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)


def _rung_axis(fig: go.Figure, names: list[str]) -> None:
    """Rungs top to bottom in ladder order."""
    fig.update_yaxes(categoryorder="array", categoryarray=names, autorange="reversed")
