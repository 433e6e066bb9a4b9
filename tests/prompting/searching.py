"""A task, an embedder and engine-backed contexts shared by the prompt search tests."""

from __future__ import annotations

from adaptlab.data.task import Example, Task
from adaptlab.evaluation.evaluate import evaluate, prompt_prior
from adaptlab.models.base import Backend
from adaptlab.prompting import StrategyContext

from fakes import WordEmbedder

LABELS = ("negative", "neutral", "positive")
WORDS = {"negative": "delayed lost bag", "neutral": "boarding time gate", "positive": "lovely crew thanks"}


def examples(prefix: str, n: int) -> tuple[Example, ...]:
    return tuple(
        Example(
            id=f"{prefix}{i}", input=f"{WORDS[LABELS[i % 3]]} {prefix}{i}", output=LABELS[i % 3], split=prefix
        )
        for i in range(n)
    )


def make_task() -> Task:
    """Dev larger than the screen, so the search has two rounds."""
    return Task(
        name="tweets",
        examples=examples("train", 24) + examples("dev", 60) + examples("test", 12),
        labels=LABELS,
        instruction="Classify the sentiment of the tweet.",
        description="Airline tweets.",
    )


def split(task: Task, name: str) -> list[Example]:
    return [e for e in task.examples if e.split == name]


def label_word_embedder() -> WordEmbedder:
    """An input's nearest neighbours share its label."""
    return WordEmbedder(" ".join(WORDS.values()).split())


def engine_context(task: Task, backend: Backend, *, embedder: bool = True) -> StrategyContext:
    """What `runs.strategy_context` gives a rung: dev scores and label priors from the engine."""
    return StrategyContext(
        task=task,
        train=split(task, "train"),
        dev=split(task, "dev"),
        backend=backend,
        dev_score=lambda s, dev: evaluate(task, dev, backend, s, split="dev").metrics.score,
        label_prior=lambda s, inputs: prompt_prior(task, backend, s, inputs),
        embedder=label_word_embedder if embedder else None,
    )


def calibrated_table(message: str) -> dict[str, float]:
    """Label probabilities biased to "positive" (the content-free inputs' prior is 0.7 / 0.2 /
    0.1): plain label scoring says "positive" to every tweet, calibration recovers the label."""
    asked = message.rsplit("Input: ", 1)[-1]
    gold = next((label for label, words in WORDS.items() if words in asked), None)
    if gold is None:
        return {"positive": 0.7, "negative": 0.2, "neutral": 0.1}
    if gold == "positive":
        return {"positive": 0.8, "negative": 0.1, "neutral": 0.1}
    return {"positive": 0.5, gold: 0.4, ({"negative", "neutral"} - {gold}).pop(): 0.1}
