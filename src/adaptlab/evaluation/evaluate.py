"""Run one rung over a list of examples and measure it.

`evaluate` is the single path every rung takes — zero-shot today, tuned and hybrid rungs
later — so all of them are scored by the same parsing rules and the same metrics.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from adaptlab.data.task import Example, Task
from adaptlab.evaluation.metrics import bootstrap_interval, macro_f1, mean, percentile
from adaptlab.evaluation.result import Metrics, Prediction, RungResult
from adaptlab.models.base import Backend, Generation, ProgressCallback
from adaptlab.prompting.parsing import answers_match, parse_free_text, parse_label
from adaptlab.prompting.strategy import Strategy

_ANSWER_SLACK_TOKENS = 16
_MAX_FREE_TEXT_TOKENS = 512


def evaluate(
    task: Task,
    examples: Sequence[Example],
    backend: Backend,
    strategy: Strategy,
    *,
    split: str = "test",
    max_new_tokens: int | None = None,
    on_progress: ProgressCallback | None = None,
) -> RungResult:
    """Ask `backend` every example as rendered by `strategy`; parse, score and summarise.

    >>> result = evaluate(task, split.test, load_backend(), get_strategy("zero-shot"))
    >>> result.metrics.accuracy, result.metrics.accuracy_low, result.metrics.accuracy_high
    """
    conversations = [strategy.render(example, task) for example in examples]
    budget = max_new_tokens or default_max_new_tokens(task, backend)
    started = time.perf_counter()
    generations = backend.generate(conversations, max_new_tokens=budget, on_progress=on_progress)
    wall_time = time.perf_counter() - started
    pairs = zip(examples, generations, strict=True)
    predictions = [score(task, example, generation) for example, generation in pairs]
    strategy_info = {**strategy.describe(), "max_new_tokens": budget}
    if conversations:
        strategy_info["example_prompt"] = backend.render(conversations[0])
    return RungResult(
        rung=strategy.name,
        strategy=strategy_info,
        model=backend.describe(),
        split=split,
        metrics=summarize(task, predictions, wall_time),
        predictions=predictions,
    )


def score(task: Task, example: Example, generation: Generation) -> Prediction:
    """Parse one answer and compare it with the gold output."""
    closed = task.labels is not None
    parsed = parse_label(generation.text, task.labels) if task.labels else parse_free_text(generation.text)
    return Prediction(
        example_id=example.id,
        input=example.input,
        gold=example.output,
        output=generation.text,
        parsed=parsed.value,
        correct=answers_match(parsed.value, example.output, closed_label=closed),
        compliant=parsed.compliant,
        latency_s=generation.latency_s,
        prompt_tokens=generation.prompt_tokens,
        output_tokens=generation.output_tokens,
    )


def summarize(task: Task, predictions: Sequence[Prediction], wall_time_s: float) -> Metrics:
    correct = [float(p.correct) for p in predictions]
    interval = bootstrap_interval(correct)
    latencies = [p.latency_s for p in predictions]
    return Metrics(
        n=len(predictions),
        accuracy=mean(correct),
        accuracy_low=interval.low,
        accuracy_high=interval.high,
        macro_f1=(
            macro_f1([p.parsed for p in predictions], [p.gold for p in predictions], task.labels)
            if task.labels
            else None
        ),
        format_compliance=mean([float(p.compliant) for p in predictions]),
        parse_failures=sum(p.parsed is None for p in predictions),
        latency_p50_s=percentile(latencies, 50),
        latency_p95_s=percentile(latencies, 95),
        prompt_tokens_mean=mean([p.prompt_tokens for p in predictions]),
        output_tokens_mean=mean([p.output_tokens for p in predictions]),
        examples_per_s=len(predictions) / wall_time_s if wall_time_s > 0 else float("nan"),
        wall_time_s=wall_time_s,
    )


def default_max_new_tokens(task: Task, backend: Backend) -> int:
    """Enough room for the longest label (plus a short lead-in such as "The sentiment is"), or
    for the longest gold answer in the task with some slack, capped for free text."""
    if task.labels:
        return max(backend.count_tokens(label) for label in task.labels) + _ANSWER_SLACK_TOKENS
    longest = max((backend.count_tokens(e.output) for e in task.examples), default=64)
    return min(int(longest * 1.5) + _ANSWER_SLACK_TOKENS, _MAX_FREE_TEXT_TOKENS)
