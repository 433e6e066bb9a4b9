"""Inputs without gold outputs (``--unlabeled FILE``): training data a teacher model labels.

Users often have many inputs and few labels; a prompted teacher can answer the inputs, and a
small model can be tuned on those answers (`adaptlab.multi_model`). The file is read like a task
file (JSONL with the task's input field, CSV with an input column, or chat ``messages`` whose
last turn is the user's) and checked the same way: every problem on its file and line, all of
them at once, before a model loads.

A row that carries a gold output as well is accepted, and its output ignored: the point of
the file is what the teacher answers. The caller warns about them, since such rows belong in
the task file, where they would be measured and trained on as gold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adaptlab.data.loader import text_field
from adaptlab.data.problems import Problem, TaskFileError
from adaptlab.data.readers import read_data_file
from adaptlab.data.task import Example

ID_PREFIX = "unlabeled-"
"""Unlabeled inputs are named after their line (``unlabeled-17``), so their ids can never be
those of the task's examples (a file's own ids are kept after the prefix)."""


@dataclass(frozen=True)
class UnlabeledInputs:
    """The inputs of an unlabeled file, in file order, as examples with an empty output."""

    examples: tuple[Example, ...]
    with_outputs: int
    """Rows that carried a gold output anyway (ignored here)."""
    display: str


def load_unlabeled(
    path: Path, *, input_field: str = "input", output_field: str = "output"
) -> UnlabeledInputs:
    """Read `path`; raise `TaskFileError` naming every bad row's file and line."""
    display = str(path)
    if not path.is_file():
        where = "is a folder" if path.is_dir() else "does not exist"
        raise TaskFileError([Problem(display, None, f"the unlabeled file {where}")])
    raw = read_data_file(path, display)
    examples: list[Example] = []
    with_outputs = 0
    problems = list(raw.problems)
    seen: dict[str, int] = {}
    for row in raw.rows:
        text, system, error = _input_of(row.values, input_field)
        if error is not None:
            problems.append(Problem(display, row.line, error))
            continue
        with_outputs += output_field in row.values or _ends_with_answer(row.values)
        own_id = row.values.get("id")
        example_id = f"{ID_PREFIX}{own_id if isinstance(own_id, str | int) else row.line}"
        if example_id in seen:
            problems.append(
                Problem(display, row.line, f'id "{own_id}" is used again (first on line {seen[example_id]})')
            )
            continue
        seen[example_id] = row.line
        assert text is not None
        examples.append(Example(example_id, text, "", source=f"{display} line {row.line}", system=system))
    if not problems and not examples:
        problems.append(Problem(display, None, "the file holds no inputs"))
    if problems:
        raise TaskFileError(sorted(problems, key=lambda p: p.line or 0))
    return UnlabeledInputs(tuple(examples), with_outputs, display)


def _input_of(values: dict[str, Any], input_field: str) -> tuple[str | None, str | None, str | None]:
    """The row's input text and system prompt, or what is wrong with the row."""
    if "messages" not in values:
        text, error = text_field(values, input_field)
        return text, None, error
    messages = values["messages"]
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        return None, None, 'field "messages" must be a non-empty list of {"role", "content"} objects'
    turns = [m for m in messages if m.get("role") != "assistant"]
    user = [m for m in turns if m.get("role") == "user"]
    if not user or not isinstance(user[-1].get("content"), str) or not user[-1]["content"].strip():
        return None, None, 'field "messages" has no user message with text content'
    system = next((m.get("content") for m in turns if m.get("role") == "system"), None)
    return user[-1]["content"], system if isinstance(system, str) else None, None


def _ends_with_answer(values: dict[str, Any]) -> bool:
    messages = values.get("messages")
    return (
        isinstance(messages, list)
        and bool(messages)
        and isinstance(messages[-1], dict)
        and (messages[-1].get("role") == "assistant")
    )
