"""Duplicates, conflicting labels, train/test leakage and label balance of a task.

These are not errors (the task loads), but each quietly distorts a measurement: a duplicated
test input counts twice, a conflicting label caps accuracy below 100%, and a test input that
also sits in train rewards memorisation. `quality_report` finds them in one pass with dicts;
`QualityReport.warnings()` says them in sentences.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from adaptlab.data.task import Example, Task

if TYPE_CHECKING:  # split.py groups examples with normalize_text, so it imports this module
    from adaptlab.data.split import TaskSplit

URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
NON_ALPHANUMERIC = re.compile(r"[\W_]+")
IMBALANCE_RATIO = 10
MIN_EXAMPLES_PER_LABEL = 3
SHOWN_ITEMS = 5


def normalize_text(text: str) -> str:
    """The form in which two inputs count as "the same" for duplicates and leakage.

    NFKC and casefolding merge look-alike characters and case; URLs are removed (shortened links
    differ on every retweet); anything not a letter or digit becomes a space; whitespace runs
    collapse. ``"RT Great flight!! http://t.co/x"`` -> ``"rt great flight"``.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = URL.sub(" ", text)
    return " ".join(NON_ALPHANUMERIC.sub(" ", text).split())


def duplicate_key(text: str) -> str:
    """`normalize_text`, except that inputs with no letters or digits left (``"!!!"``, a bare
    URL) keep their exact text rather than all counting as duplicates of each other."""
    return normalize_text(text) or text


@dataclass(frozen=True)
class ExampleGroup:
    """Examples that share an input (exactly, or after `normalize_text`)."""

    text: str
    ids: tuple[str, ...]
    sources: tuple[str, ...]
    outputs: tuple[str, ...]  # the distinct outputs, sorted


@dataclass(frozen=True)
class LeakagePair:
    """A test example whose input also occurs in train or dev."""

    kind: Literal["exact", "normalised"]
    other_split: Literal["train", "dev"]
    test_id: str
    test_source: str
    other_id: str
    other_source: str


@dataclass(frozen=True)
class QualityReport:
    """What `quality_report` found; `warnings()` turns it into sentences for people."""

    exact_duplicates: tuple[ExampleGroup, ...]
    normalized_duplicates: tuple[ExampleGroup, ...]
    conflicts: tuple[ExampleGroup, ...]
    leakage: tuple[LeakagePair, ...]
    label_counts: dict[str, int]  # every label of a classification task (0 when unused); else empty

    def warnings(self) -> list[str]:
        """One sentence per kind of issue, naming a few example ids; empty when all is well."""
        warnings = []
        if self.exact_duplicates:
            warnings.append(
                f"{count(self.exact_duplicates, 'input appears', 'inputs appear')} more than once "
                f"(exact duplicates): {show_groups(self.exact_duplicates)}"
            )
        if self.normalized_duplicates:
            warnings.append(
                f"{count(self.normalized_duplicates, 'input is', 'inputs are')} duplicated once case, "
                f"punctuation and URLs are ignored: {show_groups(self.normalized_duplicates)}"
            )
        if self.conflicts:
            warnings.append(
                f"{count(self.conflicts, 'duplicated input has', 'duplicated inputs have')} different "
                f"outputs (conflicting labels): {show_groups(self.conflicts, with_outputs=True)}"
            )
        warnings += self.leakage_warnings()
        warnings += self.label_warnings()
        return warnings

    def leakage_warnings(self) -> list[str]:
        templates = {
            "exact": "{n} also occur{s} in {other} (leakage): test ids {ids}",
            "normalised": "{n} equal{s} a {other} input once case, punctuation and URLs are ignored "
            "(near-duplicate leakage): test ids {ids}",
        }
        warnings = []
        for kind, template in templates.items():
            for other in ("train", "dev"):
                pairs = [pair for pair in self.leakage if pair.kind == kind and pair.other_split == other]
                if pairs:
                    n = count(pairs, "test input", "test inputs")
                    ids = shorten([pair.test_id for pair in pairs], ", ")
                    warnings.append(
                        template.format(n=n, s="s" if len(pairs) == 1 else "", other=other, ids=ids)
                    )
        return warnings

    def label_warnings(self) -> list[str]:
        warnings = []
        used = {label: n for label, n in self.label_counts.items() if n > 0}
        if used:
            largest = max(used, key=lambda label: used[label])
            smallest = min(used, key=lambda label: used[label])
            if used[largest] > IMBALANCE_RATIO * used[smallest]:
                warnings.append(
                    f'labels are strongly imbalanced: "{largest}" has {used[largest]} examples, '
                    f'"{smallest}" only {used[smallest]}; accuracy will mostly reflect "{largest}"'
                )
        rare = [f'"{label}" ({n})' for label, n in self.label_counts.items() if n < MIN_EXAMPLES_PER_LABEL]
        if rare:
            warnings.append(
                f"{len(rare)} label{'s have' if len(rare) > 1 else ' has'} fewer than "
                f"{MIN_EXAMPLES_PER_LABEL} examples, too few to learn or measure: {', '.join(rare)}"
            )
        return warnings


def quality_report(task: Task, split: TaskSplit | None = None) -> QualityReport:
    """Find duplicates, conflicts and (given a split) test leakage in `task`, in O(n)."""
    exact = index_by(task.examples, lambda example: example.input)
    normalized = index_by(task.examples, lambda example: duplicate_key(example.input))
    labels = task.labels or ()
    counts = task.label_counts()
    return QualityReport(
        exact_duplicates=tuple(make_group(key, group) for key, group in exact.items() if len(group) > 1),
        normalized_duplicates=tuple(
            make_group(key, group)
            for key, group in normalized.items()
            if len({example.input for example in group}) > 1
        ),
        conflicts=tuple(
            make_group(key, group)
            for key, group in normalized.items()
            if len({example.output for example in group}) > 1
        ),
        leakage=leakage_pairs(split, task.examples) if split is not None else (),
        label_counts={label: counts.get(label, 0) for label in labels},
    )


def leakage_pairs(split: TaskSplit, file_order: Sequence[Example]) -> tuple[LeakagePair, ...]:
    """Pair each test example with the first train (and dev) example sharing its input.

    An exact match is reported as exact; otherwise a match after normalisation as normalised.
    One pair per test example and other split keeps the report linear in the task size. Splits
    come shuffled, so "first" and the report's order follow `file_order` (the task's examples):
    a user reads the pairs line by line.
    """
    position = {example.id: index for index, example in enumerate(file_order)}

    def in_file_order(examples: Sequence[Example]) -> list[Example]:
        return sorted(examples, key=lambda example: position[example.id])

    pairs = []
    for other in ("train", "dev"):
        exact = first_by(in_file_order(split[other]), lambda example: example.input)
        normalized = first_by(in_file_order(split[other]), lambda example: duplicate_key(example.input))
        for example in in_file_order(split.test):
            match = exact.get(example.input)
            kind = "exact"
            if match is None:
                match, kind = normalized.get(duplicate_key(example.input)), "normalised"
            if match is not None:
                pairs.append(LeakagePair(kind, other, example.id, example.source, match.id, match.source))
    return tuple(pairs)


def index_by(examples: Iterable[Example], key: Callable[[Example], str]) -> dict[str, list[Example]]:
    groups: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        groups[key(example)].append(example)
    return groups


def first_by(examples: Iterable[Example], key: Callable[[Example], str]) -> dict[str, Example]:
    first: dict[str, Example] = {}
    for example in examples:
        first.setdefault(key(example), example)
    return first


def make_group(text: str, examples: Sequence[Example]) -> ExampleGroup:
    return ExampleGroup(
        text=text,
        ids=tuple(example.id for example in examples),
        sources=tuple(example.source for example in examples),
        outputs=tuple(sorted({example.output for example in examples})),
    )


def count(items: Sequence[object], singular: str, plural: str) -> str:
    return f"{len(items)} {singular if len(items) == 1 else plural}"


def show_groups(groups: Sequence[ExampleGroup], with_outputs: bool = False) -> str:
    """``ids 12, 40; 77, 81 (and 3 more)`` — enough to find the rows, short enough to read."""
    shown = [
        shorten(group.ids, ", ") + (f" ({' vs '.join(group.outputs)})" if with_outputs else "")
        for group in groups
    ]
    return f"ids {shorten(shown, '; ')}"


def shorten(items: Sequence[str], separator: str) -> str:
    """The first few `items` joined, then how many were left out."""
    more = f" (and {len(items) - SHOWN_ITEMS} more)" if len(items) > SHOWN_ITEMS else ""
    return separator.join(items[:SHOWN_ITEMS]) + more
