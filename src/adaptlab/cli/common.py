"""Options several commands share that are not settings of a run (where to keep runs, how wide
to print), and the end-of-run printout of ``eval``, ``tune`` and ``run``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from adaptlab.cli.app import console

RunsDirOpt = Annotated[
    Path,
    typer.Option(
        "--out",
        "--runs-dir",
        metavar="DIR",
        help="Runs directory (holds adaptlab.db, adapters/ and run folders).",
    ),
]
WideOpt = Annotated[
    bool,
    typer.Option(
        show_default=False,
        help="Print every column of the tables even where the terminal is narrower (they are"
        " fitted to it otherwise; a file or pipe always gets them all).",
    ),
]
RunRefArg = Annotated[
    str, typer.Argument(help="Run id (a folder of --out), run folder or results.json.", show_default=False)
]
ResumeOpt = Annotated[
    str | None,
    typer.Option(
        metavar="RUN_ID",
        help="Finish a run that stopped, under its id, with its stored settings; finished"
        " answers, weights and checkpoints are reused.",
    ),
]
ConfigFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="Start from the settings in a run's config.yaml; options given beside it override them.",
    ),
]


def print_outcome(outcome: Any, *, wide: bool, decision: bool = False) -> None:
    """After a run: the rung table (and the training table when it tuned), the decision, and
    where the files are."""
    from adaptlab.cli.tables import print_decision, print_rung_table, print_training_table

    print_rung_table(console, outcome, wide=wide)
    print_training_table(console, outcome, wide=wide)
    results_path = outcome.directory / "results.json"
    if decision:
        print_decision(console, json.loads(results_path.read_text(encoding="utf-8"))["decision"])
    console.print(f"results: {results_path}", highlight=False)
    console.print(f"report: {outcome.directory / 'report.html'}", highlight=False)
