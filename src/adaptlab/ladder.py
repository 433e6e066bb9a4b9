"""``adaptlab run``: the whole ladder on one test split, then a recommendation and a report.

The rungs run in the order a careful engineer would try them, cheapest first:

1. **prompt rungs** on the untuned model (the prompt ladder: zero-shot, instructions, few-shot,
   CoT, formats, label scoring, prompt search);
2. **tuned rungs**: a learning curve of LoRA (or full) fine-tunes at growing train sizes, asked
   with the short zero-shot prompt; the last one is also asked with the best prompt (hybrid);
3. **distilled rung**: the best prompt's answers on the train split are compressed into the
   weights, so the tuned model answers from the short prompt (context distillation).

The ladder stops climbing when the evidence is clear — prompting already answers every test
example correctly (tuning cannot gain), the learning curve is flat for two sizes in a row, a
tuned model is perfect — or when the budget (minutes, tokens, dollars) would be overrun; every
rung left out is listed with its reason in ``results.json`` and the report.

A killed run resumes with ``adaptlab run --resume RUN_ID``: the same config is re-run under the
same id, and the result cache, the weights registry and training checkpoints make every finished
answer, adapter and step come back without being computed again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from adaptlab.budget import Budget
from adaptlab.configs import RunConfig, TuneRunConfig
from adaptlab.decide import paired_gain
from adaptlab.decide.rungs import best_rung
from adaptlab.errors import UsageError
from adaptlab.evaluation import ResultCache, RungResult
from adaptlab.learning_curve import (
    NothingToDistil,
    TeacherLabels,
    TuneListener,
    Tuner,
    cannot_tune,
    curve_sizes,
    is_main_process,
    tuned_rung_name,
)
from adaptlab.models import Backend, load_backend
from adaptlab.models.local import LocalBackend
from adaptlab.prompting import Strategy
from adaptlab.prompting.rag import Rag
from adaptlab.runs import (
    RunOutcome,
    default_embedder,
    evaluate_in_run,
    opened_run,
    prepare_strategy,
    record_result,
    recorded_run,
    with_demo_draws,
    write_run_directory,
)
from adaptlab.selection import Selection
from adaptlab.store import DB_FILENAME, Store

TRAINING_PROMPT = "zero-shot"
"""Tuned rungs are trained and asked with the shortest prompt: short requests are what tuning buys."""

DISTILL_MIN_PROMPT_RATIO = 1.5
"""Distil only a best prompt at least this many times longer than the zero-shot prompt: below
that the request gets hardly shorter, and the training would buy nothing to measure."""


class LadderListener(TuneListener):
    """`TuneListener` plus the ladder's decisions not to climb further."""

    def skipped(self, what: str, reason: str) -> None:
        """Called when a rung or a phase is left out, with the reason."""


def run_ladder(
    config: RunConfig,
    *,
    out_dir: Path,
    listener: LadderListener | None = None,
    resume: str | None = None,
    backend_factory: Callable[..., Backend] = load_backend,
    embedder_factory: Callable[[], Any] | None = None,
    run_id: str | None = None,
    teacher: TeacherLabels | None = None,
) -> RunOutcome:
    """Run every rung `config` asks for (or resume run `resume`), decide, and write the run
    (under `run_id` when given: a run of several models names its model runs).

    With `teacher`, another model's answers to the training inputs, the model is also tuned on
    them (a student's curve, `Ladder.student_rungs`). Inputs are checked before anything is
    written; the run directory (results, predictions, config, report) appears, complete, only
    when the ladder has finished.
    """
    if not is_main_process():
        raise UsageError(
            "adaptlab run evaluates and decides in one process; to train on several GPUs use"
            " `accelerate launch -m adaptlab tune ...` (see README, Scaling out)"
        )
    listener = listener or LadderListener()
    left_out: list[tuple[str, str]] = []
    outcome, backend, strategies = opened_run(
        config, out_dir, listener, backend_factory, resume, left_out=left_out, run_id=run_id
    )
    with (
        Store.open(out_dir / DB_FILENAME) as store,
        recorded_run(
            store, outcome, config, backend, command="run", listener=listener, resume=resume is not None
        ),
    ):
        ladder = Ladder(config, outcome, backend, out_dir, store, listener, teacher=teacher)
        for rung, reason in left_out:
            ladder.skip(rung, reason)
        ladder.prompt_rungs(strategies, embedder_factory or default_embedder)
        ladder.tuning_rungs()
        ladder.reading_rung()
        ladder.document_rungs()
        ladder.student_rungs()
        write_run_directory(
            outcome, config, backend, command="run", extras=ladder.extras(), costs=config.costs
        )
    return outcome


def leading(results: dict[str, RungResult], strategies: Sequence[Strategy]) -> str | None:
    """The rung of `strategies` that scores best in `results` (dev), None without results:
    the one a spent budget still measures on test."""
    rows = [results[s.name].to_dict(with_predictions=False) for s in strategies if s.name in results]
    best = best_rung(rows)
    return best["rung"] if best else (strategies[0].name if strategies and not results else None)


def closed_book_reference(results: dict[str, RungResult], strategies: Sequence[Strategy]) -> set[str]:
    """With retrieval rungs among `strategies`, the best of the others on `results` (the dev
    screen): measured on test whatever its score, since the decision sets reading the
    documents against not reading them (the knowledge factor), on the same test questions."""
    if not any(isinstance(s, Rag) for s in strategies):
        return set()
    closed = leading(results, [s for s in strategies if not isinstance(s, Rag)])
    return {closed} if closed else set()


class Ladder:
    """The climbing decisions of one run: what to run next, and what to leave out and why."""

    def __init__(
        self,
        config: RunConfig,
        outcome: RunOutcome,
        backend: Backend,
        out_dir: Path,
        store: Store,
        listener: LadderListener,
        *,
        teacher: TeacherLabels | None = None,
    ) -> None:
        self.config = config
        self.teacher = teacher
        """Another model's answers to the training inputs, for a student's curve (or None)."""
        self.outcome = outcome
        self.backend = backend
        self.out_dir = out_dir
        self.store = store
        self.listener = listener
        self.skipped: list[dict[str, str]] = []
        self.prepared: dict[str, Strategy] = {}
        """Prompt rungs as prepared for the prompt phase, reused by the hybrid and the teacher."""
        self.curve_stopped_because: str | None = None
        self.selection = Selection.for_run(config, outcome.split, len(outcome.examples))
        """Where the winners are chosen: a dev sample every rung is also scored on."""
        describe = backend.describe()
        self.budget = Budget(
            minutes=config.budget_minutes,
            tokens=config.budget_tokens,
            usd=config.budget_usd,
            costs=config.costs,
            backend=str(describe.get("backend", "local")),
            model_id=backend.model_id,
            results=outcome.results,
            also_spent=self.selection.spent if self.selection else lambda: (),
        )

    def extras(self) -> dict[str, Any]:
        extras = {"skipped": self.skipped, "budget": self.budget.to_dict()}
        return extras | ({"selection": self.selection.to_dict()} if self.selection else {})

    def skip(self, what: str, reason: str, *, phase: bool = False) -> None:
        self.skipped.append({"phase" if phase else "rung": what, "reason": reason})
        self.listener.skipped(what, reason)

    # -- 1. prompting --------------------------------------------------------------------------

    def prompt_rungs(self, strategies: Sequence[Strategy], embedder: Callable[[], Any]) -> None:
        """Prepare every prompt rung and race them on dev (`adaptlab.selection`), then measure
        the survivors on test, probing the contenders only.

        Each step first checks the budget, less the share kept for the learning curve. Once it
        is spent, no further rung is started, and of those started only the one leading on dev
        goes on to test: the decision needs one measured prompt rung to compare with.
        """
        config, outcome, backend, store, listener = (
            self.config,
            self.outcome,
            self.backend,
            self.store,
            self.listener,
        )
        cache = ResultCache(store, backend.cache_identity()) if config.cache else None
        selection = self.selection
        started: list[Strategy] = []
        for position, strategy in enumerate(strategies):
            if self.prompt_budget_spent([s.name for s in strategies[position:]]):
                break
            scorers = outcome.task_scorers
            prepare_strategy(
                strategy,
                config,
                outcome.task,
                outcome.split,
                backend,
                cache,
                listener,
                embedder,
                scorers,
                retriever=outcome.retriever,
            )
            self.prepared[strategy.name] = strategy
            started.append(strategy)
            if selection is not None:
                selection.score(config, outcome, backend, strategy, cache, listener, screen=True)
        survivors = started
        contenders = {s.name for s in started}
        if selection is not None:
            keep = closed_book_reference(selection.screened, started)
            pruned = set(selection.prune(keep)) if len(selection.screened) > 1 else set()
            for entry in selection.pruned:
                self.skip(entry.rung, entry.reason)
            survivors = [s for s in started if s.name not in pruned]
            leader = leading(selection.screened, survivors)
            for strategy in list(survivors):
                if strategy.name != leader and self.prompt_budget_spent([strategy.name]):
                    survivors.remove(strategy)
                    continue
                selection.score(config, outcome, backend, strategy, cache, listener)
            contenders = selection.contenders([s.name for s in survivors])
        leader = leading(selection.results if selection else {}, survivors)
        unprobed = config.without_probes()
        for strategy in survivors:
            if strategy.name != leader and self.prompt_budget_spent([strategy.name]):
                continue
            probed = config if strategy.name in contenders else unprobed
            result = evaluate_in_run(probed, outcome, backend, strategy, cache, listener)
            result = with_demo_draws(result, strategy, config, outcome, backend, cache, listener, embedder)
            record_result(store, outcome, listener, selection.attach(result) if selection else result)

    def prompt_budget_spent(self, left: Sequence[str]) -> bool:
        """True, with every rung of `left` skipped, when the prompt rungs' budget is spent (all
        of it when the run will not tune, else all but the share kept for the curve)."""
        will_tune = self.config.tune and isinstance(self.backend, LocalBackend) and self.outcome.split.train
        reason = self.budget.exhausted(reserve=self.config.tuning_share if will_tune else 0.0)
        if reason is None:
            return False
        for name in left:
            self.skip(name, reason)
        return True

    def best_prompt(self, *, retrieving: bool = False) -> RungResult | None:
        """The best prompt rung as the decision will judge it (`adaptlab.decide.best_rung`);
        with `retrieving`, the best of those that put corpus passages in the prompt."""
        prompts = {
            r.rung: r
            for r in self.outcome.results
            if r.kind == "prompt" and (not retrieving or r.retrieval is not None)
        }
        best = best_rung([r.to_dict(with_predictions=False) for r in prompts.values()])
        return prompts[best["rung"]] if best else None

    # -- 2. fine-tuning and 3. distillation ----------------------------------------------------

    def tuning_rungs(self) -> None:
        reason = self.why_not_tune()
        if reason is not None:
            self.skip("fine-tuning", reason, phase=True)
            return
        config, best = self.config, self.best_prompt()
        assert isinstance(self.backend, LocalBackend) and best is not None  # why_not_tune checked
        tune_config = self.training_prompt_config()
        sizes = curve_sizes(config.sizes, len(self.outcome.split.train))
        hybrid = [best.rung] if config.hybrid and best.rung != TRAINING_PROMPT else []
        reading = self.best_prompt(retrieving=True)
        if config.hybrid and reading is not None and reading.rung not in hybrid:
            hybrid.append(reading.rung)  # the tuned model that also reads the documents
        if config.hybrid and not hybrid:
            self.skip(
                "hybrid", f"the best prompt rung is {TRAINING_PROMPT}, the tuned rungs' own", phase=True
            )
        tuner = self.tuner(tune_config)
        curve = tuner.climb(TRAINING_PROMPT, sizes, hybrid=hybrid, stop_reason=self.curve_stop_reason)
        for size in sizes[len(curve) :]:
            self.skip(tuned_rung_name(tune_config, size, TRAINING_PROMPT), self.curve_stopped_because or "")
        if curve:
            self.distilled_rung(tune_config, best, curve[-1])

    def tuner(self, config: TuneRunConfig, teacher: TeacherLabels | None = None) -> Tuner:
        """A tuner on this run's base model, prepared prompts and selection sample (trained on
        `teacher`'s answers when given)."""
        assert isinstance(self.backend, LocalBackend), "why_not_tune checked"
        return Tuner(
            config,
            self.outcome,
            self.backend,
            self.out_dir,
            self.store,
            self.listener,
            self.prepared,
            selection=self.selection,
            teacher=teacher,
        )

    def training_prompt_config(self) -> TuneRunConfig:
        """How the curves train: the run's training settings, with the short training prompt."""
        return TuneRunConfig(
            **self.config.training_fields() | {"strategies": [TRAINING_PROMPT]}, base_rung=False
        )

    def student_rungs(self) -> None:
        """The learning curve on another model's answers (`teacher`): what a small model gains
        from a big one's labels, measured on the same gold test examples as the gold curve.

        The sizes are the run's, up to the inputs the teacher answered (train and unlabeled).
        """
        teacher = self.teacher
        if teacher is None:
            return
        phase = f"teacher labels ({teacher.model})"
        reason = self.why_not_tune()
        if reason is not None:
            self.skip(phase, reason, phase=True)
            return
        tune_config = self.training_prompt_config()
        sizes = curve_sizes(self.config.sizes, len(teacher.answered()))
        if not sizes:
            self.skip(phase, f"{teacher.model} gave no parsable answer to learn from", phase=True)
            return
        self.curve_stopped_because = None
        curve = self.tuner(tune_config, teacher).climb(
            TRAINING_PROMPT, sizes, stop_reason=self.curve_stop_reason
        )
        for size in sizes[len(curve) :]:
            name = tuned_rung_name(tune_config, size, TRAINING_PROMPT, teacher=teacher)
            self.skip(name, self.curve_stopped_because or "")

    def reading_rung(self) -> None:
        """The model tuned to read: trained on the curve's largest set of pairs asked as the best
        retrieving rung asks them, passages in the prompt (``lora-128@rag-3``). Weights tuned
        closed-book learn to answer from memory and then pass over passages put before them
        (the hybrid ``lora-128+rag-3``); trained with the passages, they learn to copy from them
        (retrieval-augmented fine-tuning)."""
        reading = self.best_prompt(retrieving=True)
        if reading is None or not self.config.hybrid:
            return
        size = self.largest_gold_size()
        if size is None or self.why_not_tune() is not None:
            return
        tune_config = TuneRunConfig(
            **self.config.training_fields() | {"strategies": [reading.rung]}, base_rung=False
        )
        name = tuned_rung_name(tune_config, size, reading.rung)
        reason = self.budget.exhausted()
        if reason is not None:
            self.skip(name, reason)
            return
        self.tuner(tune_config).climb(reading.rung, [size])

    def document_rungs(self) -> None:
        """Tuning on the corpus (continued training on its passages), asked closed-book: alone,
        then with the gold curve's largest training set mixed in, then with that set trained on
        after the passages (continuing the documents-only weights). Set against the retrieval
        rungs on the same test questions, it answers "learn it into the weights, or read it at
        run time?" with measurements."""
        corpus = self.outcome.corpus
        if corpus is None:
            return
        phase = "tuning on the documents"
        if not self.config.documents:
            self.skip(phase, "not asked for (--no-documents)", phase=True)
            return
        reason = self.why_not_tune()
        if reason is not None:
            self.skip(phase, reason, phase=True)
            return
        texts = [passage.text for passage in corpus.retriever().passages]
        tuner = self.tuner(self.training_prompt_config())
        tuner.tune_on_documents(texts, TRAINING_PROMPT)
        pairs = self.largest_gold_size()
        if pairs is None:
            return
        if self.config.documents_with_pairs:
            reason = self.budget.exhausted()
            if reason is not None:
                self.skip(f"{phase} with {pairs} question-answer pairs", reason, phase=True)
            else:
                tuner.tune_on_documents(texts, TRAINING_PROMPT, pairs=pairs)
        sequential = f"{phase}, then on {pairs} question-answer pairs"
        reason = (
            self.budget.exhausted()
            if self.config.documents_then_pairs
            else "not asked for (--no-documents-then-pairs)"
        )
        if reason is not None:
            self.skip(sequential, reason, phase=True)
            return
        tuner.tune_on_documents(texts, TRAINING_PROMPT, pairs=pairs, then=True)

    def largest_gold_size(self) -> int | None:
        """The most gold question-answer pairs a curve rung was trained on (None: no curve)."""
        sizes = [
            int((r.training or {}).get("examples", 0))
            for r in self.outcome.results
            if r.kind == "tuned" and (r.training or {}).get("targets") == "gold"
        ]
        return max(sizes) if sizes else None

    def why_not_tune(self) -> str | None:
        best = self.best_prompt()
        if not self.config.tune:
            return "not asked for (--no-tune)"
        if best is None:
            return "no prompt rung ran, so there is nothing to compare a tuned model with"
        if best.metrics.score >= 1.0:
            return (
                f"{best.rung} already scores full marks on all {best.metrics.n} test examples:"
                " fine-tuning cannot gain"
            )
        if not isinstance(self.backend, LocalBackend):
            return cannot_tune(self.config.model)
        if not self.outcome.split.train:
            return "the train split is empty"
        return self.budget.exhausted()

    def chosen_on(self, result: RungResult) -> RungResult:
        """The rung's result on the data the run chooses on: its selection score on dev, or
        its test result when the run chooses on test."""
        if self.selection is None:
            return result
        return self.selection.results.get(result.rung, result)

    def curve_stop_reason(self, result: RungResult, next_size: int) -> str | None:
        """Why the learning curve should not train `next_size` examples after `result`, if so."""
        # The curve `result` is on: the rungs trained on the same answers (gold, or a teacher's).
        targets = (result.training or {}).get("targets")
        curve = [
            self.chosen_on(r)
            for r in self.outcome.results
            if r.kind in ("tuned", "distilled") and (r.training or {}).get("targets") == targets
        ]
        split = "dev" if self.selection else "test"
        reason: str | None = None
        if self.chosen_on(result).metrics.score >= 1.0:
            reason = f"{result.rung} already scores full marks on every {split} example"
        elif len(curve) >= 3 and all(
            not paired_gain(earlier.to_dict(), later.to_dict()).significant
            for earlier, later in zip(curve[-3:-1], curve[-2:], strict=True)
        ):
            reason = (
                f"the learning curve is flat: {curve[-2].rung} and {curve[-1].rung} gained nothing"
                f" beyond the 95% interval over the size before them on the {split} examples"
            )
        else:
            training = result.training or {}
            size = max(1, int(training.get("examples", 1)))
            upcoming = float(training.get("wall_time_s", 0.0)) * next_size / size + result.metrics.wall_time_s
            reason = self.budget.exhausted(upcoming_s=upcoming)
        self.curve_stopped_because = reason
        return reason

    def distilled_rung(self, tune_config: TuneRunConfig, best: RungResult, largest: RungResult) -> None:
        """Context distillation of the best prompt into the weights, at the curve's last size."""
        if not self.config.distill:
            self.skip("distillation", "not asked for (--no-distill)", phase=True)
            return
        # The curve's rungs are asked with the training prompt: their prompt size is its size,
        # measured on test even when the zero-shot prompt rung itself was pruned on dev.
        short_tokens = largest.metrics.prompt_tokens_mean
        ratio = best.metrics.prompt_tokens_mean / short_tokens if short_tokens else 0.0
        if best.rung == TRAINING_PROMPT or ratio < DISTILL_MIN_PROMPT_RATIO:
            self.skip(
                "distillation",
                f"the best prompt, {best.rung}, is not much longer than zero-shot"
                f" ({best.metrics.prompt_tokens_mean:.0f} vs {short_tokens:.0f} tokens): nothing to compress",
                phase=True,
            )
            return
        training = largest.training or {}
        scale = (self.config.distill_size or 0) / max(1, int(training.get("examples", 1))) or 1.0
        upcoming = scale * float(training.get("wall_time_s", 0.0)) + 2 * largest.metrics.wall_time_s
        reason = self.budget.exhausted(upcoming_s=upcoming)
        if reason is not None:
            self.skip("distillation", reason, phase=True)
            return
        size = self.config.distill_size or int(training.get("examples", len(self.outcome.split.train)))
        size = min(size, len(self.outcome.split.train))
        distill_config = tune_config.model_copy(update={"distill": best.rung})
        tuner = self.tuner(distill_config)
        try:
            tuner.climb(TRAINING_PROMPT, [size])
        except NothingToDistil as error:
            self.skip("distillation", str(error), phase=True)
