"""Loading JSONL files: the happy path, and every problem with the exact text a user reads."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from adaptlab.data import Example, Problem, TaskFileError, load_task

Write = Callable[..., str]
Problems = Callable[..., list[str]]

GOOD = {"input": "fine", "output": "ok"}
OTHER = {"input": "broken", "output": "not ok"}  # a task needs two different outputs


def test_loads_examples_with_ids_sources_and_inferred_labels(
    write_jsonl: Write, sentiment_rows: list[dict[str, str]]
) -> None:
    name = write_jsonl("reviews.jsonl", sentiment_rows)
    task = load_task(name)
    assert task.name == "reviews"
    assert task.sources == ("reviews.jsonl",)
    assert task.examples[0] == Example(
        id="a1", input="the crew was lovely", output="positive", source="reviews.jsonl line 1"
    )
    assert task.labels == ("negative", "neutral", "positive")
    assert not task.labels_declared


def test_missing_ids_are_line_numbers_and_integer_ids_become_strings(write_jsonl: Write) -> None:
    name = write_jsonl("t.jsonl", [GOOD, "", {**OTHER, "id": 7}, {**GOOD, "id": "x"}])
    assert [example.id for example in load_task(name).examples] == ["1", "7", "x"]


def test_blank_lines_bom_crlf_and_metadata_are_accepted(write: Write) -> None:
    rows = [{**GOOD, "metadata": {"by": "me"}}, OTHER, GOOD]
    text = "\r\n\r\n".join(json.dumps(row) for row in rows) + "\r\n\n"
    name = write("t.jsonl", b"\xef\xbb\xbf" + text.encode())
    task = load_task(name)
    assert [example.source for example in task.examples] == [
        "t.jsonl line 1",
        "t.jsonl line 3",
        "t.jsonl line 5",
    ]


@pytest.mark.parametrize("suffix", [".json", ".ndjson", ".JSONL"])
def test_other_json_lines_extensions(write_jsonl: Write, suffix: str) -> None:
    assert len(load_task(write_jsonl(f"t{suffix}", [GOOD, OTHER, GOOD])).examples) == 3


def test_keyword_arguments_map_fields_and_set_name_and_instruction(write_jsonl: Write) -> None:
    rows = [{"text": f"t{n}", "label": ("yes", "no")[n % 2], "key": f"k{n}"} for n in range(3)]
    task = load_task(
        write_jsonl("t.jsonl", rows),
        input_field="text",
        output_field="label",
        id_field="key",
        name="mine",
        instruction="Answer yes.",
    )
    assert (task.name, task.instruction) == ("mine", "Answer yes.")
    assert [(e.id, e.input, e.output) for e in task.examples] == [
        ("k0", "t0", "yes"),
        ("k1", "t1", "no"),
        ("k2", "t2", "yes"),
    ]


def test_extra_fields_are_ignored_when_allowed(write_jsonl: Write) -> None:
    rows = [{**row, "note": "x"} for row in (GOOD, OTHER, GOOD)]
    task = load_task(write_jsonl("t.jsonl", rows), allow_extra_fields=True)
    assert len(task.examples) == 3


@pytest.mark.parametrize(
    ("outputs", "texts", "labels", "output_type"),
    [
        ([1, 0, 1, 0], ["1", "0", "1", "0"], ("0", "1"), "number"),
        ([0.5, 1.0, -2, 1e16], ["0.5", "1.0", "-2", "1e+16"], None, "number"),
        ([2, 10, 2, 10], ["2", "10", "2", "10"], ("2", "10"), "number"),  # labels sorted by value
        ([True, False, True, False], ["true", "false", "true", "false"], ("false", "true"), "boolean"),
    ],
)
def test_number_and_boolean_outputs_are_read_as_their_json_text(
    write_jsonl: Write, outputs: list[Any], texts: list[str], labels: tuple[str, ...] | None, output_type: str
) -> None:
    task = load_task(
        write_jsonl("t.jsonl", [{"input": f"q{n}", "output": out} for n, out in enumerate(outputs)])
    )
    assert [example.output for example in task.examples] == texts
    assert (task.labels, task.output_type) == (labels, output_type)


def test_string_outputs_are_text(write_jsonl: Write, sentiment_rows: list[dict[str, str]]) -> None:
    assert load_task(write_jsonl("t.jsonl", sentiment_rows)).output_type == "text"


def test_numeric_outputs_match_labels_given_as_text(write_jsonl: Write, problems: Problems) -> None:
    name = write_jsonl("t.jsonl", [{"input": f"q{n}", "output": n % 2} for n in range(4)])
    assert load_task(name, labels=["0", "1"]).labels == ("0", "1")
    assert problems(name, labels=["1", "2"]) == [
        't.jsonl line 1: output "0" is not one of the labels 1, 2',
        't.jsonl line 3: output "0" is not one of the labels 1, 2',
    ]


def test_outputs_of_mixed_types_are_reported_on_every_row_of_the_rarer_type(
    write_jsonl: Write, problems: Problems
) -> None:
    rows: list[Any] = [{"input": f"q{n}", "output": n % 2} for n in range(8)]
    rows[6] = {"input": "q6", "output": "1"}
    rows[7] = {"input": "q7", "output": "positive"}
    rows[4] = {"input": "q4", "output": True}
    assert problems(write_jsonl("train.jsonl", rows)) == [
        "train.jsonl line 5: output true is a boolean, but line 1's output is a number; "
        "write every output as the same type",
        'train.jsonl line 7: output "1" is a string, but line 1\'s output is a number; '
        "write every output as the same type",
        'train.jsonl line 8: output "positive" is a string, but line 1\'s output is a number; '
        "write every output as the same type",
    ]


def test_a_tie_of_types_reports_the_type_met_second(write_jsonl: Write, problems: Problems) -> None:
    rows = [{"input": "a", "output": "x"}, {"input": "b", "output": 1}, {"input": "c", "output": "y"}]
    rows.append({"input": "d", "output": 2})
    assert problems(write_jsonl("t.jsonl", rows)) == [
        "t.jsonl line 2: output 1 is a number, but line 1's output is a string; "
        "write every output as the same type",
        "t.jsonl line 4: output 2 is a number, but line 1's output is a string; "
        "write every output as the same type",
    ]


def test_the_type_of_an_output_counts_even_on_a_row_with_other_problems(
    write_jsonl: Write, problems: Problems
) -> None:
    rows = [{"input": "a", "output": 1}, {"input": "", "output": "1"}, {"input": "c", "output": 0}]
    assert problems(write_jsonl("t.jsonl", rows)) == [
        't.jsonl line 2: field "input" is empty',
        't.jsonl line 2: output "1" is a string, but line 1\'s output is a number; '
        "write every output as the same type",
    ]


@pytest.mark.parametrize(
    ("outputs", "shown"),
    [(["positive"] * 4, '"positive"'), ([1] * 3, "1"), ([False] * 3, "false")],
)
def test_a_task_whose_examples_all_have_one_output_is_refused(
    write_jsonl: Write, problems: Problems, outputs: list[Any], shown: str
) -> None:
    name = write_jsonl("tweets.jsonl", [{"input": f"q{n}", "output": out} for n, out in enumerate(outputs)])
    assert problems(name) == [
        f"tweets.jsonl: every one of the {len(outputs)} examples has the output {shown}; "
        f"a task needs at least two different outputs, or answering {shown} every time scores 100%"
    ]


def test_one_output_is_refused_even_with_declared_labels(write_jsonl: Write, problems: Problems) -> None:
    name = write_jsonl("t.jsonl", [GOOD] * 3)
    assert problems(name, labels=["ok", "not ok"]) == [
        't.jsonl: every one of the 3 examples has the output "ok"; a task needs at least two different '
        'outputs, or answering "ok" every time scores 100%'
    ]


def test_one_output_is_not_claimed_while_a_row_is_unreadable(write_jsonl: Write, problems: Problems) -> None:
    """The unreadable row may hold the other output, so only its problem is reported."""
    assert problems(write_jsonl("t.jsonl", [GOOD, '{"input": "x", "output": "bad"', GOOD, GOOD])) == [
        "t.jsonl line 2: invalid JSON: Expecting ',' delimiter (column 31)"
    ]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [GOOD, "{not json}", GOOD],
            "train.jsonl line 2: invalid JSON: Expecting property name enclosed in double quotes (column 2)",
        ),
        (
            [GOOD, '{"input": "a", "output": "b"} x', GOOD],
            "train.jsonl line 2: invalid JSON: Extra data (column 31)",
        ),
        ([GOOD, [1, 2], GOOD], "train.jsonl line 2: expected a JSON object, got array"),
        ([GOOD, '"text"', GOOD], "train.jsonl line 2: expected a JSON object, got string"),
        ([GOOD, "3", GOOD], "train.jsonl line 2: expected a JSON object, got number"),
        ([GOOD, "true", GOOD], "train.jsonl line 2: expected a JSON object, got boolean"),
        ([GOOD, "null", GOOD], "train.jsonl line 2: expected a JSON object, got null"),
        ([GOOD, {"input": "a"}, GOOD], 'train.jsonl line 2: field "output" is missing'),
        (
            [GOOD, {"input": 3, "output": "b"}, GOOD],
            'train.jsonl line 2: field "input" must be a string, got number',
        ),
        (
            [GOOD, {"input": "a", "output": None}, GOOD],
            'train.jsonl line 2: field "output" must be a string, a number or a boolean, got null',
        ),
        (
            [GOOD, {"input": "a", "output": ["b"]}, GOOD],
            'train.jsonl line 2: field "output" must be a string, a number or a boolean, got array',
        ),
        (
            [GOOD, '{"input": "a", "output": NaN}', GOOD],
            'train.jsonl line 2: field "output" must be a finite number, got NaN',
        ),
        (
            [GOOD, '{"input": "a", "output": -Infinity}', GOOD],
            'train.jsonl line 2: field "output" must be a finite number, got -Infinity',
        ),
        (
            [GOOD, '{"input": "a", "output": 1e999}', GOOD],
            'train.jsonl line 2: field "output" must be a finite number, got Infinity',
        ),
        ([GOOD, {"input": " \t", "output": "b"}, GOOD], 'train.jsonl line 2: field "input" is empty'),
        (
            [GOOD, {**GOOD, "id": 1.5}, GOOD],
            'train.jsonl line 2: field "id" must be a string or an integer, got number',
        ),
        (
            [GOOD, {**GOOD, "id": True}, GOOD],
            'train.jsonl line 2: field "id" must be a string or an integer, got boolean',
        ),
        ([GOOD, {**GOOD, "id": ""}, GOOD], 'train.jsonl line 2: field "id" is empty'),
        (
            [GOOD, {**GOOD, "metadata": "x"}, GOOD],
            'train.jsonl line 2: field "metadata" must be an object, got string',
        ),
        (
            [GOOD, {"input": "a", "ouput": "b", "output": "c"}, GOOD],
            'train.jsonl line 2: unexpected field "ouput" (did you mean "output"?) '
            "(expected input, output, id; "
            "pass allow_extra_fields / --allow-extra-fields to ignore extra fields)",
        ),
        (
            [GOOD, {**GOOD, "score": 1}, GOOD],
            'train.jsonl line 2: unexpected field "score" (expected input, output, id; '
            "pass allow_extra_fields / --allow-extra-fields to ignore extra fields)",
        ),
    ],
)
def test_row_problems(write_jsonl: Write, problems: Problems, rows: list[Any], expected: str) -> None:
    assert problems(write_jsonl("train.jsonl", rows)) == [expected]


def test_duplicate_id_names_the_first_use(write_jsonl: Write, problems: Problems) -> None:
    rows = [{**GOOD, "id": "a12"}, GOOD, {**GOOD, "id": "a12"}]
    assert problems(write_jsonl("train.jsonl", rows)) == [
        'train.jsonl line 3: id "a12" is already used on line 1'
    ]


def test_non_utf8_bytes_name_the_line_byte_and_column(write: Write, problems: Problems) -> None:
    good = b'{"input": "fine", "output": "ok"}\n'
    bad = b'{"input": "caf\xe9 cr\xe8me", "output": "ok"}\n'
    name = write(
        "train.jsonl", good + good + bad + good + '{"input": "é", "output": "\xd1"}\n'.encode("latin-1")
    )
    assert problems(name) == [
        "train.jsonl line 3: not valid UTF-8 (byte 0xe9 at column 15); save the file as UTF-8",
        "train.jsonl line 5: not valid UTF-8 (byte 0xe9 at column 12); save the file as UTF-8",
    ]


def test_column_of_a_bad_byte_counts_characters_not_bytes(write: Write, problems: Problems) -> None:
    good = b'{"input": "fine", "output": "ok"}\n'
    bad = '{"input": "ü'.encode() + b'\xd1"}\n'
    assert problems(write("t.jsonl", good * 2 + bad)) == [
        "t.jsonl line 3: not valid UTF-8 (byte 0xd1 at column 13); save the file as UTF-8"
    ]


@pytest.mark.parametrize("content", [b"", b"  \n\n\t\n", b"\xef\xbb\xbf\n"])
def test_empty_file(write: Write, problems: Problems, content: bytes) -> None:
    assert problems(write("train.jsonl", content)) == ["train.jsonl: the file is empty"]


def test_a_json_array_file_gets_a_hint(write: Write, problems: Problems) -> None:
    name = write("data.json", json.dumps([GOOD, GOOD, GOOD], indent=2))
    assert problems(name) == [
        "data.json: the file is one JSON array, but adaptlab reads JSON Lines (one JSON object per line); "
        "convert it with e.g. jq -c '.[]'"
    ]


def test_fewer_than_three_examples(write_jsonl: Write, problems: Problems) -> None:
    assert problems(write_jsonl("train.jsonl", [GOOD, GOOD])) == [
        "train.jsonl: the task has 2 examples; at least 3 are needed (one each for train, dev and test)"
    ]


def test_every_problem_in_the_file_is_reported_in_line_order(write_jsonl: Write, problems: Problems) -> None:
    rows = [GOOD, {"input": ""}, "[", {**GOOD, "id": "x"}, {**GOOD, "id": "x", "extra": 1}]
    assert problems(write_jsonl("train.jsonl", rows)) == [
        'train.jsonl line 2: field "input" is empty',
        'train.jsonl line 2: field "output" is missing',
        "train.jsonl line 3: invalid JSON: Expecting value (column 2)",
        'train.jsonl line 5: unexpected field "extra" (expected input, output, id; '
        "pass allow_extra_fields / --allow-extra-fields to ignore extra fields)",
        'train.jsonl line 5: id "x" is already used on line 4',
    ]


def test_the_error_message_shows_twenty_problems_then_a_count(write_jsonl: Write) -> None:
    with pytest.raises(TaskFileError) as caught:
        load_task(write_jsonl("train.jsonl", [{"input": "a"}] * 23))
    error = caught.value
    assert len(error.problems) == 23
    assert error.problems[0] == Problem("train.jsonl", 1, 'field "output" is missing')
    lines = str(error).splitlines()
    assert lines[0] == 'train.jsonl line 1: field "output" is missing'
    assert lines[19] == 'train.jsonl line 20: field "output" is missing'
    assert lines[20:] == ["... and 3 more problems"]
    assert error.exit_code == 1


def test_problem_without_a_line_names_only_the_file() -> None:
    assert (
        str(Problem("data/train.jsonl", None, "the file is empty")) == "data/train.jsonl: the file is empty"
    )
