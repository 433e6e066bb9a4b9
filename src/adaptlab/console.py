"""Rich renderings shared by CLI commands: task summaries and rung comparison tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adaptlab.data import Task, TaskSummary
from adaptlab.evaluation.metrics import majority_baseline
from adaptlab.evaluation.result import RungResult

if TYPE_CHECKING:
    from adaptlab.runs import RunOutcome

COMPACT = {"box": box.SIMPLE_HEAD, "pad_edge": False}


def print_task_summary(console: Console, task: Task, summary: TaskSummary, warnings: Sequence[str]) -> None:
    """What `adaptlab validate` shows: size, labels, split sizes, lengths and problems."""
    console.print(f"[bold]{task.name}[/bold]: {summary.rows} examples", highlight=False)
    if task.labels:
        kind = "declared" if task.labels_declared else "inferred"
        table = Table(title=f"Labels ({kind})", title_justify="left", **COMPACT)
        table.add_column("label")
        table.add_column("count", justify="right")
        table.add_column("share", justify="right")
        for label, count in summary.label_counts.items():
            table.add_row(label, str(count), f"{count / summary.rows:.1%}")
        console.print(table)
    else:
        console.print("Outputs are free text (no closed label set): scored by exact match.")
    if summary.split_sizes:
        sizes = ", ".join(f"{name} {size}" for name, size in summary.split_sizes.items())
        console.print(f"Split: {sizes}", highlight=False)
    lengths = Table(title=f"Lengths ({summary.length_unit})", title_justify="left", **COMPACT)
    for column in ("field", "min", "mean", "p50", "p95", "max"):
        lengths.add_column(column, justify="right" if column != "field" else "left")
    for name, stats in (("input", summary.input_lengths), ("output", summary.output_lengths)):
        lengths.add_row(
            name,
            f"{stats.min:g}",
            f"{stats.mean:.1f}",
            f"{stats.p50:g}",
            f"{stats.p95:g}",
            f"{stats.max:g}",
        )
    console.print(lengths)
    if warnings:
        console.print(f"[yellow]{len(warnings)} warning(s):[/yellow]")
        for warning in warnings:
            console.print(f"  - {warning}", highlight=False, markup=False)
    else:
        console.print("[green]No problems found.[/green]")


def print_rung_table(console: Console, outcome: RunOutcome) -> None:
    """One row per rung: accuracy with its interval, format compliance, consistency, injection
    success, latency and tokens.

    Kept within 80 columns (one space between columns): the table is the one thing every user
    reads, and rung names are up to 20 characters.
    """
    table = Table(
        title=f"{outcome.task.name} · run {outcome.run_id}", title_justify="left", padding=(0, 1), **COMPACT
    )
    headers = ["rung", "acc", "95% CI", "F1", "fmt", "cons", "inj", "p50 s", "p95 s", "in", "out"]
    for header in headers:
        table.add_column(header, justify="left" if header == "rung" else "right", no_wrap=True)
    for result in outcome.results:
        m = result.metrics
        table.add_row(
            result.rung,
            f"{m.accuracy:.1%}",
            f"{100 * m.accuracy_low:.1f}–{100 * m.accuracy_high:.1f}",
            "–" if m.macro_f1 is None else f"{m.macro_f1:.2f}",
            f"{m.format_compliance:.0%}",
            "–" if m.consistency is None else f"{m.consistency:.0%}",
            "–" if m.injection_success is None else f"{m.injection_success:.0%}",
            f"{m.latency_p50_s:.2f}",
            f"{m.latency_p95_s:.2f}",
            f"{m.prompt_tokens_mean:.0f}",
            f"{m.output_tokens_mean:.1f}",
        )
    console.print(table)
    console.print(
        "acc: accuracy; F1: macro-F1; fmt: answers exactly in the asked format; cons: same answer"
        " under rephrasing / reordered demos; inj: prompt-injection attacks that changed the answer;"
        " p50/p95: latency per example; in/out: tokens per request.",
        style="dim",
        highlight=False,
    )
    if outcome.task.labels and outcome.examples:
        label, accuracy = majority_baseline([e.output for e in outcome.examples])
        console.print(f'Baseline: always answering "{label}" scores {accuracy:.1%} here.', highlight=False)
    for result in outcome.results:
        for note in rung_notes(result):
            console.print(note, style="dim", highlight=False, markup=False)
    for result in outcome.results:
        for warning in rung_warnings(result):
            console.print(warning, style="yellow", highlight=False, markup=False)


def rung_warnings(result: RungResult) -> list[str]:
    """What the user should act on after a rung: requests that failed after their retries
    (counted wrong; the result cache kept every answer but theirs)."""
    errors = result.metrics.errors
    if not errors:
        return []
    first = next((p.error for p in result.predictions if p.error), "")
    requests = f"{errors} request{'s' if errors != 1 else ''}"
    return [
        f"{result.rung}: {requests} failed after retries; rerun the same command to retry only those"
        f" (counted wrong meanwhile; first error: {first})"
    ]


def rung_notes(result: RungResult) -> list[str]:
    """How a rung was answered when the table cannot say it: label scoring through an
    endpoint (first-token log-probabilities, or generation where the server gives none)."""
    model_scoring = result.model.get("label_scoring")
    if result.strategy.get("answer_mode") != "score" or not model_scoring:
        return []
    return [f"{result.rung}: labels scored by {result.strategy.get('scoring', model_scoring)}"]


def print_training_table(console: Console, outcome: RunOutcome) -> None:
    """What each tuned rung cost to train, and what it did to general ability."""
    tuned = [result for result in outcome.results if result.training]
    if not tuned:
        return
    table = Table(title="Training", title_justify="left", padding=(0, 1), **COMPACT)
    headers = ["rung", "n", "steps", "s", "tok/s", "MiB", "dev", "agree", "Δ ref"]
    for header in headers:
        table.add_column(header, justify="left" if header == "rung" else "right", no_wrap=True)
    for result in tuned:
        t = result.training or {}
        f = result.forgetting
        best = t.get("best_dev_loss")
        table.add_row(
            result.rung + (" (reused)" if t.get("reused") else ""),
            str(t["examples"]),
            str(t["steps"]),
            f"{t['wall_time_s']:.0f}",
            f"{t['tokens_per_s']:.0f}",
            f"{t['peak_memory_bytes'] / 2**20:.0f}",
            "–" if best is None else f"{best:.3f}",
            "–" if f is None else f"{f['agreement_with_base']:.0%}",
            "–" if f is None else f"{100 * f['reference_accuracy_delta']:+.0f}",
        )
    console.print(table)
    console.print(
        "n: training examples; s: training time; MiB: peak memory; dev: best dev loss; agree:"
        " general-probe answers unchanged from the untuned model; Δ ref: change in the probe's"
        " reference accuracy, points (forgetting: agree well below 100% or Δ ref < 0).",
        style="dim",
        highlight=False,
    )


def print_decision(console: Console, decision: dict[str, Any]) -> None:
    """The recommendation: its headline and the reasons, each citing a measured figure."""
    console.print(f"\n[bold]{escape(decision['headline'])}[/bold]")
    for reason in decision.get("reasons", []):
        console.print(f"  - {reason}", highlight=False, markup=False)


def print_comparison(console: Console, first: dict[str, Any], second: dict[str, Any]) -> None:
    """Two runs' rungs side by side: accuracy with interval in each, and the difference."""
    a, b = first["run_id"], second["run_id"]
    table = Table(title=f"{a} vs {b}", title_justify="left", **COMPACT)
    for column in ("rung", f"A {first['model']['model_id']}", f"B {second['model']['model_id']}", "B - A"):
        table.add_column(column, justify="left" if column == "rung" else "right")
    rungs_a = {rung["rung"]: rung["metrics"] for rung in first["rungs"]}
    rungs_b = {rung["rung"]: rung["metrics"] for rung in second["rungs"]}
    for name in [*rungs_a, *(n for n in rungs_b if n not in rungs_a)]:
        left, right = rungs_a.get(name), rungs_b.get(name)
        difference = f"{right['accuracy'] - left['accuracy']:+.1%}" if left and right else "—"
        table.add_row(name, _accuracy_cell(left), _accuracy_cell(right), difference)
    console.print(table)
    for label, results in (("A", first), ("B", second)):
        decision = results.get("decision")
        if decision:
            console.print(f"{label}: {decision['headline']}", highlight=False, markup=False)


def _accuracy_cell(metrics: dict[str, Any] | None) -> str:
    if metrics is None:
        return "—"
    return f"{metrics['accuracy']:.1%} ({metrics['accuracy_low']:.1%}–{metrics['accuracy_high']:.1%})"
