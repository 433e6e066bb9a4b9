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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from adaptlab.configs import TuneRunConfig
from adaptlab.data import Example, Task, TaskSplit, split_task, stratified_sample
from adaptlab.decide.rungs import DOCUMENTS, DOCUMENTS_AND_GOLD, DOCUMENTS_THEN_GOLD
from adaptlab.errors import UsageError
from adaptlab.evaluation import ResultCache, RungResult, evaluate
from adaptlab.evaluation.forgetting import ProbeAnswers, answer_probe, compare_probe
from adaptlab.evaluation.scoring.task_scorers import TaskScorers
from adaptlab.models import Backend, endpoint_model, load_backend
from adaptlab.models.local import LocalBackend
from adaptlab.prompting import Strategy, get_strategy
from adaptlab.runs import (
    RunListener,
    RunOutcome,
    check_strategies,
    default_embedder,
    evaluate_in_run,
    expand_rungs,
    new_run_id,
    prepare_strategy,
    record_result,
    recorded_run,
    run_corpus,
    run_scorers,
    rung_names,
    with_demo_draws,
    write_run_directory,
)
from adaptlab.selection import Selection
from adaptlab.store import DB_FILENAME, Store
from adaptlab.tuning import StoredWeights, WeightsRegistry, build_rows
from adaptlab.tuning.documents import document_rows, mixed
from adaptlab.tuning.examples import TrainingRow
from adaptlab.tuning.sft import TrainingRun, finetune
from adaptlab.tuning.trainer import StepReport

ADAPTERS_DIR = "adapters"
DEV_LOSS_EXAMPLES = 32
"""Dev examples whose loss early stopping watches (label-stratified: a split's first rows can
all share one label, and a dev loss on one label rewards a model that only says that label)."""


class NothingToDistil(UsageError):
    """The teacher prompt gave no parsable answer to learn from."""


@dataclass(frozen=True)
class TeacherLabels:
    """Another model's answers to training inputs: what a student model is tuned on.

    `pool` is the inputs in training order — the train split in the order every curve takes
    it, then the ``--unlabeled`` inputs — and `answers` the teacher's parsed answer to each
    (inputs it answered unparsably are absent: a student would learn a failure).
    """

    model: str
    """The teacher's model spec, as given to ``--model``."""
    rung: str
    """The prompt rung the teacher answered with."""
    pool: tuple[Example, ...]
    answers: dict[str, str]

    @property
    def targets(self) -> str:
        """What a student's ``training.targets`` says it learned: ``teacher:MODEL:RUNG``."""
        return f"teacher:{self.model}:{self.rung}"

    def answered(self) -> list[Example]:
        """The inputs of the pool the teacher answered, in training order."""
        return [example for example in self.pool if example.id in self.answers]


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
    resume: str | None = None,
) -> RunOutcome:
    """Fine-tune at each size in `config.sizes` and evaluate every tuned model on `config.split`
    (or finish run `resume` under its id: stored weights, checkpoints and answers come back)."""
    if endpoint_model(config.model) is not None:
        raise UsageError(
            f"{cannot_tune(config.model)}; `adaptlab eval` and `adaptlab run` measure its prompt rungs"
        )
    listener = listener or TuneListener()
    task = config.load_task()
    split = split_task(task, fractions=config.fractions, seed=config.seed)
    prompt = _single_prompt(config, task, split)
    sizes = curve_sizes(config.sizes, len(split.train))
    if not sizes:
        raise UsageError("the train split is empty: fine-tuning needs training examples")
    examples = split[config.split]
    if config.limit is not None:
        examples = stratified_sample(examples, config.limit, seed=config.seed)
    scorers = run_scorers(task)
    corpus = run_corpus(config, task, out_dir, listener)

    listener.model_loading(config.model)
    base = local_base(backend_factory(config.model, **config.backend_options()), config.model)
    run_id = resume or new_run_id()
    outcome = RunOutcome(
        run_id, out_dir / run_id, task, split, tuple(examples), scorers=scorers, corpus=corpus
    )

    if not is_main_process():
        # Another rank under `accelerate launch`: train in step with the main process, which
        # alone evaluates, writes the store and the run directory.
        Tuner(config, outcome, base, out_dir, None, listener).train_curve(prompt, sizes)
        return outcome

    with (
        Store.open(out_dir / DB_FILENAME) as store,
        recorded_run(
            store, outcome, config, base, command="tune", listener=listener, resume=resume is not None
        ),
    ):
        selection = Selection.for_run(config, split, len(examples))
        tuner = Tuner(config, outcome, base, out_dir, store, listener, selection=selection)
        if config.base_rung:
            tuner.record(tuner.measure_prompt(prompt))
        for name in expand_rungs(config.compare, config.shots):
            if name not in (prompt, config.distill):
                tuner.record(tuner.measure_prompt(name))
        if config.distill:
            # The teacher: the untuned model with the long prompt the student learns to do without.
            tuner.record(tuner.measure_prompt(config.distill))
        tuner.climb(prompt, sizes, hybrid=config.hybrid)
        extras = {"selection": selection.to_dict()} if selection else None
        write_run_directory(outcome, config, base, command="tune", extras=extras)
    return outcome


def local_base(backend: Backend, spec: str) -> LocalBackend:
    """The backend, if its weights can be fine-tuned here."""
    if not isinstance(backend, LocalBackend):
        raise UsageError(cannot_tune(spec))
    return backend


def cannot_tune(model: str) -> str:
    """Why `model`, answered by a backend other than a local one, cannot be fine-tuned here."""
    where = "an OpenAI-compatible endpoint" if endpoint_model(model) is not None else "an API"
    return (
        f"{model} is served by {where}: fine-tuning needs the model's weights on this machine"
        " (a bundled model, a Hugging Face directory or a .gguf file)"
    )


class Tuner:
    """Trains and evaluates the tuned rungs of one run: used by ``adaptlab tune`` for a
    learning curve alone and by ``adaptlab run`` after the prompt rungs.

    With a `store` it evaluates and records every rung into `outcome`; without one (a
    non-main rank under ``accelerate launch``) it only trains, in step with the main rank.
    """

    def __init__(
        self,
        config: TuneRunConfig,
        outcome: RunOutcome,
        base: LocalBackend,
        out_dir: Path,
        store: Store | None,
        listener: TuneListener,
        prepared: dict[str, Strategy] | None = None,
        *,
        selection: Selection | None = None,
        teacher: TeacherLabels | None = None,
    ) -> None:
        self.config = config
        self.teacher = teacher
        """Another model's answers to train on instead of the gold ones (a student's curve)."""
        self.selection = selection
        """Where every measured rung is also scored on dev, to choose on (None: on test)."""
        self.outcome = outcome
        self.strategies = prepared if prepared is not None else {}
        """Prepared prompt rungs by name, shared with the run that hosts the tuner: preparing
        again (kNN embeddings of the train split, a prompt search) would only repeat work."""
        self.base = base
        self.store = store
        self.listener = listener
        self.registry = WeightsRegistry(out_dir / ADAPTERS_DIR)
        split = outcome.split
        self.ordered = stratified_order(split.train, config.seed)
        self.dev = stratified_sample(split.dev, DEV_LOSS_EXAMPLES, seed=config.seed) if split.dev else ()
        self._base_probe: ProbeAnswers | None = None

    @property
    def task(self) -> Task:
        return self.outcome.task

    def prepared(self, name: str, backend: Backend | None = None) -> Strategy:
        """A prompt rung prepared from train/dev on the base model (search scores candidates
        through the cache), or on `backend` when the rung measures the model while it prepares
        (calibrated label scoring's prior): tuned weights have a prior of their own."""
        known = self.strategies.get(name)
        # A rung prepared already is prepared again as the same choice (a search's winner).
        strategy = known.fresh() if known is not None else get_strategy(name)
        model = backend if backend is not None and strategy.prepared_per_model else self.base
        if model is self.base and known is not None:
            return known
        prepare_strategy(
            strategy,
            self.config,
            self.task,
            self.outcome.split,
            model,
            self.cache(model),
            self.listener,
            default_embedder,
            self.outcome.task_scorers,
            retriever=self.outcome.retriever,
        )
        if model is self.base:
            self.strategies[name] = strategy
        return strategy

    def cache(self, backend: Backend) -> ResultCache | None:
        if not (self.config.cache and self.store):
            return None
        return ResultCache(self.store, backend.cache_identity())

    def measure(self, backend: Backend, strategy: Strategy, rung: str) -> RungResult:
        """The rung on the run's test examples, carrying its selection score when the run
        chooses on dev."""
        config, outcome, listener, cache = self.config, self.outcome, self.listener, self.cache(backend)
        result = evaluate_in_run(config, outcome, backend, strategy, cache, listener, rung=rung)
        if self.selection is None:
            return result
        self.selection.score(config, outcome, backend, strategy, cache, listener, rung=rung)
        return self.selection.attach(result)

    def measure_prompt(self, name: str) -> RungResult:
        """A prompt rung on the untuned model, with its other demo draws when its demos are
        random (as ``eval`` and ``run`` measure it); tuned weights are asked with one draw."""
        strategy, cache = self.prepared(name), self.cache(self.base)
        result = self.measure(self.base, strategy, name)
        return with_demo_draws(
            result, strategy, self.config, self.outcome, self.base, cache, self.listener, default_embedder
        )

    def record(self, result: RungResult) -> RungResult:
        if self.store is not None:
            record_result(self.store, self.outcome, self.listener, result)
        return result

    def train(self, strategy: Strategy, size: int, rung: str, targets: dict[str, str] | None) -> TrainingRun:
        """Train on the first `size` examples; answers are gold, or the teacher's (distillation)."""
        base, task = self.base, self.task
        pool = self.teacher.answered() if self.teacher else self.ordered
        selected = [e for e in pool[:size] if targets is None or e.id in targets]
        answers = [targets[e.id] if targets else e.output for e in selected]
        rows = build_rows(base, strategy.render_many(selected, task), answers)
        dev_rows = build_rows(base, strategy.render_many(self.dev, task), [e.output for e in self.dev])
        return self.fit(rows, dev_rows, rung)

    def fit(
        self,
        rows: Sequence[TrainingRow],
        dev_rows: Sequence[TrainingRow],
        rung: str,
        start_from: StoredWeights | None = None,
    ) -> TrainingRun:
        """Train the run's weights on `rows` (early-stopped on `dev_rows`), or reuse them;
        from `start_from`'s weights instead of the base model's when given."""
        config, base = self.config, self.base
        run = finetune(
            base.directory,
            rows,
            dev_rows,
            config.tune_config(),
            registry=self.registry,
            base_fingerprint=base.cache_identity(),
            checkpoint_steps=config.checkpoint_steps,
            on_step=self.listener.training_started(rung, len(rows)),
            start_from=start_from,
        )
        if run.reused:
            self.listener.training_reused(rung, run)
        return run

    def answering(self, run: TrainingRun) -> LocalBackend:
        """The model that answers with `run`'s weights."""
        base = self.base
        return tuned_backend(
            base.directory,
            base.model_id,
            base.fingerprint,
            run.weights,
            max_batch_size=self.config.batch_size,
        )

    def train_curve(self, prompt: str, sizes: Sequence[int]) -> None:
        """Only train (a non-main rank): the same rows, in the same order, as `climb`."""
        strategy = self.prepared(prompt)
        targets = self.teacher_answers(sizes[-1])
        for size in sizes:
            rung = tuned_rung_name(self.config, size, prompt, teacher=self.teacher)
            self.train(strategy, size, rung, targets)

    def climb(
        self,
        prompt: str,
        sizes: Sequence[int],
        *,
        hybrid: Sequence[str] = (),
        stop_reason: Callable[[RungResult, int | None], str | None] | None = None,
    ) -> list[RungResult]:
        """Train and evaluate each size in turn; the last trained also answers `hybrid` prompts.

        `stop_reason` sees each tuned rung's result and the next size (None after the last) and
        returns why to stop climbing (the evidence is clear, the budget is spent) or None.
        """
        config = self.config
        strategy = self.prepared(prompt)
        targets = self.teacher_answers(sizes[-1])
        teacher = self.teacher
        kind = "distilled" if config.distill or teacher else "tuned"
        tuned: LocalBackend | None = None
        results: list[RungResult] = []
        for position, size in enumerate(sizes):
            rung = tuned_rung_name(config, size, prompt, teacher=teacher)
            run = self.train(strategy, size, rung, targets)
            del tuned
            gc.collect()
            tuned = self.answering(run)
            training = {"examples": size, "reused": run.reused, "key": run.weights.key}
            if teacher is not None:
                training["targets"] = teacher.targets
                training["teacher"] = {"model": teacher.model, "rung": teacher.rung}
            else:
                training["targets"] = f"teacher:{config.distill}" if config.distill else "gold"
            training.update(run.training)
            training["weights"] = str(run.weights.directory)
            details = {"training": training, "forgetting": self.forgetting(tuned)}
            results.append(self.record(replace(self.measure(tuned, strategy, rung), kind=kind, **details)))
            following = sizes[position + 1] if position + 1 < len(sizes) else None
            if following is None or (stop_reason and stop_reason(results[-1], following)):
                for name in hybrid:
                    answer = self.measure(tuned, self.prepared(name, tuned), f"{rung}+{name}")
                    self.record(replace(answer, kind="hybrid", **details))
                break
        return results

    def tune_on_documents(
        self, texts: Sequence[str], prompt: str, pairs: int = 0, *, then: bool = False
    ) -> RungResult:
        """Continued training on the corpus `texts` (`adaptlab.tuning.documents`), with the first
        `pairs` question-answer pairs of the curve's order mixed in when `pairs` > 0 or, with
        `then`, trained on after the documents (stage 1 is exactly the documents-only training,
        so the registry hands back its weights when that rung ran; stage 2 continues them on the
        pairs). The model is then asked closed-book with `prompt`: what the weights learnt from
        reading the documents, set against reading them at run time (retrieval) on the same
        questions.

        A sequential rung's ``training`` describes stage 2 (steps, tokens, losses, ``key``,
        ``reused``) except ``wall_time_s``, which is both stages' training time, whether or not
        stage 1 was trained in this call: the compute that produced the weights, as a reused
        rung reports its own. ``start_from`` records stage 1 (its key and wall time).
        """
        config, base, task = self.config, self.base, self.task
        if then and not pairs:
            raise ValueError("tuning on the documents, then on pairs, needs pairs > 0")
        strategy = self.prepared(prompt)
        rows = document_rows(base.tokenizer, texts)
        dev_rows: list[TrainingRow] = []
        selected = self.ordered[:pairs]
        pair_rows: list[TrainingRow] = []
        if selected:
            pair_rows = build_rows(base, strategy.render_many(selected, task), [e.output for e in selected])
            dev_rows = build_rows(base, strategy.render_many(self.dev, task), [e.output for e in self.dev])
        rung = documents_rung_name(config, len(texts), len(selected), then=then)
        stage: dict[str, Any] = {}
        if then and selected:
            first = self.fit(rows, [], documents_rung_name(config, len(texts)))
            run = self.fit(pair_rows, dev_rows, rung, start_from=first.weights)
            targets = DOCUMENTS_THEN_GOLD
            first_s = float(first.training.get("wall_time_s") or 0.0)
            stage = {
                "wall_time_s": first_s + float(run.training.get("wall_time_s") or 0.0),
                "start_from": {"key": first.weights.key, "reused": first.reused, "wall_time_s": first_s},
            }
        elif selected:
            run = self.fit(mixed(rows, pair_rows, config.seed), dev_rows, rung)
            targets = DOCUMENTS_AND_GOLD
        else:
            run = self.fit(rows, dev_rows, rung)
            targets = DOCUMENTS
        tuned = self.answering(run)
        training = {
            "examples": len(selected),
            "documents": len(texts),
            "targets": targets,
            "reused": run.reused,
            "key": run.weights.key,
            **run.training,
            **stage,
            "weights": str(run.weights.directory),
        }
        details = {"training": training, "forgetting": self.forgetting(tuned)}
        result = self.record(replace(self.measure(tuned, strategy, rung), kind="tuned", **details))
        del tuned
        gc.collect()
        return result

    def forgetting(self, tuned: LocalBackend) -> dict[str, Any] | None:
        """The general-ability probe, tuned vs base (the base answers once per run)."""
        if not self.config.forgetting:
            return None
        if self._base_probe is None:
            self._base_probe = answer_probe(self.base)
        return compare_probe(self._base_probe, answer_probe(tuned)).to_dict()

    def teacher_answers(self, size: int) -> dict[str, str] | None:
        """For distillation, the base model's parsed answers under the teacher prompt, by
        example id, for the first `size` training examples.

        Examples the teacher answered unparsably are left out of training (the student would
        learn a failure); None when not distilling (train on gold answers).
        """
        config = self.config
        if self.teacher is not None:
            return self.teacher.answers
        if not config.distill:
            return None
        examples = self.ordered[:size]
        teacher = self.prepared(config.distill)
        answers, _ = teacher_answers(
            self.task, examples, self.base, teacher, self.cache(self.base), self.outcome.split.train
        )
        if not answers:
            raise NothingToDistil(
                f"the teacher prompt {config.distill} gave no parsable answer on {len(examples)} train"
                " examples: there is nothing to distil; try a teacher rung with better format compliance"
            )
        return answers


def teacher_answers(
    task: Task,
    inputs: Sequence[Example],
    backend: Backend,
    strategy: Strategy,
    cache: ResultCache | None,
    train: Sequence[Example],
    *,
    max_new_tokens: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, str], RungResult]:
    """A prompted model's parsed answers to training `inputs`, by example id, and the
    measurement they came from: what context distillation and a student model are tuned on.

    Inputs answered unparsably are left out (a student would learn a failure); the answers are
    as long as `train`'s gold outputs, and scored by the cheapest metric (nobody reports on them).
    """
    result = evaluate(
        task,
        inputs,
        backend,
        strategy,
        split="train",
        max_new_tokens=max_new_tokens,
        cache=cache,
        on_progress=on_progress,
        scorers=TaskScorers.cheapest(task),
        budget_from=train,
    )
    answers = {p.example_id: p.parsed for p in result.predictions if p.parsed is not None}
    return answers, result


def is_main_process() -> bool:
    """False in the non-zero ranks `accelerate launch` / `torchrun` start (RANK is set there)."""
    return int(os.environ.get("RANK", "0")) == 0


def tuned_rung_name(
    config: TuneRunConfig, size: int, prompt: str, *, teacher: TeacherLabels | None = None
) -> str:
    """``lora-100``; ``lora-100@few-shot-knn-4`` when trained and evaluated with that prompt;
    ``distill-lora-100`` when trained on the model's own answers under a long prompt;
    ``teacher-lora-100`` when trained on another model's answers. Hybrid rungs (the tuned
    weights asked with another prompt) append ``+<prompt>``."""
    name = f"{config.mode}-{size}"
    if teacher is not None:
        name = f"teacher-{name}"
    elif config.distill:
        name = f"distill-{name}"
    return name if prompt == "zero-shot" else f"{name}@{prompt}"


def documents_rung_name(config: TuneRunConfig, documents: int, pairs: int = 0, *, then: bool = False) -> str:
    """``docs-lora-426``: trained on 426 corpus passages; ``docs-qa-lora-64``: on the passages
    and 64 question-answer pairs together; ``docs-then-qa-lora-64`` (`then`): on the passages,
    then on 64 question-answer pairs."""
    if not pairs:
        return f"docs-{config.mode}-{documents}"
    return f"docs-then-qa-{config.mode}-{pairs}" if then else f"docs-qa-{config.mode}-{pairs}"


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


def stratified_order(pool: Sequence[Example], seed: int) -> list[Example]:
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


def tuned_backend(
    base_directory: Path, model_id: str, fingerprint: str, weights: StoredWeights, *, max_batch_size: int
) -> LocalBackend:
    """The model that answers for `weights` trained on the base model at `base_directory`
    (`model_id`, `fingerprint`): the base with the LoRA adapter merged in, or the fully tuned
    model. ``adaptlab serve`` rebuilds a finished run's rung with it too, so a served rung has
    exactly the model id, fingerprint and weights its measurements were taken with."""
    if weights.mode == "lora":
        return LocalBackend(
            base_directory,
            model_id=model_id,
            fingerprint=fingerprint,
            max_batch_size=max_batch_size,
            adapter=weights.directory,
            adapter_id=weights.key,
        )
    return LocalBackend(
        weights.directory,
        model_id=f"{model_id}+full:{weights.key}",
        fingerprint=weights.key,
        max_batch_size=max_batch_size,
    )
