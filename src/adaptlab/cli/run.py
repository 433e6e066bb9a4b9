"""``adaptlab run``: the whole ladder, a recommendation and a report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adaptlab.cli.common import print_outcome
from adaptlab.cli.listeners import LadderConsoleListener, make_progress
from adaptlab.cli.run_settings import RunRequest, run_command
from adaptlab.configs import RunConfig


@run_command("run", RunConfig, exclude=("model",))
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
      # several models: the cheapest configuration within the noise of the best
      adaptlab run tweet-sentiment --model smollm2-135m --model gemma3-270m
      # my API model vs a small local model tuned on its answers:
      adaptlab run data/tickets.jsonl --model openai:gpt-4o-mini \\
          --model smollm2-135m --base-url https://api.openai.com/v1 \\
          --teacher openai:gpt-4o-mini --unlabeled data/more-tickets.jsonl \\
          --costs costs.yaml
      # after a crash: finished answers, weights and checkpoints are reused
      adaptlab run --resume 20261128-101500-3fa9c1
      adaptlab run --config runs/20261128-101500-3fa9c1/config.yaml --limit 300
    """
    if len(request.config.models) > 1:
        run_models_and_report(request.config, request.out, resume=request.resume, wide=request.wide)
    else:
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


def run_models_and_report(
    config: RunConfig, out: Path, *, resume: str | None = None, wide: bool = False
) -> Any:
    """Climb every model's ladder with progress bars, then print each model's rungs, the
    configurations side by side, the decision across models and where the files are."""
    from adaptlab.cli.app import console
    from adaptlab.cli.listeners import ModelsConsoleListener
    from adaptlab.cli.model_choice import print_models_outcome
    from adaptlab.cli.tables import print_rung_table
    from adaptlab.multi_model import run_models

    def warn(message: str) -> None:
        console.print(f"[yellow]warning:[/yellow] {message}", highlight=False)

    with make_progress() as progress:
        outcome = run_models(
            config, out_dir=out, listener=ModelsConsoleListener(progress), resume=resume, warn=warn
        )
    for spec, model_outcome, _ in outcome.runs:
        if model_outcome is not None:
            console.rule(spec)
            print_rung_table(console, model_outcome, wide=wide)
    print_models_outcome(console, outcome.payload, outcome.directory, wide=wide)
    return outcome
