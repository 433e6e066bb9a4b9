"""What is wrong with a task file, said so that a person can fix it.

Loading a task collects every `Problem` in every file before giving up, then raises a single
`TaskFileError`: fixing a file one error per run is the experience we want to spare people.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from adaptlab.errors import AdaptlabError

MAX_PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, at a physical line (or the whole file when `line` is None).

    >>> str(Problem("data/train.jsonl", 17, 'field "output" is missing'))
    'data/train.jsonl line 17: field "output" is missing'
    """

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file} line {self.line}"
        return printable(f"{where}: {self.message}")


UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` with line breaks, control characters and lone surrogates shown as escapes.

    Messages quote the user's text: a key or an output holding a line break would split one
    problem over two lines (the second naming no file), an escape character could drive the
    terminal, and a lone surrogate (a "\\ud800" escape in a file, undecodable bytes in a path)
    would crash the write to it.

    >>> printable('unknown key "a\\nb\\x1b[2J"')
    'unknown key "a\\\\nb\\\\x1b[2J"'
    """
    return UNPRINTABLE.sub(
        lambda match: match.group().encode("unicode_escape", "backslashreplace").decode(), text
    )


class TaskFileError(AdaptlabError):
    """A task could not be loaded; `problems` holds everything found, in file and line order."""

    exit_code = 1

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(format_problems(self.problems))


def format_problems(problems: Sequence[Problem], limit: int = MAX_PROBLEMS_SHOWN) -> str:
    """One problem per line, the first `limit` of them, then how many were left out."""
    lines = [str(problem) for problem in problems[:limit]]
    hidden = len(problems) - limit
    if hidden > 0:
        lines.append(f"... and {hidden} more problem{'s' if hidden > 1 else ''}")
    return "\n".join(lines)


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """A ``(did you mean "x"?)`` suffix when `word` looks like a typo of one of `choices`."""
    lowered = {choice.casefold(): choice for choice in choices}
    matches = difflib.get_close_matches(word.casefold(), list(lowered), n=1, cutoff=0.6)
    return f' (did you mean "{lowered[matches[0]]}"?)' if matches else ""


def unexpected_field(name: str, expected: Sequence[str], known: Sequence[str] = ()) -> str:
    """The message for a field nobody asked for; a typo of an expected field says which.

    `known` are further names that are accepted (``metadata``) and worth suggesting, but not
    worth listing as expected.
    """
    return (
        f'unexpected field "{name}"{did_you_mean(name, [*expected, *known])} '
        f"(expected {', '.join(expected)}; pass allow_extra_fields / --allow-extra-fields "
        "to ignore extra fields)"
    )
