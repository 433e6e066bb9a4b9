"""Declared label sets are enforced; undeclared ones are inferred only when outputs look like classes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adaptlab.data import infer_labels, load_task

Write = Callable[..., str]
Problems = Callable[..., list[str]]


def test_outputs_outside_the_declared_labels_are_problems(write_jsonl: Write, problems: Problems) -> None:
    rows = [
        {"input": "a", "output": "positive"},
        {"input": "b", "output": "postive"},
        {"input": "c", "output": "Negative"},
        {"input": "d", "output": "meh"},
    ]
    assert problems(write_jsonl("train.jsonl", rows), labels=["negative", "neutral", "positive"]) == [
        'train.jsonl line 2: output "postive" is not one of the labels negative, neutral, positive '
        '(did you mean "positive"?)',
        'train.jsonl line 3: output "Negative" is not one of the labels negative, neutral, positive '
        '(did you mean "negative"?)',
        'train.jsonl line 4: output "meh" is not one of the labels negative, neutral, positive',
    ]


def test_declared_labels_keep_their_order_even_when_unused(write_jsonl: Write) -> None:
    rows = [{"input": str(n), "output": ("pos", "neg")[n % 2]} for n in range(3)]
    task = load_task(write_jsonl("t.jsonl", rows), labels=["pos", "neutral", "neg"])
    assert (task.labels, task.labels_declared, task.is_classification) == (
        ("pos", "neutral", "neg"),
        True,
        True,
    )


def test_inferred_labels_are_sorted_distinct_outputs() -> None:
    assert infer_labels(["b", "a", "b", "a"]) == ("a", "b")


def test_inferred_labels_read_from_numbers_are_sorted_by_value() -> None:
    outputs = ["10", "9", "1.0", "1", "-0.5"] * 2
    assert infer_labels(outputs, "number") == ("-0.5", "1", "1.0", "9", "10")
    assert infer_labels(outputs) == ("-0.5", "1", "1.0", "10", "9")


@pytest.mark.parametrize(
    ("outputs", "classes"),
    [
        ([f"label {n}" for n in range(20)] * 2, True),  # 20 distinct, each twice
        ([f"label {n}" for n in range(21)] * 2, False),  # too many distinct outputs
        (["x" * 40, "y"] * 2, True),
        (["x" * 41, "y"] * 2, False),  # an output too long to be a class name
        (["a", "b", "c", "a", "b", "c"], True),  # n == 2 * distinct
        (["a", "b", "c", "a", "b"], False),  # fewer than two examples per output on average
        (["The capital of France is Paris.", "Four.", "Blue whales."], False),
    ],
)
def test_label_inference_rule(outputs: list[str], classes: bool) -> None:
    assert (infer_labels(outputs) is not None) == classes


def test_free_text_task_has_no_labels(write_jsonl: Write) -> None:
    rows = [{"input": f"q{n}", "output": f"answer {n}"} for n in range(4)]
    task = load_task(write_jsonl("qa.jsonl", rows))
    assert (task.labels, task.labels_declared, task.is_classification) == (None, False, False)
