"""The bundled tweet-sentiment task loads by name, through the same code as a user's task."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from adaptlab.data import (
    BUNDLED_TASKS,
    TaskFileError,
    bundled_task_path,
    list_bundled_tasks,
    load_task,
    quality_report,
    split_task,
)


def test_bundled_task_loads_by_name() -> None:
    task = load_task("tweet-sentiment")
    assert task.name == "tweet-sentiment"
    assert len(task.examples) == 1500
    assert (task.labels, task.labels_declared) == (("negative", "neutral", "positive"), True)
    assert task.instruction == "Classify the sentiment of the tweet as negative, neutral or positive."
    assert task.description
    assert task.sources == ("tweet_sentiment.jsonl",)
    assert task.examples[0].source == "tweet_sentiment.jsonl line 1"
    assert set(task.label_counts()) == {"negative", "neutral", "positive"}


def test_bundled_task_split_and_quality() -> None:
    task = load_task("tweet-sentiment")
    split = split_task(task)
    assert [len(split.train), len(split.dev), len(split.test)] == [900, 150, 450]
    shares = {name: Counter(e.output for e in split[name]) for name in ("train", "test")}
    for label, count in task.label_counts().items():
        assert abs(shares["test"][label] / 450 - count / 1500) < 0.01
    assert not [w for w in quality_report(task, split).warnings() if "leakage" in w or "conflicting" in w]


def test_registry() -> None:
    assert list_bundled_tasks() == ["tweet-sentiment"]
    path = bundled_task_path("tweet-sentiment")
    assert path is not None and path.name == BUNDLED_TASKS["tweet-sentiment"] and path.is_file()
    assert bundled_task_path("nope") is None


def test_an_existing_path_wins_over_a_bundled_name(workdir: Path) -> None:
    (workdir / "tweet-sentiment").mkdir()
    with pytest.raises(TaskFileError, match=r"^tweet-sentiment: is a directory"):
        load_task("tweet-sentiment")
