"""Rich renderings shared by CLI commands: task summaries and rung comparison tables.

Every table goes through `print_fitted_table`, which never cuts a figure or a header: on a
terminal too narrow for the whole table it hides the least decision-critical columns (and says
which), then stacks each row as a block; to a file, pipe or CI log it prints every column at the
table's natural width, whatever width the console assumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.measure import Measurement
from rich.segment import Segments
from rich.table import Table
from rich.text import Text

from adaptlab.data import Task, TaskSummary
from adaptlab.decide.wording import ACCURACY, score_text
from adaptlab.evaluation.result import RungResult

if TYPE_CHECKING:
    from adaptlab.runs import RunOutcome

IN_RUN_FILES = "--wide shows them, as do the run's results.json and report.html"
MISSING = "–"
"""A figure that was not measured (no labels for F1, no consistency probe, ...)."""


@dataclass(frozen=True)
class Column:
    """One column of a `print_fitted_table` table.

    `hide_order` 0 keeps the column at every width; columns numbered 1, 2, 3... are hidden in
    that order while the table is wider than the terminal. `legend` explains an abbreviated
    header, printed under the table only while the column is shown:
    ``Column("p95 s", hide_order=2, legend="p95 s: 95th-percentile latency, seconds")``.
    """

    header: str
    justify: JustifyMethod = "right"
    hide_order: int = 0
    legend: str = ""


def print_fitted_table(
    console: Console,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    wide: bool = False,
    more: str = "--wide shows them",
) -> None:
    """Print `rows` (cells already formatted) under `title` without cutting any cell or header.

    On a terminal, columns are hidden by `hide_order` until the table fits, and a line names
    them and says where to see them (`more`); if the never-hidden columns do not fit either,
    each row becomes a block: its first cell on a line, then ``header value`` pairs wrapped at
    spaces. With `wide`, or when the output is not a terminal (a file, a pipe, a CI log, read
    later in an editor), the whole table is printed at its natural width.
    """
    shown = list(range(len(columns)))
    full = not console.is_terminal or wide
    if not full:
        for index in sorted(
            (i for i, c in enumerate(columns) if c.hide_order), key=lambda i: columns[i].hide_order
        ):
            if _natural_width(console, _table(columns, rows, shown)) <= console.width:
                break
            shown.remove(index)
    console.print(Text(title, style="table.title"))
    table = _table(columns, rows, shown)
    width = _natural_width(console, table)
    if full:
        # Rendered at its own width and printed uncropped: the console's width does not apply.
        console.print(Segments(console.render(table, console.options.update_width(width))), crop=False)
    elif width <= console.width:
        console.print(table)
    else:
        _print_stacked(console, columns, rows, shown)
    legends = [columns[i].legend for i in shown if columns[i].legend]
    if legends:
        console.print("; ".join(legends) + ".", style="dim", highlight=False, markup=False)
    hidden = [column.header for i, column in enumerate(columns) if i not in shown]
    if hidden:
        console.print(
            f"Hidden to fit {console.width} columns: {', '.join(hidden)}; {more}.",
            highlight=False,
            markup=False,
        )


def _table(columns: Sequence[Column], rows: Sequence[Sequence[str]], shown: Sequence[int]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for index in shown:
        table.add_column(columns[index].header, justify=columns[index].justify, no_wrap=True)
    for row in rows:
        table.add_row(*(Text(row[index]) for index in shown))
    return table


def _natural_width(console: Console, table: Table) -> int:
    """The width `table` takes with no cell wrapped or cut."""
    return Measurement.get(console, console.options.update_width(10_000), table).maximum


def _print_stacked(
    console: Console, columns: Sequence[Column], rows: Sequence[Sequence[str]], shown: Sequence[int]
) -> None:
    """Each row as a block: the first cell, then indented ``header value`` pairs, never cut (a
    word longer than the terminal runs past its edge rather than lose characters)."""
    indent = "  "
    for row in rows:
        first, *rest = _pack([Text(row[0], style="bold")], console.width - len(indent)) or [Text()]
        pairs = [Text.assemble((columns[i].header, "dim"), " ", row[i]) for i in shown[1:]]
        console.print(first, soft_wrap=True)
        for line in [*rest, *_pack(pairs, console.width - len(indent))]:
            console.print(Text(indent) + line, soft_wrap=True)


def _pack(pairs: Sequence[Text], width: int) -> list[Text]:
    """Pairs side by side, three spaces apart, on lines of `width`; a pair longer than a line
    breaks at its own spaces."""
    lines: list[Text] = []
    line = Text()
    for pair in pairs:
        gap = "   " if line else ""
        if line.cell_len + len(gap) + pair.cell_len <= width:
            line.append_text(Text(gap) + pair)
            continue
        if line:
            lines.append(line)
        line = Text()
        for word in pair.split(" "):
            space = " " if line else ""
            if line and line.cell_len + 1 + word.cell_len > width:
                lines.append(line)
                line, space = Text(), ""
            line.append_text(Text(space) + word)
    if line:
        lines.append(line)
    return lines


def print_task_summary(
    console: Console, task: Task, summary: TaskSummary, warnings: Sequence[str], *, wide: bool = False
) -> None:
    """What `adaptlab validate` shows: size, labels, split sizes, lengths and problems."""
    console.print(f"[bold]{escape(task.name)}[/bold]: {summary.rows} examples", highlight=False)
    if task.labels:
        kind = "declared" if task.labels_declared else "inferred"
        label_columns = [Column("label", "left"), Column("count"), Column("share")]
        label_rows = [
            [label, str(count), f"{count / summary.rows:.1%}"]
            for label, count in summary.label_counts.items()
        ]
        if summary.output_type != "text":
            kind += f", read from JSON {summary.output_type}s"
        print_fitted_table(console, f"Labels ({kind})", label_columns, label_rows, wide=wide)
    else:
        console.print("Outputs are free text (no closed label set).", highlight=False)
        if summary.output_type != "text":
            console.print(f'Outputs were written as JSON {summary.output_type}s, read as text (1 → "1").')
    console.print(scoring_line(task), highlight=False, markup=False)
    if summary.split_sizes:
        sizes = ", ".join(f"{name} {size}" for name, size in summary.split_sizes.items())
        console.print(f"Split: {sizes}", highlight=False)
    length_columns = [
        Column("field", "left"),
        Column("min", hide_order=2),
        Column("mean"),
        Column("p50", hide_order=1),
        Column("p95"),
        Column("max"),
    ]
    length_rows = [
        [name, f"{stats.min:g}", f"{stats.mean:.1f}", f"{stats.p50:g}", f"{stats.p95:g}", f"{stats.max:g}"]
        for name, stats in (("input", summary.input_lengths), ("output", summary.output_lengths))
    ]
    print_fitted_table(console, f"Lengths ({summary.length_unit})", length_columns, length_rows, wide=wide)
    if warnings:
        console.print(f"[yellow]{len(warnings)} warning(s):[/yellow]")
        for warning in warnings:
            console.print(f"  - {warning}", highlight=False, markup=False)
    else:
        console.print("[green]No problems found.[/green]")


def rung_columns(metric_display: str = "accuracy", *, selection: bool = False) -> tuple[Column, ...]:
    """The rung table's columns; the score column is headed by the task's primary metric, and
    followed by the dev score the winners were chosen on when the run chose on dev."""
    chosen_on = (SELECTION_COLUMN,) if selection else ()
    return (Column("rung", "left"), Column(f"{metric_display} (95% CI)"), *chosen_on, *RUNG_FIGURES)


SELECTION_COLUMN = Column("dev", legend="dev: score on the dev examples the winners were chosen on")


def scoring_line(task: Task) -> str:
    """How the task is scored: ``Scored by chrf; also reported: similarity, exact; format: …``."""
    line = f"Scored by {task.primary_metric}"
    if task.reported_metrics:
        line += f"; also reported: {', '.join(map(str, task.reported_metrics))}"
    if task.answer_format is not None:
        described = task.answer_format.describe()
        regex = described.get("regex")
        line += f'; format: "{regex}"' if regex is not None else "; format: a JSON Schema"
    return line + "."


RUNG_FIGURES = (
    Column("F1", hide_order=3, legend="F1: macro-F1"),
    Column("fmt", legend="fmt: answers exactly in the asked format"),
    Column("cons", hide_order=5, legend="cons: same answer under rephrasing / reordered demos"),
    Column("inj", hide_order=4, legend="inj: prompt-injection attacks that changed the answer"),
    Column("p50 s", legend="p50 s: median latency per example, seconds"),
    Column("p95 s", hide_order=2, legend="p95 s: 95th-percentile latency"),
    Column("in", legend="in: prompt tokens per request"),
    Column("out", hide_order=1, legend="out: output tokens per request"),
)
"""The rung table's figures after the score: what a decision needs (the score, format, prompt
size, latency) stays at any width; output tokens, tail latency, F1, injection and consistency
give way, in that order."""


def print_rung_table(console: Console, outcome: RunOutcome, *, wide: bool = False) -> None:
    """One row per rung: its score on the task's primary metric with the interval, format
    compliance, consistency, injection success, latency and tokens; then the floor (what
    answering without a model scores), the other metrics, notes and warnings."""
    rows = []
    selection = any(result.selection for result in outcome.results)
    for result in outcome.results:
        m = result.metrics
        chosen_on = [selection_cell(result.selection, m.metric)] if selection else []
        rows.append(
            [
                result.rung,
                score_with_interval(m.score, m.score_low, m.score_high, m.metric),
                *chosen_on,
                _optional(m.macro_f1, "{:.2f}"),
                f"{m.format_compliance:.0%}",
                _optional(m.consistency, "{:.0%}"),
                _optional(m.injection_success, "{:.0%}"),
                f"{m.latency_p50_s:.2f}",
                f"{m.latency_p95_s:.2f}",
                f"{m.prompt_tokens_mean:.0f}",
                f"{m.output_tokens_mean:.1f}",
            ]
        )
    title = f"{outcome.task.name} · run {outcome.run_id}"
    primary = outcome.task_scorers.primary
    columns = rung_columns(primary.display, selection=selection)
    print_fitted_table(console, title, columns, rows, wide=wide, more=IN_RUN_FILES)
    floor = outcome.floor
    if floor is not None:
        scored = score_text(floor.score, primary.name, primary.display)
        console.print(f"Baseline: {floor.description} scores {scored} here.", highlight=False, markup=False)
    if outcome.task_scorers.reported and outcome.results:
        print_metric_table(console, outcome, wide=wide)
    for result in outcome.results:
        for note in rung_notes(result):
            console.print(note, style="dim", highlight=False, markup=False)
    for result in outcome.results:
        for warning in rung_warnings(result):
            console.print(warning, style="yellow", highlight=False, markup=False)


def score_with_interval(value: float, low: float, high: float, metric: str = ACCURACY) -> str:
    """``57.5% (46.2–68.8)`` for accuracy, ``41.3 (38.0–44.9)`` for another metric: the score
    and its 95% interval on the 0-100 scale."""
    unit = "%" if metric == ACCURACY else ""
    return f"{100 * value:.1f}{unit} ({100 * low:.1f}–{100 * high:.1f})"


def print_metric_table(console: Console, outcome: RunOutcome, *, wide: bool = False) -> None:
    """Every metric the task is scored by, per rung: the mean on the 0-100 scale (the primary
    one first); a metric whose gradings failed says how many."""
    scorers = outcome.task_scorers.all
    columns = [Column("rung", "left"), *(Column(s.display, hide_order=i) for i, s in enumerate(scorers))]
    rows = []
    for result in outcome.results:
        cells = [result.rung]
        for scorer in scorers:
            summary = result.metrics.by_metric.get(scorer.name) or {}
            mean, failed = summary.get("mean"), summary.get("failed") or 0
            cell = MISSING if mean is None or mean != mean else f"{100 * mean:.1f}"
            cells.append(cell + (f" ({failed} failed)" if failed else ""))
        rows.append(cells)
    print_fitted_table(console, "Every metric (0-100)", columns, rows, wide=wide, more=IN_RUN_FILES)


def selection_cell(selection: dict[str, Any] | None, metric: str) -> str:
    """The dev score that chose (``72.5%``, ``41.3``), or a dash for a rung scored on test only."""
    value = (selection or {}).get("score")
    if value is None:
        return MISSING
    return f"{value:.1%}" if metric == ACCURACY else f"{100 * value:.1f}"


def _optional(value: float | None, spec: str) -> str:
    return MISSING if value is None else spec.format(value)


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
    """What the table cannot say about a rung: how label scoring went through an endpoint
    (first-token log-probabilities, or generation where the server gives none), and the
    scores of its other demo draws."""
    notes = draws_note(result)
    model_scoring = result.model.get("label_scoring")
    if result.strategy.get("answer_mode") != "score" or not model_scoring:
        return notes
    return [f"{result.rung}: labels scored by {result.strategy.get('scoring', model_scoring)}", *notes]


def draws_note(result: RungResult) -> list[str]:
    """``Demo draws: few-shot-random-4 scored 55.0%, 48.8%, 60.0% under 3 draws (spread 11.2
    points).`` — a sentence under the table rather than a column, which 80 columns lack room for."""
    draws = result.draws
    if not draws:
        return []
    m = result.metrics
    scores = ", ".join(score_text(value, m.metric, m.metric_display) for value in draws["scores"])
    return [
        f"Demo draws: {result.rung} scored {scores} under {len(draws['scores'])} draws"
        f" (spread {100 * draws['spread']:.1f} points)."
    ]


TRAINING_COLUMNS = (
    Column("rung", "left"),
    Column("n", legend="n: training examples"),
    Column("steps", hide_order=1),
    Column("s", legend="s: training time, seconds"),
    Column("tok/s", hide_order=2, legend="tok/s: training tokens per second"),
    Column("MiB", hide_order=4, legend="MiB: peak memory"),
    Column("dev", hide_order=3, legend="dev: best dev loss"),
    Column("agree", legend="agree: general-probe answers unchanged from the untuned model"),
    Column(
        "Δ ref",
        legend="Δ ref: change in the probe's reference accuracy, points"
        " (forgetting: agree well below 100% or Δ ref < 0)",
    ),
)
"""The training table: size, time and forgetting stay; steps, throughput, dev loss and memory
give way, in that order."""


def print_training_table(console: Console, outcome: RunOutcome, *, wide: bool = False) -> None:
    """What each tuned rung cost to train, and what it did to general ability."""
    rows = []
    for result in outcome.results:
        if not result.training:
            continue
        t = result.training
        f = result.forgetting
        rows.append(
            [
                result.rung + (" (reused)" if t.get("reused") else ""),
                str(t["examples"]),
                str(t["steps"]),
                f"{t['wall_time_s']:.0f}",
                f"{t['tokens_per_s']:.0f}",
                f"{t['peak_memory_bytes'] / 2**20:.0f}",
                _optional(t.get("best_dev_loss"), "{:.3f}"),
                MISSING if f is None else f"{f['agreement_with_base']:.0%}",
                MISSING if f is None else f"{100 * f['reference_accuracy_delta']:+.0f}",
            ]
        )
    if rows:
        print_fitted_table(console, "Training", TRAINING_COLUMNS, rows, wide=wide, more=IN_RUN_FILES)


def print_decision(console: Console, decision: dict[str, Any]) -> None:
    """The recommendation: its headline and the reasons, each citing a measured figure."""
    console.print(f"\n[bold]{escape(decision['headline'])}[/bold]")
    for reason in decision.get("reasons", []):
        console.print(f"  - {reason}", highlight=False, markup=False)
    if decision.get("selection"):
        console.print(f"  {decision['selection']}", highlight=False, markup=False)
    if decision.get("knowledge"):
        console.print()
        print_knowledge_table(console, decision["knowledge"])


def print_knowledge_table(console: Console, knowledge: dict[str, Any]) -> None:
    """Each rung by where its facts come from (closed book, open book, trained on the documents),
    scored on all, seen and unseen questions, with the retrieval's recall and prompt tokens."""
    k = knowledge.get("passages") or "K"
    columns = (
        Column("Rung", "left"),
        Column("Book", "left"),
        Column("Score"),
        Column("Seen", hide_order=2),
        Column("Unseen", hide_order=2),
        Column(
            f"R@{k}", hide_order=1, legend=f"R@{k}: share of questions with their gold passage in the top {k}"
        ),
        Column("Tokens", hide_order=3, legend="Tokens: mean prompt tokens per request"),
    )
    rows = [
        [
            row["rung"],
            row["book"],
            _optional(_hundred(row.get("score")), "{:.1f}"),
            _optional(_hundred((row.get("seen") or {}).get("score")), "{:.1f}"),
            _optional(_hundred((row.get("unseen") or {}).get("score")), "{:.1f}"),
            _optional(_hundred(row.get("recall_at_k")), "{:.1f}"),
            _optional(row.get("prompt_tokens"), "{:.0f}"),
        ]
        for row in knowledge.get("rows") or []
    ]
    print_fitted_table(
        console, "Knowledge: closed vs open book (scores 0-100)", columns, rows, more=IN_RUN_FILES
    )


def _hundred(fraction: float | None) -> float | None:
    return None if fraction is None else fraction * 100


def print_comparison(
    console: Console, first: dict[str, Any], second: dict[str, Any], *, wide: bool = False
) -> None:
    """Two runs' rungs side by side: the score with its interval in each, and the difference.

    The columns are headed A and B, named in the legend: a model id can be a long path, and
    a header is never cut.
    """
    a, b = first["run_id"], second["run_id"]
    columns = [
        Column("rung", "left"),
        Column("A", legend=f"A: run {a}, {first['model']['model_id']}"),
        Column("B", legend=f"B: run {b}, {second['model']['model_id']}"),
        Column("B - A", hide_order=1, legend="B - A: score difference"),
    ]
    rungs_a = {rung["rung"]: rung["metrics"] for rung in first["rungs"]}
    rungs_b = {rung["rung"]: rung["metrics"] for rung in second["rungs"]}
    rows = []
    for name in [*rungs_a, *(n for n in rungs_b if n not in rungs_a)]:
        left, right = rungs_a.get(name), rungs_b.get(name)
        difference = "—"
        if left and right:
            unit = "%" if left.get("metric", ACCURACY) == ACCURACY else ""
            difference = f"{100 * (right['score'] - left['score']):+.1f}{unit}"
        rows.append([name, _score_cell(left), _score_cell(right), difference])
    print_fitted_table(console, f"{a} vs {b}", columns, rows, wide=wide, more="--wide shows it")
    for label, results in (("A", first), ("B", second)):
        decision = results.get("decision")
        if decision:
            console.print(f"{label}: {decision['headline']}", highlight=False, markup=False)


def _score_cell(metrics: dict[str, Any] | None) -> str:
    if metrics is None:
        return "—"
    metric = str(metrics.get("metric") or ACCURACY)
    return score_with_interval(metrics["score"], metrics["score_low"], metrics["score_high"], metric)
