"""``adaptlab runs``: the runs of a runs directory, newest first (the `llm logs` habit)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import typer

from adaptlab.cli.app import command, console
from adaptlab.cli.common import RunsDirOpt, WideOpt
from adaptlab.paths import DEFAULT_RUNS_DIR


@command("runs")
def runs_command(
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, metavar="INTEGER", help="Most runs to list.")
    ] = 20,
    made_by: Annotated[
        Literal["eval", "tune", "run"] | None,
        typer.Option("--command", metavar="eval|tune|run", help="Only the runs of this command."),
    ] = None,
    status: Annotated[
        Literal["running", "finished", "failed", "interrupted"] | None,
        typer.Option(
            metavar="STATUS",
            help="Only the runs in this state: running, finished, failed or interrupted "
            " (interrupted: stopped without a word, e.g. killed; --resume finishes it).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
    out: RunsDirOpt = DEFAULT_RUNS_DIR,
    wide: WideOpt = False,
) -> None:
    """List the runs of a runs directory, newest first.

    Each run's id, command, status (running, finished, failed, or interrupted: stopped without
    a word, e.g. by kill -9), task, model, best rung and its score, and when it started.

    \b
    Examples:
      adaptlab runs
      adaptlab runs --status interrupted   # e.g. killed; --resume finishes them
      adaptlab runs --command run -n 5 --out experiments/runs
    """
    from adaptlab.cli.tables import Column, print_fitted_table
    from adaptlab.decide.wording import score_text
    from adaptlab.errors import UsageError
    from adaptlab.run_list import run_summaries
    from adaptlab.runs import resume_command
    from adaptlab.store import DB_FILENAME, Store

    if not (out / DB_FILENAME).exists():
        raise UsageError(f"no runs in {out}: it has no {DB_FILENAME} (pass the --out directory of your runs)")
    stored_status = "complete" if status == "finished" else status
    with Store.open(out / DB_FILENAME) as store:
        summaries = run_summaries(store, limit, command=made_by, status=stored_status)
    if as_json:
        payload = [
            {
                "run_id": run.run_id,
                "command": run.command,
                "status": run.label,
                "task": run.task_name,
                "model": run.model_id,
                "best_rung": run.best.rung if run.best else None,
                "best_score": run.best.score if run.best else None,
                "best_metric": run.best.metric if run.best else None,
                "created_at": run.created_at.isoformat(),
                "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                "output_dir": run.output_dir,
            }
            for run in summaries
        ]
        console.print_json(json.dumps(payload, ensure_ascii=False))
        return
    if not summaries:
        console.print(f"No runs in {out} match.", highlight=False)
        return
    rows = [
        [
            run.run_id,
            run.command,
            run.label,
            run.task_name,
            run.model_id,
            run.best.rung if run.best else "–",
            score_text(run.best.score, run.best.metric, run.best.display) if run.best else "–",
            run.created_at.astimezone().strftime("%Y-%m-%d %H:%M"),
        ]
        for run in summaries
    ]
    columns = [
        Column("run", justify="left"),
        Column("command", justify="left", hide_order=3),
        Column("status", justify="left"),
        Column("task", justify="left", hide_order=4),
        Column("model", justify="left", hide_order=2),
        Column("best rung", justify="left", hide_order=5),
        Column("score"),
        Column("started", justify="left", hide_order=1),
    ]
    print_fitted_table(console, f"Runs in {out}", columns, rows, wide=wide)
    for run in summaries:
        if run.status == "interrupted":
            console.print(
                f"{run.run_id} was interrupted: `{resume_command(run.command, run.run_id, out)}` finishes it",
                highlight=False,
                markup=False,
            )
