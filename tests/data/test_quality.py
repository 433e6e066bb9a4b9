"""Duplicate, conflict, leakage and balance reports."""

from __future__ import annotations

import pytest

from adaptlab.data import (
    Example,
    ExampleGroup,
    LeakagePair,
    Task,
    TaskSplit,
    normalize_text,
    quality_report,
    split_task,
)


def example(id: str, text: str, output: str = "x", split: str | None = None) -> Example:
    return Example(id=id, input=text, output=output, source=f"t.jsonl line {id}", split=split)


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("RT Great flight!! http://t.co/x", "rt great flight"),
        ("Ｆｕｌｌ width", "full width"),
        ("Straße\tand   www.example.com/path stuff", "strasse and stuff"),
        ("snake_case-and.dots", "snake case and dots"),
        ("!!!", ""),
    ],
)
def test_normalize_text(text: str, normal: str) -> None:
    assert normalize_text(text) == normal


def test_duplicate_and_conflict_groups() -> None:
    task = Task(
        name="t",
        examples=(
            example("1", "lost my bag", "neg"),
            example("2", "lost my bag", "neg"),
            example("3", "Lost my bag!", "pos"),
            example("4", "fine", "pos"),
            example("5", "!!!", "pos"),
            example("6", "???", "neg"),
        ),
        labels=("neg", "pos"),
    )
    report = quality_report(task)
    group = ("lost my bag", ("1", "2", "3"), ("t.jsonl line 1", "t.jsonl line 2", "t.jsonl line 3"))
    assert report.exact_duplicates == (
        ExampleGroup("lost my bag", ("1", "2"), ("t.jsonl line 1", "t.jsonl line 2"), ("neg",)),
    )
    assert report.normalized_duplicates == (ExampleGroup(*group, ("neg", "pos")),)
    assert report.conflicts == (ExampleGroup(*group, ("neg", "pos")),)
    assert report.leakage == ()
    assert report.warnings() == [
        "1 input appears more than once (exact duplicates): ids 1, 2",
        "1 input is duplicated once case, punctuation and URLs are ignored: ids 1, 2, 3",
        "1 duplicated input has different outputs (conflicting labels): ids 1, 2, 3 (neg vs pos)",
    ]


def test_leakage_between_preassigned_splits() -> None:
    train = (example("a", "hello there", split="train"), example("b", "Good morning", split="train"))
    dev = (example("c", "hello there", split="dev"),)
    test = (
        example("d", "hello there", split="test"),
        example("e", "good morning!", split="test"),
        example("f", "new", split="test"),
    )
    task = Task(name="t", examples=train + dev + test)
    report = quality_report(task, split_task(task))
    assert report.leakage == (
        LeakagePair("exact", "train", "d", "t.jsonl line d", "a", "t.jsonl line a"),
        LeakagePair("normalised", "train", "e", "t.jsonl line e", "b", "t.jsonl line b"),
        LeakagePair("exact", "dev", "d", "t.jsonl line d", "c", "t.jsonl line c"),
    )
    leakage_warnings = [warning for warning in report.warnings() if "leakage" in warning]
    assert leakage_warnings == [
        "1 test input also occurs in train (leakage): test ids d",
        "1 test input also occurs in dev (leakage): test ids d",
        "1 test input equals a train input once case, punctuation and URLs are ignored "
        "(near-duplicate leakage): test ids e",
    ]


def test_leakage_is_reported_in_file_order_against_the_first_train_line() -> None:
    # Splits come back shuffled; the report still reads top to bottom and names the first train line.
    train = tuple(example(f"a{n}", f"text {n % 10}", split="train") for n in range(20))
    test = tuple(example(f"t{n}", f"text {n}", split="test") for n in range(10))
    dev = (example("d", "unrelated", split="dev"),)
    task = Task(name="t", examples=train + dev + test)
    report = quality_report(task, split_task(task))
    assert [(pair.test_id, pair.other_id) for pair in report.leakage] == [
        (f"t{n}", f"a{n}") for n in range(10)
    ]


def test_a_split_made_by_adaptlab_never_leaks() -> None:
    examples = tuple(example(str(n), f"text {n % 7}!" if n % 2 else f"TEXT {n % 7}") for n in range(40))
    task = Task(name="t", examples=examples)
    assert quality_report(task, split_task(task)).leakage == ()


def test_many_groups_are_shortened_in_warnings() -> None:
    examples = tuple(example(f"{n}{copy}", f"text {n}") for n in range(7) for copy in "ab")
    warning = quality_report(Task(name="t", examples=examples)).warnings()[0]
    assert warning == (
        "7 inputs appear more than once (exact duplicates): "
        "ids 0a, 0b; 1a, 1b; 2a, 2b; 3a, 3b; 4a, 4b (and 2 more)"
    )


def test_imbalanced_and_rare_labels() -> None:
    outputs = ["big"] * 22 + ["small"] * 2
    examples = tuple(example(str(n), f"text {n}", output) for n, output in enumerate(outputs))
    report = quality_report(Task(name="t", examples=examples, labels=("big", "small", "unused")))
    assert report.label_counts == {"big": 22, "small": 2, "unused": 0}
    assert report.warnings() == [
        'labels are strongly imbalanced: "big" has 22 examples, "small" only 2; '
        'accuracy will mostly reflect "big"',
        '2 labels have fewer than 3 examples, too few to learn or measure: "small" (2), "unused" (0)',
    ]


def test_a_clean_task_has_no_warnings() -> None:
    examples = tuple(example(str(n), f"text {n}", "ab"[n % 2]) for n in range(12))
    task = Task(name="t", examples=examples, labels=("a", "b"))
    split = split_task(task)
    assert isinstance(split, TaskSplit)
    assert quality_report(task, split).warnings() == []
