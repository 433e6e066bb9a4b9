"""`--unlabeled FILE`: inputs without gold outputs, read like a task file and checked by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adaptlab.data.problems import TaskFileError
from adaptlab.data.unlabeled import load_unlabeled


def write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_jsonl_chat_and_csv_inputs_become_examples_named_by_line_or_id(tmp_path: Path) -> None:
    rows = [
        {"input": "où est la porte ?"},
        {"id": "t7", "input": "second"},
        {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "third"}]},
        {"input": "fourth", "output": "gold"},
    ]
    loaded = load_unlabeled(write(tmp_path / "more.jsonl", rows))
    assert [(e.id, e.input, e.output) for e in loaded.examples] == [
        ("unlabeled-1", "où est la porte ?", ""),
        ("unlabeled-t7", "second", ""),
        ("unlabeled-3", "third", ""),
        ("unlabeled-4", "fourth", ""),
    ]
    assert loaded.examples[2].system == "Be brief."
    assert loaded.with_outputs == 1  # the caller warns: gold outputs belong in the task file
    assert loaded.examples[0].source == f"{tmp_path / 'more.jsonl'} line 1"

    table = tmp_path / "more.csv"
    table.write_text("text,label\nhello there,\nsecond row,x\n", encoding="utf-8")
    loaded = load_unlabeled(table, input_field="text", output_field="label")
    assert [e.input for e in loaded.examples] == ["hello there", "second row"]
    assert loaded.with_outputs == 2


def test_every_bad_row_is_reported_with_its_line(tmp_path: Path) -> None:
    rows = [
        {"input": "fine"},
        {"text": "wrong field"},
        {"input": ""},
        {"messages": [{"role": "assistant", "content": "no question"}]},
        {"id": "a", "input": "x"},
        {"id": "a", "input": "y"},
    ]
    path = write(tmp_path / "bad.jsonl", rows)
    with pytest.raises(TaskFileError) as raised:
        load_unlabeled(path)
    message = str(raised.value)
    assert f'{path} line 2: field "input" is missing' in message
    assert f'{path} line 3: field "input" is empty' in message
    assert f"{path} line 4: " in message and "no user message" in message
    assert f'{path} line 6: id "a" is used again (first on line 5)' in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "the file is empty"), (b'{"input": "a"}\n\xff\xfe\n', "line 2"), (None, "does not exist")],
)
def test_unreadable_files_are_refused(tmp_path: Path, content: bytes | None, expected: str) -> None:
    path = tmp_path / "inputs.jsonl"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TaskFileError, match=expected):
        load_unlabeled(path)
