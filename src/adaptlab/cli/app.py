"""The ``adaptlab`` application object, its consoles, and how every command reports errors.

Help is click's plain layout (option, then its text in a column of about 48 characters, at most
78 wide), grouped in sections by settings group: readable in an 80-column terminal, in a log
file and in CI, where rich's boxed panels squeezed every description into a narrow column.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand

from adaptlab.errors import AdaptlabError

app = typer.Typer(
    name="adaptlab",
    help="Prompt it, fine-tune it, or both? Measure each option on your task, with its cost.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])
OWN_OPTIONS = "Options"


class SectionedHelp(TyperCommand):
    """``--help`` with the arguments first, then one section per settings group (Task, Model,
    Evaluation, Training, …), then the command's own options."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """``[OPTIONS] RUN`` and ``[OPTIONS] [TASK]``: arguments in capitals, optional ones in
        brackets (typer's own usage line writes ``{run}``)."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = argument_name(param)
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                # Typer writes an argument as "task <str>"; its name says all.
                section, record = "Arguments", (argument_name(param), record[1])
            else:
                section = getattr(param, "rich_help_panel", None) or OWN_OPTIONS
            sections.setdefault(section, []).append(record)
        ordered = sorted(sections, key=lambda name: (name != "Arguments", name == OWN_OPTIONS))
        for name in ordered:
            with formatter.section(name):
                formatter.write_dl(sections[name])


def argument_name(param: Any) -> str:
    return str(param.metavar or param.name).upper()


def reports_errors(command: F) -> F:
    """Turn `AdaptlabError` into ``adaptlab: message`` on stderr and the error's exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AdaptlabError as error:
            err_console.print(f"adaptlab: {escape(str(error))}", highlight=False, soft_wrap=True)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("adaptlab: interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def command(name: str) -> Callable[[F], F]:
    """Register `name` on the app with sectioned help and `reports_errors`."""

    def register(function: F) -> F:
        app.command(name, cls=SectionedHelp)(reports_errors(function))
        return function

    return register
