"""The ``adaptlab`` command line: a thin layer over the Python API, one module per command.

Each command parses options, calls one API function and renders its result. Commands that
take a run's settings derive their options from the config models (`config_options`), so a
setting is declared once. Errors a user can cause (`AdaptlabError`) print as
``adaptlab: <message>`` with a non-zero exit code and no traceback.
"""

from __future__ import annotations

from adaptlab.cli import (  # noqa: F401 - importing a command module registers its command
    compare,
    demo,
    eval,
    export,
    models,
    report,
    run,
    runs,
    serve,
    tune,
    validate,
)
from adaptlab.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
