"""Chunking with the bundled embedder's tokenizer: limits, overlap, boundaries, exact substrings."""

from __future__ import annotations

import unicodedata
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptlab.retrieval import Document, Passage, chunk
from fuzzing import cases


def tokens(tokenizer: Any, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


def check_passages(document: Document, passages: list[Passage], tokenizer: Any, max_tokens: int) -> None:
    """Exact substrings, in order, within the limit, covering the document's content."""
    assert passages
    for n, passage in enumerate(passages):
        assert passage.id == f"{document.id}#{n}"
        assert passage.text == document.text[passage.start : passage.end]
        assert tokens(tokenizer, passage.text) <= max_tokens
    assert passages[0].start == len(document.text) - len(document.text.lstrip())
    assert passages[-1].end == len(document.text.rstrip())
    for before, after in pairwise(passages):
        assert before.start < after.start  # progress
        assert not document.text[before.end : after.start].strip()  # nothing but space between
        assert not unicodedata.combining(after.text[0])


def test_a_short_document_is_one_passage(tokenizer: Any) -> None:
    document = Document("a.txt", "  Short and sweet.\n")
    assert chunk([document], tokenizer) == [Passage("a.txt#0", "a.txt", "Short and sweet.", 2, 18)]


def test_cuts_prefer_sentence_ends_and_windows_overlap(tokenizer: Any) -> None:
    sentences = [f"Sentence number {n} talks about topic {n}." for n in range(12)]
    document = Document("doc", " ".join(sentences))
    passages = chunk([document], tokenizer, max_tokens=30, overlap=10)
    check_passages(document, passages, tokenizer, 30)
    assert len(passages) > 2
    assert all(passage.text.endswith(".") for passage in passages)
    for before, after in pairwise(passages):
        shared = document.text[after.start : before.end]
        assert tokens(tokenizer, shared) >= 5  # the overlap, less what the sentence cut gave back


def test_without_sentences_cuts_fall_on_whitespace(tokenizer: Any) -> None:
    document = Document("doc", " ".join(f"word{n}" for n in range(200)))
    passages = chunk([document], tokenizer, max_tokens=25, overlap=0)
    check_passages(document, passages, tokenizer, 25)
    for passage in passages:
        assert document.text[passage.end : passage.end + 1] in ("", " ")
        assert passage.start == 0 or document.text[passage.start - 1] == " "


@pytest.mark.parametrize(
    "text",
    [
        "東京は日本の首都です。大阪は大きい都市です。" * 20,  # CJK: no spaces, a token per character
        "Cafe\u0301 cre\u0300me bru\u0302le\u0301e " * 40,  # combining accents the tokenizer drops
        "family 👨\u200d👩\u200d👧 and thumbs 👍🏽 up! " * 40,  # joiners and skin tones
        "Ünïcödé façade naïve Straße ﬁne. " * 40,
    ],
)
def test_unicode_passages_are_exact_substrings(tokenizer: Any, text: str) -> None:
    document = Document("u", text)
    check_passages(document, chunk([document], tokenizer, max_tokens=16, overlap=4), tokenizer, 16)


def test_settings_are_checked(tokenizer: Any) -> None:
    with pytest.raises(ValueError, match="overlap"):
        chunk([Document("a", "text")], tokenizer, max_tokens=10, overlap=10)
    with pytest.raises(ValueError, match="max_tokens"):
        chunk([Document("a", "text")], tokenizer, max_tokens=0, overlap=0)


@settings(max_examples=cases(30))
@given(
    text=st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs",))
        | st.sampled_from([" ", ".", "\n", "\u0301", "\u200d"]),  # spaces, sentences, joins
        min_size=1,
        max_size=300,
    ).filter(str.strip),
    max_tokens=st.integers(2, 40),
    overlap_share=st.floats(0, 0.9),
)
def test_any_text_chunks_into_exact_covering_substrings(
    tokenizer: Any, text: str, max_tokens: int, overlap_share: float
) -> None:
    document = Document("d", text)
    overlap = int(max_tokens * overlap_share)
    passages = chunk([document], tokenizer, max_tokens=max_tokens, overlap=overlap)
    for n, passage in enumerate(passages):
        assert passage.text == text[passage.start : passage.end]
        assert passage.id == f"d#{n}"
        assert tokens(tokenizer, passage.text) <= max_tokens
    assert passages[0].start == len(text) - len(text.lstrip())
    assert passages[-1].end == len(text.rstrip())
    for before, after in pairwise(passages):
        assert before.start < after.start
        assert not text[before.end : after.start].strip()
