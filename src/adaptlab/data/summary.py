"""`describe_task`: the numbers ``adaptlab validate`` shows about a task.

Lengths are measured in the model's tokens when a counter is given, because that is what
prompt size, truncation and cost depend on; otherwise in characters, and the summary says which.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from adaptlab.data.split import SPLIT_NAMES, TaskSplit
from adaptlab.data.task import OutputType, Task


@dataclass(frozen=True)
class LengthStats:
    """Distribution of lengths (percentiles interpolate linearly, so they may be fractional)."""

    min: float
    mean: float
    p50: float
    p95: float
    max: float

    @classmethod
    def of(cls, lengths: Sequence[int]) -> LengthStats:
        if not lengths:
            return cls(0, 0.0, 0.0, 0.0, 0)
        values = np.asarray(lengths, dtype=float)
        p50, p95 = np.percentile(values, [50, 95])
        return cls(int(values.min()), float(values.mean()), float(p50), float(p95), int(values.max()))


@dataclass(frozen=True)
class TaskSummary:
    """Size, label distribution, split sizes and input/output lengths of a task.

    `label_counts` and `label_shares` follow the task's label order (declared labels that no
    example uses appear with 0) and are empty for free-text tasks; `output_type` is "number" or
    "boolean" when the file wrote the outputs (so the labels) as JSON numbers or booleans, which
    were read as their text; `split_sizes` is empty when no split was given.
    """

    rows: int
    label_counts: dict[str, int]
    label_shares: dict[str, float]
    output_type: OutputType
    split_sizes: dict[str, int]
    length_unit: str  # "tokens" or "characters"
    input_lengths: LengthStats
    output_lengths: LengthStats

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (``adaptlab validate --json``)."""
        return asdict(self)


def describe_task(
    task: Task, count_tokens: Callable[[str], int] | None = None, split: TaskSplit | None = None
) -> TaskSummary:
    """Summarise `task`; lengths in tokens with `count_tokens`, else in characters."""
    measure = count_tokens or len
    counts = task.label_counts()
    rows = len(task.examples)
    label_counts = {label: counts.get(label, 0) for label in task.labels or ()}
    return TaskSummary(
        rows=rows,
        label_counts=label_counts,
        label_shares={label: n / rows if rows else 0.0 for label, n in label_counts.items()},
        output_type=task.output_type,
        split_sizes={name: len(split[name]) for name in SPLIT_NAMES} if split is not None else {},
        length_unit="tokens" if count_tokens is not None else "characters",
        input_lengths=LengthStats.of([measure(example.input) for example in task.examples]),
        output_lengths=LengthStats.of([measure(example.output) for example in task.examples]),
    )
