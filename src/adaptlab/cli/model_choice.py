"""The end-of-run printout of ``adaptlab run`` across models: every model × rung configuration
in one table fitted to the terminal, the choice with its reasons, and where the reports are.

It reads the parent run's ``results.json`` (its ``decision`` block, `ModelChoice.to_dict`), so
what the console shows is exactly what the file and the report hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from adaptlab.cli.tables import (
    IN_RUN_FILES,
    MISSING,
    Column,
    print_decision,
    print_fitted_table,
    score_with_interval,
    selection_cell,
)
from adaptlab.decide.wording import ACCURACY
from adaptlab.report.formatting import finite, usd

MARKS = "*: chosen, +: on the cost-score frontier"


def configuration_columns(metric_display: str, *, dev: bool, total: int | None) -> list[Column]:
    """The table's columns. What the choice rests on stays at any width (the configuration,
    its score, its price, or the total at the expected volume when that is what was compared);
    the kind, p50 latency, tokens, dev score, one-off cost (and beside a total, the price) give
    way, in that order. Model and rung share the first column, which names a row wherever rows
    are stacked as blocks."""
    return [
        Column("model and rung", "left", legend=MARKS),
        Column("kind", "left", hide_order=1),
        Column(f"{metric_display} (95% CI)"),
        *([Column("dev", hide_order=4, legend="dev: the score the choice was judged on")] if dev else []),
        Column("$/1k", hide_order=6 if total else 0, legend="$/1k: dollars per 1,000 requests"),
        Column("one-off", hide_order=5, legend="one-off: $ for training and its labels"),
        *([Column("total", legend=f"total: one-off + {total:,} requests, $")] if total else []),
        Column("tok", hide_order=3, legend="tok: prompt + output tokens per request"),
        Column("p50 s", hide_order=2, legend="p50 s: median latency per example, seconds"),
    ]


def configuration_rows(decision: dict[str, Any], *, dev: bool, total: int | None) -> list[list[str]]:
    chosen = decision.get("chosen") or {}
    rows = []
    for c in decision.get("configurations") or []:
        metric = str(c.get("metric") or ACCURACY)
        marks = ("*" if (c["spec"], c["rung"]) == (chosen.get("spec"), chosen.get("rung")) else "") + (
            "+" if c.get("on_frontier") else ""
        )
        tokens, p50 = finite(c.get("tokens_per_request")), finite(c.get("latency_p50_s"))
        rows.append(
            [
                f"{c['spec']} {c['rung']} {marks}".rstrip(),
                str(c.get("kind") or MISSING),
                score_with_interval(c["score"], c["score_low"], c["score_high"], metric),
                *([selection_cell({"score": c.get("selection_score")}, metric)] if dev else []),
                _usd(c.get("usd_per_1k_requests"), "unpriced"),
                _usd(c.get("upfront_usd"), "unknown"),
                *([_usd(c.get("total_usd"), "unknown")] if total else []),
                MISSING if tokens is None else f"{tokens:.0f}",
                MISSING if p50 is None else f"{p50:.2f}",
            ]
        )
    return rows


def print_configuration_table(console: Console, payload: dict[str, Any], *, wide: bool = False) -> None:
    """One row per model × rung: the test score with its interval, the dev score it was judged
    on, the price per 1,000 requests, the one-off cost, tokens and latency."""
    decision = payload.get("decision") or {}
    configs = decision.get("configurations") or []
    dev = any(c.get("selection_score") is not None for c in configs)
    total = decision.get("expected_requests")
    display = str(((payload.get("task") or {}).get("metric") or {}).get("display") or ACCURACY)
    task = (payload.get("task") or {}).get("name") or "task"
    title = f"{task} · {len(payload.get('models') or [])} models · run {payload.get('run_id')}"
    columns = configuration_columns(display, dev=dev, total=total)
    rows = configuration_rows(decision, dev=dev, total=total)
    print_fitted_table(console, title, columns, rows, wide=wide, more=IN_RUN_FILES)


def print_models_outcome(
    console: Console, payload: dict[str, Any], directory: Path, *, wide: bool = False
) -> None:
    """After a run across models: the configuration table, the choice and its reasons, and where
    the parent's files and each model run's report are."""
    print_configuration_table(console, payload, wide=wide)
    decision = payload.get("decision") or {}
    if decision.get("headline"):
        print_decision(console, decision)
    # paths unwrapped, whole on their line, to be copied
    console.print(f"results: {directory / 'results.json'}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"report: {directory / 'report.html'}", highlight=False, markup=False, soft_wrap=True)
    for model in payload.get("models") or []:
        run = Path(model.get("directory") or directory.parent / str(model.get("run_id")))
        line = f"  {model.get('spec')}: {run / 'report.html'}"
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def _usd(value: Any, missing: str) -> str:
    return missing if finite(value) is None else usd(value)
