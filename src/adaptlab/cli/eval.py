"""``adaptlab eval``: measure prompt rungs of a model on one split of a task."""

from __future__ import annotations

from adaptlab.cli.common import print_outcome
from adaptlab.cli.listeners import ConsoleListener, make_progress
from adaptlab.cli.run_settings import RunRequest, run_command
from adaptlab.configs import EvalConfig


@run_command("eval", EvalConfig)
def eval_command(request: RunRequest[EvalConfig]) -> None:
    """Measure prompt rungs of a model on one split of a task.

    Writes <out>/<run-id>/results.json (accuracy with a 95% bootstrap interval, format
    compliance, consistency, robustness, per-example predictions, latency p50/p95, tokens per
    request) and records the run in <out>/adaptlab.db, whose result cache makes re-runs
    recompute only what changed.

    Rungs: zero-shot, instruction-terse, instruction-detailed, instruction-role,
    few-shot-random[-K], few-shot-knn[-K], cot, format-label, format-json, label-scoring,
    label-scoring-calibrated, search; `ladder` means all of them.

    \b
    Examples:
      adaptlab eval tweet-sentiment --model smollm2-135m --strategy zero-shot
      adaptlab eval tweet-sentiment --strategies ladder --limit 150
      adaptlab eval tweet-sentiment -s few-shot-knn,label-scoring --shots 2,4,8
      adaptlab eval data/tickets.jsonl --model ./models/qwen --limit 200
      # a model behind vLLM; failed requests are retried alone on a re-run:
      adaptlab eval tweet-sentiment --model openai:Qwen/Qwen2.5-7B-Instruct \\
          --base-url http://localhost:8000/v1
      adaptlab eval --resume 20261128-101500-3fa9c1   # finish a run that stopped
    """
    from adaptlab.runs import run_eval

    with make_progress() as progress:
        listener = ConsoleListener(progress)
        outcome = run_eval(request.config, out_dir=request.out, listener=listener, resume=request.resume)
    print_outcome(outcome, wide=request.wide)
