"""The bundled tasks load by name, through the same code as a user's task."""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tokenize
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
    assert list_bundled_tasks() == ["country-facts", "python-docstrings", "tweet-sentiment"]
    for name in list_bundled_tasks():
        path = bundled_task_path(name)
        assert path is not None and path.name == BUNDLED_TASKS[name] and path.is_file()
    assert bundled_task_path("nope") is None


def test_an_existing_path_wins_over_a_bundled_name(workdir: Path) -> None:
    (workdir / "tweet-sentiment").mkdir()
    with pytest.raises(TaskFileError, match=r"^tweet-sentiment: is a directory"):
        load_task("tweet-sentiment")


REPO = Path(__file__).resolve().parents[2]
ONE_SENTENCE = re.compile(r"^[A-Z][^\n]*\.$")


def test_docstring_task_loads_by_name() -> None:
    task = load_task("python-docstrings")
    assert task.name == "python-docstrings"
    assert len(task.examples) == 1499
    assert task.labels is None and not task.is_classification
    assert task.instruction == "Write the one-line summary of this Python function's docstring."
    assert task.description
    assert task.sources == ("python_docstrings.jsonl",)
    assert task.examples[0].id == "abc.abstractmethod"
    outputs = [example.output for example in task.examples]
    assert all(ONE_SENTENCE.match(output) and len(output) <= 120 for output in outputs)
    assert len(set(outputs)) == len(outputs)
    assert max(len(example.input) for example in task.examples) <= 600


def test_docstring_task_inputs_are_code_without_the_answer() -> None:
    """Each input parses as the function named by its id, with no docstring and no comment left."""
    for example in load_task("python-docstrings").examples:
        node = ast.parse(example.input).body[0]
        if isinstance(node, ast.ClassDef):
            assert example.input.startswith(f"class {node.name}:\n"), example.id
            node = node.body[0]
        assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef), example.id
        assert example.id.endswith(f".{node.name}"), example.id
        assert ast.get_docstring(node) is None, example.id
        tokens = tokenize.generate_tokens(io.StringIO(example.input).readline)
        assert all(token.type != tokenize.COMMENT for token in tokens), example.id
        assert example.output.rstrip(".") not in example.input, example.id


def test_docstring_task_split_and_quality() -> None:
    task = load_task("python-docstrings")
    split = split_task(task)
    assert [len(split.train), len(split.dev), len(split.test)] == [899, 150, 450]
    assert not [w for w in quality_report(task, split).warnings() if "leakage" in w or "duplicate" in w]


def test_docstring_task_rebuilds_byte_identically() -> None:
    """The committed JSONL is what scripts/build_docstring_task.py reads from this standard library.

    Only the Python the file was built from can reproduce it; under any other the script says
    so and exits 0, and the test is skipped with its message.
    """
    completed = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_docstring_task.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    if "check skipped" in completed.stdout:
        pytest.skip(completed.stdout.strip().splitlines()[-1])
    assert "check passed" in completed.stdout
