"""JSON validity, JSON Schema and per-field scoring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adaptlab.data.scoring_spec import MetricSpec, parse_metric
from adaptlab.evaluation.scoring import Scored, get_scorer
from adaptlab.evaluation.scoring.structured import JsonFieldsScorer, JsonScorer

PERSON_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["name", "age"],
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
}


def written(output: str, reference: str = "") -> Scored:
    return Scored(answer=output.strip() or None, output=output, reference=reference, input="q")


def test_json_wants_output_that_parses() -> None:
    scores = JsonScorer(MetricSpec("json")).score_many(
        [
            written('{"name": "Ada"}'),
            written("[1, 2, 3]"),
            written("null"),
            written("{'name': 'Ada'}"),
            written('{"name": "Ada"'),
            written("Sure! Here it is."),
        ]
    )
    assert scores == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]


def test_json_in_a_code_fence_is_judged_on_what_is_inside() -> None:
    scorer = JsonScorer(MetricSpec("json"))
    fenced = '```json\n{"name": "Ada",\n "age": 36}\n```'
    assert scorer.score_many(
        [written(fenced), written('```\n{"a": 1}\n```'), written("```json\nnope\n```")]
    ) == [
        1.0,
        1.0,
        0.0,
    ]


def test_json_nested_deeper_than_the_stack_is_not_json() -> None:
    assert JsonScorer(MetricSpec("json")).score_many([written("[" * 100_000)]) == [0.0]


def test_json_schema_passes_and_fails(tmp_path: Path) -> None:
    (tmp_path / "person.json").write_text(json.dumps(PERSON_SCHEMA))
    scorer = get_scorer(parse_metric("json:person.json", base=tmp_path))
    scores = scorer.score_many(
        [
            written('{"name": "Ada", "age": 36}'),
            written('```json\n{"name": "Ada", "age": 36, "city": "London"}\n```'),
            written('{"name": "Ada", "age": "36"}'),
            written('{"name": "Ada"}'),
            written('["Ada", 36]'),
            written("Ada, 36"),
        ]
    )
    assert scores == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert (scorer.name, scorer.display) == ("json:person.json", "JSON matching schema")
    described = scorer.describe()
    assert described["validator"] == "Draft7Validator"  # the draft its $schema names
    assert described["schema"] == PERSON_SCHEMA


def test_json_with_an_unread_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="schema has not been read"):
        JsonScorer(MetricSpec("json", "person.json"))


def test_json_fields_gives_partial_credit() -> None:
    reference = '{"name": "Ada Lovelace", "born": 1815, "city": "London"}'
    scores = JsonFieldsScorer().score_many(
        [
            written('{"name": "Ada Lovelace", "born": 1815, "city": "London"}', reference),
            written('{"city": "Paris", "born": 1815.0, "name": "Ada Lovelace"}', reference),
            written('{"name": "ada lovelace", "born": "1815"}', reference),
            written(
                '```json\n{"name": "Ada Lovelace", "born": 1815, "city": "London", "extra": 1}\n```',
                reference,
            ),
        ]
    )
    assert scores == pytest.approx([1.0, 2 / 3, 0.0, 1.0])
    assert round(scores[1], 4) == 0.6667


def test_json_fields_compares_nested_values_as_json() -> None:
    reference = '{"flags": {"vip": true, "tags": ["a", "b"]}, "count": 1}'
    scores = JsonFieldsScorer().score_many(
        [
            written('{"count": 1, "flags": {"tags": ["a", "b"], "vip": true}}', reference),
            written('{"count": true, "flags": {"vip": 1, "tags": ["a", "b"]}}', reference),
            written('{"count": 1, "flags": {"vip": true, "tags": ["b", "a"]}}', reference),
        ]
    )
    assert scores == [1.0, 0.0, 0.5]


def test_json_fields_gives_no_credit_to_what_is_not_an_object() -> None:
    reference = '{"a": 1}'
    scores = JsonFieldsScorer().score_many(
        [
            written("[1]", reference),
            written("a: 1", reference),
            written('"a"', reference),
            written("", reference),
        ]
    )
    assert scores == [0.0, 0.0, 0.0, 0.0]


def test_json_fields_with_a_reference_that_has_no_fields_wants_it_exactly() -> None:
    scores = JsonFieldsScorer().score_many(
        [
            written("[1, 2]", "[1, 2]"),
            written("[2, 1]", "[1, 2]"),
            written('"yes"', '"yes"'),
            written("{}", "{}"),
            written('{"a": 1}', "{}"),
        ]
    )
    assert scores == [1.0, 0.0, 1.0, 1.0, 0.0]


def test_json_fields_refuses_a_reference_that_is_not_json() -> None:
    with pytest.raises(ValueError, match="json-fields needs JSON references"):
        JsonFieldsScorer().score_many([written('{"a": 1}', "a = 1")])
