"""Training rows from documents: the corpus text itself, for continued training.

Tuning on documents is the "unsupervised fine-tuning" that Ovadia et al. (2023, "Fine-Tuning
or Retrieval?") set against retrieval: the model reads the corpus with the ordinary language-
modelling loss on every token, no question and no answer, so whatever it learns is knowledge,
not a task format. Each passage becomes one row whose first token is the prompt (a loss needs a
token before it) and the rest, ended by the end-of-text token, the completion: the same rows,
trainer, registry and checkpoints as the question-answer curve.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from adaptlab.tuning.examples import TrainingRow

MAX_DOCUMENT_TOKENS = 512
"""Longest row: a longer passage is cut into rows of at most this many tokens."""


def document_rows(
    tokenizer: Any, texts: Sequence[str], max_tokens: int = MAX_DOCUMENT_TOKENS
) -> list[TrainingRow]:
    """One row per text (or per `max_tokens` piece of a long one), in order; blank texts skipped.

    >>> rows = document_rows(tokenizer, ["Andorra's numeric code is 020."])
    >>> len(rows[0].prompt_ids), rows[0].completion_ids[-1] == tokenizer.eos_token_id
    (1, True)
    """
    eos = tokenizer.eos_token_id
    rows: list[TrainingRow] = []
    for text in texts:
        ids = tokenizer(text.strip(), add_special_tokens=False)["input_ids"]
        if eos is not None:
            ids = [*ids, eos]
        for start in range(0, len(ids), max_tokens):
            piece = ids[start : start + max_tokens]
            if len(piece) >= 2:
                rows.append(TrainingRow((piece[0],), tuple(piece[1:])))
    return rows


def mixed(documents: Sequence[TrainingRow], pairs: Sequence[TrainingRow], seed: int) -> list[TrainingRow]:
    """Document rows and question-answer rows in one seeded shuffle: the model learns the facts
    and the answer format together, neither crowding out the other at the end of training."""
    rows = [*documents, *pairs]
    random.Random(seed).shuffle(rows)
    return rows
