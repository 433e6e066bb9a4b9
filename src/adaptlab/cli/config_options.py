"""Command-line options derived from settings fields: each setting is declared once.

A command that takes a config (``eval``, ``tune``, ``run``, ``validate``) is written as a
function of a `ConfigRequest` and its own few options; `takes_config` gives it one option per
field of the config's `Settings` model — flag, type, default, bounds and help all read from the
field — and hands it the values the user typed. `ConfigRequest.build` validates them with the
model itself, so the command line, ``config.yaml`` and ``--config`` accept exactly the same
values and say the same thing about a wrong one.

Why not pydantic-settings' CLI or typer alone: pydantic-settings parses with argparse, which
would give these commands a second parser, help layout and error style beside the others; typer
builds options from a function's signature, so this module writes that signature from the model.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from adaptlab.errors import UsageError
from adaptlab.settings import Cli, Settings

M = TypeVar("M", bound=BaseModel)
CONTEXT_PARAMETER = "adaptlab_context"
"""The hidden parameter through which the derived command receives click's context."""


@dataclass(frozen=True)
class ConfigOption:
    """One option (or the positional argument) that sets one field of a config."""

    path: tuple[str, ...]
    """The field's place in the config: ``("limit",)``, ``("costs", "machine_usd_per_hour")``."""
    flags: tuple[str, ...]
    """Its spellings on the command line, the main one first (``TASK`` for the argument)."""
    info: FieldInfo
    group: str
    kind: Literal["value", "list", "file", "argument"]
    nested: type[BaseModel] | None = None
    """For a ``file`` option: the settings model the file holds."""

    @property
    def parameter(self) -> str:
        """The Python name of the command parameter: ``costs__machine_usd_per_hour``."""
        return "__".join(self.path)

    @property
    def display(self) -> str:
        return self.flags[0]

    @property
    def default(self) -> Any:
        return self.info.get_default(call_default_factory=True)


def config_options(
    model: type[BaseModel], *, include: Sequence[str] | None = None, exclude: Sequence[str] = ()
) -> list[ConfigOption]:
    """Every option `model`'s fields give a command (`include`/`exclude` pick top-level fields).

    A nested settings model marked ``Cli(file="--costs")`` becomes a file option plus an option
    for each of its single-valued fields; its mappings are set through the file only.
    """
    options = []
    for name, info in model.model_fields.items():
        if (include is not None and name not in include) or name in exclude:
            continue
        options.extend(_field_options(model, (name,), info, _group_of(model, name)))
    return options


def _field_options(
    model: type[BaseModel], path: tuple[str, ...], info: FieldInfo, group: str
) -> list[ConfigOption]:
    cli = _cli_of(info)
    flags = cli.flags or ("--" + path[-1].replace("_", "-"),)
    value_type = _without_none(info.annotation)
    if cli.argument:
        return [ConfigOption(path, ((cli.metavar or path[-1].upper()),), info, group, "argument")]
    if isinstance(value_type, type) and issubclass(value_type, BaseModel):
        if cli.file is None:
            raise TypeError(f"{model.__name__}.{path[-1]}: a nested model needs Cli(file=...)")
        options = [ConfigOption(path, (cli.file,), info, group, "file", nested=value_type)]
        for name, inner in value_type.model_fields.items():
            if _is_scalar(_without_none(inner.annotation)):
                options.extend(_field_options(value_type, (*path, name), inner, group))
        return options
    kind: Literal["value", "list"] = "list" if _origin(value_type) in (list, tuple) else "value"
    return [ConfigOption(path, flags, info, group, kind)]


def _group_of(model: type[BaseModel], name: str) -> str:
    """The help section of a field: its own ``Cli(group=...)``, else the `group` of the most
    basic class that declares it."""
    own = _cli_of(model.model_fields[name]).group
    if own is not None:
        return own
    for cls in reversed(model.__mro__):
        if name in getattr(cls, "__annotations__", {}) and issubclass(cls, Settings):
            return cls.group
    return Settings.group


def _cli_of(info: FieldInfo) -> Cli:
    return next((item for item in info.metadata if isinstance(item, Cli)), Cli())


def _without_none(annotation: Any) -> Any:
    if _origin(annotation) in (typing.Union, types.UnionType):
        remaining = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return remaining[0] if len(remaining) == 1 else annotation
    return annotation


def _origin(annotation: Any) -> Any:
    return typing.get_origin(annotation)


def _is_scalar(annotation: Any) -> bool:
    return annotation in (bool, int, float, str, Path) or _origin(annotation) is Literal


# -- the typer parameter of each option --------------------------------------------------------

METAVARS = {int: "INTEGER", float: "NUMBER", str: "TEXT", Path: "PATH"}
KEYWORD = inspect.Parameter.KEYWORD_ONLY
TYPED = ("COMMANDLINE", "ENVIRONMENT")
"""Where a value the user gave comes from (click's ``ParameterSource`` names; typer vendors
click, so the enum is not imported)."""


def typer_parameter(option: ConfigOption) -> inspect.Parameter:
    """The command-function parameter typer turns into `option`."""
    help_text = _help_text(option)
    if option.kind == "argument":
        argument = Annotated[str | None, typer.Argument(help=help_text, show_default=False)]
        return _keyword(option.parameter, argument, None)
    value_type, declarations, metavar, default = _option_shape(option)
    annotation = Annotated[
        value_type,
        typer.Option(
            *declarations, metavar=metavar, help=help_text, show_default=False, rich_help_panel=option.group
        ),
    ]
    return _keyword(option.parameter, annotation, default)


def _option_shape(option: ConfigOption) -> tuple[Any, tuple[str, ...], str | None, Any]:
    """What typer needs of an option: the type it parses, its spellings, its metavar and its
    default. Files are paths, lists are comma-separated text (split by `ConfigRequest`), a flag
    gets its ``--no-`` twin."""
    metavar = _cli_of(option.info).metavar
    value_type = _without_none(option.info.annotation)
    if option.kind == "file":
        return Path | None, option.flags, "FILE", None
    if option.kind == "list":
        return list[str] | None, option.flags, metavar or "A,B,...", None
    if value_type is bool:
        switch = f"{option.display}/--no-{option.display.removeprefix('--')}"
        return bool, (switch, *option.flags[1:]), None, option.default
    if metavar is None:
        literal = _origin(value_type) is Literal
        metavar = "|".join(typing.get_args(value_type)) if literal else METAVARS[value_type]
    parsed = value_type | None if option.default is None else value_type
    return parsed, option.flags, metavar, option.default


def _keyword(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, KEYWORD, annotation=annotation, default=default)


def _help_text(option: ConfigOption) -> str:
    """The field's docstring, then its default and bounds as click writes them:
    ``[default: 3.0; x>0]``."""
    text = " ".join((option.info.description or "").split())
    extras = []
    if option.kind not in ("argument", "file") and option.default not in (None, [], ()):
        extras.append(f"default: {show_value(option.default, option)}")
    extras.extend(bounds(option.info))
    return f"{text}  [{'; '.join(extras)}]" if extras else text


def show_value(value: Any, option: ConfigOption) -> str:
    """A value as the user would type it: ``25,50,100``; a flag as its spelling."""
    if isinstance(value, bool):
        flag = option.display.removeprefix("--")
        return f"--{flag}" if value else f"--no-{flag}"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def bounds(info: FieldInfo) -> list[str]:
    """A field's numeric bounds, in click's notation (``x>=1``, ``x>0``)."""
    symbols = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    found = []
    for constraint in info.metadata:
        for key, symbol in symbols.items():
            limit = getattr(constraint, key, None)
            if limit is not None:
                found.append(f"x{symbol}{limit}")
    return found


# -- what the command receives ---------------------------------------------------------------


@dataclass
class ConfigRequest(Generic[M]):
    """The config options of one invocation: what was typed, ready to become a config."""

    model: type[M]
    options: list[ConfigOption]
    values: dict[str, Any]
    given: frozenset[str]
    """Parameters the user set on the command line (the rest are at their defaults)."""

    def build(self, base: Mapping[str, Any] | None = None) -> M:
        """The config: `base` (a stored or file config) with every option the user gave on
        top; a value the model refuses is a `UsageError` naming its option."""
        data: dict[str, Any] = dict(base or {})
        for option in self.options:
            if option.parameter in self.given and option.kind == "file":
                from adaptlab.data.yaml_file import load_settings

                nested = load_settings(option.nested, self.values[option.parameter], option.display[2:])  # type: ignore[arg-type]
                _put(data, option.path, nested.model_dump())
        for option in self.options:
            if option.parameter in self.given and option.kind != "file":
                _put(data, option.path, _typed(option, self.values[option.parameter]))
        try:
            return self.model.model_validate(data)
        except ValidationError as error:
            raise UsageError(self.describe(error)) from None

    def given_flags(self) -> list[str]:
        return [option.display for option in self.options if option.parameter in self.given]

    def describe(self, error: ValidationError) -> str:
        """A validation error in the user's terms: the option, what they typed, what is wrong."""
        by_path = {option.path: option for option in self.options if option.kind != "file"}
        complaints = []
        for problem in error.errors():
            path = tuple(part for part in problem["loc"] if isinstance(part, str))
            complaints.append(self.complaint(problem, path, by_path.get(path)))
        return "; ".join(complaints)

    def complaint(
        self, problem: Mapping[str, Any], path: tuple[str, ...], option: ConfigOption | None
    ) -> str:
        if option is None:  # a value from a file or the store that no option set
            return f"{'.'.join(path) or self.model.__name__}: {reason(problem)}"
        if option.kind == "argument" and problem["type"] == "missing":
            description = (option.info.description or "").rstrip(".")
            return f"give a {option.display}: {description[:1].lower()}{description[1:]}"
        typed = self.values[option.parameter] if option.parameter in self.given else None
        if typed is None:
            return f"{option.display}: {reason(problem)}"
        shown = ",".join(typed) if isinstance(typed, list) else typed
        return f"{option.display} {shown}: {reason(problem)}"


def reason(problem: Mapping[str, Any]) -> str:
    """Pydantic's complaint, worded for the command line."""
    context = problem.get("ctx") or {}
    kind = problem["type"]
    if kind == "greater_than_equal":
        return f"must be at least {context['ge']}"
    if kind == "greater_than":
        return f"must be more than {context['gt']}"
    if kind == "less_than_equal":
        return f"must be at most {context['le']}"
    if kind == "less_than":
        return f"must be less than {context['lt']}"
    if kind == "missing":
        return "is missing"
    if kind in ("int_parsing", "int_from_float"):
        return f'"{problem["input"]}" is not a whole number'
    if kind == "float_parsing":
        return f'"{problem["input"]}" is not a number'
    if kind == "value_error":
        return str(context.get("error", problem["msg"]))
    message = str(problem["msg"])
    return message[:1].lower() + message[1:]


def _typed(option: ConfigOption, value: Any) -> Any:
    """A list option's values split at commas (``--sizes 25,50 --sizes 100`` is 25, 50, 100)."""
    if option.kind != "list":
        return value
    return [item.strip() for raw in value for item in str(raw).split(",") if item.strip()]


def _put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        existing = data.get(key)
        data[key] = dict(existing.model_dump() if isinstance(existing, BaseModel) else existing or {})
        data = data[key]
    data[path[-1]] = value


def takes_config(
    model: type[BaseModel], *, include: Sequence[str] | None = None, exclude: Sequence[str] = ()
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a command whose ``config`` parameter is a `ConfigRequest` of `model`: the
    command gets one option per field, before its own options in ``--help``.

    >>> @app.command("eval")
    ... @takes_config(EvalConfig)
    ... def eval_command(config: ConfigRequest[EvalConfig], out: Path = Path("runs")) -> None:
    ...     run_eval(config.build(), out_dir=out)
    """
    options = config_options(model, include=include, exclude=exclude)

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command, eval_str=True)
        own = [p.replace(kind=KEYWORD) for name, p in signature.parameters.items() if name != "config"]
        context = inspect.Parameter(CONTEXT_PARAMETER, KEYWORD, annotation=typer.Context)
        parameters = [context, *(typer_parameter(option) for option in options), *own]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            context_object = kwargs.pop(CONTEXT_PARAMETER)
            values = {option.parameter: kwargs.pop(option.parameter) for option in options}
            given = frozenset(
                name for name in values if context_object.get_parameter_source(name).name in TYPED
            )
            request = ConfigRequest(model, options, values, given)
            return command(config=request, **kwargs)

        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return wrapper

    return decorate
