"""``adaptlab demo``: the whole ladder on the bundled task and model, in under 15 minutes."""

from __future__ import annotations

from typing import Annotated

import typer

from adaptlab.cli.app import command, console
from adaptlab.cli.common import RunsDirOpt, WideOpt
from adaptlab.configs import DEMO_TASK, DEMOS, demo_config
from adaptlab.paths import DEFAULT_RUNS_DIR


@command("demo")
def demo(
    task: Annotated[
        str,
        typer.Option(
            metavar="TASK",
            help=(
                f"The bundled task to climb the ladder on: {', '.join(DEMOS)} (python-docstrings: free"
                " text scored by chrF; country-facts: knowledge questions, retrieval against tuning)."
            ),
        ),
    ] = DEMO_TASK,
    limit: Annotated[
        int | None,
        typer.Option(min=1, metavar="INTEGER", help="Test examples to evaluate [default: the demo's own]."),
    ] = None,
    out: RunsDirOpt = DEFAULT_RUNS_DIR,
    wide: WideOpt = False,
) -> None:
    """Run the whole ladder on a bundled task and model (~13 min).

    The bundled tweet-sentiment task (or, with --task, python-docstrings: free text scored by
    chrF; or country-facts: questions about ISO codes with a corpus that holds the answers,
    where retrieval rungs meet tuning on the documents) and SmolLM2-135M-Instruct, sized to
    finish in under 15 minutes on a 2-core CPU; prints the rungs, the recommendation and the
    report's path.

    \b
    Examples:
      adaptlab demo
      adaptlab demo --task python-docstrings
      adaptlab demo --task country-facts
    """
    from adaptlab.cli.run import run_ladder_and_report

    config = demo_config(task=task, limit=limit)
    console.print(
        f"adaptlab demo: the adaptation ladder of {config.model} on the bundled {config.task} task"
        f" ({config.limit} test examples; learning curve at {', '.join(map(str, config.sizes))}"
        " training examples)",
        highlight=False,
    )
    outcome = run_ladder_and_report(config, out, wide=wide)
    console.print(f"open the report: {outcome.directory / 'report.html'}", highlight=False)
