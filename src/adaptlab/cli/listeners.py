"""What the console shows while a run works: its id and how to resume it, a bar per rung and
per training, a line per finished rung and per rung the ladder leaves out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column

from adaptlab.cli.app import console
from adaptlab.evaluation import RungResult
from adaptlab.models.base import ProgressCallback
from adaptlab.retrieval.index import IndexProgress


def make_progress(screen: Console = console) -> Progress:
    """Bars on a terminal, fitted to its width without cutting a count or a time (a long rung
    name wraps); none in a file, pipe or CI log, where a bar's last frame would be cut to the
    log's assumed width ("100…") — the per-rung lines say the same in full."""
    figure = Column(no_wrap=True)  # counts and times are never cut; the name and bar give way
    return Progress(
        TextColumn("[bold]{task.description}", table_column=Column(ratio=3, overflow="fold")),
        BarColumn(bar_width=None, table_column=Column(ratio=1)),
        MofNCompleteColumn(table_column=figure),
        TextColumn("{task.fields[unit]}", table_column=figure),
        TimeElapsedColumn(table_column=figure),
        TextColumn("eta", table_column=figure),
        TimeRemainingColumn(table_column=figure),
        console=screen,
        disable=not screen.is_terminal,
        expand=True,
    )


class ConsoleListener:
    """Draws a progress bar per rung and a status line while the model loads."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.search_bars: dict[str, Any] = {}

    def corpus_indexing(self, documents: int) -> IndexProgress:
        console.print(
            f"opening the index of the corpus ({documents:,} documents; built and cached the first time) …",
            highlight=False,
        )
        bars: dict[str, Any] = {}

        def advance(stage: str, done: int, total: int) -> None:
            """A bar per build stage: chunking counts documents, the others passages."""
            if stage not in bars:
                unit = "documents" if stage == "chunking" else "passages"
                bars[stage] = self.progress.add_task(f"index: {stage}", total=total, unit=unit)
            self.progress.update(bars[stage], completed=done)

        return advance

    def model_loading(self, spec: str) -> None:
        from adaptlab.models import endpoint_model, resolve_model_spec
        from adaptlab.models.weights import is_prepared

        if endpoint_model(spec) is not None:
            console.print(f"asking {spec} through its OpenAI-compatible endpoint …", highlight=False)
        elif is_prepared(resolve_model_spec(spec)):
            console.print(f"loading model {spec} …", highlight=False)
        else:
            console.print(
                f"loading model {spec}: first use, converting its GGUF weights to safetensors "
                "once (20-70 s for the bundled models on a 2-core CPU) …",
                highlight=False,
            )

    def run_started(self, run_id: str, directory: Path, command: str) -> None:
        """The run id as soon as it exists: ``--resume`` needs it if the run stops."""
        from adaptlab.runs import resume_command

        self.progress.console.print(
            f"run {run_id}; if it stops, `{resume_command(command, run_id, directory.parent)}` finishes it",
            highlight=False,
            markup=False,
        )

    def rung_started(self, rung: str, total: int) -> ProgressCallback:
        task_id = self.progress.add_task(rung, total=total, unit="examples")
        return lambda n: self.progress.advance(task_id, n)

    def search_trial_started(self, rung: str, trial: int, total: int) -> ProgressCallback:
        """One bar for the whole search, growing by a dev split per candidate prompt."""
        if rung not in self.search_bars:
            self.search_bars[rung] = self.progress.add_task(f"{rung} (dev)", total=0, unit="examples")
        task_id = self.search_bars[rung]
        current = self.progress.tasks[task_id].total or 0
        self.progress.update(task_id, total=current + total, description=f"{rung} (dev, prompt {trial})")
        return lambda n: self.progress.advance(task_id, n)

    def rung_finished(self, result: RungResult) -> None:
        from adaptlab.cli.tables import rung_warnings, score_with_interval

        m = result.metrics
        scored = score_with_interval(m.score, m.score_low, m.score_high, m.metric)
        failed = f", {m.grading_failures} gradings failed" if m.grading_failures else ""
        self.progress.console.print(
            f"{result.rung}: {m.metric_display or m.metric} {scored} on {m.n} examples{failed}",
            highlight=False,
        )
        for warning in rung_warnings(result):
            self.progress.console.print(f"[yellow]{escape(warning)}[/yellow]", highlight=False)

    def selection_scored(self, result: RungResult, *, screen: bool) -> None:
        """A line per dev score, so a log shows what the winners are chosen on."""
        from adaptlab.cli.tables import score_with_interval

        m = result.metrics
        scored = score_with_interval(m.score, m.score_low, m.score_high, m.metric)
        what = "dev screen" if screen else "dev"
        self.progress.console.print(
            f"{result.rung} on {what}: {m.metric_display or m.metric} {scored} on {m.n} examples",
            highlight=False,
        )


class TuneConsoleListener(ConsoleListener):
    """Adds a training bar (steps, loss, tokens/s, ETA) per learning-curve size."""

    def training_started(self, rung: str, examples: int) -> Callable[[Any], None]:
        task_id = self.progress.add_task(f"{rung} (train on {examples})", total=None, unit="steps")

        def on_step(report: Any) -> None:
            loss = f"loss {report.loss:.3f}, " if report.loss is not None else ""
            self.progress.update(
                task_id,
                completed=report.step,
                total=report.total_steps,
                description=f"{rung} (train: {loss}{report.tokens_per_s:.0f} tok/s)",
            )

        return on_step

    def training_reused(self, rung: str, run: Any) -> None:
        self.progress.console.print(
            f"{rung}: reusing trained weights {run.weights.key} (same model, data and settings)",
            highlight=False,
        )


class LadderConsoleListener(TuneConsoleListener):
    """Adds a line for every rung or phase the ladder leaves out, with the reason."""

    def skipped(self, what: str, reason: str) -> None:
        self.progress.console.print(f"skipping {what}: {reason}", highlight=False)


class ModelsConsoleListener(LadderConsoleListener):
    """Adds a heading per model of a run of several, and a line when the teacher labels; the
    way to resume is the whole run's (it finishes the model run that stopped)."""

    parent: str | None = None

    def run_started(self, run_id: str, directory: Path, command: str) -> None:
        if self.parent is None:
            self.parent = run_id
            super().run_started(run_id, directory, command)
        else:
            self.progress.console.print(f"model run {run_id}, part of run {self.parent}", highlight=False)

    def model_started(self, spec: str, position: int, total: int, run_id: str) -> None:
        self.progress.console.rule(f"model {position} of {total}: {spec} (run {run_id})")

    def teacher_labelling(self, spec: str, rung: str, inputs: int) -> None:
        self.progress.console.print(
            f"teacher {spec} answers {inputs} training inputs with {rung}, for the other models to learn",
            highlight=False,
        )
