"""Where adaptlab keeps things on disk.

Two places, on purpose: the *cache* (converted model weights; big, shared by every project on
the machine, safe to delete) and the *runs directory* (results the user asked for; lives next
to their work). Both can be moved with environment variables so tests and CI never touch a
user's home directory.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_RUNS_DIR = Path("runs")


def cache_dir() -> Path:
    """The machine-wide cache.

    ``$ADAPTLAB_CACHE``, else ``$XDG_CACHE_HOME/adaptlab``, else ``~/.cache/adaptlab``.
    """
    explicit = os.environ.get("ADAPTLAB_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "adaptlab"
