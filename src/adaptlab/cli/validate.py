"""``adaptlab validate``: check a task file and summarise it before spending model time on it."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from adaptlab.cli.app import command, console
from adaptlab.cli.common import WideOpt
from adaptlab.cli.config_options import ConfigRequest, takes_config
from adaptlab.configs import EvalConfig
from adaptlab.data.settings import TaskSettings


@command("validate")
@takes_config(EvalConfig, include=[*TaskSettings.model_fields, "model"])
def validate(
    config: ConfigRequest[EvalConfig],
    chars: Annotated[bool, typer.Option(help="Measure lengths in characters (skips the tokenizer).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    wide: WideOpt = False,
) -> None:
    """Check a task file and summarise it.

    Rows, labels, lengths in tokens, duplicates and train/test leakage.

    Exits 1 and lists every problem (file, line, field) when the file is invalid.

    \b
    Examples:
      adaptlab validate data/train.jsonl
      adaptlab validate reviews.csv --input-field text --output-field label \\
          --labels neg,pos
    """
    from adaptlab.cli.tables import print_task_summary
    from adaptlab.data import describe_task, quality_report, split_task

    settings = config.build()
    task = settings.load_task()
    split = split_task(task, fractions=settings.fractions, seed=settings.seed)
    count_tokens = None
    if not chars:
        from adaptlab.models.tokenizer import load_token_counter

        count_tokens = load_token_counter(settings.model)
    summary = describe_task(task, count_tokens=count_tokens, split=split)
    report = quality_report(task, split)
    if as_json:
        payload = {"summary": summary.to_dict(), "warnings": report.warnings()}
        console.print_json(json.dumps(payload, ensure_ascii=False))
        return
    print_task_summary(console, task, summary, report.warnings(), wide=wide)
