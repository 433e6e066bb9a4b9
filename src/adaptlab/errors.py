"""User-facing errors.

Every error a person can cause (a bad file, an unknown model, a missing package) is an
`AdaptlabError`. The CLI prints its message after ``adaptlab:`` and exits non-zero without a
traceback; anything else that escapes is a bug in adaptlab and keeps its traceback.
"""

from __future__ import annotations


class AdaptlabError(Exception):
    """An error caused by the user's input or environment, with a message meant for people.

    >>> raise AdaptlabError('model "gpt9" is not known; `adaptlab models` lists the choices')
    """

    exit_code = 1


class UsageError(AdaptlabError):
    """The command line or a config value asked for something that cannot be done."""

    exit_code = 2
