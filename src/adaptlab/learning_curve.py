"""A tuning run: fine-tune at growing train sizes and evaluate each on the same test split.

For each size n the first n examples of a seeded stratified sample of the train split are
rendered with the run's prompt strategy — the exact prompts evaluation uses — and the model is
fine-tuned on them (or the stored weights for that request are reused), then evaluated like any
prompt rung. The base model with the same prompt is evaluated first, so the curve starts from
what prompting alone gets, and the forgetting probe is answered once by the base model and once
by every tuned model.

The run leaves the same files as ``adaptlab eval`` (``results.json`` with ``command: tune``,
``predictions.jsonl``, ``config.yaml``); trained weights live in the registry under
``<out>/adapters/``.
"""

from __future__ import annotations

import gc
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from adaptlab.data import Example, Task, TaskSplit, split_task, stratified_sample
from adaptlab.errors import UsageError
from adaptlab.evaluation import ResultCache, RungResult, evaluate
from adaptlab.evaluation.forgetting import answer_probe, compare_probe
from adaptlab.models import Backend, load_backend
from adaptlab.models.local import LocalBackend
from adaptlab.prompting import Strategy, get_strategy
from adaptlab.runs import (
    EvalConfig,
    RunListener,
    RunOutcome,
    check_strategies,
    default_embedder,
    evaluate_rung,
    expand_rungs,
    load_config_task,
    new_run_id,
    prepare_strategy,
    record_result,
    recorded_run,
    rung_names,
    write_run_directory,
)
from adaptlab.store import DB_FILENAME, Store
from adaptlab.tuning import (
    DEFAULT_SIZES,
    StepReport,
    TrainingRun,
    TuneConfig,
    TuneMode,
    WeightsRegistry,
    build_rows,
    finetune,
)

ADAPTERS_DIR = "adapters"
DEV_LOSS_EXAMPLES = 32
"""Dev examples whose loss early stopping watches (label-stratified: a split's first rows can
all share one label, and a dev loss on one label rewards a model that only says that label)."""


class TuneRunConfig(EvalConfig):
    """An evaluation config plus what to train. `strategies` names the one prompt used both to
    train and to evaluate the tuned weights (zero-shot by default; a hybrid rung uses another)."""

    mode: TuneMode = "lora"
    sizes: list[int] = Field(default_factory=lambda: list(DEFAULT_SIZES))
    epochs: float = Field(3.0, gt=0)
    learning_rate: float | None = Field(None, gt=0)
    train_batch_size: int = Field(8, ge=1)
    lora_r: int = Field(16, ge=1)
    early_stopping_patience: int | None = Field(2, ge=1)
    checkpoint_steps: int | None = Field(None, ge=1)
    forgetting: bool = True
    compare: list[str] = Field(default_factory=list)
    """Prompt rungs to evaluate on the untuned model beside the curve (cached answers reused)."""
    hybrid: list[str] = Field(default_factory=list)
    """Prompt rungs to also ask the largest tuned model with (``lora-800+few-shot-knn-4``)."""
    distill: str | None = None
    """Context distillation: train on the base model's answers under this (long) prompt
    instead of the gold answers; the tuned model is asked with the run's short prompt."""
    base_rung: bool = True
    """Also evaluate the untuned model with the same prompt (the curve's starting point)."""

    @field_validator("sizes")
    @classmethod
    def _positive_sizes(cls, sizes: list[int]) -> list[int]:
        if not sizes or any(n < 1 for n in sizes):
            raise ValueError("sizes must be positive numbers of training examples, e.g. 25,50,100")
        return sorted(set(sizes))

    def tune_config(self) -> TuneConfig:
        return TuneConfig(
            mode=self.mode,
            epochs=self.epochs,
            learning_rate=self.learning_rate,
            batch_size=self.train_batch_size,
            lora_r=self.lora_r,
            lora_alpha=2 * self.lora_r,
            early_stopping_patience=self.early_stopping_patience,
            seed=self.seed,
        )


class TuneListener(RunListener):
    """`RunListener` plus training progress."""

    def training_started(self, rung: str, examples: int) -> Callable[[StepReport], None] | None:
        """Called before each training; may return a callback receiving step reports."""
        return None

    def training_reused(self, rung: str, run: TrainingRun) -> None:
        """Called instead when the registry already held the requested weights."""


def curve_sizes(requested: Sequence[int], available: int) -> list[int]:
    """Requested sizes that the train split can supply; the full split replaces larger ones."""
    sizes = sorted({min(n, available) for n in requested})
    return [n for n in sizes if n > 0]


def run_tune(
    config: TuneRunConfig,
    *,
    out_dir: Path,
    listener: TuneListener | None = None,
    backend_factory: Callable[..., Backend] = load_backend,
) -> RunOutcome:
    """Fine-tune at each size in `config.sizes` and evaluate every tuned model on `config.split`."""
    listener = listener or TuneListener()
    task = load_config_task(config)
    split = split_task(task, fractions=config.fractions, seed=config.seed)
    prompt = _single_prompt(config, task, split)
    sizes = curve_sizes(config.sizes, len(split.train))
    if not sizes:
        raise UsageError("the train split is empty: fine-tuning needs training examples")
    examples = split[config.split]
    if config.limit is not None:
        examples = stratified_sample(examples, config.limit, seed=config.seed)

    listener.model_loading(config.model)
    base = backend_factory(config.model, max_batch_size=config.batch_size)
    if not isinstance(base, LocalBackend):
        raise UsageError(f"{config.model} is not a local model: fine-tuning needs local weights")
    registry = WeightsRegistry(out_dir / ADAPTERS_DIR)
    ordered = _stratified_order(split.train, config.seed)
    dev = stratified_sample(split.dev, DEV_LOSS_EXAMPLES, seed=config.seed) if split.dev else ()
    run_id = new_run_id()
    outcome = RunOutcome(run_id, out_dir / run_id, task, split, tuple(examples))

    def preparer(store: Store | None) -> Callable[[str], Strategy]:
        """Prepares rungs by name; search scores candidates through `store`'s result cache."""
        return lambda name: _prepared(name, config, task, split, base, store, listener)

    def train(strategy: Strategy, size: int, rung: str, targets: dict[str, str] | None) -> TrainingRun:
        """Train on the first `size` examples; answers are gold, or the teacher's (distillation)."""
        selected = [e for e in ordered[:size] if targets is None or e.id in targets]
        answers = [targets[e.id] if targets else e.output for e in selected]
        rows = build_rows(base, strategy.render_many(selected, task), answers)
        dev_rows = build_rows(base, strategy.render_many(dev, task), [e.output for e in dev])
        return finetune(
            base.directory,
            rows,
            dev_rows,
            config.tune_config(),
            registry=registry,
            base_fingerprint=base.cache_identity(),
            checkpoint_steps=config.checkpoint_steps,
            on_step=listener.training_started(rung, len(rows)),
        )

    if not is_main_process():
        # Another rank under `accelerate launch`: train in step with the main process, which
        # alone evaluates, writes the store and the run directory.
        prepared = preparer(None)
        strategy = prepared(prompt)
        targets = _teacher_answers(config, task, ordered[: sizes[-1]], base, prepared, None)
        for size in sizes:
            train(strategy, size, tuned_rung_name(config, size, prompt), targets)
        return outcome

    with (
        Store.open(out_dir / DB_FILENAME) as store,
        recorded_run(store, outcome, config, base, command="tune"),
    ):

        def measure(backend: Backend, strategy: Strategy, rung: str) -> RungResult:
            cache = ResultCache(store, backend.cache_identity()) if config.cache else None
            return evaluate_rung(config, task, examples, backend, strategy, cache, listener, rung=rung)

        prepared = preparer(store)
        strategy = prepared(prompt)
        base_probe = answer_probe(base) if config.forgetting else None
        if config.base_rung:
            record_result(store, outcome, listener, measure(base, strategy, prompt))
        for name in expand_rungs(config.compare, config.shots):
            if name not in (prompt, config.distill):
                record_result(store, outcome, listener, measure(base, prepared(name), name))
        if config.distill:
            # The teacher: the untuned model with the long prompt the student learns to do without.
            record_result(store, outcome, listener, measure(base, prepared(config.distill), config.distill))
        targets = _teacher_answers(config, task, ordered[: sizes[-1]], base, prepared, store)
        tuned: LocalBackend | None = None
        for size in sizes:
            rung = tuned_rung_name(config, size, prompt)
            run = train(strategy, size, rung, targets)
            if run.reused:
                listener.training_reused(rung, run)
            del tuned
            gc.collect()
            tuned = _tuned_backend(base, run, config)
            training = {"examples": size, "reused": run.reused, "key": run.weights.key}
            training["targets"] = f"teacher:{config.distill}" if config.distill else "gold"
            training.update(run.training)
            training["weights"] = str(run.weights.directory)
            forgetting = compare_probe(base_probe, answer_probe(tuned)) if base_probe else None
            details = (training, forgetting.to_dict() if forgetting else None)
            record_result(store, outcome, listener, _with_details(measure(tuned, strategy, rung), *details))
            if size == sizes[-1]:
                for name in config.hybrid:
                    hybrid = _with_details(measure(tuned, prepared(name), f"{rung}+{name}"), *details)
                    record_result(store, outcome, listener, hybrid)
        write_run_directory(outcome, config, base, command="tune")
    return outcome


def _teacher_answers(
    config: TuneRunConfig,
    task: Task,
    examples: Sequence[Example],
    base: Backend,
    prepared: Callable[[str], Strategy],
    store: Store | None,
) -> dict[str, str] | None:
    """For distillation, the base model's parsed answers under the teacher prompt, by example id.

    Examples the teacher answered unparsably are left out of training (the student would learn
    a failure); None when not distilling (train on gold answers).
    """
    if not config.distill:
        return None
    cache = ResultCache(store, base.cache_identity()) if config.cache and store else None
    result = evaluate(task, examples, base, prepared(config.distill), split="train", cache=cache)
    answers = {p.example_id: p.parsed for p in result.predictions if p.parsed is not None}
    if not answers:
        raise UsageError(
            f"the teacher prompt {config.distill} gave no parsable answer on {len(examples)} train"
            " examples: there is nothing to distil; try a teacher rung with better format compliance"
        )
    return answers


def is_main_process() -> bool:
    """False in the non-zero ranks `accelerate launch` / `torchrun` start (RANK is set there)."""
    return int(os.environ.get("RANK", "0")) == 0


def tuned_rung_name(config: TuneRunConfig, size: int, prompt: str) -> str:
    """``lora-100``; ``lora-100@few-shot-knn-4`` when trained and evaluated with that prompt;
    ``distill-lora-100`` when trained on a teacher prompt's answers. Hybrid rungs (the tuned
    weights asked with another prompt) append ``+<prompt>``."""
    name = f"{config.mode}-{size}"
    if config.distill:
        name = f"distill-{name}"
    return name if prompt == "zero-shot" else f"{name}@{prompt}"


def _single_prompt(config: TuneRunConfig, task: Task, split: TaskSplit) -> str:
    """The one training prompt, after checking every prompt the run names can run on this task."""
    names = rung_names(config)
    if len(names) != 1:
        raise UsageError(
            f"tuning trains and evaluates with one prompt strategy, got {len(names)}: {', '.join(names)}"
        )
    extra = [*config.compare, *config.hybrid, *([config.distill] if config.distill else [])]
    others = expand_rungs(extra, config.shots)
    check_strategies([get_strategy(name) for name in [*names, *others]], task, split, config.split)
    return names[0]


def _stratified_order(pool: Sequence[Example], seed: int) -> list[Example]:
    """Train examples in an order whose every prefix keeps the label mix, so each curve size
    contains the smaller ones and differences come from the added data, not a reshuffle."""
    by_label: dict[str, list[Example]] = {}
    for example in pool:
        by_label.setdefault(example.output, []).append(example)
    rng = random.Random(seed)
    for group in by_label.values():
        rng.shuffle(group)
    # Interleave by each example's position within its label, scaled to the label's share.
    keyed = [
        ((index + 0.5) / len(group), label, example)
        for label, group in sorted(by_label.items())
        for index, example in enumerate(group)
    ]
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [example for _, _, example in keyed]


def _prepared(
    name: str,
    config: TuneRunConfig,
    task: Task,
    split: TaskSplit,
    backend: Backend,
    store: Store | None,
    listener: RunListener,
) -> Strategy:
    strategy = get_strategy(name)
    cache = ResultCache(store, backend.cache_identity()) if config.cache and store else None
    prepare_strategy(strategy, config, task, split, backend, cache, listener, default_embedder)
    return strategy


def _tuned_backend(base: LocalBackend, run: TrainingRun, config: TuneRunConfig) -> LocalBackend:
    weights = run.weights
    if weights.mode == "lora":
        return LocalBackend(
            base.directory,
            model_id=base.model_id,
            fingerprint=base.fingerprint,
            max_batch_size=config.batch_size,
            adapter=weights.directory,
            adapter_id=weights.key,
        )
    return LocalBackend(
        weights.directory,
        model_id=f"{base.model_id}+full:{weights.key}",
        fingerprint=weights.key,
        max_batch_size=config.batch_size,
    )


def _with_details(
    result: RungResult, training: dict[str, Any], forgetting: dict[str, Any] | None
) -> RungResult:
    return replace(result, training=training, forgetting=forgetting)
