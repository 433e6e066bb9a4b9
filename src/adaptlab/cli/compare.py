"""``adaptlab compare``: two runs rung by rung, in the console and an HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from adaptlab.cli.app import command, console
from adaptlab.cli.common import RunsDirOpt, WideOpt
from adaptlab.paths import DEFAULT_RUNS_DIR


@command("compare")
def compare_command(
    run_a: Annotated[str, typer.Argument(help="First run: id, folder or results.json.")],
    run_b: Annotated[str, typer.Argument(help="Second run: id, folder or results.json.")],
    output: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE", help="Where to write the comparison [default: <out>/compare-A-vs-B.html]."
        ),
    ] = None,
    out: RunsDirOpt = DEFAULT_RUNS_DIR,
    wide: WideOpt = False,
) -> None:
    """Compare two runs rung by rung, in a table and an HTML page.

    Two models on one task, say: each rung's accuracy with its interval in both runs, and the
    difference, paired on the test examples both answered.

    \b
    Examples:
      adaptlab compare 20261128-101500-3fa9c1 20261128-114210-77d0e2
      adaptlab compare runs/a runs/b --output smollm-vs-gemma.html
    """
    from adaptlab.cli.tables import print_comparison
    from adaptlab.report import write_comparison
    from adaptlab.runs import find_results, load_results

    first, second = (load_results(find_results(ref, out)) for ref in (run_a, run_b))
    target = output or out / f"compare-{first['run_id']}-vs-{second['run_id']}.html"
    write_comparison(first, second, target)
    print_comparison(console, first, second, wide=wide)
    console.print(f"comparison: {target}", highlight=False)
