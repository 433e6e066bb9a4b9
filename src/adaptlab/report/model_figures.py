"""The charts of a run across models, each a function from the parent run's ``results.json``
to a Plotly figure (None when it lacks the data, and the report leaves the section out).

They read only the parent's ``decision.configurations`` (one flat dict per model × rung,
`adaptlab.decide.model_choice`), so the report never has to open the model runs' folders.
Model specs and rung names go into Plotly's pseudo-HTML escaped, as in `figures`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from adaptlab.report.figures import KIND_COLOURS, ScoreScale, layout, reference_line, spans
from adaptlab.report.formatting import finite
from adaptlab.report.summary import decision, primary_metric

MODEL_COLOURS = ("#4c78a8", "#e45756", "#54a24b", "#b279a2", "#f58518", "#72b7b2", "#9d755d", "#eeca3b")
"""One colour per model, in the order the models were given (repeats past eight)."""
KIND_SYMBOLS = {"prompt": "circle", "tuned": "square", "hybrid": "diamond", "distilled": "triangle-up"}
"""The marker of a configuration's kind, so a model's colour and a rung's kind read at once."""
FRONTIER_TRACE = "Pareto frontier"
GOLD_CURVE = re.compile(r"^(?:lora|full)-\d+$")
"""A student's own gold-trained learning curve (``lora-64``), asked with its training prompt."""


def configurations(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The decision's configurations that have a test score."""
    listed = decision(payload).get("configurations") or []
    return [c for c in listed if finite(c.get("score")) is not None]


def priced(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in configurations(payload) if finite(c.get("usd_per_1k_requests")) is not None]


def frontier_figure(payload: dict[str, Any]) -> go.Figure | None:
    """Test score against price per 1,000 requests for every priced configuration, one colour per
    model and one marker per kind; the Pareto frontier as a step line, the target as a
    horizontal line and the chosen configuration ringed. Unpriced configurations have no x and
    are not plotted (the report lists them under the chart)."""
    placed = priced(payload)
    if not placed:
        return None
    scale = ScoreScale(primary_metric(payload))
    fig = go.Figure()
    for index, (spec, group) in enumerate(by_model(placed)):
        points = [as_rung(c) for c in group]
        fig.add_trace(
            go.Scatter(
                x=[c["usd_per_1k_requests"] for c in group],
                y=scale.scores(points),
                error_y=scale.ci_bars(points),
                customdata=[
                    [ci, _escaped(c["rung"]), c.get("kind") or ""]
                    for (ci,), c in zip(scale.ci_data(points), group, strict=True)
                ],
                mode="markers",
                marker={
                    "color": MODEL_COLOURS[index % len(MODEL_COLOURS)],
                    "size": 11,
                    "symbol": [KIND_SYMBOLS.get(str(c.get("kind")), "x") for c in group],
                },
                name=_escaped(spec),
                hovertemplate=f"%{{customdata[1]}} (%{{customdata[2]}}): %{{y:{scale.hover}}}"
                " (95% CI %{customdata[0]}) for $%{x:.4g} per 1,000 requests<extra>%{fullData.name}</extra>",
            )
        )
    frontier = sorted((c for c in placed if c.get("on_frontier")), key=lambda c: c["usd_per_1k_requests"])
    if frontier:
        fig.add_trace(
            go.Scatter(
                x=[c["usd_per_1k_requests"] for c in frontier],
                y=scale.scores([as_rung(c) for c in frontier]),
                mode="lines+text",
                line={"shape": "hv", "color": "#333", "width": 1.5, "dash": "dot"},
                text=[_escaped(f"{c['spec']} {c['rung']}") for c in frontier],
                textposition="top center",
                textfont_size=11,
                cliponaxis=False,
                name=FRONTIER_TRACE,
                hoverinfo="skip",
            )
        )
    _target_line(fig, payload, scale)
    chosen = _chosen(payload, placed)
    if chosen is not None:
        fig.add_trace(
            go.Scatter(
                x=[chosen["usd_per_1k_requests"]],
                y=scale.scores([as_rung(chosen)]),
                mode="markers",
                marker={"symbol": "circle-open", "size": 24, "color": "#222", "line": {"width": 2.5}},
                name=f"chosen: {_escaped(chosen['spec'] + ' ' + chosen['rung'])}",
                hoverinfo="skip",
            )
        )
    values = [c["usd_per_1k_requests"] for c in placed]
    layout(fig, height=480, x_title="USD per 1,000 requests", y_title=scale.title(" on the test split"))
    scale.axis(fig, "y", margin=True)
    fig.update_xaxes(type="log" if spans(values, 20) else "linear", tickprefix="$")
    return fig


def student_figure(payload: dict[str, Any]) -> go.Figure | None:
    """A student's score against its training examples: trained on gold labels (``lora-N``)
    and on the teacher's answers (``teacher-lora-N``), with the teacher configuration's own
    score as a horizontal line and band: how close the student gets, and whether the teacher's
    answers stand in for labels."""
    teacher = payload.get("teacher") or {}
    spec, rung = teacher.get("spec"), teacher.get("rung")
    configs = configurations(payload)
    taught = [
        c
        for c in configs
        if (c.get("teacher") or {}) == {"model": spec, "rung": rung} and finite(c.get("training_examples"))
    ]
    if not spec or not rung or not taught:
        return None
    scale = ScoreScale(primary_metric(payload))
    fig = go.Figure()
    students = list(dict.fromkeys(str(c["spec"]) for c in taught))
    sizes: set[float] = set()
    for student in students:
        gold = [
            c
            for c in configs
            if c["spec"] == student
            and c.get("kind") == "tuned"
            and GOLD_CURVE.match(str(c["rung"]))
            and finite(c.get("training_examples"))
        ]
        for label, curve, colour in (
            ("gold labels", gold, KIND_COLOURS["tuned"]),
            (
                f"{spec} {rung}'s answers",
                [c for c in taught if c["spec"] == student],
                KIND_COLOURS["distilled"],
            ),
        ):
            if not curve:
                continue
            curve = sorted(curve, key=lambda c: c["training_examples"])
            sizes.update(c["training_examples"] for c in curve)
            points = [as_rung(c) for c in curve]
            fig.add_trace(
                go.Scatter(
                    x=[c["training_examples"] for c in curve],
                    y=scale.scores(points),
                    error_y=scale.ci_bars(points),
                    customdata=scale.ci_data(points),
                    text=[_escaped(c["rung"]) for c in curve],
                    mode="lines+markers",
                    name=_escaped(f"{student} trained on {label}"),
                    line_color=colour if len(students) == 1 else None,
                    hovertemplate=f"%{{text}}: %{{y:{scale.hover}}} (95% CI %{{customdata[0]}})"
                    " after %{x} examples<extra></extra>",
                )
            )
    own = next((c for c in configs if c["spec"] == spec and c["rung"] == rung), None)
    if own is not None:
        reference_line(fig, own, scale, _escaped(f"teacher: {own['spec']} {own['rung']}"))
    layout(fig, height=420, x_title="training examples", y_title=scale.title(" on the test split"))
    scale.axis(fig, "y", margin=True)
    fig.update_xaxes(tickvals=sorted(sizes), type="log" if spans(sorted(sizes), 4) else "linear")
    return fig


def by_model(configs: Sequence[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The configurations grouped by model, models in the order they were given."""
    specs = list(dict.fromkeys(str(c["spec"]) for c in configs))
    return [(spec, [c for c in configs if c["spec"] == spec]) for spec in specs]


def as_rung(config: dict[str, Any]) -> dict[str, Any]:
    """A configuration in the shape `ScoreScale` reads (a rung dict's ``metrics``)."""
    keys = ("score", "score_low", "score_high")
    return {"rung": config["rung"], "metrics": {key: config.get(key) for key in keys}}


def _target_line(fig: go.Figure, payload: dict[str, Any], scale: ScoreScale) -> None:
    target = decision(payload).get("target") or {}
    score = finite(target.get("score"))
    if score is None:
        return
    fig.add_hline(
        y=scale.value(score),
        line_dash="dash",
        line_color="#7f7f7f",
        annotation_text=f"target {scale.metric.text(score)} (judged on {target.get('split') or 'test'})",
        annotation_position="bottom right",
        annotation_font_color="#7f7f7f",
    )


def _chosen(payload: dict[str, Any], placed: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    chosen = decision(payload).get("chosen") or {}
    return next(
        (c for c in placed if c["spec"] == chosen.get("spec") and c["rung"] == chosen.get("rung")), None
    )


def _escaped(text: str) -> str:
    return html.escape(str(text), quote=False)
