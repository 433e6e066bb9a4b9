"""A small classification task shared by the strategy tests."""

from __future__ import annotations

import pytest

from adaptlab.data.task import Example, Task

LABELS = ("negative", "neutral", "positive")


def make_examples(prefix: str, n: int) -> tuple[Example, ...]:
    texts = {
        "negative": "delayed again, lost my bag",
        "neutral": "what time is boarding",
        "positive": "lovely crew, thank you",
    }
    return tuple(
        Example(
            id=f"{prefix}{i}",
            input=f"{texts[LABELS[i % 3]]} ({prefix}{i})",
            output=LABELS[i % 3],
            split=prefix,
        )
        for i in range(n)
    )


@pytest.fixture
def task() -> Task:
    examples = make_examples("train", 12) + make_examples("dev", 6) + make_examples("test", 6)
    return Task(
        name="tweets",
        examples=examples,
        labels=LABELS,
        instruction="Classify the sentiment of the tweet.",
        description="Airline tweets.",
        label_descriptions=(("negative", "a complaint"), ("positive", "praise")),
    )
