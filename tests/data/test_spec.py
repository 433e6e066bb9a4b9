"""Task spec files (YAML) and how a source string is resolved to files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from adaptlab.data import TaskSpec, load_task
from adaptlab.errors import UsageError

Write = Callable[..., str]
Problems = Callable[..., list[str]]

SPEC = """\
name: tickets
description: Support tickets by team.
instruction: Route the ticket to a team.
labels: [billing, tech]
data: tickets.csv
fields: {input: text, output: team, id: ticket}
source: our helpdesk export
license: internal
"""
TICKETS = "ticket,text,team\nT1,card declined,billing\nT2,app crashes,tech\nT3,refund please,billing\n"


def test_spec_with_one_data_file_and_field_mapping(write: Write) -> None:
    write("tasks/tickets.csv", TICKETS)
    task = load_task(write("tasks/tickets.yaml", SPEC))
    assert (task.name, task.description, task.instruction) == (
        "tickets",
        "Support tickets by team.",
        "Route the ticket to a team.",
    )
    assert (task.labels, task.labels_declared) == (("billing", "tech"), True)
    assert task.sources == ("tasks/tickets.csv",)
    first = task.examples[0]
    assert (first.id, first.input, first.output, first.source) == (
        "T1",
        "card declined",
        "billing",
        "tasks/tickets.csv line 2",
    )
    assert {e.split for e in task.examples} == {None}


def test_keyword_arguments_override_the_spec(write: Write) -> None:
    write("tickets.csv", TICKETS.replace("text", "body"))
    task = load_task(
        write("tickets.yaml", SPEC),
        name="renamed",
        labels=["billing", "tech", "sales"],
        instruction="Other.",
        input_field="body",
    )
    assert (task.name, task.instruction, task.labels) == ("renamed", "Other.", ("billing", "tech", "sales"))


def test_split_files_set_example_split_and_prefix_line_ids(write: Write, write_jsonl: Write) -> None:
    write_jsonl("train.jsonl", [{"input": f"train {n}", "output": "a"} for n in range(4)])
    write_jsonl(
        "test.jsonl", [{"input": "test 0", "output": "a", "id": "t0"}, {"input": "test 1", "output": "b"}]
    )
    task = load_task(write("task.yml", "splits:\n  test: test.jsonl\n  train: train.jsonl\n"))
    assert task.name == "task"
    assert task.sources == ("train.jsonl", "test.jsonl")
    assert [(e.id, e.split) for e in task.examples] == [
        ("train:1", "train"),
        ("train:2", "train"),
        ("train:3", "train"),
        ("train:4", "train"),
        ("t0", "test"),
        ("test:2", "test"),
    ]


def test_yaml_number_labels_are_the_text_of_numeric_outputs(write: Write, write_jsonl: Write) -> None:
    write_jsonl("d.jsonl", [{"input": f"q{n}", "output": n % 2} for n in range(4)])
    task = load_task(write("task.yaml", "data: d.jsonl\nlabels: [0, 1, 0.5]\n"))
    assert (task.labels, task.labels_declared, task.output_type) == (("0", "1", "0.5"), True, "number")
    assert TaskSpec(data="d.jsonl", labels=[1.0, -3, "x"]).labels == ["1.0", "-3", "x"]


def test_an_output_type_differing_across_split_files_names_the_other_file(
    write: Write, write_jsonl: Write, problems: Problems
) -> None:
    write_jsonl("train.jsonl", [{"input": f"q{n}", "output": n % 2} for n in range(4)])
    write_jsonl("test.jsonl", [{"input": "t", "output": "1"}])
    assert problems(write("task.yaml", "splits: {train: train.jsonl, test: test.jsonl}\n")) == [
        'test.jsonl line 1: output "1" is a string, but train.jsonl line 1\'s output is a number; '
        "write every output as the same type"
    ]


def test_problems_in_several_files_are_all_reported(
    write: Write, write_jsonl: Write, problems: Problems
) -> None:
    write_jsonl("train.jsonl", [{"input": "a", "output": "x", "id": "q"}, {"input": "b"}])
    write_jsonl("dev.jsonl", [{"input": "c", "output": "x", "id": "q"}])
    spec = write("task.yaml", "splits: {train: train.jsonl, dev: dev.jsonl, test: test.jsonl}\n")
    assert problems(spec) == [
        'train.jsonl line 2: field "output" is missing',
        'dev.jsonl line 1: id "q" is already used in train.jsonl line 1',
        "test.jsonl: no such file (named in task.yaml)",
    ]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "name: t\nlables: [a, b]\ndata: d.jsonl\n",
            ['task.yaml line 2: unknown key "lables" (did you mean "labels"?)'],
        ),
        (
            "data: d.jsonl\nfields:\n  input: text\n  ouptut: label\n",
            ['task.yaml line 4: unknown key "ouptut" in fields (did you mean "output"?)'],
        ),
        (
            "name: t\n",
            [
                'task.yaml: give either "data" (one file, split by adaptlab) '
                'or "splits" (train/dev/test files)'
            ],
        ),
        (
            "data: d.jsonl\nsplits: {test: t.jsonl}\n",
            [
                'task.yaml: give either "data" (one file, split by adaptlab) or "splits" '
                "(train/dev/test files), not both"
            ],
        ),
        (
            "splits:\n  train: a.jsonl\n",
            ["task.yaml line 1: splits: must include a test file (train and dev are optional)"],
        ),
        (
            "splits:\n  test: a.jsonl\n  validation: b.jsonl\n",
            ['task.yaml line 1: splits: "validation" is not a split name; use train, dev or test'],
        ),
        (
            "data: d.jsonl\nlabels: [yes, no]\n",
            [
                'task.yaml line 2: labels item 1 must be a string; write it in quotes: "yes"',
                'task.yaml line 2: labels item 2 must be a string; write it in quotes: "no"',
            ],
        ),
        (
            # YAML reads yes, no, on and off as booleans: the word written is lost, so none is guessed.
            "data: d.jsonl\nlabels: [true, false]\n",
            [
                'task.yaml line 2: labels item 1 must be a string; write it in quotes: "true"',
                'task.yaml line 2: labels item 2 must be a string; write it in quotes: "false"',
            ],
        ),
        (
            "data: d.jsonl\nlabels: [.nan, 1]\n",
            ['task.yaml line 2: labels item 1 must be a string; write it in quotes: ".nan"'],
        ),
        ("data: d.jsonl\nlabels: [1, '1']\n", ['task.yaml line 2: labels: label "1" is declared twice']),
        ("data: d.jsonl\nlabels: [a, b, a]\n", ['task.yaml line 2: labels: label "a" is declared twice']),
        ("data: d.jsonl\nlabels: [a]\n", ["task.yaml line 2: labels: declare at least 2 labels"]),
        (
            "data: d.jsonl\nallow_extra_fields: sure\n",
            ["task.yaml line 2: allow_extra_fields must be true or false"],
        ),
        ("data: d.jsonl\nname: ''\n", ["task.yaml line 2: name: must not be empty"]),
        ("data: d.jsonl\nfields: [text]\n", ["task.yaml line 2: fields must be a mapping"]),
        (
            "name: t\nlabels: [a, b\n",
            ["task.yaml line 3: invalid YAML: expected ',' or ']', but got '<stream end>'"],
        ),
        ("data: a.jsonl\ndata: b.jsonl\n", ['task.yaml line 2: key "data" appears twice (first on line 1)']),
        ("", ["task.yaml: the file is empty"]),
        (
            "- data: d.jsonl\n",
            ["task.yaml line 1: a task spec must be a mapping of keys (name, data, ...), got a list"],
        ),
    ],
)
def test_bad_specs(write: Write, problems: Problems, spec: str, expected: list[str]) -> None:
    assert problems(write("task.yaml", spec)) == expected


def test_a_spec_names_a_data_file_of_an_unsupported_type(write: Write, problems: Problems) -> None:
    write("d.txt", "hello")
    assert problems(write("task.yaml", "data: d.txt\n")) == [
        'd.txt: unsupported file type ".txt" (use .jsonl, .csv or .tsv) (named in task.yaml)'
    ]


def test_spec_model_accepts_a_minimal_spec() -> None:
    spec = TaskSpec(splits={"test": "t.jsonl", "train": "a.jsonl"})
    assert spec.data_files() == {"train": "a.jsonl", "test": "t.jsonl"}


def test_unsupported_extension(write: Write, problems: Problems) -> None:
    assert problems(write("data.txt", "x")) == [
        'data.txt: unsupported file type ".txt" (use .jsonl, .csv, .tsv or a task .yaml)'
    ]


def test_missing_file(workdir: Path, problems: Problems) -> None:
    assert problems("data.jsonl") == ["data.jsonl: no such file"]


def test_directory(workdir: Path, problems: Problems) -> None:
    (workdir / "data").mkdir()
    assert problems("data") == ["data: is a directory, not a file (give .jsonl, .csv, .tsv or a task .yaml)"]


def test_unknown_name_suggests_a_bundled_task(workdir: Path, problems: Problems) -> None:
    assert problems("tweet-sentimnt") == [
        'tweet-sentimnt: no such file, and not a bundled task (did you mean "tweet-sentiment"?); '
        "bundled tasks: country-facts, python-docstrings, tweet-sentiment"
    ]


def test_bad_declared_labels_argument_is_a_usage_error(write_jsonl: Write) -> None:
    name = write_jsonl("t.jsonl", [{"input": "a", "output": "x"}] * 3)
    with pytest.raises(UsageError, match=r'^labels \(--labels\): label "x" is declared twice$'):
        load_task(name, labels=["x", "x"])


def test_label_descriptions_reach_the_task(write: Write) -> None:
    write("tickets.csv", TICKETS)
    spec = SPEC.replace("data:", "label_descriptions: {billing: money matters, tech: it is broken}\ndata:")
    task = load_task(write("tickets.yaml", spec))
    assert task.label_descriptions == (("billing", "money matters"), ("tech", "it is broken"))


def test_label_descriptions_must_describe_declared_labels(write: Write, problems: Problems) -> None:
    spec = "labels: [bug, question]\nlabel_descriptions: {bugs: broken}\ndata: d.jsonl\n"
    [problem] = problems(write("task.yaml", spec))
    assert 'describes "bugs", which is not one of the labels' in problem
    assert 'did you mean "bug"' in problem
