"""What is wrong with a task file, said so that a person can fix it.

Loading a task collects every `Problem` in every file before giving up, then raises a single
`TaskFileError`: fixing a file one error per run is the experience we want to spare people.
"""

from __future__ import annotations

import difflib
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
        return f"{where}: {self.message}"


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
