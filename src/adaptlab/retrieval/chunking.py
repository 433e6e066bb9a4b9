"""Cut documents into overlapping passages of at most `max_tokens` embedder tokens.

Lengths are counted with the embedder's own tokenizer, because the embedder truncates what
does not fit its window: a passage measured in characters or words could silently lose its
tail. Boundaries come from the tokenizer's offset mapping, so every passage is an exact
substring of its document (``document.text[start:end] == passage.text``), whatever the script.

Where a window must end, the cut moves back (at most half a window) to the last sentence end,
else to the last whitespace, so passages rarely start or stop mid-sentence or mid-word; the
next window starts `overlap` tokens before the cut, so a fact that straddles the cut is whole
in one of the two passages when it is shorter than the overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adaptlab.retrieval.corpus import Document

# all-MiniLM-L6-v2 reads 256 tokens, two of them [CLS] and [SEP]; 200 leaves room for the
# tokens a cut moved to a boundary would otherwise spill, and keeps passages paragraph-sized.
DEFAULT_MAX_TOKENS = 200
DEFAULT_OVERLAP = 40  # a fifth of a window: one or two sentences carried across each cut
SENTENCE_ENDS = frozenset(".!?…。！？")
WIDE_SENTENCE_ENDS = frozenset("。！？")  # Chinese and Japanese end a sentence with no space after


@dataclass(frozen=True)
class Passage:
    """A piece of document `doc_id`: ``text == document.text[start:end]``.

    >>> Passage("faq.md#1", "faq.md", "Refunds take 5 days.", 120, 140).text
    'Refunds take 5 days.'
    """

    id: str
    doc_id: str
    text: str
    start: int
    end: int


def chunk(
    documents: Sequence[Document],
    tokenizer: Any,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    overlap: int = DEFAULT_OVERLAP,
) -> list[Passage]:
    """Passages of every document in order; ids are ``"<doc_id>#<n>"``, n from 0.

    `tokenizer` is a Hugging Face fast tokenizer (it must return an offset mapping), normally
    the embedder's. A document of at most `max_tokens` tokens is one passage.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    if not 0 <= overlap < max_tokens:
        raise ValueError(f"overlap must be at least 0 and below max_tokens ({max_tokens}), got {overlap}")
    if not documents:
        return []
    encoded = tokenizer(
        [document.text for document in documents],
        add_special_tokens=False,
        return_offsets_mapping=True,
        verbose=False,  # long documents are what chunking is for: no "too long" warning
    )
    passages: list[Passage] = []
    for document, offsets in zip(documents, encoded["offset_mapping"], strict=True):
        spans = _spans(document.text, [tuple(pair) for pair in offsets], max_tokens, overlap)
        passages.extend(
            Passage(f"{document.id}#{n}", document.id, document.text[start:end], start, end)
            for n, (start, end) in enumerate(spans)
        )
    return passages


def _spans(text: str, offsets: list[tuple[int, int]], max_tokens: int, overlap: int) -> list[tuple[int, int]]:
    """Character spans of the passages of `text`, whose tokens have the given `offsets`.

    The first span starts at the first non-space character and the last ends after the last,
    so together the spans cover all of the text's content, including characters the tokenizer
    drops (combining accents, zero-width spaces).
    """
    text_start = len(text) - len(text.lstrip())
    text_end = len(text.rstrip())
    offsets = [(start, end) for start, end in offsets if end > start]  # no empty special tokens
    if len(offsets) <= max_tokens:
        return [(text_start, text_end)]
    spans: list[tuple[int, int]] = []
    first = 0
    while True:
        limit = first + max_tokens
        if limit >= len(offsets):
            spans.append((_char_start(text, offsets, first, text_start), text_end))
            return spans
        cut = _best_cut(text, offsets, first + max(1, max_tokens // 2), limit)
        start = _char_start(text, offsets, first, text_start)
        spans.append((start, _char_end(text, offsets[cut - 1][1], offsets[cut][0])))
        first = max(cut - overlap, first + 1)


def _best_cut(text: str, offsets: list[tuple[int, int]], earliest: int, limit: int) -> int:
    """The token index to cut before, in ``[earliest, limit]``: the last sentence end, else
    the last whitespace gap, else `limit` itself (text without spaces, such as Chinese)."""
    whitespace = None
    for cut in range(limit, earliest - 1, -1):
        before = offsets[cut - 1][1]
        gap = text[before : offsets[cut][0]]
        spaced = bool(gap) and gap.isspace()
        last = text[before - 1]
        if last in WIDE_SENTENCE_ENDS or (spaced and last in SENTENCE_ENDS):
            return cut
        if spaced and whitespace is None:
            whitespace = cut
    return limit if whitespace is None else whitespace


def _char_start(text: str, offsets: list[tuple[int, int]], token: int, text_start: int) -> int:
    return text_start if token == 0 else offsets[token][0]


def _char_end(text: str, end: int, next_start: int) -> int:
    """Move `end` over what the tokenizer dropped before the next token (combining accents,
    control characters) up to any whitespace: a base letter keeps its accents, and nothing
    but whitespace is left between passages."""
    return end + len(text[end:next_start].rstrip())
