"""Rebuild one rung of a finished run — its prompt and its weights — to answer new inputs.

A run records what each rung was (``results.json``: the strategy and its settings, the request
it answered with, the model and adapter) and how the run was set up (its config: task, split
seed and fractions, model spec). From these the rung is rebuilt exactly: the task is loaded
and split again, the strategy prepared from the same train pool (seeded random demos, kNN with
the same embedder; a prompt search is restored from the candidate it recorded choosing, not
searched again), and the weights come from the run's adapter registry.

Nothing is trusted blindly: the task must hash to what the run recorded, the model to the
recorded fingerprint, the request to the recorded one, and the first evaluated example must
render to the exact prompt the run recorded for it. Anything else would serve a configuration
other than the one measured, under its name, so it is refused with the reason.

>>> served = load_served_rung("20261128-101500-3fa9c1", Path("runs"))
>>> served.task_model_id, served.plain_model_id
('tweet-sentiment/lora-80+few-shot-knn-4', 'smollm2-135m+lora-80')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from adaptlab.configs import EvalConfig
from adaptlab.data import Example, Task, TaskSplit, split_task, stratified_sample
from adaptlab.decide.rungs import best_rung
from adaptlab.decide.wording import score_text
from adaptlab.errors import AdaptlabError, UsageError
from adaptlab.evaluation.engine import Request
from adaptlab.evaluation.evaluate import request_for
from adaptlab.export.weights import rung_weights
from adaptlab.learning_curve import tuned_backend
from adaptlab.models.base import DEFAULT_MAX_BATCH_SIZE
from adaptlab.models.catalog import ModelSource, endpoint_model, resolve_model_spec
from adaptlab.models.local import LocalBackend
from adaptlab.models.weights import prepare_weights
from adaptlab.prompting import Strategy, get_strategy
from adaptlab.prompting.search import PromptSearch
from adaptlab.runs import (
    RunListener,
    default_embedder,
    find_results,
    load_results,
    prepare_strategy,
    run_corpus,
)
from adaptlab.tuning import WeightsRegistry

Embedder = Callable[[], Any]


@dataclass
class ServedRung:
    """A rung ready to answer: its prepared prompt strategy, the request it answers with
    (generate up to N tokens, or score the labels) and the model with its weights.

    `task_model_id` answers a bare input the way the rung did; `plain_model_id` is the same
    weights taking chat messages as they are.
    """

    run_id: str
    rung: str
    task: Task
    strategy: Strategy
    request: Request
    backend: LocalBackend
    task_model_id: str
    plain_model_id: str
    measured: str | None = None
    """The rung's score in the run as a sentence cites it (``71.2%``, ``chrF 41.3``), quoted
    when the server starts."""
    sample_input: str = ""
    """An input of the run's evaluated split, to show in usage examples."""


def load_served_rung(
    ref: str,
    runs_dir: Path,
    rung: str | None = None,
    *,
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    embedder: Embedder = default_embedder,
) -> ServedRung:
    """Rebuild rung `rung` (default: the run's recommended rung, else its most accurate) of run
    `ref` (an id in `runs_dir`, a run folder or a ``results.json``), checked against the run."""
    path = find_results(ref, runs_dir)
    results = load_results(path)
    run_id = str(results["run_id"])
    config = run_config(results)
    if endpoint_model(config.model) is not None or (results.get("model") or {}).get("backend") != "local":
        raise UsageError(
            f"run {run_id} asked {config.model}, a model behind an API: there are no local weights to"
            " serve; send clients to that endpoint instead"
        )
    record = choose_rung(results, rung)
    name = str(record["rung"])
    task = checked_task(config, results)
    split = split_task(task, fractions=config.fractions, seed=config.seed)
    source = resolve_model_spec(config.model)
    backend = rung_backend(source, results, record, path, max_batch_size)
    check_model(backend, record)
    corpus = run_corpus(config, task, runs_dir, RunListener())
    retriever = corpus.retriever if corpus is not None else None
    strategy = rung_strategy(config, task, split, backend, record, embedder, retriever)
    request = checked_request(task, split, backend, strategy, config, record)
    first = evaluated_examples(config, split)[:1]
    check_prompt(backend, strategy, task, first, record)
    return ServedRung(
        run_id=run_id,
        rung=name,
        task=task,
        strategy=strategy,
        request=request,
        backend=backend,
        task_model_id=f"{task.name}/{name}",
        plain_model_id=plain_model_id(source.name, name, tuned=bool(record.get("training"))),
        measured=measured_score(record),
        sample_input=first[0].input if first else "",
    )


def run_config(results: dict[str, Any]) -> EvalConfig:
    """The evaluation settings of the run's config (eval, tune and run configs all extend them)."""
    stored = results.get("config") or {}
    try:
        return EvalConfig.model_validate(
            {key: value for key, value in stored.items() if key in EvalConfig.model_fields}
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "config"
        raise UsageError(
            f"run {results['run_id']}: its config is not valid ({where}: {first['msg']})"
        ) from None


def choose_rung(results: dict[str, Any], name: str | None) -> dict[str, Any]:
    """The rung called `name`; by default the decision's rung, else the most accurate one."""
    rungs = {str(record["rung"]): record for record in results.get("rungs") or []}
    if not rungs:
        raise UsageError(f"run {results['run_id']} has no rungs: nothing to serve")
    if name is None:
        recommended = (results.get("decision") or {}).get("rung")
        chosen = rungs.get(recommended) if recommended else None
        return chosen or best_rung(list(rungs.values())) or next(iter(rungs.values()))
    if name not in rungs:
        raise UsageError(f'run {results["run_id"]} has no rung "{name}"; its rungs: {", ".join(rungs)}')
    return rungs[name]


def checked_task(config: EvalConfig, results: dict[str, Any]) -> Task:
    """The run's task, loaded again and checked to be the very content the run measured."""
    try:
        task = config.load_task()
    except AdaptlabError as error:
        raise UsageError(
            f"cannot load the task of run {results['run_id']}, {config.task}: {error}"
            " (a relative path is read from the current directory: start the server where the run was made)"
        ) from None
    recorded = (results.get("task") or {}).get("hash")
    if recorded and task.content_hash != recorded:
        raise UsageError(
            f"the task {config.task} has changed since run {results['run_id']} (content hash"
            f" {task.content_hash}, the run measured {recorded}): its demos and labels may differ from"
            " what was measured; restore the task file or run again"
        )
    return task


def rung_backend(
    source: ModelSource, results: dict[str, Any], record: dict[str, Any], path: Path, max_batch_size: int
) -> LocalBackend:
    """The base model for a prompt rung; the base with the rung's trained weights otherwise."""
    prepared = prepare_weights(source)
    if not record.get("training"):
        return LocalBackend(
            prepared.directory,
            model_id=source.name,
            fingerprint=prepared.fingerprint,
            max_batch_size=max_batch_size,
        )
    located = rung_weights(results, str(record["rung"]), path).weights
    stored = WeightsRegistry(located.parent).get(located.name)
    if stored is None:  # rung_weights found its manifest a moment ago
        raise UsageError(f"the weights of rung {record['rung']} at {located} are no longer readable")
    return tuned_backend(
        prepared.directory, source.name, prepared.fingerprint, stored, max_batch_size=max_batch_size
    )


def check_model(backend: LocalBackend, record: dict[str, Any]) -> None:
    """Refuse weights other than those the rung was measured with (a model file replaced, a
    GGUF converted by another transformers version, an adapter retrained under the same key)."""
    recorded = record.get("model") or {}
    found = backend.describe()
    for field in ("model_id", "fingerprint"):
        if recorded.get(field) and recorded[field] != found[field]:
            raise UsageError(
                f"rung {record['rung']} was measured with {field} {recorded[field]}, and the model"
                f" loaded now has {found[field]}: the weights have changed since the run"
            )
    recorded_adapter = (recorded.get("adapter") or {}).get("id")
    found_adapter = (found.get("adapter") or {}).get("id")
    if recorded_adapter != found_adapter:
        raise UsageError(
            f"rung {record['rung']} was measured with adapter {recorded_adapter}, not {found_adapter}"
        )


def rung_strategy(
    config: EvalConfig,
    task: Task,
    split: TaskSplit,
    backend: LocalBackend,
    record: dict[str, Any],
    embedder: Embedder,
    retriever: Callable[[], Any] | None = None,
) -> Strategy:
    """The rung's prompt strategy, prepared from the same train pool as in the run (a retrieval
    rung searching the run's corpus through the same cached index)."""
    info = record.get("strategy") or {}
    name = str(info.get("strategy") or record["rung"])
    if name == "search":
        # The prompt the search chose, prepared alone (kNN demos, a calibration prior measured
        # on these weights): searching again could choose another.
        strategy: Strategy = PromptSearch.restored(info, split.train if config.split != "train" else ())
    else:
        strategy = get_strategy(name)
    prepare_strategy(
        strategy, config, task, split, backend, None, RunListener(), embedder, retriever=retriever
    )
    recorded_embedder = info.get("embedder")
    if recorded_embedder and strategy.describe().get("embedder") != recorded_embedder:
        raise UsageError(
            f"rung {record['rung']} chose its demos with the embedder {recorded_embedder}, and"
            f" {strategy.describe().get('embedder')} is what is installed now"
        )
    return strategy


def measured_score(record: dict[str, Any]) -> str | None:
    metrics = record.get("metrics") or {}
    if metrics.get("score") is None:
        return None
    metric = str(metrics.get("metric") or "accuracy")
    return score_text(metrics["score"], metric, metrics.get("metric_display"))


def checked_request(
    task: Task,
    split: TaskSplit,
    backend: LocalBackend,
    strategy: Strategy,
    config: EvalConfig,
    record: dict[str, Any],
) -> Request:
    """How the rung answered (generate up to N tokens greedily, or score the labels), as recorded."""
    request = request_for(task, backend, strategy, config.max_new_tokens, split.train)
    info = record.get("strategy") or {}
    recorded = {key: info.get(key) for key in request.params()}
    if "mode" in info and recorded != request.params():
        raise UsageError(
            f"rung {record['rung']} answered with {recorded}, and the rebuilt rung would answer with"
            f" {request.params()}: the run was made by another version of adaptlab"
        )
    return request


def evaluated_examples(config: EvalConfig, split: TaskSplit) -> list[Example]:
    """The examples the run evaluated, in its order (a ``--limit`` sample is drawn the same way)."""
    examples = split[config.split]
    if config.limit is not None:
        examples = stratified_sample(examples, config.limit, seed=config.seed)
    return list(examples)


def check_prompt(
    backend: LocalBackend, strategy: Strategy, task: Task, first: list[Example], record: dict[str, Any]
) -> None:
    """The first evaluated example must render to the very prompt the run recorded for it."""
    recorded = (record.get("strategy") or {}).get("example_prompt")
    if not first or recorded is None:
        return
    rendered = backend.render(strategy.render_many(first, task)[0])
    if rendered != recorded:
        raise UsageError(
            f"rung {record['rung']} cannot be rebuilt faithfully: example {first[0].id} renders to a"
            " prompt other than the one the run recorded for it (the task, its split or the strategy"
            " has changed since the run)"
        )


def plain_model_id(base_model: str, rung: str, *, tuned: bool) -> str:
    """``smollm2-135m`` for a prompt rung; ``smollm2-135m+lora-80`` for the weights of
    ``lora-80`` and of its hybrids (``lora-80+few-shot-knn-4``): it names weights, not a prompt.

    >>> plain_model_id("smollm2-135m", "lora-80+few-shot-knn-4", tuned=True)
    'smollm2-135m+lora-80'
    """
    return f"{base_model}+{rung.split('+')[0]}" if tuned else base_model
