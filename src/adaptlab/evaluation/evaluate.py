"""Run one rung over a list of examples and measure it.

`evaluate` is the single path every rung takes — prompt rungs today, tuned and hybrid rungs
later — so all of them are answered by the same engine, scored by the same parsing rules and
summarised by the same metrics.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from adaptlab.data.scoring_spec import AnswerFormat
from adaptlab.data.split import stratified_sample
from adaptlab.data.task import Example, Task
from adaptlab.evaluation import robustness
from adaptlab.evaluation.answers import Answer
from adaptlab.evaluation.cache import ResultCache
from adaptlab.evaluation.engine import Request, ask, chosen_by, label_prior
from adaptlab.evaluation.metrics import bootstrap_interval, macro_f1, mean, percentile
from adaptlab.evaluation.result import Metrics, Prediction, RungResult
from adaptlab.evaluation.scoring.base import Scored, Scorer, ScoringContext
from adaptlab.evaluation.scoring.similarity import bundled_embedder
from adaptlab.evaluation.scoring.task_scorers import TaskScorers
from adaptlab.models.base import Backend, ProgressCallback
from adaptlab.prompting.parsing import ParsedAnswer
from adaptlab.prompting.strategy import Strategy
from adaptlab.retrieval.run_corpus import gold_rank, retrieval_quality

CONSISTENCY_VARIANTS = 2
DEFAULT_CONSISTENCY_SAMPLE = 50
"""Examples per rung asked again through its two variants: a consistency rate within about
±14 points (95%), at a cost of 100 extra requests per rung."""
DEFAULT_ROBUSTNESS_SAMPLE = 34
"""Examples per rung asked again under a prompt-injection attack and again with a small
meaning-preserving edit: one per bundled attack template, 68 extra requests per rung."""
ROBUSTNESS_PROBES = 2


def evaluate(
    task: Task,
    examples: Sequence[Example],
    backend: Backend,
    strategy: Strategy,
    *,
    split: str = "test",
    max_new_tokens: int | None = None,
    on_progress: ProgressCallback | None = None,
    cache: ResultCache | None = None,
    consistency_sample: int = 0,
    robustness_sample: int = 0,
    seed: int = 0,
    scorers: TaskScorers | None = None,
    budget_from: Sequence[Example] | None = None,
) -> RungResult:
    """Ask `backend` every example as rendered by `strategy`; parse, score and summarise.

    `scorers` are the task's metrics (a run builds them once; default: the task's own, with the
    bundled embedder for the similarity metric). Free-text answers may be as long as the gold
    outputs of `budget_from` (the train split; default: every example) mostly are.

    With `cache`, answers computed before (same weights, prompt and decoding) are reused and
    new ones stored as they come. With `consistency_sample` > 0, a label-stratified sample of
    that many examples is also asked through the strategy's two variants. With
    `robustness_sample` > 0, a sample is asked again under prompt-injection attacks and with
    meaning-preserving input edits (see `robustness`).

    >>> result = evaluate(task, split.test, load_backend(), get_strategy("zero-shot"))
    >>> result.metrics.accuracy, result.metrics.accuracy_low, result.metrics.accuracy_high
    """
    request = request_for(task, backend, strategy, max_new_tokens, budget_from)
    started = time.perf_counter()
    conversations = strategy.render_many(examples, task)
    answers = ask(backend, conversations, request, cache=cache, on_progress=on_progress)
    answers = chosen_by(strategy, request.labels, answers)
    scorers = scorers or TaskScorers.for_task(task, ScoringContext(embedder=bundled_embedder))
    parsed = [strategy.parse(answer.text, task) for answer in answers]
    scored = score(task, examples, answers, parsed, scorers)
    predictions, retrieval = with_retrieval(strategy, examples, scored)
    asker = Asker(task, backend, request, cache, on_progress)
    clean = {example.id: prediction.parsed for example, prediction in zip(examples, predictions, strict=True)}
    consistency = None
    sample: list[Example] = []
    if consistency_sample > 0 and examples:
        sample = stratified_sample(examples, min(consistency_sample, len(examples)), seed=seed)
        consistency = measure_consistency(asker, strategy, sample, clean)
    robustness = None
    if robustness_sample > 0 and examples:
        probed = stratified_sample(examples, min(robustness_sample, len(examples)), seed=seed)
        robustness = measure_robustness(asker, strategy, probed, clean, seed)
    wall_time = time.perf_counter() - started
    model = backend.describe()
    strategy_info = {**strategy.describe(), **request.params()}
    if request.mode == "score" and model.get("label_scoring"):
        # How this backend scored labels (an endpoint may have fallen back to generation).
        strategy_info["scoring"] = model["label_scoring"]
    if request.mode == "generate" and model.get("decoding") not in (None, strategy_info["decoding"]):
        # An endpoint that refused temperature 0 sampled at its default: not "greedy".
        strategy_info["decoding"] = model["decoding"]
    if conversations:
        strategy_info["example_prompt"] = backend.render(conversations[0])
    return RungResult(
        rung=strategy.name,
        strategy=strategy_info,
        model=model,
        split=split,
        metrics=with_robustness(
            summarize(task, scorers, predictions, answers, wall_time, consistency, len(sample)), robustness
        ),
        predictions=predictions,
        robustness=robustness,
        retrieval=retrieval,
    )


def with_retrieval(
    strategy: Strategy, examples: Sequence[Example], predictions: list[Prediction]
) -> tuple[list[Prediction], dict[str, Any] | None]:
    """For a rung that retrieves, each prediction with its passages, the search's time (added
    to its latency: a user waits for both) and the gold passage's rank; and the rung's
    retrieval summary. Unchanged, with None, for other rungs."""
    found = [strategy.retrieved(example) for example in examples]
    if not found or any(item is None for item in found):
        return predictions, None
    ranks = [gold_rank(example, item.hits) for example, item in zip(examples, found, strict=True)]
    changed = [
        replace(
            prediction,
            passages=[passage_record(hit) for hit in item.hits],
            retrieval_s=item.seconds,
            latency_s=prediction.latency_s + item.seconds,
            gold_rank=rank,
        )
        for prediction, item, rank in zip(predictions, found, ranks, strict=True)
    ]
    info = strategy.describe()
    summary = {
        "passages": info["passages"],
        "base": info["base"],
        "seconds_per_query": mean([item.seconds for item in found]),
        **retrieval_quality(examples, ranks, int(info["passages"])),
    }
    return changed, summary


def passage_record(hit: Any) -> dict[str, Any]:
    """A retrieved passage as a prediction records it (`adaptlab.retrieval.ScoredPassage`)."""
    passage = hit.passage
    return {"id": passage.id, "doc_id": passage.doc_id, "score": round(hit.score, 6), "text": passage.text}


def prompt_prior(
    task: Task,
    backend: Backend,
    strategy: Strategy,
    examples: Sequence[Example],
    cache: ResultCache | None = None,
) -> dict[str, float]:
    """The label prior of `strategy`'s prompt (log-probabilities, see `engine.label_prior`)
    from the label scores of `examples` — calibration's content-free inputs — each asked as an
    evaluated rung asks: the same request, written forms and result cache."""
    request = request_for(task, backend, strategy, None)
    answers = ask(backend, strategy.render_many(examples, task), request, cache=cache)
    return label_prior(request.labels, [answer.scores for answer in answers])


def planned_requests(n_examples: int, consistency_sample: int, robustness_sample: int = 0) -> int:
    """How many requests `evaluate` makes: the progress bar's total."""
    return (
        n_examples
        + CONSISTENCY_VARIANTS * min(consistency_sample, n_examples)
        + ROBUSTNESS_PROBES * min(robustness_sample, n_examples)
    )


def request_for(
    task: Task,
    backend: Backend,
    strategy: Strategy,
    max_new_tokens: int | None,
    budget_from: Sequence[Example] | None = None,
) -> Request:
    if strategy.answer_mode == "score":
        if not task.labels:
            raise ValueError(f"{strategy.name} scores labels, but the task has no closed label set")
        return Request(mode="score", labels=tuple(task.labels))
    budget = max_new_tokens or strategy.max_new_tokens(answer_tokens(task, backend, budget_from))
    stop = ("\n",) if one_line_answers(task, strategy, budget_from) else ()
    return Request(mode="generate", max_new_tokens=budget, stop=stop)


def one_line_answers(task: Task, strategy: Strategy, examples: Sequence[Example] | None = None) -> bool:
    """Whether generation may stop at the end of the answer's first line: a free-text task
    whose gold outputs in `examples` (the train split; default: every example) are all one
    line, asked by a strategy whose reply is the answer alone. Without the stop a model that
    rambles past its answer ("Return the sum.\n\nThe function takes …") decodes, and is
    scored on, everything up to the token budget."""
    if task.labels or strategy.multiline_answers:
        return False
    outputs = [example.output for example in (examples or task.examples)]
    return bool(outputs) and not any("\n" in output.strip() for output in outputs)


def score(
    task: Task,
    examples: Sequence[Example],
    answers: Sequence[Answer],
    parsed: Sequence[ParsedAnswer],
    scorers: TaskScorers,
) -> list[Prediction]:
    """Score every answer by every metric of the task; a failed request scores 0 and is
    non-compliant. `correct` is a full score on the primary metric."""
    failed = ParsedAnswer(None, compliant=False)
    parsed = [failed if answer.error is not None else p for answer, p in zip(answers, parsed, strict=True)]
    items = [
        Scored(
            answer=p.value,
            output="" if answer.error is not None else answer.text,
            reference=example.output,
            input=example.input,
        )
        for example, answer, p in zip(examples, answers, parsed, strict=True)
    ]
    primary = scorers.primary.name
    return [
        Prediction(
            example_id=example.id,
            input=example.input,
            gold=example.output,
            output=item.output,
            parsed=p.value,
            correct=scores[primary] == 1.0,
            compliant=answer.error is None and compliant(p, item.output, scorers.answer_format),
            latency_s=answer.latency_s,
            prompt_tokens=answer.prompt_tokens,
            output_tokens=answer.output_tokens,
            cached=answer.cached,
            scores=finite_scores(answer.scores),
            error=answer.error,
            score=scores[primary],
            metric_scores=scores,
        )
        for example, answer, p, item, scores in zip(
            examples, answers, parsed, items, scorers.score(items), strict=True
        )
    ]


def compliant(parsed: ParsedAnswer, output: str, answer_format: AnswerFormat | None) -> bool:
    """In the asked format: the task's declared layout when it has one, else what the parser
    says (exactly one label; a non-empty free-text answer)."""
    if answer_format is not None:
        return answer_format.allows(output)
    return parsed.compliant


def finite_scores(scores: dict[str, float] | None) -> dict[str, float | None] | None:
    """Scores as results.json records them: a label with no probability at all (``-inf``, which
    JSON cannot carry) becomes None."""
    if scores is None:
        return None
    return {label: value if math.isfinite(value) else None for label, value in scores.items()}


@dataclass(frozen=True)
class Asker:
    """How one rung asks: the backend, decoding, result cache and progress that its test pass
    and every probe of it (consistency variants, attacks, edited inputs) share."""

    task: Task
    backend: Backend
    request: Request
    cache: ResultCache | None
    on_progress: ProgressCallback | None

    def parsed_answers(
        self, strategy: Strategy, examples: Sequence[Example]
    ) -> list[tuple[Answer, str | None]]:
        """Each example asked as `strategy` renders it: the answer and its parsed value."""
        conversations = strategy.render_many(examples, self.task)
        answers = ask(
            self.backend, conversations, self.request, cache=self.cache, on_progress=self.on_progress
        )
        answers = chosen_by(strategy, self.request.labels, answers)
        return [(answer, strategy.parse(answer.text, self.task).value) for answer in answers]


def measure_consistency(
    asker: Asker, strategy: Strategy, sample: Sequence[Example], clean: dict[str, str | None]
) -> float:
    """Share of `sample` answered identically — and parsably — by the rung (`clean`: its
    parsed answer per example id) and both variants.

    An unparsable answer never counts as consistent: a model that says nothing useful three
    times is not stable, it is silent.
    """
    answers_per_example = [[clean[example.id]] for example in sample]
    for variant in strategy.variants()[:CONSISTENCY_VARIANTS]:
        for row, (_, parsed) in zip(answers_per_example, asker.parsed_answers(variant, sample), strict=True):
            row.append(parsed)
    stable = [len(set(row)) == 1 and row[0] is not None for row in answers_per_example]
    return mean([float(flag) for flag in stable])


def measure_robustness(
    asker: Asker, strategy: Strategy, sample: Sequence[Example], clean: dict[str, str | None], seed: int
) -> dict[str, Any]:
    """Ask `sample` again under attack and with edited inputs; rates over answered requests.

    A request that failed (remote backends) is left out of both rates rather than counted as a
    resisted attack or an unstable answer: it measured nothing.
    """
    attacked = robustness.attacks(sample, [clean[example.id] for example in sample], asker.task, seed=seed)
    answered = asker.parsed_answers(strategy, [attack.example for attack in attacked])
    kept = [
        (attack, answer, parsed)
        for attack, (answer, parsed) in zip(attacked, answered, strict=True)
        if answer.error is None
    ]
    succeeded = [
        robustness.attack_succeeded(attack, parsed, answer.text, asker.task)
        for attack, answer, parsed in kept
    ]
    injection = robustness.injection_summary([attack for attack, _, _ in kept], succeeded)

    edited = robustness.edited_inputs(sample, seed=seed)
    answered = asker.parsed_answers(strategy, [example for example, _ in edited])
    by_edit: dict[str, list[bool]] = {}
    for (example, edit), (answer, parsed) in zip(edited, answered, strict=True):
        if answer.error is None:
            by_edit.setdefault(edit, []).append(robustness.stable(clean[example.id], parsed))
    flags = [flag for values in by_edit.values() for flag in values]
    return {
        "injection": injection,
        "input_edits": {
            "n": len(flags),
            "stable_rate": mean([float(flag) for flag in flags]) if flags else None,
            "by_edit": {
                edit: {"n": len(values), "stable_rate": mean([float(v) for v in values])}
                for edit, values in sorted(by_edit.items())
            },
        },
    }


def with_robustness(metrics: Metrics, robustness_result: dict[str, Any] | None) -> Metrics:
    """`metrics` with the robustness probes' headline rates (None when not measured)."""
    if robustness_result is None:
        return metrics
    injection, edits = robustness_result["injection"], robustness_result["input_edits"]
    return replace(
        metrics,
        injection_success=injection["success_rate"],
        injection_n=injection["n"],
        input_stability=edits["stable_rate"],
        input_stability_n=edits["n"],
    )


def summarize(
    task: Task,
    scorers: TaskScorers,
    predictions: Sequence[Prediction],
    answers: Sequence[Answer],
    wall_time_s: float,
    consistency: float | None = None,
    consistency_n: int = 0,
) -> Metrics:
    by_metric = {scorer.name: metric_summary(scorer, predictions) for scorer in scorers.all}
    primary = by_metric[scorers.primary.name]
    # A request that failed after its retries says nothing about the model's latency or prompt size.
    answered = [p for p in predictions if p.error is None]
    latencies = [p.latency_s for p in answered]
    compute_s = sum(answer.compute_s for answer in answers)
    return Metrics(
        n=len(predictions),
        metric=scorers.primary.name,
        metric_display=scorers.primary.display,
        score=primary["mean"],
        score_low=primary["low"],
        score_high=primary["high"],
        graded=primary["graded"],
        grading_failures=primary["failed"],
        by_metric=by_metric,
        macro_f1=(
            macro_f1([p.parsed for p in predictions], [p.gold for p in predictions], task.labels)
            if task.labels
            else None
        ),
        format_compliance=mean([float(p.compliant) for p in predictions]),
        parse_failures=sum(p.parsed is None for p in answered),
        latency_p50_s=percentile(latencies, 50),
        latency_p95_s=percentile(latencies, 95),
        prompt_tokens_mean=mean([p.prompt_tokens for p in answered]),
        output_tokens_mean=mean([p.output_tokens for p in answered]),
        examples_per_s=len(predictions) / compute_s if compute_s > 0 else float("nan"),
        wall_time_s=wall_time_s,
        consistency=consistency,
        consistency_n=consistency_n,
        cache_hits=sum(answer.cached for answer in answers),
        errors=len(predictions) - len(answered),
    )


def metric_summary(scorer: Scorer, predictions: Sequence[Prediction]) -> dict[str, Any]:
    """One metric over a rung: the mean of the graded examples with its 95% bootstrap interval,
    and how many gradings failed (left out of the mean, never counted as zeros)."""
    values = [p.metric_scores[scorer.name] for p in predictions]
    graded = [float(value) for value in values if value is not None]
    interval = bootstrap_interval(graded)
    return {
        "display": scorer.display,
        "mean": mean(graded),
        "low": interval.low,
        "high": interval.high,
        "graded": len(graded),
        "failed": len(values) - len(graded),
    }


ANSWER_PERCENTILE = 95
ANSWER_SLACK = 1.5
MAX_ANSWER_TOKENS = 512


def answer_tokens(task: Task, backend: Backend, examples: Sequence[Example] | None = None) -> int:
    """Tokens an answer needs: the longest label; for free text, the 95th percentile of the gold
    outputs of `examples` (the train split: the evaluated answers are not looked at) with half
    again as slack, capped at 512 — one outlier does not make every request slow."""
    if task.labels:
        return max(backend.count_tokens_many(list(task.labels)))
    outputs = [example.output for example in (examples or task.examples)]
    if not outputs:
        return MAX_ANSWER_TOKENS // 8
    typical = percentile(backend.count_tokens_many(outputs), ANSWER_PERCENTILE)
    return min(math.ceil(typical * ANSWER_SLACK), MAX_ANSWER_TOKENS)
