"""Render results to one self-contained HTML file: Jinja2 templates, Plotly figures, inline JS.

The file opens offline and from anywhere (mail attachment, CI artefact): plotly.js, the CSS
and the figures' JSON are all inside it, and it loads nothing from the network. Every piece of
user text (inputs, rung names, config values) goes through Jinja's autoescaping.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import plotly.graph_objects as go
import plotly.offline
import yaml
from markupsafe import Markup
from plotly.io.json import to_json_plotly

import adaptlab
from adaptlab.files import atomic_write_text
from adaptlab.report import figures, model_figures
from adaptlab.report.comparison import compare
from adaptlab.report.examples import drilldown
from adaptlab.report.formatting import FILTERS
from adaptlab.report.summary import (
    Metric,
    all_metrics,
    baseline,
    best_of,
    best_prompt,
    decision,
    has_predictions,
    primary_metric,
    rung_kind,
    rungs,
)

REPORT_FIGURES: dict[str, Callable[[dict[str, Any]], go.Figure | None]] = {
    "scores": figures.score_figure,
    "learning-curve": figures.learning_curve_figure,
    "cost": figures.cost_figure,
    "latency": figures.latency_figure,
    "tokens": figures.tokens_figure,
    "break-even": figures.break_even_figure,
    "robustness": figures.robustness_figure,
}

SECTION_TITLES = {
    "recommendation": "Recommendation",
    "scores": "{scores}",
    "learning-curve": "Learning curve",
    "cost": "{metric} vs cost",
    "latency": "Latency and tokens",
    "break-even": "Break-even",
    "factors": "Decision framework",
    "knowledge": "Knowledge: closed vs open book",
    "plateau": "Plateau and data",
    "robustness": "Robustness",
    "metrics": "All metrics",
    "examples": "Examples",
    "skipped": "Skipped and budget",
    "run": "Run",
    "runs": "Runs",
    "side-by-side": "{metric} side by side",
    "unmatched": "Unmatched rungs",
    "choice": "Choice",
    "configurations": "Configurations",
    "frontier": "{metric} vs cost",
    "student": "Student and teacher",
    "models": "Model runs",
}
"""Section titles; ``{metric}`` is the primary metric's heading (``Accuracy``, ``chrF``)."""


def write_report(results: dict[str, Any], path: Path) -> Path:
    """Write the report of one run (a parsed ``results.json``) to `path`, atomically.

    >>> write_report(json.loads(Path("runs/<run-id>/results.json").read_text()), Path("report.html"))
    """
    atomic_write_text(path, render_report(results))
    return path


def write_comparison(a: dict[str, Any], b: dict[str, Any], path: Path) -> Path:
    """Write a report comparing two runs (two models, or before/after a change) to `path`:
    the rungs both measured side by side, matched by name, with the difference in score."""
    atomic_write_text(path, render_comparison(a, b))
    return path


def write_models_report(payload: dict[str, Any], path: Path) -> Path:
    """Write the report of a run across models (the parent run's parsed ``results.json``) to
    `path`, atomically: the choice, every model × rung configuration, the score-vs-cost chart
    with its frontier, the student's curves when a teacher labelled, and links to each model
    run's own report (a sibling folder of `path`'s).

    >>> write_models_report(json.loads(Path("runs/<run-id>/results.json").read_text()),
    ...                     Path("runs/<run-id>/report.html"))
    """
    atomic_write_text(path, render_models_report(payload))
    return path


def render_report(results: dict[str, Any]) -> str:
    plots = {name: build(results) for name, build in REPORT_FIGURES.items()}
    plots = {name: fig for name, fig in plots.items() if fig is not None}
    made = decision(results)
    metric = primary_metric(results)
    examples = drilldown(results)
    present = {
        "recommendation": bool(made.get("headline") or rungs(results)),
        "scores": "scores" in plots,
        "learning-curve": "learning-curve" in plots,
        "cost": "cost" in plots,
        "latency": "latency" in plots or "tokens" in plots,
        "break-even": bool(made.get("break_even")),
        "factors": bool(made.get("factors")),
        "knowledge": bool(made.get("knowledge")),
        "plateau": any(made.get(key) for key in ("plateau", "tuning_gain", "data_needed")),
        "robustness": "robustness" in plots,
        "metrics": bool(rungs(results)),
        "examples": has_predictions(results),
        "skipped": bool(results.get("skipped") or results.get("budget")),
        "run": True,
    }
    return _render(
        "report.html.j2",
        plots,
        [name for name, shown in present.items() if shown],
        metric,
        results=results,
        metrics=all_metrics(results),
        baseline=baseline(results),
        decision=made,
        rungs=[{**rung, "kind": rung_kind(rung)} for rung in rungs(results)],
        best_prompt=best_prompt(results),
        best_tuned=made.get("best_tuned") or best_of(results, "tuned"),
        best_rung=best_of(results),
        drilldown=examples,
        config_yaml=_yaml(results.get("config")),
        budget=_budget(results.get("budget")),
        knowledge_styles=examples.retrieves or present["knowledge"],
    )


def render_comparison(a: dict[str, Any], b: dict[str, Any]) -> str:
    comparison = compare(a, b)
    labels = (f"A: {_run_label(a)}", f"B: {_run_label(b)}")
    figure = figures.comparison_figure(
        [(p.rung, p.a, p.b) for p in comparison.pairs], labels, comparison.metric
    )
    plots = {"side-by-side": figure} if figure is not None else {}
    present = {
        "runs": True,
        "side-by-side": bool(comparison.pairs),
        "unmatched": bool(comparison.only_a or comparison.only_b),
    }
    return _render(
        "comparison.html.j2",
        plots,
        [name for name, shown in present.items() if shown],
        comparison.metric,
        runs=[
            {
                "label": label,
                "results": run,
                "decision": decision(run),
                "best_rung": best_of(run),
                "metric": primary_metric(run),
            }
            for label, run in zip(("A", "B"), (a, b), strict=True)
        ],
        labels=labels,
        comparison=comparison,
    )


def render_models_report(payload: dict[str, Any]) -> str:
    builders = {"frontier": model_figures.frontier_figure, "student": model_figures.student_figure}
    plots = {name: build(payload) for name, build in builders.items()}
    plots = {name: fig for name, fig in plots.items() if fig is not None}
    made = decision(payload)
    rows = model_figures.configurations(payload)
    unpriced = [c for c in rows if c not in model_figures.priced(payload)]
    present = {
        "choice": True,
        "configurations": bool(rows),
        "frontier": "frontier" in plots or bool(unpriced),
        "student": "student" in plots,
        "models": bool(payload.get("models")),
    }
    return _render(
        "models.html.j2",
        plots,
        [name for name, shown in present.items() if shown],
        primary_metric(payload),
        results=payload,
        decision=made,
        configurations=rows,
        unpriced=unpriced,
        models=[{**model, "href": _sibling_report(model)} for model in payload.get("models") or []],
        best_of_model={
            spec: max(group, key=lambda c: c["score"]) for spec, group in model_figures.by_model(rows)
        },
    )


def _sibling_report(model: dict[str, Any]) -> str | None:
    """The link from a parent run's report to a model run's: its folder is a sibling."""
    run_id = model.get("run_id")
    return f"../{quote(str(run_id))}/report.html" if run_id else None


def _render(
    template: str, plots: dict[str, go.Figure], sections: list[str], metric: Metric, **context: Any
) -> str:
    """Render `template` with `sections` in order, titled for the primary `metric`."""
    words = {"metric": metric.heading, "scores": metric.heading if metric.is_accuracy else "Scores"}
    return (
        _environment()
        .get_template(template)
        .render(
            sections=[(name, SECTION_TITLES[name].format(**words)) for name in sections],
            metric=metric,
            plots=plots,
            figure_json=_script_json({f"fig-{name}": fig.to_plotly_json() for name, fig in plots.items()}),
            plotly_js=_plotly_js() if plots else "",
            report_version=adaptlab.__version__,
            **context,
        )
    )


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("adaptlab.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(FILTERS)
    return environment


@functools.cache
def _plotly_js() -> Markup:
    """plotly.js, minified, as shipped with the plotly package (several MB, read once)."""
    return Markup(plotly.offline.get_plotlyjs())


def _script_json(payload: Any) -> Markup:
    """JSON that is safe inside a ``<script>`` element: no ``</script>`` or ``<!--`` can occur."""
    text = to_json_plotly(payload)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True) if value else ""


def _budget(budget: Any) -> dict[str, Any] | None:
    """The budget as a table: limits and spending side by side when it is grouped that way
    (``{"limits": {"minutes": …}, "spent": {"minutes": …}}``), else its keys and values."""
    if not budget or not isinstance(budget, dict):
        return None
    if not all(isinstance(part, dict) for part in budget.values()):
        return {"columns": None, "mapping": budget}
    keys = list(dict.fromkeys(key for part in budget.values() for key in part))
    return {
        "columns": list(budget),
        "rows": [(key, [part.get(key) for part in budget.values()]) for key in keys],
    }


def _run_label(results: dict[str, Any]) -> str:
    model = (results.get("model") or {}).get("model_id") or "model"
    return f"{model} · {results.get('run_id') or 'run'}"
