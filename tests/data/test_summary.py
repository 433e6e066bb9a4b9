"""`describe_task`: sizes, label distribution, split sizes and length statistics."""

from __future__ import annotations

import json

import pytest

from adaptlab.data import Example, LengthStats, OutputType, Task, describe_task, split_task


def make_task() -> Task:
    rows = [("a" * n, label) for n, label in zip(range(1, 21), ["pos"] * 15 + ["neg"] * 5, strict=True)]
    examples = tuple(Example(str(n), text, label) for n, (text, label) in enumerate(rows))
    return Task(name="t", examples=examples, labels=("pos", "neg", "unused"))


def test_lengths_in_characters_with_labels_and_splits() -> None:
    task = make_task()
    summary = describe_task(task, split=split_task(task))
    assert summary.rows == 20
    assert summary.label_counts == {"pos": 15, "neg": 5, "unused": 0}
    assert summary.label_shares == {"pos": 0.75, "neg": 0.25, "unused": 0.0}
    assert summary.split_sizes == {"train": 12, "dev": 2, "test": 6}
    assert summary.length_unit == "characters"
    assert summary.input_lengths == LengthStats(min=1, mean=10.5, p50=10.5, p95=pytest.approx(19.05), max=20)
    assert summary.output_lengths == LengthStats(min=3, mean=3.0, p50=3.0, p95=3.0, max=3)


def test_lengths_in_tokens_and_json_output() -> None:
    summary = describe_task(make_task(), count_tokens=lambda text: len(text) // 2)
    assert summary.length_unit == "tokens"
    assert (summary.input_lengths.min, summary.input_lengths.max) == (0, 10)
    assert summary.split_sizes == {}
    payload = json.loads(json.dumps(summary.to_dict()))
    assert payload["rows"] == 20
    assert payload["output_type"] == "text"
    assert payload["input_lengths"]["max"] == 10


def test_free_text_task_has_no_label_distribution() -> None:
    task = Task(name="t", examples=(Example("1", "q", "a long answer"),))
    summary = describe_task(task)
    assert (summary.label_counts, summary.label_shares) == ({}, {})
    assert summary.output_lengths.max == 13


@pytest.mark.parametrize(("output_type", "labels"), [("number", ("0", "1")), ("boolean", ("false", "true"))])
def test_the_summary_says_when_labels_were_read_from_numbers_or_booleans(
    output_type: OutputType, labels: tuple[str, str]
) -> None:
    examples = tuple(Example(str(n), f"q{n}", labels[n % 2]) for n in range(4))
    summary = describe_task(Task(name="t", examples=examples, labels=labels, output_type=output_type))
    assert (summary.output_type, summary.label_counts) == (output_type, {labels[0]: 2, labels[1]: 2})
    assert summary.to_dict()["output_type"] == output_type
