"""Fixtures of the reliability tests: a task, and runs directories for subprocess runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ladder_runs import Runs

from sample_tasks import write_sentiment_task


@pytest.fixture(scope="session")
def sentiment_task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sentiment_task(tmp_path_factory.mktemp("task") / "tweets.jsonl", repeat=4)


@pytest.fixture
def new_runs(tmp_path: Path, sentiment_task: Path, tiny_model_dir: Path) -> Callable[[str], Runs]:
    """``new_runs("killed")``: a fresh runs directory for the tiny model and the small task."""
    return lambda name: Runs(tmp_path / name, sentiment_task, tiny_model_dir)
