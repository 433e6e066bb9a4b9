"""Splits: deterministic, stratified, group-aware, and respectful of the user's own splits."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptlab.data import Example, Task, TaskSplit, load_task, normalize_text, split_task, stratified_sample
from adaptlab.data.split import MIN_DEV_EXAMPLES, allocate
from adaptlab.errors import UsageError


def make_task(rows: list[tuple[str, str]], classification: bool = True, split: str | None = None) -> Task:
    examples = tuple(
        Example(id=f"e{n}", input=text, output=output, source=f"t.jsonl line {n}", split=split)
        for n, (text, output) in enumerate(rows, start=1)
    )
    labels = tuple(sorted({output for _, output in rows})) if classification else None
    return Task(name="t", examples=examples, labels=labels)


def labelled(counts: dict[str, int]) -> Task:
    return make_task([(f"{label} text {n}", label) for label, count in counts.items() for n in range(count)])


def ids(examples: tuple[Example, ...]) -> list[str]:
    return [example.id for example in examples]


def test_default_fractions_and_largest_remainder_per_label() -> None:
    split = split_task(labelled({"a": 50, "b": 30, "c": 20}))
    assert (split.seed, split.fractions) == (0, (0.6, 0.1, 0.3))
    sizes = {name: Counter(e.output for e in split[name]) for name in ("train", "dev", "test")}
    assert sizes == {
        "train": {"a": 30, "b": 18, "c": 12},
        "dev": {"a": 5, "b": 3, "c": 2},
        "test": {"a": 15, "b": 9, "c": 6},
    }


def test_rounding_ties_do_not_all_favour_one_split() -> None:
    # Each label's 0.5 dev / 1.5 test quotas tie; resolving every tie the same way would give 9/3/3.
    split = split_task(labelled({"a": 5, "b": 5, "c": 5}))
    assert [len(split.train), len(split.dev), len(split.test)] == [9, 2, 4]


def test_same_seed_same_split_and_another_seed_another() -> None:
    task = labelled({"a": 40, "b": 40})
    assert split_task(task, seed=3) == split_task(task, seed=3)
    assert ids(split_task(task, seed=3).test) != ids(split_task(task, seed=4).test)


def test_neither_membership_nor_order_depends_on_row_order() -> None:
    task = labelled({"a": 30, "b": 20})
    shuffled = list(task.examples)
    random.Random(1).shuffle(shuffled)
    split = split_task(task, seed=7)
    other = split_task(Task(name="t", examples=tuple(shuffled), labels=task.labels), seed=7)
    for name in ("train", "dev", "test"):
        assert ids(split[name]) == ids(other[name])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_split_is_ordered_by_label(seed: int) -> None:
    # The file lists all "a", then all "b", then all "c": a split in file order would open with one label.
    split = split_task(labelled({"a": 100, "b": 100, "c": 100}), seed=seed)
    for name in ("train", "dev", "test"):
        assert len({e.output for e in split[name][:20]}) > 1, name
        positions = [int(e.id[1:]) for e in split[name]]
        assert positions != sorted(positions), name


def test_split_order_is_seeded() -> None:
    task = labelled({"a": 100, "b": 100, "c": 100})
    for name in ("train", "dev", "test"):
        assert ids(split_task(task, seed=5)[name]) == ids(split_task(task, seed=5)[name])
    # Another seed reorders even what stays in the same split: compare the common members' order.
    first, second = split_task(task, seed=5).test, split_task(task, seed=6).test
    common = set(ids(first)) & set(ids(second))
    assert len(common) > 20
    assert [i for i in ids(first) if i in common] != [i for i in ids(second) if i in common]


def test_shuffling_only_reorders_each_split() -> None:
    # Reference: the allocation itself, which keeps file order; each split must hold exactly its examples.
    task = labelled({"a": 70, "b": 50, "c": 30})
    split = split_task(task, seed=3)
    reference = allocate(task.examples, split.fractions, 3, stratify=True)
    for name, part in zip(("train", "dev", "test"), reference, strict=True):
        assert sorted(split[name], key=task.examples.index) == part


def test_bundled_task_keeps_its_split_membership() -> None:
    # Digests of each split's sorted ids, recorded before splits were shuffled: only the order changed.
    split = split_task(load_task("tweet-sentiment"), seed=0)
    digests = {
        name: hashlib.sha256(",".join(sorted(ids(split[name]))).encode()).hexdigest()[:16]
        for name in ("train", "dev", "test")
    }
    assert digests == {"train": "df8aa8564adb14fe", "dev": "dda4aa6aa7268231", "test": "cf7b0e2d986fffc3"}
    assert len({e.output for e in split.test[:20]}) > 1  # was 20 negatives


def test_split_is_the_same_under_any_hash_seed(tmp_path: Path) -> None:
    rows = [{"input": f"text {n}", "output": "ab"[n % 2]} for n in range(40)]
    data = tmp_path / "t.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    script = (
        "import sys; from adaptlab.data import load_task, split_task; "
        "print(','.join(e.id for e in split_task(load_task(sys.argv[1])).test))"
    )
    outputs = set()
    for hash_seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": os.pathsep.join(sys.path)}
        result = subprocess.run(
            [sys.executable, "-c", script, str(data)], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_duplicates_and_near_duplicates_land_in_the_same_split() -> None:
    rows = [(f"unique {n}", "ab"[n % 2]) for n in range(30)]
    rows += [("Great flight!", "a"), ("great flight", "a"), ("GREAT  flight!! http://t.co/x", "b")] * 3
    split = split_task(make_task(rows))
    homes = {name for name in ("train", "dev", "test") for e in split[name] if e.input.startswith(("G", "g"))}
    assert len(homes) == 1


def test_free_text_tasks_are_split_without_stratification() -> None:
    split = split_task(make_task([(f"q{n}", f"answer {n}") for n in range(10)], classification=False))
    assert [len(split.train), len(split.dev), len(split.test)] == [6, 1, 3]


def test_every_split_gets_an_example_in_a_tiny_task() -> None:
    split = split_task(labelled({"a": 2, "b": 1}))
    assert [len(split.train), len(split.dev), len(split.test)] == [1, 1, 1]


def test_preassigned_splits_are_kept() -> None:
    examples = (
        make_task([("a", "x"), ("b", "y")], split="train").examples
        + make_task([("c", "x")], split="dev").examples
        + make_task([("d", "y")], split="test").examples
    )
    split = split_task(Task(name="t", examples=examples, labels=("x", "y")))
    assert [sorted(e.input for e in split[name]) for name in ("train", "dev", "test")] == [
        ["a", "b"],
        ["c"],
        ["d"],
    ]


def test_preassigned_splits_are_shuffled_too() -> None:
    given = {
        name: make_task([(f"{name} {n}", "xy"[n // 20]) for n in range(40)], split=name).examples
        for name in ("train", "dev", "test")
    }
    examples = tuple(
        Example(f"{e.split}-{e.id}", e.input, e.output, e.source, split=e.split)
        for part in given.values()
        for e in part
    )
    split = split_task(Task(name="t", examples=examples, labels=("x", "y")), seed=0)
    for name in ("train", "dev", "test"):
        assert sorted(e.input for e in split[name]) == sorted(e.input for e in given[name])
        assert len({e.output for e in split[name][:10]}) == 2, name


def test_dev_is_carved_out_of_train_when_missing() -> None:
    train = labelled({"a": 35, "b": 35}).examples
    test = make_task([("t1", "a"), ("t2", "b")], split="test").examples
    examples = tuple(Example(e.id, e.input, e.output, e.source, split="train") for e in train) + test
    split = split_task(Task(name="t", examples=examples, labels=("a", "b")), fractions=(0.6, 0.1, 0.3))
    assert [len(split.train), len(split.dev), len(split.test)] == [60, 10, 2]  # dev share 0.1 / 0.7
    assert Counter(e.output for e in split.dev) == {"a": 5, "b": 5}
    assert sorted(e.input for e in split.test) == ["t1", "t2"]


def test_dev_gets_at_least_the_minimum_from_train_in_a_large_enough_task() -> None:
    split = split_task(labelled({"a": 150, "b": 90, "c": 60}), fractions=(0.6, 0.1, 0.3))
    assert MIN_DEV_EXAMPLES == 50
    assert [len(split.train), len(split.dev), len(split.test)] == [160, 50, 90]  # plain: 180 / 30 / 90
    assert Counter(e.output for e in split.dev) == {"a": 25, "b": 15, "c": 10}


def test_a_small_task_keeps_the_plain_fractions() -> None:
    # 150 < 4 * 50: taking 50 for dev would leave train 55 examples of 150.
    split = split_task(labelled({"a": 75, "b": 45, "c": 30}), fractions=(0.6, 0.1, 0.3))
    assert [len(split.train), len(split.dev), len(split.test)] == [90, 15, 45]


def test_the_minimum_never_leaves_train_smaller_than_dev() -> None:
    task = labelled({"a": 100, "b": 100})
    assert [len(split_task(task, fractions=(0.1, 0.1, 0.8))[name]) for name in ("train", "dev")] == [20, 20]
    assert [len(split_task(task, fractions=(0.2, 0.05, 0.75))[name]) for name in ("train", "dev")] == [25, 25]


def test_the_minimum_holds_when_duplicates_move_together() -> None:
    # 150 groups of two: sharing whole groups out per label leaves dev at 48, the top-up makes it 50.
    rows = [(f"text {n}", "abc"[n % 3]) for n in range(150)] * 2
    split = split_task(make_task(rows), fractions=(0.6, 0.1, 0.3), seed=4)
    assert len(split.dev) == MIN_DEV_EXAMPLES
    homes = {name for name in ("train", "dev", "test") for e in split[name] if e.input == "text 7"}
    assert len(homes) == 1


def test_dev_carved_out_of_a_large_train_file_gets_the_minimum() -> None:
    train = labelled({"a": 150, "b": 150}).examples
    test = make_task([("t1", "a"), ("t2", "b")], split="test").examples
    examples = tuple(Example(e.id, e.input, e.output, e.source, split="train") for e in train) + test
    split = split_task(Task(name="t", examples=examples, labels=("a", "b")), fractions=(0.6, 0.1, 0.3))
    assert [len(split.train), len(split.dev), len(split.test)] == [250, 50, 2]  # plain share: 257 / 43


def test_a_users_own_small_dev_split_is_kept() -> None:
    examples = (
        make_task([(f"train {n}", "xy"[n % 2]) for n in range(300)], split="train").examples
        + make_task([("d1", "x"), ("d2", "y")], split="dev").examples
        + make_task([("t1", "x")], split="test").examples
    )
    examples = tuple(
        Example(f"{e.split}{e.id}", e.input, e.output, e.source, split=e.split) for e in examples
    )
    split = split_task(Task(name="t", examples=examples, labels=("x", "y")))
    assert [len(split.train), len(split.dev), len(split.test)] == [300, 2, 1]


def test_only_a_test_file_leaves_train_and_dev_empty() -> None:
    split = split_task(make_task([("a", "x"), ("b", "y"), ("c", "x")], split="test"))
    assert (len(split.train), len(split.dev), len(split.test)) == (0, 0, 3)


def test_mixing_preassigned_and_unassigned_examples_is_refused() -> None:
    examples = make_task([("a", "x")], split="train").examples + make_task([("b", "x")]).examples
    with pytest.raises(UsageError, match="either every example or no example must have a preassigned split"):
        split_task(Task(name="t", examples=examples))


@pytest.mark.parametrize("fractions", [(0.5, 0.5, 0.1), (0.7, 0.3, 0.0), (1.2, -0.1, -0.1)])
def test_fractions_must_be_positive_and_sum_to_one(fractions: tuple[float, float, float]) -> None:
    with pytest.raises(UsageError, match="split fractions must be three positive numbers"):
        split_task(labelled({"a": 10}), fractions=fractions)


def test_unknown_split_name_is_a_usage_error() -> None:
    split = split_task(labelled({"a": 5}))
    with pytest.raises(UsageError, match='unknown split "validation"; use train, dev or test'):
        split["validation"]


inputs = st.lists(
    st.sampled_from(["a", "A!", "b", "c c", "C-c", "d", "e", "f", "g", "h"]), min_size=3, max_size=40
)


@settings(max_examples=60, deadline=None)
@given(texts=inputs, seed=st.integers(0, 5), classification=st.booleans())
def test_split_properties(texts: list[str], seed: int, classification: bool) -> None:
    rows = [(text, "xy"[n % 2]) for n, text in enumerate(texts)]
    task = make_task(rows, classification=classification)
    split = split_task(task, seed=seed)
    assert isinstance(split, TaskSplit)
    placed = [e.id for name in ("train", "dev", "test") for e in split[name]]
    assert sorted(placed) == sorted(e.id for e in task.examples)  # every example exactly once
    homes: dict[str, set[str]] = {}
    for name in ("train", "dev", "test"):
        for example in split[name]:
            homes.setdefault(normalize_text(example.input), set()).add(name)
    assert all(len(names) == 1 for names in homes.values())  # no group is cut in two
    if len(homes) >= 3:
        assert all(split[name] for name in ("train", "dev", "test"))


def test_stratified_sample_keeps_label_shares_and_file_order() -> None:
    examples = labelled({"a": 60, "b": 30, "c": 10}).examples
    sample = stratified_sample(examples, 10, seed=2)
    assert Counter(e.output for e in sample) == {"a": 6, "b": 3, "c": 1}
    assert list(sample) == sorted(sample, key=examples.index)
    assert sample == stratified_sample(examples, 10, seed=2)
    assert sample != stratified_sample(examples, 10, seed=3)


def test_stratified_sample_of_more_than_available_returns_everything() -> None:
    examples = labelled({"a": 3}).examples
    assert stratified_sample(examples, 5) == examples
    with pytest.raises(UsageError, match="the sample size must be at least 1, got 0"):
        stratified_sample(examples, 0)
