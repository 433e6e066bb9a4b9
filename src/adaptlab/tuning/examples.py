"""Training rows: the exact tokens evaluation shows the model, followed by the gold answer.

A tuned model is only worth measuring if it is asked the way it was taught. So rows are not
re-rendered here: the prompt ids come from the evaluation backend's own `encode_prompts` (chat
template and generation cue included) and the completion ids from its `answer_ids` (the answer
up to and including the end-of-turn token, exactly what label scoring scores and what
generation must emit to stop). Loss is taken on the completion only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from adaptlab.models.base import Conversation

IGNORE_INDEX = -100
"""Label value PyTorch's cross-entropy (and TRL's collator) skips: prompt tokens get it."""


class PromptTokenizer(Protocol):
    """What building rows needs from a backend (`LocalBackend` provides both)."""

    def encode_prompts(self, conversations: Sequence[Conversation]) -> list[list[int]]: ...

    def answer_ids(self, conversation: Conversation, answer: str) -> list[int]: ...


@dataclass(frozen=True)
class TrainingRow:
    """One example as token ids: what the model reads, and what it must learn to answer."""

    prompt_ids: tuple[int, ...]
    completion_ids: tuple[int, ...]

    @property
    def input_ids(self) -> list[int]:
        return [*self.prompt_ids, *self.completion_ids]

    @property
    def labels(self) -> list[int]:
        return [IGNORE_INDEX] * len(self.prompt_ids) + list(self.completion_ids)


def build_rows(
    tokenizer: PromptTokenizer, conversations: Sequence[Conversation], answers: Sequence[str]
) -> list[TrainingRow]:
    """Tokenise each conversation (rendered as evaluation renders it) with its gold answer."""
    if len(conversations) != len(answers):
        raise ValueError(f"{len(conversations)} conversations but {len(answers)} answers")
    prompts = tokenizer.encode_prompts(conversations)
    return [
        TrainingRow(tuple(prompt), tuple(tokenizer.answer_ids(conversation, answer)))
        for prompt, conversation, answer in zip(prompts, conversations, answers, strict=True)
    ]


def rows_hash(rows: Sequence[TrainingRow]) -> str:
    """A stable hash of the token ids, order included (order changes what SGD learns)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps([row.prompt_ids, row.completion_ids]).encode())
    return digest.hexdigest()


def useful_tokens(rows: Sequence[TrainingRow]) -> int:
    """Tokens a forward pass over `rows` must compute: prompts and completions, no padding."""
    return sum(len(row.prompt_ids) + len(row.completion_ids) for row in rows)
