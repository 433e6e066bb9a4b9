"""Tasks that ship inside the package, usable by name (``adaptlab eval tweet-sentiment``).

A bundled task is an ordinary task spec plus its data file under ``adaptlab/data/tasks/``, so it
loads through exactly the same code as a user's task.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

BUNDLED_TASKS: dict[str, str] = {
    "country-facts": "country_facts.yaml",
    "python-docstrings": "python_docstrings.yaml",
    "tweet-sentiment": "tweet_sentiment.yaml",
}


def bundled_task_path(name: str) -> Path | None:
    """The spec file of the bundled task `name`, or None when no bundled task has that name."""
    filename = BUNDLED_TASKS.get(name)
    if filename is None:
        return None
    return Path(str(files("adaptlab.data") / "tasks" / filename))


def list_bundled_tasks() -> list[str]:
    """Names of the bundled tasks, sorted."""
    return sorted(BUNDLED_TASKS)
