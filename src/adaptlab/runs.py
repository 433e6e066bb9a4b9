"""One invocation of adaptlab that evaluates rungs, and what it leaves behind.

A run writes ``<out>/<run-id>/`` with ``results.json`` (the documented summary),
``predictions.jsonl`` (one line per rung and example) and ``config.yaml`` (the exact settings,
re-runnable), and records the same in ``<out>/adaptlab.db``. The directory is assembled under a
hidden staging name and renamed into place only when everything is written, so a run that
crashed or was killed never looks complete.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import re
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import BaseModel

import adaptlab
from adaptlab.configs import LADDER_KEYWORD, EvalConfig
from adaptlab.data import Example, Task, TaskSplit, split_task, stratified_sample
from adaptlab.decide import CostSettings, recommend
from adaptlab.errors import AdaptlabError, UsageError
from adaptlab.evaluation import ResultCache, RungResult, evaluate, planned_requests
from adaptlab.evaluation.evaluate import prompt_prior
from adaptlab.evaluation.floor import Floor, task_floor
from adaptlab.evaluation.result import demo_draws
from adaptlab.evaluation.scoring.base import Scorer, ScoringContext
from adaptlab.evaluation.scoring.task_scorers import TaskScorers
from adaptlab.files import atomic_write_json, atomic_write_text
from adaptlab.models import Backend, load_backend
from adaptlab.models.base import ProgressCallback
from adaptlab.paths import DEFAULT_RUNS_DIR
from adaptlab.prompting import (
    PROMPT_LADDER,
    Strategy,
    StrategyContext,
    expand_strategy_names,
    get_strategy,
)
from adaptlab.prompting.rag import DEFAULT_PASSAGES, RAG, Rag, rag_name
from adaptlab.report import write_report
from adaptlab.retrieval.index import IndexProgress
from adaptlab.retrieval.run_corpus import RunCorpus, seen_and_unseen
from adaptlab.store import DB_FILENAME, Store

RESULTS_SCHEMA_VERSION = 6
REPORT_FILENAME = "report.html"


@dataclass
class RunOutcome:
    run_id: str
    directory: Path
    task: Task
    split: TaskSplit
    examples: tuple[Example, ...] = ()
    results: list[RungResult] = field(default_factory=list)
    scorers: TaskScorers | None = None
    """The task's metrics, built before the model loads (None: built on first use)."""
    corpus: RunCorpus | None = None
    """The documents the retrieval rungs search (``--corpus`` or the spec's), None without."""

    @property
    def retriever(self) -> Callable[[], Any] | None:
        """What a rung opens the corpus index with (None: the run has no corpus)."""
        return self.corpus.retriever if self.corpus is not None else None

    def knowledge(self) -> dict[str, Any] | None:
        """The run's knowledge block of ``results.json``: its corpus, and which test examples
        ask about evidence a train example also names (seen) or none does (unseen)."""
        groups = seen_and_unseen(self.split.train, self.examples)
        if self.corpus is None and groups is None:
            return None
        named = [e for e in self.examples if e.evidence is not None]
        field_name = None
        if named:
            field_name = "context_id" if any(e.context_id is not None for e in named) else "context"
        return {
            "field": field_name,
            "corpus": self.corpus.describe() if self.corpus is not None else None,
            **(groups or {"seen": [], "unseen": []}),
        }

    @property
    def task_scorers(self) -> TaskScorers:
        """The run's one set of scorers: every rung, the floor and the search use these."""
        if self.scorers is None:
            self.scorers = run_scorers(self.task)
        return self.scorers

    @functools.cached_property
    def floor(self) -> Floor | None:
        """What the run's rungs have to beat (see `adaptlab.evaluation.floor`)."""
        return task_floor(self.task, self.split.train, self.examples, self.task_scorers)


class RunListener:
    """Hooks for showing progress; the CLI draws bars, the Python API stays silent."""

    def model_loading(self, spec: str) -> None:
        """Called before the model loads (the first load of a GGUF model converts it)."""

    def corpus_indexing(self, documents: int) -> IndexProgress | None:
        """Called before the corpus index is opened (built and cached the first time); what it
        returns hears how a build advances (stage, done, total)."""
        return None

    def run_started(self, run_id: str, directory: Path, command: str) -> None:
        """Called once the run is recorded in the store, before the long work: from here on
        ``adaptlab <command> --resume <run_id>`` can finish it if it stops."""

    def rung_started(self, rung: str, total: int) -> ProgressCallback | None:
        """Called before each rung; may return a callback receiving finished-example counts."""
        return None

    def rung_finished(self, result: RungResult) -> None:
        """Called after each rung with its measured result."""

    def search_trial_started(self, rung: str, trial: int, total: int) -> ProgressCallback | None:
        """Called before prompt search scores candidate number `trial` on `total` dev examples."""
        return None

    def selection_scored(self, result: RungResult, *, screen: bool) -> None:
        """Called after a rung is scored on the dev screen or the whole selection sample."""


def new_run_id() -> str:
    """Sortable by time, unique across concurrent processes: ``20261125-141503-3fa9c1``."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def rung_names(config: EvalConfig, *, corpus: bool = False) -> list[str]:
    """The rungs `config` asks for, with ``ladder`` and bare few-shot families expanded (and,
    with a `corpus`, the retrieval rungs in ``ladder``)."""
    return expand_rungs(config.strategies, config.shots, passages=config.passages, corpus=corpus)


def expand_rungs(
    names: Sequence[str], shots: Sequence[int], *, passages: int = DEFAULT_PASSAGES, corpus: bool = False
) -> list[str]:
    """Strategy names with ``ladder`` replaced by every prompt rung (with a `corpus`, also
    ``rag-K`` alone and with kNN demos), bare ``rag`` by ``rag-K`` and families given K."""
    retrieval = [rag_name(passages), rag_name(passages, f"few-shot-knn-{shots[0]}")] if corpus else []
    expanded: list[str] = []
    for name in names:
        if name == LADDER_KEYWORD:
            expanded.extend([*PROMPT_LADDER, *retrieval])
        else:
            expanded.append(rag_name(passages) if name == RAG else name)
    return expand_strategy_names(expanded, shots)


def check_strategies(strategies: list[Strategy], task: Task, split: TaskSplit, evaluated: str) -> None:
    """Refuse, before anything is written, rungs this task cannot support."""
    for strategy in strategies:
        reason = unsupported(strategy, task)
        if reason:
            raise UsageError(f"{reason}; declare --labels if they are classes")
        for needed in strategy.needs_splits:
            if needed == evaluated:
                raise UsageError(
                    f"{strategy.name} draws on the {needed} split, so it cannot be evaluated on it;"
                    " evaluate on test"
                )
            if not split[needed]:
                raise UsageError(
                    f"{strategy.name} needs examples in the {needed} split, and it is empty;"
                    " give a task with more examples, or train/dev/test files"
                )


def run_eval(
    config: EvalConfig,
    *,
    out_dir: Path = DEFAULT_RUNS_DIR,
    listener: RunListener | None = None,
    backend_factory: Callable[..., Backend] = load_backend,
    embedder_factory: Callable[[], Any] | None = None,
    resume: str | None = None,
) -> RunOutcome:
    """Evaluate each strategy in `config` on one split of the task and record the run (or
    finish run `resume`, under its id).

    Inputs are validated (task file, strategy names, split) before anything is written, so a
    bad input leaves neither a run directory nor a store row. Model answers go through the
    store's result cache (unless ``cache`` is off), so re-running recomputes only what changed.
    """
    listener = listener or RunListener()
    outcome, backend, strategies = opened_run(config, out_dir, listener, backend_factory, resume)
    with Store.open(out_dir / DB_FILENAME) as store:
        cache = ResultCache(store, backend.cache_identity()) if config.cache else None
        with recorded_run(
            store, outcome, config, backend, command="eval", listener=listener, resume=resume is not None
        ):
            for strategy in strategies:
                run_prompt_rung(
                    strategy,
                    config,
                    outcome,
                    backend,
                    store,
                    cache,
                    listener,
                    embedder_factory or default_embedder,
                )
            write_run_directory(outcome, config, backend)
    return outcome


def opened_run(
    config: EvalConfig,
    out_dir: Path,
    listener: RunListener,
    backend_factory: Callable[..., Backend],
    resume: str | None,
    *,
    left_out: list[tuple[str, str]] | None = None,
    run_id: str | None = None,
) -> tuple[RunOutcome, Backend, list[Strategy]]:
    """The start of a run that asks a model: its inputs checked, the model loaded, and its id
    (that of the run to finish, `run_id`, or a new one); `left_out` as in `checked_inputs`."""
    task, split, examples, strategies = checked_inputs(config, left_out=left_out)
    scorers = run_scorers(task)
    corpus = run_corpus(config, task, out_dir, listener)
    listener.model_loading(config.model)
    backend = backend_factory(config.model, **config.backend_options())
    run_id = resume or run_id or new_run_id()
    outcome = RunOutcome(run_id, out_dir / run_id, task, split, examples, scorers=scorers, corpus=corpus)
    return outcome, backend, strategies


def corpus_path(config: EvalConfig, task: Task) -> str | None:
    """The corpus the run searches: ``--corpus``, else the task spec's."""
    return str(config.corpus) if config.corpus is not None else task.corpus


def run_corpus(config: EvalConfig, task: Task, runs_dir: Path, listener: RunListener) -> RunCorpus | None:
    """The run's corpus, read and checked (file and line for every problem) before a model
    loads; its index opens when a rung first searches it, under the runs directory."""
    path = corpus_path(config, task)
    if path is None:
        return None
    corpus = RunCorpus.read(path, config.index_settings(), runs_dir)
    corpus.on_indexing = listener.corpus_indexing
    return corpus


def run_scorers(task: Task) -> TaskScorers:
    """The task's metrics for a whole run, built before the model loads so that an unusable
    one (a judge without an endpoint) stops the run first."""
    return TaskScorers.for_task(task, ScoringContext(embedder=default_embedder, judge=task.judge))


def unsupported(strategy: Strategy, task: Task) -> str | None:
    """Why `strategy` cannot run on `task`, if it cannot (label scoring on free text)."""
    if strategy.needs_labels and not task.labels:
        return f"{strategy.name} needs a closed label set, and this task's outputs are free text"
    return None


def checked_inputs(
    config: EvalConfig, *, left_out: list[tuple[str, str]] | None = None
) -> tuple[Task, TaskSplit, tuple[Example, ...], list[Strategy]]:
    """The task, its split, the examples to evaluate and the prompt rungs — every one checked
    (task file, rung names, what each rung needs) before a model loads or a file is written.

    With `left_out`, a rung the task cannot support (label scoring on free text) is left out,
    with its reason appended there, instead of refused: the ladder climbs what it can.
    """
    task = config.load_task()
    split = split_task(task, fractions=config.fractions, seed=config.seed)
    examples = split[config.split]
    if config.limit is not None:
        examples = stratified_sample(examples, config.limit, seed=config.seed)
    has_corpus = corpus_path(config, task) is not None
    strategies = [get_strategy(name) for name in rung_names(config, corpus=has_corpus)]
    retrieving = [s.name for s in strategies if isinstance(s, Rag)]
    if retrieving and not has_corpus:
        raise UsageError(
            f"{retrieving[0]} puts passages of a corpus in the prompt: give --corpus PATH (a folder"
            " of .txt/.md files or a JSONL file of id and text) or corpus: in the task spec"
        )
    if left_out is not None:
        left_out.extend((s.name, reason) for s in strategies if (reason := unsupported(s, task)))
        strategies = [s for s in strategies if unsupported(s, task) is None]
    check_strategies(strategies, task, split, config.split)
    return task, split, tuple(examples), strategies


def run_prompt_rung(
    strategy: Strategy,
    config: EvalConfig,
    outcome: RunOutcome,
    backend: Backend,
    store: Store,
    cache: ResultCache | None,
    listener: RunListener,
    embedder: Callable[[], Any],
) -> RungResult:
    """Prepare a prompt rung, evaluate it on the run's examples and record its result."""
    prepare_strategy(
        strategy,
        config,
        outcome.task,
        outcome.split,
        backend,
        cache,
        listener,
        embedder,
        outcome.task_scorers,
        retriever=outcome.retriever,
    )
    result = evaluate_in_run(config, outcome, backend, strategy, cache, listener)
    result = with_demo_draws(result, strategy, config, outcome, backend, cache, listener, embedder)
    record_result(store, outcome, listener, result)
    return result


def with_demo_draws(
    result: RungResult,
    strategy: Strategy,
    config: EvalConfig,
    outcome: RunOutcome,
    backend: Backend,
    cache: ResultCache | None,
    listener: RunListener,
    embedder: Callable[[], Any],
) -> RungResult:
    """`result` with the scores of the rung's other demo draws, when its demos are drawn at
    random and ``demo_seeds`` asks for more than one: a difference between rungs smaller than
    their spread is the luck of the draw, not the prompt (`adaptlab.decide.plateau`).

    Draw i is the same rung prepared with seed ``config.seed + i`` and asked the same examples
    through the same cache, scored by the primary metric alone and without probes; `result`,
    the ``config.seed`` draw, stays the rung (the prompt that is served).
    """
    if not strategy.draws_random_demos or config.demo_seeds < 2:
        return result
    seeds = [config.seed + i for i in range(config.demo_seeds)]
    scores = [result.metrics.score]
    primary = outcome.task_scorers.primary_only()
    for number, seed in enumerate(seeds[1:], start=2):
        draw_config = config.without_probes(seed=seed)
        draw = get_strategy(strategy.name)
        prepare_strategy(
            draw,
            draw_config,
            outcome.task,
            outcome.split,
            backend,
            cache,
            listener,
            embedder,
            retriever=outcome.retriever,
        )
        label = f"{strategy.name} (demo draw {number}/{len(seeds)})"
        measured = evaluate_in_run(
            draw_config, outcome, backend, draw, cache, listener, scorers=primary, rung=label
        )
        scores.append(measured.metrics.score)
    return replace(result, draws=demo_draws(seeds, scores))


class Identified(Protocol):
    """What the store records of the model a run asks: a backend, or a run's models."""

    model_id: str
    fingerprint: str


@contextlib.contextmanager
def recorded_run(
    store: Store,
    outcome: RunOutcome,
    config: BaseModel,
    backend: Identified,
    *,
    command: str,
    listener: RunListener | None = None,
    resume: bool = False,
) -> Iterator[None]:
    """Record the run in the store when it starts (or reopen it, to resume) and tell the
    listener its id; mark it failed if the block raises (a killed process leaves it "running"),
    complete when the block finishes."""
    if resume:
        store.resume_run(outcome.run_id)
    else:
        store.start_run(
            run_id=outcome.run_id,
            command=command,
            task_name=outcome.task.name,
            task_hash=outcome.task.content_hash,
            model_id=backend.model_id,
            model_fingerprint=backend.fingerprint,
            config=config.model_dump(mode="json"),
            adaptlab_version=adaptlab.__version__,
            output_dir=str(outcome.directory),
        )
    outcome.task_scorers.cache_in(store)
    if listener is not None:
        listener.run_started(outcome.run_id, outcome.directory, command)
    try:
        yield
    except BaseException:
        # On a full or read-only disk this write fails too: the run then stays "running", as a
        # killed one does (and resumes the same way), and the error that stopped it is reported.
        with contextlib.suppress(AdaptlabError):
            store.finish_run(outcome.run_id, status="failed")
        raise
    store.finish_run(outcome.run_id, status="complete")


def prepare_strategy(
    strategy: Strategy,
    config: EvalConfig,
    task: Task,
    split: TaskSplit,
    backend: Backend,
    cache: ResultCache | None,
    listener: RunListener,
    embedder: Callable[[], Any],
    scorers: TaskScorers | None = None,
    *,
    retriever: Callable[[], Any] | None = None,
) -> None:
    """Let `strategy` prepare from the train/dev splits (demos, prompt search on dev, scored by
    the primary metric of `scorers`; a retrieval rung opens the corpus index with `retriever`)."""
    context = strategy_context(config, task, split, backend, cache, listener, strategy.name, scorers)
    context.embedder = embedder
    context.retriever = retriever
    strategy.prepare(context)


def evaluate_rung(
    config: EvalConfig,
    task: Task,
    examples: Sequence[Example],
    backend: Backend,
    strategy: Strategy,
    cache: ResultCache | None,
    listener: RunListener,
    *,
    scorers: TaskScorers | None = None,
    budget_from: Sequence[Example] | None = None,
    rung: str | None = None,
) -> RungResult:
    """Evaluate one rung as `config` asks (split, decoding, consistency and robustness probes),
    with progress, scored by the run's `scorers`, answers as long as `budget_from`'s (the train
    split's) gold outputs.

    `rung` names the result when it is not the strategy's own name (a tuned model's rung).
    """
    name = rung or strategy.name
    on_progress = listener.rung_started(
        name, planned_requests(len(examples), config.consistency_sample, config.robustness_sample)
    )
    result = evaluate(
        task,
        examples,
        backend,
        strategy,
        split=config.split,
        max_new_tokens=config.max_new_tokens,
        on_progress=on_progress,
        cache=cache,
        consistency_sample=config.consistency_sample,
        robustness_sample=config.robustness_sample,
        seed=config.seed,
        scorers=scorers,
        budget_from=budget_from,
    )
    return result if rung is None else replace(result, rung=rung)


def evaluate_in_run(
    config: EvalConfig,
    outcome: RunOutcome,
    backend: Backend,
    strategy: Strategy,
    cache: ResultCache | None,
    listener: RunListener,
    *,
    examples: Sequence[Example] | None = None,
    scorers: TaskScorers | None = None,
    rung: str | None = None,
) -> RungResult:
    """`evaluate_rung` on the run's task: its test examples (or `examples`: a dev sample), scored
    by the run's scorers (or `scorers`), answers as long as its train split's outputs."""
    return evaluate_rung(
        config,
        outcome.task,
        outcome.examples if examples is None else examples,
        backend,
        strategy,
        cache,
        listener,
        scorers=scorers or outcome.task_scorers,
        budget_from=outcome.split.train,
        rung=rung,
    )


def record_result(store: Store, outcome: RunOutcome, listener: RunListener, result: RungResult) -> None:
    """Store a rung's result, add it to the run's outcome and tell the listener."""
    store.record_rung(outcome.run_id, result)
    outcome.results.append(result)
    listener.rung_finished(result)


def strategy_context(
    config: EvalConfig,
    task: Task,
    split: TaskSplit,
    backend: Backend,
    cache: ResultCache | None,
    listener: RunListener,
    rung: str,
    scorers: TaskScorers | None = None,
) -> StrategyContext:
    """What a rung may prepare from: the train and dev splits, never the evaluated one.

    Prompt search scores its candidates on dev through the same engine and cache as the rungs,
    by the task's primary metric alone (the reported ones would only cost time).
    """
    trials = 0
    primary = (scorers or run_scorers(task)).primary_only()

    def dev_score(candidate: Strategy, examples: Sequence[Example]) -> float:
        nonlocal trials
        trials += 1
        on_progress = listener.search_trial_started(rung, trials, len(examples))
        result = evaluate(
            task,
            examples,
            backend,
            candidate,
            split="dev",
            cache=cache,
            on_progress=on_progress,
            scorers=primary,
            budget_from=split.train,
        )
        return result.metrics.score

    return StrategyContext(
        task=task,
        train=split.train if config.split != "train" else (),
        dev=split.dev if config.split != "dev" else (),
        seed=config.seed,
        backend=backend,
        dev_score=dev_score,
        label_prior=lambda strategy, examples: prompt_prior(task, backend, strategy, examples, cache),
    )


def default_embedder() -> Any:
    """The bundled sentence embedder, loaded on first use and shared by the whole process."""
    from adaptlab.models.embeddings import shared_embedder

    return shared_embedder()


def write_run_directory(
    outcome: RunOutcome,
    config: BaseModel,
    backend: Backend,
    *,
    command: str = "eval",
    extras: dict[str, Any] | None = None,
    costs: CostSettings | None = None,
) -> None:
    """Write the run's files under a staging name, then rename the folder into place.

    ``results.json`` carries the decision (`adaptlab.decide`, priced with `costs`) and
    `extras` (the ladder's skipped rungs and budget); ``report.html`` renders it.

    A folder already at the final name was published by an earlier life of this run, killed
    before the store recorded it complete; the resumed run's folder replaces it. A disk that
    is full or read-only is an `AdaptlabError` naming the file, and publishes nothing.
    """
    final = outcome.directory
    staging = final.parent / f".{final.name}.partial"
    replaced = final.parent / f".{final.name}.replaced"
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        payload = results_payload(outcome, config, backend, command=command) | (extras or {})
        payload["decision"] = recommend(payload, costs or CostSettings()).to_dict()
        atomic_write_json(staging / "results.json", payload)
        atomic_write_text(staging / "predictions.jsonl", predictions_jsonl(outcome.results))
        atomic_write_text(
            staging / "config.yaml", yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
        )
        write_report(payload, staging / REPORT_FILENAME)
        if final.exists():
            shutil.rmtree(replaced, ignore_errors=True)
            final.rename(replaced)
        staging.rename(final)
        shutil.rmtree(replaced, ignore_errors=True)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, OSError):
            raise unwritable_run(final, command, error) from None
        raise


def unwritable_run(final: Path, command: str, error: OSError) -> AdaptlabError:
    """What to tell a person whose run could not be written (disk full, read-only folder)."""
    reason = error.strerror or str(error)
    if error.filename:
        # A temporary file (".results.json.k3x9a2.tmp") stands for the file it was to become.
        name = re.sub(r"^[.](.+)[.][^.]+[.]tmp$", r"\1", Path(error.filename).name)
        reason = f"{name}: {reason}"
    return AdaptlabError(
        f"cannot write run {final} ({reason}); nothing of it was published: free some disk space"
        f" or make {final.parent} writable, then `{resume_command(command, final.name, final.parent)}`"
        " finishes the run"
    )


def resume_command(command: str, run_id: str, runs_dir: Path) -> str:
    """What finishes run `run_id` of `adaptlab command` if it stopped (``--out`` only when the
    runs directory is not the default one).

    >>> resume_command("run", "20261128-101500-3fa9c1", Path("runs"))
    'adaptlab run --resume 20261128-101500-3fa9c1'
    """
    out = "" if runs_dir == DEFAULT_RUNS_DIR else f" --out {runs_dir}"
    return f"adaptlab {command} --resume {run_id}{out}"


def find_results(ref: str, runs_dir: Path) -> Path:
    """The ``results.json`` a user means by `ref`: the file, a run folder, or a run id in
    `runs_dir`; a run that never finished gets an error saying how to resume it."""
    path = Path(ref)
    candidates = [path, path / "results.json", runs_dir / ref / "results.json"]
    found = next((c for c in candidates if c.is_file()), None)
    if found is not None:
        return found
    database = runs_dir / DB_FILENAME
    if database.exists():
        with Store.open(database) as store:
            run = store.get_run(ref)
        if run is not None:
            raise UsageError(
                f"run {ref} has no results yet (status: {run['status']}): it did not finish;"
                f" `{resume_command(run['command'], ref, runs_dir)}` finishes it"
            )
    raise UsageError(f'no run "{ref}": give a run id in {runs_dir}, a run folder or a results.json')


def load_results(path: Path, *, several_models: bool = False) -> dict[str, Any]:
    """A run's ``results.json``, refusing files that are not one — and the parent run of
    several models unless the caller reads those (`several_models`): it has no rungs of its
    own, and the error names its model runs instead."""
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UsageError(f"{path}: cannot read it as JSON ({error})") from None
    if isinstance(results, dict) and is_models_run(results):
        if several_models:
            return results
        raise refuse_models_run(results)
    if not isinstance(results, dict) or "rungs" not in results or "run_id" not in results:
        raise UsageError(f"{path}: not an adaptlab results.json (no run_id and rungs)")
    return upgraded(results)


def is_models_run(results: dict[str, Any]) -> bool:
    """Whether a ``results.json`` is the parent run of several models (`adaptlab.multi_model`)."""
    return "models" in results and "rungs" not in results


def refuse_models_run(results: dict[str, Any]) -> UsageError:
    """What to tell someone who asks a parent run for rungs (serve, export, compare): which
    model run to ask instead, the chosen one first."""
    chosen = ((results.get("decision") or {}).get("chosen") or {}).get("spec")
    runs = sorted(results.get("models") or [], key=lambda m: m.get("spec") != chosen)
    listed = ", ".join(
        f"{m['run_id']} ({m['spec']}{', chosen' if m['spec'] == chosen else ''})" for m in runs
    )
    return UsageError(
        f"run {results.get('run_id')} compared several models; ask one of its model runs: {listed}"
    )


ACCURACY_KEYS = {"accuracy": "score", "accuracy_low": "score_low", "accuracy_high": "score_high"}


def upgraded(results: dict[str, Any]) -> dict[str, Any]:
    """Results written before schema 6 (scores were accuracies) in today's shape, so that
    ``report``, ``compare``, ``serve`` and ``export`` read every run the same way: each rung's
    accuracy becomes its score in the metric it was (accuracy for closed labels, exact match for
    free text), each prediction's correctness its score, the majority baseline its floor."""
    if int(results.get("schema_version") or 0) >= RESULTS_SCHEMA_VERSION:
        return results
    closed = bool((results.get("task") or {}).get("labels"))
    metric, display = ("accuracy", "accuracy") if closed else ("exact", "exact match")
    for rung in results.get("rungs") or []:
        metrics = rung.get("metrics") or {}
        for old, new in ACCURACY_KEYS.items():
            if old in metrics:
                metrics[new] = metrics.pop(old)
        metrics.pop("exact_match", None)
        metrics.setdefault("metric", metric)
        metrics.setdefault("metric_display", display)
        for prediction in rung.get("predictions") or []:
            value = 1.0 if prediction.get("correct") else 0.0
            prediction.setdefault("score", value)
            prediction.setdefault("metric_scores", {metric: value})
    baseline = results.get("baseline")
    if baseline and "majority_label" in baseline:
        label = baseline["majority_label"]
        results["baseline"] = {
            "kind": "majority",
            "description": f'always answering "{label}"',
            "score": baseline.get("accuracy"),
            "metric": "accuracy",
            "label": label,
        }
    decision = results.get("decision") or {}
    for block in (decision.get("best_prompt"), decision.get("best_tuned"), decision.get("data_needed")):
        for old, new in ACCURACY_KEYS.items():
            if block and old in block:
                block[new] = block.pop(old)
    for row in (decision.get("plateau") or {}).get("rungs") or []:
        if "accuracy" in row:
            row["score"] = row.pop("accuracy")
    results["task"] = {**(results.get("task") or {}), "metric": {"name": metric, "display": display}}
    return results


def results_payload(
    outcome: RunOutcome, config: BaseModel, backend: Backend, *, command: str = "eval"
) -> dict[str, Any]:
    """The content of ``results.json`` (schema documented in docs/results-schema.md)."""
    task, split, scorers = outcome.task, outcome.split, outcome.task_scorers
    return {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "run_id": outcome.run_id,
        "command": command,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "adaptlab_version": adaptlab.__version__,
        "environment": environment(),
        "config": config.model_dump(mode="json"),
        "task": {
            "name": task.name,
            "hash": task.content_hash,
            "labels": list(task.labels) if task.labels else None,
            "labels_declared": task.labels_declared,
            "instruction": task.instruction,
            "examples": len(task.examples),
            "metric": scorer_name(scorers.primary),
            "metrics": [scorer_name(scorer) for scorer in scorers.reported],
            "format": task.answer_format.describe() if task.answer_format else None,
            "split": {
                "seed": split.seed,
                "fractions": list(split.fractions),
                "sizes": {name: len(split[name]) for name in ("train", "dev", "test")},
            },
        },
        "model": backend.describe(),
        "scoring": scorers.describe(),
        "baseline": floor.to_dict() if (floor := outcome.floor) else None,
        "knowledge": outcome.knowledge(),
        "rungs": [result.to_dict() for result in outcome.results],
    }


def scorer_name(scorer: Scorer) -> dict[str, str]:
    return {"name": scorer.name, "display": scorer.display}


def predictions_jsonl(results: list[RungResult]) -> str:
    lines = []
    for result in results:
        for prediction in result.to_dict()["predictions"]:
            lines.append(json.dumps({"rung": result.rung, **prediction}, ensure_ascii=False))
    return "\n".join(lines) + ("\n" if lines else "")


def environment() -> dict[str, Any]:
    """Versions that can change a measurement, recorded with every result."""
    import torch
    import transformers

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "transformers": transformers.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
