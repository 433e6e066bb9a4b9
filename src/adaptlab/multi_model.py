"""``adaptlab run --model A --model B …``: several models' ladders on one test split, and the
cheapest configuration (model x rung) that reaches the user's target.

Teams do not choose between "prompt" and "fine-tune" in the abstract but between a big model,
prompted (often behind an API), and a small one, tuned: the answer is a price per 1,000
requests at a score they can live with. So each model climbs its own ladder as an ordinary
single-model run — API models the prompt rungs, local ones every rung — and one *parent* run
records them side by side and decides across them (`adaptlab.decide.across_models`).

Why ordinary runs per model: each keeps everything a run has (its report, ``serve``,
``export``, ``compare``, ``--resume``), and the same config (seed, fractions, limit, selection
sample) gives every model the same train, dev and test examples by construction. The model runs
are named after the parent (``<parent>-1``, ``<parent>-2``, in ``--model`` order) and written
beside it; resuming the parent finishes the model run that stopped and reuses the finished
ones.

With ``--teacher MODEL[:RUNG]`` the teacher climbs first; its best prompt rung (chosen on dev,
or RUNG) then answers the training inputs — the train split in the order every curve takes it,
then the ``--unlabeled`` inputs — and every other local model is also tuned on those answers
(``teacher-lora-N``), measured on the same gold test examples as its gold-trained curve.

One budget: each model starts with an even share of what is left of ``--budget-minutes``
(``--budget-tokens``, ``--budget-usd``), so what one model leaves unspent passes to the next.
"""

from __future__ import annotations

import contextlib
import gc
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

import adaptlab
from adaptlab.configs import RunConfig
from adaptlab.data import Example, Task, TaskSplit
from adaptlab.data.quality import duplicate_key
from adaptlab.data.unlabeled import UnlabeledInputs, load_unlabeled
from adaptlab.decide import CostSettings
from adaptlab.errors import UsageError
from adaptlab.evaluation import ResultCache
from adaptlab.files import atomic_write_json, atomic_write_text
from adaptlab.ladder import LadderListener, run_ladder
from adaptlab.learning_curve import TeacherLabels, curve_sizes, stratified_order, teacher_answers
from adaptlab.models import Backend, endpoint_model, load_backend, resolve_model_spec
from adaptlab.prompting import get_strategy
from adaptlab.runs import (
    REPORT_FILENAME,
    RESULTS_SCHEMA_VERSION,
    RunOutcome,
    checked_inputs,
    default_embedder,
    environment,
    expand_rungs,
    load_results,
    new_run_id,
    prepare_strategy,
    recorded_run,
    run_corpus,
    run_scorers,
    unsupported,
    unwritable_run,
)
from adaptlab.store import DB_FILENAME, Store


class ModelsListener(LadderListener):
    """`LadderListener` plus the steps between the models' runs."""

    def model_started(self, spec: str, position: int, total: int, run_id: str) -> None:
        """Called before model number `position` (from 1) of `total` climbs its ladder."""

    def teacher_labelling(self, spec: str, rung: str, inputs: int) -> None:
        """Called before the teacher answers `inputs` training inputs with `rung`."""


@dataclass(frozen=True)
class TeacherChoice:
    """``--teacher MODEL[:RUNG]`` read against the run's models."""

    model: str
    rung: str | None
    """None: the teacher's best prompt rung, chosen on dev."""


@dataclass
class ModelsOutcome:
    """A finished run of several models: the parent's id and folder, and each model's run."""

    run_id: str
    directory: Path
    task: Task
    split: TaskSplit
    examples: tuple[Example, ...]
    runs: list[tuple[str, RunOutcome | None, dict[str, Any]]] = field(default_factory=list)
    """(model spec, its outcome when run in this process, its results.json), in --model order."""
    payload: dict[str, Any] = field(default_factory=dict)
    """The parent's results.json."""


@dataclass(frozen=True)
class CheckedModels:
    """What a run of several models needs, checked before any model loads."""

    order: list[str]
    """The models in climbing order: the teacher first, then the --model order."""
    teacher: TeacherChoice | None
    unlabeled: UnlabeledInputs | None


def run_models(
    config: RunConfig,
    *,
    out_dir: Path,
    listener: ModelsListener | None = None,
    resume: str | None = None,
    backend_factory: Callable[..., Backend] = load_backend,
    embedder_factory: Callable[[], Any] | None = None,
    warn: Callable[[str], None] = lambda message: None,
) -> ModelsOutcome:
    """Climb every model's ladder on the same split (or finish run `resume`), decide across them
    and write the parent run: ``results.json``, ``report.html`` and ``config.yaml``."""
    listener = listener or ModelsListener()
    task, split, examples, _ = checked_inputs(config.for_model(config.models[0]))
    checked = check_models(config, task, warn)
    parent_id = resume or new_run_id()
    outcome = ModelsOutcome(parent_id, out_dir / parent_id, task, split, examples)
    record = RunOutcome(parent_id, outcome.directory, task, split, examples, scorers=run_scorers(task))
    identity = RunIdentity(", ".join(config.models), "+".join(config.models))
    started = time.monotonic()
    finished: dict[str, tuple[RunOutcome | None, dict[str, Any]]] = {}
    teacher_labels: TeacherLabels | None = None
    teacher_summary: dict[str, Any] | None = None
    with (
        Store.open(out_dir / DB_FILENAME) as store,
        recorded_run(
            store, record, config, identity, command="run", listener=listener, resume=resume is not None
        ),
    ):
        for position, spec in enumerate(checked.order, start=1):
            run_id = model_run_id(parent_id, config.models.index(spec))
            listener.model_started(spec, position, len(checked.order), run_id)
            model_config = budget_share(
                config, model_config_of(config, spec, checked.teacher), finished, started, position
            )
            is_student = teacher_labels is not None and endpoint_model(spec) is None
            finished[spec] = model_run(
                model_config,
                run_id,
                out_dir,
                store,
                listener,
                backend_factory,
                embedder_factory,
                teacher_labels if is_student else None,
            )
            if checked.teacher is not None and spec == checked.teacher.model:
                teacher_labels, teacher_summary = label_with_teacher(
                    model_config,
                    checked,
                    finished[spec][1],
                    task,
                    split,
                    store,
                    listener,
                    backend_factory,
                    embedder_factory or default_embedder,
                )
        outcome.runs = [(spec, *finished[spec]) for spec in config.models]
        outcome.payload = parent_payload(outcome, config, teacher_summary)
        write_parent_directory(outcome, config)
    return outcome


@dataclass(frozen=True)
class RunIdentity:
    """What the store records as a parent run's model: the models' specs."""

    model_id: str
    fingerprint: str


def model_run_id(parent_id: str, index: int) -> str:
    """``<parent>-1`` for the first --model: sortable beside the parent, stable across resumes."""
    return f"{parent_id}-{index + 1}"


# -- checks before anything loads ----------------------------------------------------------------


def check_models(config: RunConfig, task: Task, warn: Callable[[str], None]) -> CheckedModels:
    """Every model spec resolves (a local one to weights on this machine), no two name the same
    weights, the teacher is one of the models and has a student, the unlabeled file reads."""
    from adaptlab.models.openai.backend import endpoint_url

    seen: dict[Path, str] = {}
    for spec in config.models:
        if (served := endpoint_model(spec)) is not None:
            endpoint_url(served, config.base_url)
            continue
        path = resolve_model_spec(spec).path
        if path in seen:
            raise UsageError(
                f"--model {spec} and --model {seen[path]} are the same model ({path}); give it once"
            )
        seen[path] = spec
    teacher = parse_teacher(config, task) if config.teacher else None
    order = list(config.models)
    if teacher is not None:
        order.remove(teacher.model)
        order.insert(0, teacher.model)
    unlabeled = None
    if config.unlabeled is not None:
        unlabeled = load_unlabeled(config.unlabeled, input_field=config.input_field)
        if unlabeled.with_outputs:
            warn(
                f"{unlabeled.display}: {unlabeled.with_outputs} of {len(unlabeled.examples)} rows carry a"
                " gold output; adaptlab ignores it there and uses the teacher's answer (put labelled"
                " examples in the task file, where they are measured and trained on as gold)"
            )
    return CheckedModels(order, teacher, unlabeled)


def parse_teacher(config: RunConfig, task: Task) -> TeacherChoice:
    """``MODEL`` or ``MODEL:RUNG``, where MODEL is one of --model (which may hold a colon
    itself: ``openai:gpt-4o-mini:few-shot-knn-4``)."""
    given = str(config.teacher)
    choice = None
    if given in config.models:
        choice = TeacherChoice(given, None)
    else:
        for spec in sorted(config.models, key=len, reverse=True):
            if given.startswith(spec + ":"):
                choice = TeacherChoice(spec, given[len(spec) + 1 :])
                break
    if choice is None:
        raise UsageError(
            f"--teacher {given}: the teacher must be one of the --model models ({', '.join(config.models)}),"
            " optionally with :RUNG"
        )
    if choice.rung is not None:
        names = expand_rungs([choice.rung], config.shots, passages=config.passages)
        if len(names) != 1:
            raise UsageError(f"--teacher {given}: name one prompt rung, e.g. {choice.model}:few-shot-knn-4")
        strategy = get_strategy(names[0])
        reason = unsupported(strategy, task)
        if reason:
            raise UsageError(f"--teacher {given}: {reason}")
        choice = TeacherChoice(choice.model, names[0])
    students = [s for s in config.models if s != choice.model and endpoint_model(s) is None]
    if not students:
        raise UsageError(
            f"--teacher {choice.model} has no student: the other models are behind endpoints, and"
            " tuning needs a local model (a bundled name, a HF directory or a .gguf file)"
        )
    return choice


# -- one model's run -------------------------------------------------------------------------------


def model_config_of(config: RunConfig, spec: str, teacher: TeacherChoice | None) -> RunConfig:
    """The model's own run config; the teacher's also climbs the rung it is to answer with."""
    model_config = config.for_model(spec)
    if teacher is None or teacher.model != spec or teacher.rung is None:
        return model_config
    if teacher.rung in expand_rungs(model_config.strategies, model_config.shots):
        return model_config
    return model_config.model_copy(update={"strategies": [*model_config.strategies, teacher.rung]})


def budget_share(
    config: RunConfig,
    model_config: RunConfig,
    finished: dict[str, tuple[RunOutcome | None, dict[str, Any]]],
    started: float,
    position: int,
) -> RunConfig:
    """`model_config` with an even share of what is left of each budget for the models still
    to climb (this one included): what an earlier model left unspent passes on."""
    left = len(config.models) - position + 1
    spent = [results.get("budget", {}).get("spent", {}) for _, results in finished.values()]
    update: dict[str, Any] = {}
    if config.budget_minutes is not None:
        remaining = config.budget_minutes - (time.monotonic() - started) / 60
        update["budget_minutes"] = max(remaining / left, 0.01)
    if config.budget_tokens is not None:
        remaining_tokens = config.budget_tokens - sum(int(s.get("tokens") or 0) for s in spent)
        update["budget_tokens"] = max(remaining_tokens // left, 1)
    if config.budget_usd is not None:
        remaining_usd = config.budget_usd - sum(float(s.get("usd") or 0.0) for s in spent)
        update["budget_usd"] = max(remaining_usd / left, 1e-9)
    return model_config.model_copy(update=update) if update else model_config


def model_run(
    config: RunConfig,
    run_id: str,
    out_dir: Path,
    store: Store,
    listener: ModelsListener,
    backend_factory: Callable[..., Backend],
    embedder_factory: Callable[[], Any] | None,
    teacher: TeacherLabels | None,
) -> tuple[RunOutcome | None, dict[str, Any]]:
    """The model's run: read back when a finished one is on disk, finished when an earlier life
    of the parent left it unfinished, else climbed anew."""
    stored = store.get_run(run_id)
    results_path = out_dir / run_id / "results.json"
    if stored is not None and stored["status"] == "complete" and results_path.is_file():
        return None, json.loads(results_path.read_text(encoding="utf-8"))
    outcome = run_ladder(
        config,
        out_dir=out_dir,
        listener=listener,
        resume=run_id if stored is not None else None,
        run_id=run_id,
        backend_factory=backend_factory,
        embedder_factory=embedder_factory,
        teacher=teacher,
    )
    gc.collect()  # the model's weights go before the next model loads
    return outcome, json.loads(results_path.read_text(encoding="utf-8"))


# -- the teacher ----------------------------------------------------------------------------------


def label_with_teacher(
    config: RunConfig,
    checked: CheckedModels,
    results: dict[str, Any],
    task: Task,
    split: TaskSplit,
    store: Store,
    listener: ModelsListener,
    backend_factory: Callable[..., Backend],
    embedder: Callable[[], Any],
) -> tuple[TeacherLabels | None, dict[str, Any]]:
    """The teacher's answers to the training inputs the students' curves can use.

    Its rung is the one given, or its run's best prompt rung (chosen on dev). Unlabeled inputs
    that repeat a dev or test input are left out: a student would be trained on the teacher's
    answer to a question it is then measured on.
    """
    teacher = checked.teacher
    assert teacher is not None
    best = (results.get("decision") or {}).get("best_prompt") or {}
    rung = teacher.rung or best.get("rung")
    summary: dict[str, Any] = {"spec": teacher.model, "rung": rung, "chosen_on": None}
    if rung is None:
        summary["reason"] = f"{teacher.model} measured no prompt rung, so it has nothing to answer with"
        listener.skipped("teacher labels", summary["reason"])
        return None, summary
    summary["chosen_on"] = (
        "given" if teacher.rung else ("dev" if best.get("selection_score") is not None else "test")
    )
    pool, dropped = teacher_pool(config, split, checked.unlabeled)
    listener.teacher_labelling(teacher.model, rung, len(pool))
    backend = backend_factory(teacher.model, **config.backend_options())
    cache = ResultCache(store, backend.cache_identity()) if config.cache else None
    scorers = run_scorers(task)
    strategy = get_strategy(rung)
    corpus = run_corpus(config, task, store.path.parent, listener)
    retriever = corpus.retriever if corpus is not None else None
    prepare_strategy(
        strategy, config, task, split, backend, cache, listener, embedder, scorers, retriever=retriever
    )
    on_progress = listener.rung_started(f"{teacher.model} {rung} (labels training inputs)", len(pool))
    answers, result = teacher_answers(
        task,
        pool,
        backend,
        strategy,
        cache,
        split.train,
        max_new_tokens=config.max_new_tokens,
        on_progress=on_progress,
    )
    del backend
    gc.collect()
    train_ids = {example.id for example in split.train}
    from_train = sum(1 for example in pool if example.id in train_ids)
    summary |= {
        "examples": len(pool),
        "train_examples": from_train,
        "unlabeled": len(pool) - from_train,
        "unlabeled_given": len(checked.unlabeled.examples) if checked.unlabeled else 0,
        "unlabeled_dropped": dropped,
        "answered": len(answers),
        "wall_time_s": round(result.metrics.wall_time_s, 3),
    }
    return TeacherLabels(teacher.model, rung, tuple(pool), answers), summary


def teacher_pool(
    config: RunConfig, split: TaskSplit, unlabeled: UnlabeledInputs | None
) -> tuple[list[Example], list[dict[str, str]]]:
    """The inputs the teacher answers, in training order, as many as the largest curve size;
    and the unlabeled inputs left out because they repeat a dev or test input."""
    inputs = list(stratified_order(split.train, config.seed))
    dropped: list[dict[str, str]] = []
    if unlabeled is not None:
        measured = {duplicate_key(e.input): e for e in (*split.dev, *split.test)}
        for example in unlabeled.examples:
            twin = measured.get(duplicate_key(example.input))
            if twin is None:
                inputs.append(example)
            else:
                dropped.append({"source": example.source, "same_as": twin.source or twin.id})
    sizes = curve_sizes(config.sizes, len(inputs))
    return inputs[: max(sizes, default=0)], dropped


# -- the parent run --------------------------------------------------------------------------------


def parent_payload(
    outcome: ModelsOutcome, config: RunConfig, teacher: dict[str, Any] | None
) -> dict[str, Any]:
    """The parent's ``results.json``: the models' runs, the teacher, the decision across them."""
    from adaptlab.decide import choose_configuration

    first = outcome.runs[0][2]
    models = [
        {
            "spec": spec,
            "run_id": results["run_id"],
            "directory": str(outcome.directory.parent / results["run_id"]),
            "model": results.get("model") or {},
        }
        for spec, _, results in outcome.runs
    ]
    decision = choose_configuration(
        [(spec, results) for spec, _, results in outcome.runs], config.costs, config.target
    )
    return {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "run_id": outcome.run_id,
        "command": "run",
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "adaptlab_version": adaptlab.__version__,
        "environment": environment(),
        "config": config.model_dump(mode="json"),
        "task": first.get("task"),
        "models": models,
        "teacher": teacher,
        "decision": decision.to_dict(),
    }


def write_parent_directory(outcome: ModelsOutcome, config: RunConfig) -> None:
    """The parent's files, assembled under a staging name and renamed into place (as a model
    run's are: a killed run never looks finished)."""
    from adaptlab.report import write_models_report

    final = outcome.directory
    staging = final.parent / f".{final.name}.partial"
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        atomic_write_json(staging / "results.json", outcome.payload)
        atomic_write_text(
            staging / "config.yaml", yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
        )
        write_models_report(outcome.payload, staging / REPORT_FILENAME)
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(final)
        staging.rename(final)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, OSError):
            raise unwritable_run(final, "run", error) from None
        raise


def redecide(results: dict[str, Any], costs: CostSettings, report: Path) -> Path:
    """Decide a finished parent run again from its model runs' stored measurements, priced
    with `costs` (``adaptlab report``), and write its report to `report`; `results` gets the
    new decision."""
    from adaptlab.decide import choose_configuration
    from adaptlab.report import write_models_report

    runs = []
    for model in results.get("models") or []:
        path = Path(model["directory"]) / "results.json"
        if not path.is_file():
            raise UsageError(f"run {results.get('run_id')}: its model run {model['run_id']} has no {path}")
        runs.append((str(model["spec"]), load_results(path)))
    target = (results.get("config") or {}).get("target")
    results["decision"] = choose_configuration(runs, costs, target).to_dict()
    return write_models_report(results, report)
