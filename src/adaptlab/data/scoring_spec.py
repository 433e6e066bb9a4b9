"""What a task says about how its answers are judged: metric names, their arguments, and the
declared answer format.

This is the task's side of scoring — names checked when the task is read, so a misspelt metric,
a regex that does not compile or a schema that is not JSON Schema is reported on its spec line
before any model loads. The scorers themselves live in `adaptlab.evaluation.scoring`.

A metric is written ``name`` or ``name:argument``:

>>> parse_metric("regex:^Return ")
MetricSpec(name='regex', argument='^Return ')
>>> parse_metric("chrF")
MetricSpec(name='chrf', argument=None)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from adaptlab.data.problems import did_you_mean

METRICS: dict[str, str] = {
    "accuracy": "the answer is the gold label (closed-label tasks)",
    "exact": "the answer equals the reference after normalising case, spaces and edge punctuation",
    "contains": "the answer contains the reference (both normalised)",
    "regex": "the answer matches a pattern (regex:PATTERN; re.search, with . matching newlines)",
    "json": "the answer parses as JSON; json:SCHEMA.json also checks it against a JSON Schema",
    "json-fields": "the share of the reference JSON object's fields the answer gets exactly right",
    "chrf": "character n-gram F-score (sacrebleu's chrF), 0-1",
    "bleu": "sentence BLEU (sacrebleu), 0-1",
    "rouge-l": "longest-common-subsequence F-measure (rouge-score's ROUGE-L), 0-1",
    "similarity": "cosine similarity of the answer's and the reference's sentence embeddings",
    "judge": "a model behind an OpenAI-compatible endpoint grades the answer against the reference",
}
"""Every metric a task may name, with what it measures (each gives a score in [0, 1])."""
NEEDS_ARGUMENT = frozenset({"regex"})
TAKES_ARGUMENT = frozenset({"regex", "json"})
DEFAULT_CLASSIFICATION_METRIC = "accuracy"
DEFAULT_FREE_TEXT_METRIC = "chrf"
DEFAULT_FREE_TEXT_REPORTED = ("similarity", "exact")
"""Reported beside chrF when a free-text task names no metrics: meaning, and the strict view."""


@dataclass(frozen=True)
class MetricSpec:
    """A metric as a task names it. For ``json:FILE`` the schema is read (relative to the spec)
    and checked when the spec is; `schema` holds it."""

    name: str
    argument: str | None = None
    schema: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return self.name if self.argument is None else f"{self.name}:{self.argument}"


def parse_metric(text: str, *, base: Path | None = None) -> MetricSpec:
    """Read ``name`` or ``name:argument``; raises `ValueError` with what is wrong (an unknown
    name with a "did you mean", a regex that does not compile, a schema that is not one)."""
    name, colon, argument = text.partition(":")
    key = name.strip().lower()
    if key not in METRICS:
        known = ", ".join(METRICS)
        raise ValueError(f'unknown metric "{name.strip()}"{did_you_mean(key, list(METRICS))}; known: {known}')
    if not colon:
        if key in NEEDS_ARGUMENT:
            raise ValueError(f'{key} needs a pattern: write "{key}:PATTERN", e.g. "regex:^Return "')
        return MetricSpec(key)
    if key not in TAKES_ARGUMENT:
        raise ValueError(f'{key} takes no argument (":{argument}")')
    if key == "regex":
        compiled_pattern(argument)
        return MetricSpec(key, argument)
    return MetricSpec(key, argument, schema=read_schema(argument, base))


def compiled_pattern(pattern: str) -> re.Pattern[str]:
    """A metric's or format's pattern, compiled as scoring uses it (``.`` matches newlines, so a
    multi-line layout can be checked with one pattern)."""
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error as error:
        raise ValueError(f'the pattern "{pattern}" does not compile: {error}') from None


def read_schema(reference: str | dict[str, Any], base: Path | None) -> dict[str, Any]:
    """A JSON Schema given inline (a mapping) or as a file path relative to `base`, checked
    against its own metaschema."""
    if isinstance(reference, dict):
        schema: Any = reference
    else:
        path = Path(reference)
        if not path.is_absolute() and base is not None:
            path = base / path
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"the JSON Schema file {path} does not exist") from None
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise ValueError(f"the JSON Schema file {path} cannot be read as JSON ({error})") from None
    check_schema(schema)
    return schema


def check_schema(schema: Any) -> None:
    from jsonschema import exceptions, validators

    if not isinstance(schema, dict):
        raise ValueError("a JSON Schema must be an object")
    try:
        validators.validator_for(schema).check_schema(schema)
    except exceptions.SchemaError as error:
        raise ValueError(f"not a valid JSON Schema: {error.message}") from None


@dataclass(frozen=True)
class AnswerFormat:
    """The layout every answer must have: a pattern, or a JSON Schema. Format compliance of a
    free-text rung is the share of its answers that satisfy it.

    >>> AnswerFormat(regex=r"^Rating: \\d+/10$").allows("Rating: 7/10")
    True
    """

    regex: str | None = None
    json_schema: dict[str, Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if (self.regex is None) == (self.json_schema is None):
            raise ValueError("a format is either a regex or a json_schema")

    def allows(self, answer: str) -> bool:
        if self.regex is not None:
            return compiled_pattern(self.regex).search(answer) is not None
        from jsonschema import validators

        try:
            document = json.loads(strip_code_fence(answer))
        except ValueError:
            return False
        validator = validators.validator_for(self.json_schema)(self.json_schema)
        return validator.is_valid(document)

    def describe(self) -> dict[str, Any]:
        return {"regex": self.regex} if self.regex is not None else {"json_schema": self.json_schema}


def parse_format(value: Any, *, base: Path | None = None) -> AnswerFormat:
    """``{regex: PATTERN}`` or ``{json_schema: FILE-or-mapping}`` from a spec; a bare string is
    a regex (``--format`` on the command line)."""
    if isinstance(value, str):
        value = {"regex": value}
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ("regex", "json_schema"):
        raise ValueError('format takes one of "regex: PATTERN" or "json_schema: FILE" (or an inline schema)')
    kind, argument = next(iter(value.items()))
    if kind == "regex":
        if not isinstance(argument, str):
            raise ValueError("format regex must be a string")
        compiled_pattern(argument)
        return AnswerFormat(regex=argument)
    if not isinstance(argument, str | dict):
        raise ValueError("format json_schema must be a file path or a schema mapping")
    return AnswerFormat(json_schema=read_schema(argument, base))


def strip_code_fence(text: str) -> str:
    """A JSON answer wrapped in a Markdown code fence (```json ... ```), as chat models write
    it, is judged on what is inside."""
    stripped = text.strip()
    match = re.fullmatch(r"```[A-Za-z0-9_-]*\s*\n?(.*?)\n?```", stripped, re.DOTALL)
    return match.group(1).strip() if match else stripped


class JudgeSpec(BaseModel):
    """The grader of the ``judge`` metric: a model behind an OpenAI-compatible endpoint, with
    the rubric it grades by (None: the bundled one). Only the judge metric needs a network."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    model: str
    """``openai:NAME``: the served model that grades."""
    base_url: str | None = None
    """The server's API root (None: ``$OPENAI_BASE_URL``)."""
    api_key_env: str = "OPENAI_API_KEY"
    rubric: str | None = None
    """Replaces the bundled rubric; it sees the input, the reference and the answer."""

    @field_validator("model")
    @classmethod
    def _an_endpoint_model(cls, model: str) -> str:
        if not model.startswith("openai:") or not model.removeprefix("openai:").strip():
            raise ValueError(
                "the judge is a model behind an OpenAI-compatible endpoint:"
                f' write "openai:NAME", not "{model}"'
            )
        return model
