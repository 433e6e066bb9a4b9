"""Scorers for answers that must be JSON: whether the output parses (and fits a JSON Schema),
and how many of the reference object's fields the answer gets right.

Chat models often wrap JSON in a Markdown code fence; what is inside the fence is judged.

>>> JsonFieldsScorer().score_many([Scored('{"a": 1, "b": 2}', "", '{"a": 1, "b": 3}', "")])
[0.5]
"""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

from adaptlab.data.scoring_spec import MetricSpec, strip_code_fence
from adaptlab.evaluation.scoring.base import Scored
from adaptlab.evaluation.scoring.text import ItemScorer

NOT_JSON: Any = object()
"""What `parsed_json` returns for text that is not JSON (``null`` is valid JSON, so None cannot
say it)."""


def parsed_json(text: str) -> Any:
    """The JSON document in `text` (inside a code fence if there is one), or `NOT_JSON`."""
    try:
        return json.loads(strip_code_fence(text))
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack
        return NOT_JSON


def same_json(left: Any, right: Any) -> bool:
    """Equality of parsed JSON values, where ``true`` is not ``1`` (Python's ``True == 1`` would
    credit it) but ``1`` is ``1.0``; objects compare regardless of key order."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same_json(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(same_json, left, right))
    if isinstance(left, dict | list) or isinstance(right, dict | list):
        return False
    return left == right


class JsonScorer(ItemScorer):
    """1 when the raw output parses as JSON (and, for ``json:SCHEMA``, is valid against the
    schema, with the validator its ``$schema`` names; ``format`` keywords are not asserted),
    else 0."""

    def __init__(self, spec: MetricSpec) -> None:
        self.name = str(spec)
        self.schema = spec.schema
        self.validator: Any = None
        if spec.argument is None:
            self.display = "valid JSON"
            return
        if self.schema is None:
            raise ValueError(f"{spec}: the schema has not been read (build the metric with parse_metric)")
        from jsonschema import validators

        self.display = "JSON matching schema"
        self.validator = validators.validator_for(self.schema)(self.schema)

    def score_one(self, answer: str, item: Scored) -> float:
        document = parsed_json(item.output)
        if document is NOT_JSON:
            return 0.0
        return float(self.validator is None or self.validator.is_valid(document))

    def describe(self) -> dict[str, Any]:
        if self.validator is None:
            return super().describe()
        return super().describe() | {
            "library": "jsonschema",
            "version": version("jsonschema"),
            "validator": type(self.validator).__name__,
            "schema": self.schema,
        }


class JsonFieldsScorer(ItemScorer):
    """The share of the reference object's top-level fields whose values the answer's object
    has equal (`same_json`); fields the answer adds are not penalised. An answer that does not
    parse, or is not an object, scores 0.

    A reference that is JSON but not an object with fields (a list, a string, ``{}``) has no
    fields to share out: the whole answer must equal it, 1 or 0. A reference that is not JSON
    at all is a task that cannot be scored this way, and raises `ValueError`.
    """

    name = "json-fields"
    display = "JSON fields"

    def score_one(self, answer: str, item: Scored) -> float:
        reference = parsed_json(item.reference)
        if reference is NOT_JSON:
            raise ValueError(f"json-fields needs JSON references; this one is not: {item.reference[:80]!r}")
        document = parsed_json(answer)
        if document is NOT_JSON:
            return 0.0
        if not isinstance(reference, dict) or not reference:
            return float(same_json(document, reference))
        if not isinstance(document, dict):
            return 0.0
        right = sum(key in document and same_json(document[key], value) for key, value in reference.items())
        return right / len(reference)
