"""The ``adaptlab`` command line: a thin layer over the Python API.

Each command parses options, calls one API function and renders its result with rich. Errors a
user can cause (`AdaptlabError`) are printed as ``adaptlab: <message>`` with a non-zero exit
code and no traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from adaptlab.console import COMPACT
from adaptlab.errors import AdaptlabError, UsageError
from adaptlab.evaluation import RungResult
from adaptlab.evaluation.evaluate import DEFAULT_CONSISTENCY_SAMPLE
from adaptlab.models import DEFAULT_MODEL
from adaptlab.models.base import DEFAULT_MAX_BATCH_SIZE, ProgressCallback
from adaptlab.paths import DEFAULT_RUNS_DIR

DEMO_TASK = "tweet-sentiment"

app = typer.Typer(
    name="adaptlab",
    help="Prompt it, fine-tune it, or both? Measure each option on your task, with its cost.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(command: F) -> F:
    """Turn `AdaptlabError` into ``adaptlab: message`` on stderr and the error's exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AdaptlabError as error:
            err_console.print(f"adaptlab: {escape(str(error))}", highlight=False, soft_wrap=True)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("adaptlab: interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


# -- shared options -------------------------------------------------------------------------

TaskArg = Annotated[
    str, typer.Argument(help="Task: a .jsonl / .csv / .tsv file, a task .yaml, or a bundled task name.")
]
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model", "-m", help="Bundled model name (see `adaptlab models`), HF model directory or .gguf file."
    ),
]
LabelsOpt = Annotated[
    str | None, typer.Option(help="Declare the closed label set, comma-separated (e.g. `neg,pos`).")
]
InstructionOpt = Annotated[str | None, typer.Option(help="Task instruction used in prompts.")]
InputFieldOpt = Annotated[str, typer.Option(help="Field / column holding the input.")]
OutputFieldOpt = Annotated[str, typer.Option(help="Field / column holding the gold output.")]
IdFieldOpt = Annotated[str, typer.Option(help="Field / column holding the example id (optional).")]
ExtraOpt = Annotated[bool, typer.Option(help="Ignore fields other than input, output and id.")]
SeedOpt = Annotated[int, typer.Option(help="Seed of the train/dev/test split (and of --limit sampling).")]
FractionsOpt = Annotated[str, typer.Option(help="Train,dev,test shares of the split.")]
ConsistencyOpt = Annotated[
    int,
    typer.Option(
        min=0,
        help="Examples per rung also asked through two variants (rephrased / demos reordered) to"
        " measure consistency; 0 turns it off.",
    ),
]
LimitOpt = Annotated[
    int | None, typer.Option(min=1, help="Evaluate a label-stratified sample of this many examples.")
]
BatchSizeOpt = Annotated[
    int, typer.Option(min=1, help="Most examples per batch; 1 measures plain request latency.")
]
OutOpt = Annotated[Path, typer.Option(help="Runs directory (holds adaptlab.db, adapters/ and run folders).")]


def parse_csv_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    return items or None


def parse_fractions(value: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(part) for part in value.split(","))
    except ValueError:
        raise UsageError(f'--fractions "{value}" must be three numbers, e.g. 0.6,0.1,0.3') from None
    if len(parts) != 3:
        raise UsageError(f'--fractions "{value}" must be three numbers, e.g. 0.6,0.1,0.3')
    return parts  # type: ignore[return-value]


# -- models ---------------------------------------------------------------------------------


@app.command()
@reports_errors
def models() -> None:
    """List the models adaptlab can use without downloading anything.

    **Example:** `adaptlab models`
    """
    from adaptlab.models.catalog import BUNDLED_MODELS

    table = Table(title="Bundled models (* = default)", title_justify="left", **COMPACT)
    for column in ("name", "model", "params", "license", "status"):
        table.add_column(column, no_wrap=True)
    missing = []
    for model in BUNDLED_MODELS.values():
        version = model.installed_version()
        if version is None:
            missing.append(model)
        name = model.name + ("*" if model.name == DEFAULT_MODEL else "")
        status = f"installed {version}" if version else "not installed"
        table.add_row(name, model.display_name, model.parameters, model.license, status)
    console.print(table)
    for model in missing:
        console.print(f"To install {model.name}: {model.install_command}", highlight=False)
    console.print(
        "Also usable: any local Hugging Face model directory or .gguf file, e.g. "
        "`--model ./models/my-model`. Hub ids are refused: nothing is downloaded at run time.",
        highlight=False,
    )


# -- validate -------------------------------------------------------------------------------


@app.command()
@reports_errors
def validate(
    task: TaskArg,
    model: ModelOpt = DEFAULT_MODEL,
    labels: LabelsOpt = None,
    instruction: InstructionOpt = None,
    input_field: InputFieldOpt = "input",
    output_field: OutputFieldOpt = "output",
    id_field: IdFieldOpt = "id",
    allow_extra_fields: ExtraOpt = False,
    seed: SeedOpt = 0,
    fractions: FractionsOpt = "0.6,0.1,0.3",
    chars: Annotated[bool, typer.Option(help="Measure lengths in characters (skips the tokenizer).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Check a task file and summarise it: rows, labels, lengths in tokens, duplicates, leakage.

    Exits 1 and lists every problem (file, line, field) when the file is invalid.

    **Examples:**

    `adaptlab validate data/train.jsonl`

    `adaptlab validate reviews.csv --input-field text --output-field label --labels neg,pos`
    """
    from adaptlab.data import describe_task, load_task, quality_report, split_task

    loaded = load_task(
        task,
        labels=parse_csv_list(labels),
        instruction=instruction,
        input_field=input_field,
        output_field=output_field,
        id_field=id_field,
        allow_extra_fields=allow_extra_fields,
    )
    split = split_task(loaded, fractions=parse_fractions(fractions), seed=seed)
    count_tokens = None
    if not chars:
        from adaptlab.models.tokenizer import load_token_counter

        count_tokens = load_token_counter(model)
    summary = describe_task(loaded, count_tokens=count_tokens, split=split)
    report = quality_report(loaded, split)
    if as_json:
        payload = {"summary": summary.to_dict(), "warnings": report.warnings()}
        console.print_json(json.dumps(payload, ensure_ascii=False))
        return
    from adaptlab.console import print_task_summary

    print_task_summary(console, loaded, summary, report.warnings())


# -- eval -----------------------------------------------------------------------------------


class ConsoleListener:
    """Draws a progress bar per rung and a status line while the model loads."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.search_bars: dict[str, Any] = {}

    def model_loading(self, spec: str) -> None:
        from adaptlab.models import resolve_model_spec
        from adaptlab.models.weights import is_prepared

        if is_prepared(resolve_model_spec(spec)):
            console.print(f"loading model {spec} …", highlight=False)
        else:
            console.print(
                f"loading model {spec}: first use, converting its GGUF weights to safetensors "
                "once (about 20 s on a 2-core CPU) …",
                highlight=False,
            )

    def rung_started(self, rung: str, total: int) -> ProgressCallback:
        task_id = self.progress.add_task(rung, total=total, unit="examples")
        return lambda n: self.progress.advance(task_id, n)

    def search_trial_started(self, rung: str, trial: int, total: int) -> ProgressCallback:
        """One bar for the whole search, growing by a dev split per candidate prompt."""
        if rung not in self.search_bars:
            self.search_bars[rung] = self.progress.add_task(f"{rung} (dev)", total=0, unit="examples")
        task_id = self.search_bars[rung]
        current = self.progress.tasks[task_id].total or 0
        self.progress.update(task_id, total=current + total, description=f"{rung} (dev, prompt {trial})")
        return lambda n: self.progress.advance(task_id, n)

    def rung_finished(self, result: RungResult) -> None:
        metrics = result.metrics
        self.progress.console.print(
            f"{result.rung}: accuracy {metrics.accuracy:.1%} "
            f"({metrics.accuracy_low:.1%}–{metrics.accuracy_high:.1%}) on {metrics.n} examples",
            highlight=False,
        )


def make_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
    )


@app.command("eval")
@reports_errors
def eval_command(
    task: TaskArg,
    model: ModelOpt = DEFAULT_MODEL,
    strategy: Annotated[
        list[str],
        typer.Option(
            "--strategy",
            "--strategies",
            "-s",
            help="Prompt strategies (rungs), comma-separated or repeated; `ladder` runs them all."
            " Few-shot families take the shot counts of --shots, or a count of their own (few-shot-knn-8).",
        ),
    ] = ["zero-shot"],  # noqa: B006 - typer needs a literal default
    shots: Annotated[str, typer.Option(help="Demo counts for few-shot rungs named without one.")] = "4,8",
    consistency_sample: ConsistencyOpt = DEFAULT_CONSISTENCY_SAMPLE,
    cache: Annotated[
        bool, typer.Option(help="Reuse answers stored by earlier runs (same weights, prompt, decoding).")
    ] = True,
    split: Annotated[str, typer.Option(help="Which split to evaluate: train, dev or test.")] = "test",
    limit: LimitOpt = None,
    max_new_tokens: Annotated[int | None, typer.Option(min=1, help="Cap on generated tokens.")] = None,
    batch_size: BatchSizeOpt = DEFAULT_MAX_BATCH_SIZE,
    out: OutOpt = DEFAULT_RUNS_DIR,
    labels: LabelsOpt = None,
    instruction: InstructionOpt = None,
    input_field: InputFieldOpt = "input",
    output_field: OutputFieldOpt = "output",
    id_field: IdFieldOpt = "id",
    allow_extra_fields: ExtraOpt = False,
    seed: SeedOpt = 0,
    fractions: FractionsOpt = "0.6,0.1,0.3",
) -> None:
    """Evaluate prompt strategies (rungs of the prompt ladder) of a model on one split of a task.

    Writes `<out>/<run-id>/results.json` (accuracy with a 95% bootstrap interval, format
    compliance, consistency, per-example predictions, latency p50/p95, tokens per request) and
    records the run in `<out>/adaptlab.db`, whose result cache makes re-runs recompute only
    what changed.

    Rungs: zero-shot, instruction-terse, instruction-detailed, instruction-role,
    few-shot-random[-K], few-shot-knn[-K], cot, format-label, format-json, label-scoring,
    search; `ladder` means all of them.

    **Examples:**

    `adaptlab eval tweet-sentiment --model smollm2-135m --strategy zero-shot`

    `adaptlab eval tweet-sentiment --strategies ladder --limit 150`

    `adaptlab eval tweet-sentiment -s few-shot-knn,label-scoring --shots 2,4,8`

    `adaptlab eval data/tickets.jsonl --model ./models/qwen --limit 200`
    """
    from adaptlab.runs import EvalConfig, rung_names

    names = [name for value in strategy for name in parse_csv_list(value) or []]
    if split not in ("train", "dev", "test"):
        raise UsageError(f'--split must be train, dev or test, not "{split}"')
    config = EvalConfig(
        task=task,
        model=model,
        strategies=names,
        shots=parse_counts(shots, "--shots", "4,8"),
        consistency_sample=consistency_sample,
        cache=cache,
        split=split,
        limit=limit,
        seed=seed,
        fractions=parse_fractions(fractions),
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        labels=parse_csv_list(labels),
        instruction=instruction,
        input_field=input_field,
        output_field=output_field,
        id_field=id_field,
        allow_extra_fields=allow_extra_fields,
    )
    rung_names(config)  # unknown names fail here, before the model loads
    run_and_report(config, out)


def parse_counts(value: str, option: str, example: str) -> list[int]:
    """A comma-separated list of positive whole numbers, e.g. ``--shots 4,8``."""
    try:
        counts = [int(part) for part in parse_csv_list(value) or []]
    except ValueError:
        counts = []
    if not counts or any(n < 1 for n in counts):
        raise UsageError(f'{option} "{value}" must be positive whole numbers, e.g. {example}')
    return counts


def run_and_report(config: Any, out: Path) -> Any:
    """Run an evaluation with progress bars, then print the comparison table and file paths."""
    from adaptlab.console import print_rung_table
    from adaptlab.runs import run_eval

    with make_progress() as progress:
        outcome = run_eval(config, out_dir=out, listener=ConsoleListener(progress))
    print_rung_table(console, outcome)
    console.print(f"results: {outcome.directory / 'results.json'}", highlight=False)
    return outcome


# -- tune -----------------------------------------------------------------------------------


class TuneConsoleListener(ConsoleListener):
    """Adds a training bar (steps, loss, tokens/s, ETA) per learning-curve size."""

    def training_started(self, rung: str, examples: int) -> Callable[[Any], None]:
        task_id = self.progress.add_task(f"{rung} (train on {examples})", total=None, unit="steps")

        def on_step(report: Any) -> None:
            loss = f"loss {report.loss:.3f}, " if report.loss is not None else ""
            self.progress.update(
                task_id,
                completed=report.step,
                total=report.total_steps,
                description=f"{rung} (train: {loss}{report.tokens_per_s:.0f} tok/s)",
            )

        return on_step

    def training_reused(self, rung: str, run: Any) -> None:
        self.progress.console.print(
            f"{rung}: reusing trained weights {run.weights.key} (same model, data and settings)",
            highlight=False,
        )


@app.command("tune")
@reports_errors
def tune_command(
    task: TaskArg,
    model: ModelOpt = DEFAULT_MODEL,
    mode: Annotated[str, typer.Option(help="lora (all linear layers) or full (every weight).")] = "lora",
    sizes: Annotated[
        str,
        typer.Option(
            help="Training-set sizes of the learning curve; larger than the train split = all of it."
        ),
    ] = "25,50,100,200,400,800",
    strategy: Annotated[
        str,
        typer.Option(
            "--strategy",
            "-s",
            help="The prompt the model is trained and evaluated with;"
            " another than zero-shot makes a hybrid rung.",
        ),
    ] = "zero-shot",
    epochs: Annotated[float, typer.Option(min=0.01, help="Passes over the training examples.")] = 3.0,
    lr: Annotated[
        float | None, typer.Option(min=0.0, help="Learning rate [default: 3e-4 for lora, 2e-5 for full].")
    ] = None,
    train_batch_size: Annotated[int, typer.Option(min=1, help="Examples per optimizer step.")] = 8,
    lora_r: Annotated[int, typer.Option(min=1, help="LoRA rank (alpha is twice the rank).")] = 16,
    patience: Annotated[
        int,
        typer.Option(
            min=0, help="Dev-loss evaluations without improvement before stopping; 0 never stops early."
        ),
    ] = 2,
    checkpoint_steps: Annotated[
        int | None, typer.Option(min=1, help="Checkpoint every this many steps [default: every epoch].")
    ] = None,
    compare: Annotated[
        str | None,
        typer.Option(
            help="Prompt rungs to evaluate on the untuned model beside the curve (`ladder` for all);"
            " answers cached by earlier `adaptlab eval` runs are reused.",
        ),
    ] = None,
    hybrid: Annotated[
        str | None,
        typer.Option(help="Prompt rungs to also ask the largest tuned model with, e.g. few-shot-knn-4."),
    ] = None,
    distill: Annotated[
        str | None,
        typer.Option(
            help="Context distillation: train on the untuned model's answers under this long prompt"
            " (e.g. few-shot-knn-8) and ask the tuned model with the short --strategy prompt.",
        ),
    ] = None,
    forgetting: Annotated[
        bool, typer.Option(help="Measure general ability (bundled probe) before and after tuning.")
    ] = True,
    consistency_sample: ConsistencyOpt = DEFAULT_CONSISTENCY_SAMPLE,
    limit: LimitOpt = None,
    batch_size: BatchSizeOpt = DEFAULT_MAX_BATCH_SIZE,
    out: OutOpt = DEFAULT_RUNS_DIR,
    labels: LabelsOpt = None,
    instruction: InstructionOpt = None,
    input_field: InputFieldOpt = "input",
    output_field: OutputFieldOpt = "output",
    id_field: IdFieldOpt = "id",
    allow_extra_fields: ExtraOpt = False,
    seed: SeedOpt = 0,
    fractions: FractionsOpt = "0.6,0.1,0.3",
) -> None:
    """Fine-tune a model at growing train sizes (a learning curve) and evaluate each on the test split.

    Each size trains LoRA (or full) weights with TRL on the first N examples of the train split,
    rendered with the same prompt evaluation uses, early-stopped on dev loss, and evaluates them
    next to the untuned model. Weights are stored under `<out>/adapters/<hash>/` by a hash of
    (model, data, settings): the same request again reuses them, and a killed training resumes
    from its last checkpoint when the same command is run again.

    **Examples:**

    `adaptlab tune tweet-sentiment --sizes 25,50,100 --limit 150`

    `adaptlab tune tweet-sentiment --mode full --sizes 100 --epochs 2`

    `adaptlab tune tweet-sentiment --sizes 25,50,100 --compare few-shot-knn-4,label-scoring`

    `adaptlab tune tweet-sentiment --sizes 100 --hybrid few-shot-knn-4` (tuned weights + best prompt)

    `adaptlab tune tweet-sentiment --distill few-shot-knn-8 --sizes 200` (context distillation)

    `adaptlab tune data/tickets.jsonl --model ./models/qwen --checkpoint-steps 20`
    """
    from pydantic import ValidationError

    from adaptlab.console import print_rung_table, print_training_table
    from adaptlab.learning_curve import TuneRunConfig, is_main_process, run_tune
    from adaptlab.runs import rung_names

    if mode not in ("lora", "full"):
        raise UsageError(f'--mode must be lora or full, not "{mode}"')
    try:
        config = TuneRunConfig(
            task=task,
            model=model,
            strategies=[strategy],
            mode=mode,
            sizes=parse_counts(sizes, "--sizes", "25,50,100"),
            epochs=epochs,
            learning_rate=lr,
            train_batch_size=train_batch_size,
            lora_r=lora_r,
            early_stopping_patience=patience or None,
            checkpoint_steps=checkpoint_steps,
            forgetting=forgetting,
            compare=parse_csv_list(compare) or [],
            hybrid=parse_csv_list(hybrid) or [],
            distill=distill,
            consistency_sample=consistency_sample,
            limit=limit,
            batch_size=batch_size,
            seed=seed,
            fractions=parse_fractions(fractions),
            labels=parse_csv_list(labels),
            instruction=instruction,
            input_field=input_field,
            output_field=output_field,
            id_field=id_field,
            allow_extra_fields=allow_extra_fields,
        )
    except ValidationError as error:
        raise UsageError(error.errors()[0]["msg"]) from None
    rung_names(config)
    if not is_main_process():  # another rank under `accelerate launch`: train, stay quiet
        run_tune(config, out_dir=out)
        return
    with make_progress() as progress:
        outcome = run_tune(config, out_dir=out, listener=TuneConsoleListener(progress))
    print_rung_table(console, outcome)
    print_training_table(console, outcome)
    console.print(f"results: {outcome.directory / 'results.json'}", highlight=False)


# -- demo -----------------------------------------------------------------------------------


@app.command()
@reports_errors
def demo(
    limit: Annotated[
        int | None, typer.Option(min=1, help="Evaluate only this many test examples (quicker).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Runs directory.")] = DEFAULT_RUNS_DIR,
) -> None:
    """Run adaptlab end to end on the bundled tweet-sentiment task and the bundled model.

    **Example:** `adaptlab demo`
    """
    from adaptlab.runs import EvalConfig

    console.print(
        f"adaptlab demo: zero-shot {DEFAULT_MODEL} on the bundled {DEMO_TASK} task (test split)",
        highlight=False,
    )
    outcome = run_and_report(EvalConfig(task=DEMO_TASK, model=DEFAULT_MODEL, limit=limit), out)
    metrics = outcome.results[0].metrics
    console.print(
        f"zero-shot accuracy of {DEFAULT_MODEL} on {DEMO_TASK}: {metrics.accuracy:.1%} "
        f"(95% CI {metrics.accuracy_low:.1%}–{metrics.accuracy_high:.1%}, n={metrics.n})",
        highlight=False,
    )


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    sys.exit(main())
