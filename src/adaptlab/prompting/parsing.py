"""Read a label (or a free-text answer) out of what a model wrote.

Two separate judgements are made, because they answer different questions:
*compliance* — did the model answer in the requested format (exactly one allowed label)? — and
*parsing* — can a label still be recovered from a chattier answer? Accuracy uses the parsed
answer, so a model is not punished twice for verbosity, while format compliance shows the
verbosity on its own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

_ANSWER_PREFIX = re.compile(
    r"^\s*(?:final\s+)?(?:answer|label|output|sentiment|category|class)\s*[:=-]\s*", re.IGNORECASE
)
_EDGE_NOISE = " \t\n\r\"'`*_.,;:!?()[]{}<>"


@dataclass(frozen=True)
class ParsedAnswer:
    """`value` is the recovered answer (a label for closed-label tasks) or None if none could be
    found; `compliant` says whether the raw output was exactly a valid answer."""

    value: str | None
    compliant: bool


def normalize_answer(text: str) -> str:
    """Casefold, unify unicode forms, collapse whitespace and strip quotes/punctuation at the edges."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = " ".join(text.split())
    return text.strip(_EDGE_NOISE)


def parse_label(output: str, labels: Sequence[str]) -> ParsedAnswer:
    """Find which of `labels` the model answered.

    Compliant when the output, stripped of an ``Answer:`` prefix, quotes and punctuation, is a
    label. Otherwise a chattier answer still parses when it names exactly one label as a whole
    word, so ``"The sentiment is negative."`` parses as ``negative``. An answer naming several
    different labels (``"negative, neutral, and positive"``) is ambiguous and, like an answer
    naming none, unparsable: it is counted wrong rather than credited with a guess.

    >>> parse_label("Negative.", ["negative", "positive"])
    ParsedAnswer(value='negative', compliant=True)
    """
    by_normal = {normalize_answer(label): label for label in labels}
    cleaned = normalize_answer(_ANSWER_PREFIX.sub("", output))
    if cleaned in by_normal:
        return ParsedAnswer(by_normal[cleaned], compliant=True)
    haystack = normalize_answer(output)
    spans = [
        (match.start(), match.end(), label)
        for normal, label in by_normal.items()
        for match in re.finditer(rf"(?<!\w){re.escape(normal)}(?!\w)", haystack)
    ]
    # A mention inside a longer label's mention ("spam" in "not spam") is not a mention of its own.
    mentioned = {
        label
        for start, end, label in spans
        if not any(s <= start and end <= e and (s, e) != (start, end) for s, e, _ in spans)
    }
    return ParsedAnswer(mentioned.pop() if len(mentioned) == 1 else None, compliant=False)


def parse_free_text(output: str) -> ParsedAnswer:
    """Free-text answers are taken as written; an empty answer is the only non-compliant one."""
    value = output.strip()
    return ParsedAnswer(value or None, compliant=bool(value))
