"""Training rows from corpus text: every token but the first in the loss."""

from __future__ import annotations

from tests.fakes import bundled_embedder_tokenizer

from adaptlab.tuning.documents import document_rows, mixed
from adaptlab.tuning.examples import IGNORE_INDEX, TrainingRow


class EndedTokenizer:
    """A real tokenizer with an end-of-text id, as a causal model's has."""

    def __init__(self) -> None:
        self.inner = bundled_embedder_tokenizer()
        self.eos_token_id = 0

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict:
        return self.inner(text, add_special_tokens=add_special_tokens)


def test_each_passage_is_one_row_learnt_whole_and_ended() -> None:
    tokenizer = EndedTokenizer()
    rows = document_rows(tokenizer, ["Benin has the numeric code 204.", "   ", "Chad: 148."])
    ids = tokenizer("Benin has the numeric code 204.")["input_ids"]
    assert len(rows) == 2  # the blank text is skipped
    assert rows[0].input_ids == [*ids, 0]
    assert rows[0].labels == [IGNORE_INDEX, *ids[1:], 0]  # nothing before the first token to predict it


def test_a_long_text_is_cut_into_rows_of_at_most_max_tokens() -> None:
    tokenizer = EndedTokenizer()
    text = " ".join(f"word{n}" for n in range(60))
    rows = document_rows(tokenizer, [text], max_tokens=16)
    assert all(len(row.input_ids) <= 16 for row in rows)
    assert [t for row in rows for t in row.input_ids] == [*tokenizer(text)["input_ids"], 0]


def test_mixing_is_a_seeded_shuffle_of_both() -> None:
    documents = [TrainingRow((1,), (n,)) for n in range(5)]
    pairs = [TrainingRow((2,), (n,)) for n in range(3)]
    once, again = mixed(documents, pairs, seed=0), mixed(documents, pairs, seed=0)
    assert once == again and sorted(once, key=repr) == sorted([*documents, *pairs], key=repr)
    assert once != [*documents, *pairs]
