"""Task spec files (``task.yaml``): where the data is and what it means.

A spec names the data file (or train/dev/test files, relative to the spec), the instruction
and, optionally, the closed label set and a mapping of field names. It is validated by a
pydantic model; each validation error becomes a `Problem` on the line of the offending key,
found through the YAML node tree, because "line 7: unknown key "lables"" beats a pydantic dump.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from adaptlab.data.problems import Problem, did_you_mean
from adaptlab.data.readers import scalar_text
from adaptlab.data.scoring_spec import JudgeSpec, parse_format, parse_metric
from adaptlab.data.split import SPLIT_NAMES
from adaptlab.data.yaml_file import read_yaml, validation_problems

SPEC_SUFFIXES = (".yaml", ".yml")


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
    metric: str | None = None
    """The primary metric (``chrf``, ``regex:PATTERN``, ``json:schema.json``, ...)."""
    metrics: list[str] | None = None
    """Metrics also reported."""
    format: str | dict[str, Any] | None = None
    """``{regex: PATTERN}`` or ``{json_schema: FILE}`` (or an inline schema): every answer's layout."""
    judge: JudgeSpec | None = None
    corpus: str | None = None
    """The documents the questions are about: a folder of .txt/.md files or a JSONL file of
    ``id`` and ``text``, relative to the spec (the retrieval rungs read it)."""
    _folder: Path | None = PrivateAttr(None)

    @property
    def folder(self) -> Path | None:
        """The spec file's folder (None for a bare data file): files it names are relative to it."""
        return self._folder

    @field_validator("metric")
    @classmethod
    def known_metric(cls, metric: str | None, info: ValidationInfo) -> str | None:
        if metric is not None:
            parse_metric(metric, base=spec_folder(info))
        return metric

    @field_validator("metrics")
    @classmethod
    def known_metrics(cls, metrics: list[str] | None, info: ValidationInfo) -> list[str] | None:
        for metric in metrics or []:
            parse_metric(metric, base=spec_folder(info))
        return metrics

    @field_validator("format")
    @classmethod
    def valid_format(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None:
            parse_format(value, base=spec_folder(info))
        return value

    @field_validator("corpus")
    @classmethod
    def corpus_exists(cls, corpus: str | None, info: ValidationInfo) -> str | None:
        if corpus is None:
            return None
        if not corpus.strip():
            raise ValueError("must not be empty")
        folder = spec_folder(info)
        if folder is not None and not (folder / corpus).exists():
            raise ValueError(f'no such file or folder "{corpus}" (relative to {folder})')
        return corpus

    def corpus_path(self) -> str | None:
        """The corpus as a path from here (the spec names it relative to itself)."""
        if self.corpus is None:
            return None
        return str(self.folder / self.corpus) if self.folder is not None else self.corpus

    @field_validator("name", "data")
    @classmethod
    def not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("labels", mode="before")
    @classmethod
    def numbers_as_text(cls, labels: Any) -> Any:
        """``labels: [0, 1]`` means the labels "0" and "1", the text numeric outputs are read as.

        Booleans stay refused (and told to be quoted): YAML reads ``yes``, ``no``, ``on`` and
        ``off`` as booleans too, so the word the user wrote cannot be told from the value.
        """
        if not isinstance(labels, list):
            return labels
        return [label if isinstance(label, bool) else scalar_text(label) or label for label in labels]

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
        named: dict[str, str] = {}
        for name, file in splits.items():
            if name not in SPLIT_NAMES:
                raise ValueError(
                    f'"{name}" is not a split name; use train, dev or test{did_you_mean(name, SPLIT_NAMES)}'
                )
            if not file.strip():
                raise ValueError(f"the file of split {name} must not be empty")
            # One file as two splits would load every example twice under the same ids, and
            # put each test example in train as well.
            other = named.setdefault(os.path.normpath(file), name)
            if other != name:
                raise ValueError(f'splits {other} and {name} name the same file "{file}"; give each its own')
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


def spec_folder(info: ValidationInfo) -> Path | None:
    """Where the spec file is: schema files it names are relative to it."""
    return (info.context or {}).get("folder")


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
    document, problems = read_yaml(path, display)
    if document is None:
        return None, problems
    if document.content is None:
        return None, [Problem(display, None, "the file is empty")]
    if not isinstance(document.content, dict) or document.root is None:
        kind = "a list" if isinstance(document.content, list) else "a single value"
        return None, [
            Problem(display, 1, f"a task spec must be a mapping of keys (name, data, ...), got {kind}")
        ]
    try:
        spec = TaskSpec.model_validate(document.content, context={"folder": path.parent})
        spec._folder = path.parent
    except ValidationError as error:
        return None, problems + validation_problems(display, document.root, error, TaskSpec)
    return (None if problems else spec), problems
