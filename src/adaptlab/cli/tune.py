"""``adaptlab tune``: a learning curve of fine-tunes, each measured beside the untuned model."""

from __future__ import annotations

from adaptlab.cli.common import print_outcome
from adaptlab.cli.listeners import TuneConsoleListener, make_progress
from adaptlab.cli.run_settings import RunRequest, run_command
from adaptlab.configs import TuneRunConfig


@run_command("tune", TuneRunConfig)
def tune_command(request: RunRequest[TuneRunConfig]) -> None:
    """Fine-tune at growing train sizes: a learning curve.

    Each tuned model is measured on the test split next to the untuned one.

    Each size trains LoRA (or full) weights with TRL on the first N examples of the train
    split, rendered with the same prompt evaluation uses, early-stopped on dev loss, and
    evaluates them next to the untuned model. Weights are stored under <out>/adapters/<hash>/
    by a hash of (model, data, settings): the same request again reuses them, and a killed
    training resumes from its last checkpoint.

    \b
    Examples:
      adaptlab tune tweet-sentiment --sizes 25,50,100 --limit 150
      adaptlab tune tweet-sentiment --mode full --sizes 100 --epochs 2
      adaptlab tune tweet-sentiment --sizes 25,50,100 --compare few-shot-knn-4
      # tuned weights asked with a long prompt too (a hybrid rung):
      adaptlab tune tweet-sentiment --sizes 100 --hybrid few-shot-knn-4
      # context distillation: the long prompt's answers trained into the weights
      adaptlab tune tweet-sentiment --distill few-shot-knn-8 --sizes 200
      adaptlab tune data/tickets.jsonl --model ./models/qwen --checkpoint-steps 20
      adaptlab tune --resume 20261128-101500-3fa9c1   # finish a run that stopped
    """
    from adaptlab.learning_curve import is_main_process, run_tune

    if not is_main_process():  # another rank under `accelerate launch`: train, stay quiet
        run_tune(request.config, out_dir=request.out, resume=request.resume)
        return
    with make_progress() as progress:
        listener = TuneConsoleListener(progress)
        outcome = run_tune(request.config, out_dir=request.out, listener=listener, resume=request.resume)
    print_outcome(outcome, wide=request.wide)
