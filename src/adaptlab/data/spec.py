"""Task spec files (``task.yaml``): where the data is and what it means.

A spec names the data file (or train/dev/test files, relative to the spec), the instruction
and, optionally, the closed label set and a mapping of field names. It is validated by a
pydantic model; each validation error becomes a `Problem` on the line of the offending key,
found through the YAML node tree, because "line 7: unknown key "lables"" beats a pydantic dump.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from adaptlab.data.problems import Problem, did_you_mean
from adaptlab.data.readers import UTF8_BOM, RawFile, decode_lines
from adaptlab.data.split import SPLIT_NAMES

SPEC_SUFFIXES = (".yaml", ".yml")
TYPE_WORDS = {
    "string_type": "must be a string",
    "list_type": "must be a list",
    "bool_type": "must be true or false",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
}


class FieldNames(BaseModel):
    """Which field (JSONL) or column (CSV) holds each part of an example."""

    model_config = ConfigDict(extra="forbid", strict=True)

    input: str = "input"
    output: str = "output"
    id: str = "id"


class TaskSpec(BaseModel):
    """The content of a task ``.yaml`` file; exactly one of `data` and `splits` is given.

    >>> TaskSpec(name="tickets", data="tickets.jsonl", labels=["bug", "question"]).data
    'tickets.jsonl'
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = None
    description: str | None = None
    instruction: str | None = None
    labels: list[str] | None = None
    label_descriptions: dict[str, str] | None = None
    data: str | None = None
    splits: dict[str, str] | None = None
    fields: FieldNames = FieldNames()
    allow_extra_fields: bool = False
    source: str | None = None
    license: str | None = None

    @field_validator("name", "data")
    @classmethod
    def not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("labels")
    @classmethod
    def valid_labels(cls, labels: list[str] | None) -> list[str] | None:
        error = label_set_error(labels) if labels is not None else None
        if error:
            raise ValueError(error)
        return labels

    @field_validator("splits")
    @classmethod
    def valid_splits(cls, splits: dict[str, str] | None) -> dict[str, str] | None:
        if splits is None:
            return None
        for name, file in splits.items():
            if name not in SPLIT_NAMES:
                raise ValueError(
                    f'"{name}" is not a split name; use train, dev or test{did_you_mean(name, SPLIT_NAMES)}'
                )
            if not file.strip():
                raise ValueError(f"the file of split {name} must not be empty")
        if "test" not in splits:
            raise ValueError("must include a test file (train and dev are optional)")
        return splits

    @model_validator(mode="after")
    def described_labels_exist(self) -> TaskSpec:
        if self.label_descriptions is None:
            return self
        if self.labels is None:
            raise ValueError('"label_descriptions" needs "labels" declared next to it')
        unknown = [label for label in self.label_descriptions if label not in self.labels]
        if unknown:
            raise ValueError(
                f'label_descriptions describes "{unknown[0]}", which is not one of the labels'
                + did_you_mean(unknown[0], self.labels)
            )
        return self

    @model_validator(mode="after")
    def data_or_splits(self) -> TaskSpec:
        if (self.data is None) == (self.splits is None):
            raise ValueError(
                'give either "data" (one file, split by adaptlab) or "splits" (train/dev/test files)'
                + (", not both" if self.data is not None else "")
            )
        return self

    def data_files(self) -> dict[str | None, str]:
        """Split name (None for a single `data` file) -> file path relative to the spec."""
        if self.splits is not None:
            return {name: self.splits[name] for name in SPLIT_NAMES if name in self.splits}
        return {None: self.data or ""}


def label_set_error(labels: Sequence[str]) -> str | None:
    """What is wrong with a declared label set, if anything (shared by specs and --labels)."""
    if len(labels) < 2:
        return "declare at least 2 labels"
    if any(not label.strip() for label in labels):
        return "labels must not be empty"
    seen: set[str] = set()
    for label in labels:
        if label in seen:
            return f'label "{label}" is declared twice'
        seen.add(label)
    return None


def read_spec(path: Path, display: str) -> tuple[TaskSpec | None, list[Problem]]:
    """Parse and validate a spec file; on failure return None and every problem found."""
    raw = RawFile(display)
    try:
        data = path.read_bytes().removeprefix(UTF8_BOM)
    except OSError as error:
        return None, [Problem(display, None, f"cannot read the file ({error.strerror})")]
    lines, bad_lines = decode_lines(data, raw)
    if bad_lines:
        return None, raw.problems
    text = "".join(lines)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        content = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return None, [yaml_problem(display, error)]
    if content is None:
        return None, [Problem(display, None, "the file is empty")]
    if not isinstance(content, dict) or not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(content, list) else "a single value"
        return None, [
            Problem(display, 1, f"a task spec must be a mapping of keys (name, data, ...), got {kind}")
        ]
    problems = duplicate_key_problems(root, display)
    try:
        spec = TaskSpec.model_validate(content)
    except ValidationError as error:
        problems += [validation_problem(display, root, details) for details in error.errors()]
        return None, problems
    return (None if problems else spec), problems


def yaml_problem(display: str, error: yaml.YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None)
    reason = getattr(error, "problem", None) or str(error)
    return Problem(display, mark.line + 1 if mark else None, f"invalid YAML: {reason}")


def duplicate_key_problems(node: yaml.Node, display: str) -> list[Problem]:
    """YAML silently keeps the last of two equal keys; a person almost never means that."""
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        first_lines: dict[Any, int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if key.value in first_lines:
                problems.append(
                    Problem(
                        display,
                        line,
                        f'key "{key.value}" appears twice (first on line {first_lines[key.value]})',
                    )
                )
            first_lines.setdefault(key.value, line)
            problems += duplicate_key_problems(value, display)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            problems += duplicate_key_problems(item, display)
    return problems


def validation_problem(display: str, root: yaml.Node, details: Any) -> Problem:
    """One pydantic error as a person-readable problem on the line of the key it is about."""
    location: tuple[Any, ...] = details["loc"]
    node, key_line = find_node(root, location)
    where = describe_location(location)
    kind = details["type"]
    if kind == "extra_forbidden":
        parent = " ".join(["in", describe_location(location[:-1])]) if len(location) > 1 else ""
        known = FieldNames.model_fields if len(location) > 1 else TaskSpec.model_fields
        name = str(location[-1])
        message = f'unknown key "{name}"{" " + parent if parent else ""}{did_you_mean(name, list(known))}'
    elif kind in TYPE_WORDS:
        message = f"{where} {TYPE_WORDS[kind]}"
        if kind == "string_type" and isinstance(node, yaml.ScalarNode):
            message += f'; write it in quotes: "{node.value}"'
    elif kind == "value_error":
        message = f"{where}: {details['ctx']['error']}" if where else str(details["ctx"]["error"])
    else:
        message = f"{where}: {details['msg']}"
    return Problem(display, key_line, message)


def find_node(root: yaml.Node, location: Sequence[Any]) -> tuple[yaml.Node | None, int | None]:
    """The node at a pydantic location, and the line of the key (or item) that leads to it."""
    node: yaml.Node | None = root
    line: int | None = None
    for part in location:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                return None, line
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return None, line
    return node, line


def describe_location(location: Sequence[Any]) -> str:
    """``("labels", 1)`` -> ``labels item 2``; ``("fields", "input")`` -> ``fields.input``."""
    words = ""
    for part in location:
        if isinstance(part, int):
            words += f" item {part + 1}"
        else:
            words += f".{part}" if words else str(part)
    return words
