"""``adaptlab report``: rebuild a run's HTML report, optionally re-priced."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from adaptlab.cli.app import command, console
from adaptlab.cli.common import RunRefArg, RunsDirOpt
from adaptlab.cli.config_options import ConfigRequest, takes_config
from adaptlab.configs import BudgetSettings
from adaptlab.paths import DEFAULT_RUNS_DIR


@command("report")
@takes_config(BudgetSettings, include=["costs"])
def report_command(
    config: ConfigRequest[BudgetSettings],
    run: RunRefArg,
    output: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Where to write the report [default: the run's report.html]."),
    ] = None,
    out: RunsDirOpt = DEFAULT_RUNS_DIR,
) -> None:
    """Rebuild a run's HTML report, optionally re-priced.

    The recommendation is decided again from the stored measurements (of every model's
    run, for a run of several models), with the run's own cost
    settings unless --costs or the single cost options change them; nothing is re-evaluated.

    \b
    Examples:
      adaptlab report 20261128-101500-3fa9c1
      adaptlab report runs/20261128-101500-3fa9c1 --machine-usd-per-hour 3.5 \\
          --output what-if.html
    """
    from adaptlab.decide import CostSettings, recommend
    from adaptlab.report import write_report
    from adaptlab.runs import REPORT_FILENAME, find_results, is_models_run, load_results

    path = find_results(run, out)
    results = load_results(path, several_models=True)
    stored = (results.get("config") or {}).get("costs") or {}
    costs = config.build({"costs": CostSettings.model_validate(stored).model_dump()}).costs
    if is_models_run(results):
        from adaptlab.multi_model import redecide

        target = redecide(results, costs, output or path.parent / REPORT_FILENAME)
    else:
        results["decision"] = recommend(results, costs).to_dict()
        target = write_report(results, output or path.parent / REPORT_FILENAME)
    console.print(f"{results['decision']['headline']}", highlight=False)
    console.print(f"report: {target}", highlight=False)
