"""Fixtures for the data tests: small files written into a temporary working directory.

Tests run with that directory as the current one and name files relatively, so that messages
read exactly as a user would see them (``train.jsonl line 2: ...``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from adaptlab.data import TaskFileError, load_task

Write = Callable[[str, "str | bytes"], str]


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture()
def write(workdir: Path) -> Write:
    """Write text or raw bytes to a file under the working directory; return its relative name."""

    def write(name: str, content: str | bytes) -> str:
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return name

    return write


@pytest.fixture()
def problems() -> Callable[..., list[str]]:
    """Load a task that must fail and return every problem as the user reads it."""

    def problems(source: str, **kwargs: Any) -> list[str]:
        with pytest.raises(TaskFileError) as caught:
            load_task(source, **kwargs)
        return [str(problem) for problem in caught.value.problems]

    return problems


@pytest.fixture()
def write_jsonl(write: Write) -> Callable[[str, Sequence[Any]], str]:
    """Write rows as JSON Lines; a row that is already a string is written verbatim."""

    def write_jsonl(name: str, rows: Sequence[Any]) -> str:
        return write(name, "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))

    return write_jsonl


@pytest.fixture()
def sentiment_rows() -> list[dict[str, str]]:
    """Six valid rows, two per label."""
    return [
        {"id": "a1", "input": "the crew was lovely", "output": "positive"},
        {"id": "a2", "input": "flight delayed again", "output": "negative"},
        {"id": "a3", "input": "what time does the gate open", "output": "neutral"},
        {"id": "a4", "input": "great service, thank you", "output": "positive"},
        {"id": "a5", "input": "lost my bag", "output": "negative"},
        {"id": "a6", "input": "is wifi free", "output": "neutral"},
    ]
