"""The task a user brings: examples with gold outputs, and an optional closed label set.

A `Task` is a plain immutable value. Loading and validating happens in `loader.py`; splitting
in `split.py`. Everything downstream (prompting, tuning, evaluation) reads only these types, so
a task built in Python is as good as one read from a file.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from adaptlab.data.scoring_spec import (
    DEFAULT_CLASSIFICATION_METRIC,
    DEFAULT_FREE_TEXT_METRIC,
    DEFAULT_FREE_TEXT_REPORTED,
    AnswerFormat,
    JudgeSpec,
    MetricSpec,
)

OutputType = Literal["text", "number", "boolean"]


@dataclass(frozen=True)
class Example:
    """One input with its gold output.

    `source` says where the example came from (``"train.jsonl line 17"``) so that any later
    message about it can point the user at the exact line. `system` carries a per-example
    system prompt found in chat-format files.
    """

    id: str
    input: str
    output: str
    source: str = ""
    system: str | None = None
    split: str | None = None  # preassigned split ("train" / "dev" / "test") when the user gave split files
    context_id: str | None = None
    """The corpus passage or document that holds the answer (a ``context_id`` field): retrieval
    is scored on finding it, and a test question is "seen" when a train example shares it."""
    context: str | None = None
    """The text that holds the answer (a ``context`` field), for the same uses as `context_id`
    when the examples quote their evidence instead of naming it."""

    @property
    def evidence(self) -> str | None:
        """What names this example's evidence: its `context_id`, else its `context`."""
        return self.context_id or self.context


@dataclass(frozen=True)
class Task:
    """A named set of examples, optionally closed-label (classification).

    `labels` is the closed label set, declared by the user or inferred from the outputs;
    `None` means free-text outputs, scored by `primary_metric` (chrF unless the task names
    one). `output_type` says how the file wrote the outputs: as strings, or as JSON numbers or
    booleans that were read as their text (``1`` -> ``"1"``), which is worth telling a user
    whose labels are ``0`` and ``1``.
    """

    name: str
    examples: tuple[Example, ...]
    labels: tuple[str, ...] | None = None
    labels_declared: bool = False
    output_type: OutputType = "text"
    instruction: str | None = None
    description: str | None = None
    label_descriptions: tuple[tuple[str, str], ...] | None = None
    """(label, what it means) pairs from the task spec; prompts that define labels use them."""
    sources: tuple[str, ...] = field(default=())
    metric: MetricSpec | None = None
    """The primary metric, the one decisions use (None: accuracy for closed labels, chrF for
    free text); see `primary_metric`."""
    metrics: tuple[MetricSpec, ...] | None = None
    """Metrics also reported (None: similarity and exact match for free text, none for labels)."""
    answer_format: AnswerFormat | None = None
    """The layout every answer must have; format compliance is measured against it."""
    judge: JudgeSpec | None = None
    """The grader of the ``judge`` metric, when a metric names it."""
    corpus: str | None = None
    """The documents the task's questions are about (a folder or JSONL file, from the spec's
    ``corpus:``), for the retrieval rungs; ``--corpus`` overrides it."""

    @property
    def primary_metric(self) -> MetricSpec:
        if self.metric is not None:
            return self.metric
        return MetricSpec(DEFAULT_CLASSIFICATION_METRIC if self.labels else DEFAULT_FREE_TEXT_METRIC)

    @property
    def reported_metrics(self) -> tuple[MetricSpec, ...]:
        """The other metrics to report, the primary one left out."""
        named = self.metrics
        if named is None:
            named = () if self.labels else tuple(MetricSpec(name) for name in DEFAULT_FREE_TEXT_REPORTED)
        primary = str(self.primary_metric)
        return tuple(dict.fromkeys(m for m in named if str(m) != primary))

    @property
    def is_classification(self) -> bool:
        return self.labels is not None

    def label_counts(self) -> Counter[str]:
        return Counter(example.output for example in self.examples)

    @property
    def content_hash(self) -> str:
        """A short, stable hash of everything that changes what a model is asked and scored on.

        Used as part of cache keys and run records: the same file content gives the same hash
        wherever it lives on disk.
        """
        payload = {
            "examples": [[e.id, e.input, e.output, e.system, e.split] for e in self.examples],
            "labels": list(self.labels) if self.labels else None,
            "instruction": self.instruction,
        }
        if self.label_descriptions:
            payload["label_descriptions"] = [list(pair) for pair in self.label_descriptions]
        blob = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
