"""``adaptlab run``: the whole ladder, a recommendation and a report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adaptlab.cli.common import print_outcome
from adaptlab.cli.listeners import LadderConsoleListener, make_progress
from adaptlab.cli.run_settings import RunRequest, run_command
from adaptlab.configs import RunConfig


@run_command("run", RunConfig)
def run(request: RunRequest[RunConfig]) -> None:
    """Climb the whole ladder and recommend what to do, with the costs.

    Prompt rungs, a fine-tuning learning curve, hybrid and distilled rungs, all on one test
    split; then the recommendation, with its reasons in measured figures.

    Stops climbing when the evidence is clear (prompting already perfect, a flat learning
    curve) or the budget would be overrun. Writes <out>/<run-id>/ with report.html,
    results.json, predictions.jsonl and a re-runnable config.yaml.

    \b
    Examples:
      adaptlab run tweet-sentiment --limit 150 --sizes 25,50,100
      adaptlab run data/tickets.jsonl --model ./models/qwen --budget-minutes 30
      adaptlab run tweet-sentiment --no-tune -s zero-shot,few-shot-knn-4
      # your machine's $/hour and your API prices:
      adaptlab run tweet-sentiment --costs costs.yaml
      # prompt rungs only (tuning needs weights); the key is $OPENAI_API_KEY:
      adaptlab run tweet-sentiment --model openai:gpt-4o-mini \\
          --base-url https://api.openai.com/v1
      # after a crash: finished answers, weights and checkpoints are reused
      adaptlab run --resume 20261128-101500-3fa9c1
      adaptlab run --config runs/20261128-101500-3fa9c1/config.yaml --limit 300
    """
    run_ladder_and_report(request.config, request.out, resume=request.resume, wide=request.wide)


def run_ladder_and_report(
    config: RunConfig, out: Path, *, resume: str | None = None, wide: bool = False
) -> Any:
    """Run the ladder with progress bars, then print the rungs, the recommendation and paths."""
    from adaptlab.ladder import run_ladder

    with make_progress() as progress:
        outcome = run_ladder(config, out_dir=out, listener=LadderConsoleListener(progress), resume=resume)
    print_outcome(outcome, wide=wide, decision=True)
    return outcome
