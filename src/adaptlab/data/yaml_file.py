"""YAML files people write — task specs, cost settings, run configs — read with every problem
on its file and line.

PyYAML's and pydantic's errors point at nothing a person can open; here each becomes a
`Problem` on the line of the key it is about, found through the YAML node tree. The three kinds
of file share this one reader so that hostile input is handled once: only plain data is ever
built (a ``!!python/object`` tag is an error, never an object), a value PyYAML cannot build (a
number of 5,000 digits, the date ``2024-13-01``) or a nesting too deep for Python is a problem
rather than a traceback, a self-referencing alias is walked once, and what the safe loader lets
through but nobody means — a key given twice, a key that is not text, a ``\\ud800`` escape that
is half a character — is reported too.

>>> from adaptlab.decide import CostSettings
>>> load_settings(CostSettings, "costs.yaml", "cost settings")  # doctest: +SKIP
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from adaptlab.data.problems import Problem, did_you_mean, format_problems
from adaptlab.data.readers import UTF8_BOM, RawFile, decode_lines, first_surrogate, surrogate_message
from adaptlab.errors import AdaptlabError, UsageError

Model = TypeVar("Model", bound=BaseModel)

STRING_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"  # ``<<: *defaults``: a key that is not text, on purpose
TYPE_WORDS = {
    "string_type": "must be a string",
    "list_type": "must be a list",
    "bool_type": "must be true or false",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
}


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file: its node tree (for lines) and its content (None for an empty file)."""

    root: yaml.Node | None
    content: Any


class SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with values it cannot build reported on their line.

    PyYAML raises a bare `ValueError` for a scalar its resolver accepted but Python refuses —
    an integer past Python's 4,300-digit limit, a timestamp whose month is 13 — without saying
    where; re-raised as a `ConstructorError`, it carries the node's position like any YAML error.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except ValueError as error:
            reason = "it has too many digits" if node.tag.endswith(":int") else str(error)
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {str(node.value)[:40]!r} ({reason})", node.start_mark
            ) from None


def read_yaml(path: Path, display: str, what: str = "file") -> tuple[YamlDocument | None, list[Problem]]:
    """Read and parse one YAML document; None (and why) when it cannot be read or parsed.

    A parsed document comes with the problems its node tree shows (see `node_problems`);
    `what` names the file in "cannot read the ..." messages.
    """
    raw = RawFile(display)
    try:
        data = path.read_bytes().removeprefix(UTF8_BOM)
    except OSError as error:
        return None, [Problem(display, None, f"cannot read the {what} ({error.strerror})")]
    lines, bad_lines = decode_lines(data, raw)
    if bad_lines:
        return None, raw.problems
    text = "".join(lines)
    try:
        root, content = parse_yaml(text)
    except yaml.reader.ReaderError as error:
        return None, [reader_problem(display, text, error)]
    except yaml.YAMLError as error:
        return None, [yaml_problem(display, error)]
    except RecursionError:
        # PyYAML composes nested collections recursively; a few hundred levels exhaust Python's
        # stack, and no settings file is nested that deep on purpose.
        return None, [Problem(display, None, "invalid YAML: lists or mappings are nested too deeply")]
    return YamlDocument(root, content), node_problems(root, display)


def parse_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for lines) and the data built from it, parsing `text` once."""
    loader = SafeLoader(text)  # checks every character already, so it may raise too
    try:
        root = loader.get_single_node()
        return root, loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()


def reader_problem(display: str, text: str, error: yaml.reader.ReaderError) -> Problem:
    """A character YAML does not allow (a control character, say), at its line and column;
    PyYAML only gives its offset in the whole text."""
    before = text[: error.position]
    line, column = before.count("\n") + 1, error.position - (before.rfind("\n") + 1) + 1
    return Problem(
        display,
        line,
        f"invalid YAML: character U+{error.character:04X} at column {column} is not allowed in YAML",
    )


def yaml_problem(display: str, error: yaml.YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None)
    reason = getattr(error, "problem", None) or str(error)
    return Problem(display, mark.line + 1 if mark else None, f"invalid YAML: {reason}")


def node_problems(root: yaml.Node | None, display: str) -> list[Problem]:
    """What the safe loader accepts but a person almost never means, in file order.

    A key given twice (YAML silently keeps the last), a key that is not text (``1:``, ``yes:``,
    ``null:`` — every key adaptlab reads is a name), and a ``\\ud800``-style escape that is half
    of a UTF-16 pair (not a character: it could never be written back as UTF-8). The walk is
    iterative and visits each node once, so an alias that refers to itself, or a "billion
    laughs" of aliases, costs one visit per node written.
    """
    problems: list[Problem] = []
    seen: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            char = first_surrogate(node.value)
            if char is not None:
                problems.append(Problem(display, node.start_mark.line + 1, surrogate_message(char)))
        elif isinstance(node, yaml.MappingNode):
            problems += key_problems(node, display)
            stack.extend(item for pair in reversed(node.value) for item in reversed(pair))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
    return sorted(problems, key=lambda problem: problem.line or 0)


def key_problems(node: yaml.MappingNode, display: str) -> list[Problem]:
    problems: list[Problem] = []
    first_lines: dict[str, int] = {}
    for key, _ in node.value:
        line = key.start_mark.line + 1
        if not isinstance(key, yaml.ScalarNode):
            continue  # a list or mapping as a key already failed to load ("unhashable key")
        if key.tag not in (STRING_TAG, MERGE_TAG):
            shown = key.value or "(empty)"
            problems.append(
                Problem(display, line, f'key {shown} must be a string; write it in quotes: "{key.value}"')
            )
        elif key.value in first_lines:
            problems.append(
                Problem(
                    display, line, f'key "{key.value}" appears twice (first on line {first_lines[key.value]})'
                )
            )
        first_lines.setdefault(key.value, line)
    return problems


# -- validation errors on their lines ----------------------------------------------------


def validation_problems(
    display: str, root: yaml.Node, error: ValidationError, model: type[BaseModel]
) -> list[Problem]:
    """Every pydantic error of validating the document as `model`, on the line of its key.

    Errors about keys that are not strings are left out: `node_problems` already reported each
    on its own line, which pydantic's location (the key's value, stringified) cannot give.
    """
    return [
        validation_problem(display, root, details, model)
        for details in error.errors()
        if details["type"] != "invalid_key"
    ]


def validation_problem(display: str, root: yaml.Node, details: Any, model: type[BaseModel]) -> Problem:
    """One pydantic error as a person-readable problem on the line of the key it is about."""
    location: tuple[Any, ...] = details["loc"]
    node, key_line = find_node(root, location)
    where = describe_location(location)
    kind = details["type"]
    if kind == "extra_forbidden":
        parent = f" in {describe_location(location[:-1])}" if len(location) > 1 else ""
        name = str(location[-1])
        known = field_names_at(model, location[:-1])
        message = f'unknown key "{name}"{parent}{did_you_mean(name, known)}'
    elif kind in TYPE_WORDS:
        message = f"{where} {TYPE_WORDS[kind]}"
        if kind == "string_type" and isinstance(node, yaml.ScalarNode):
            message += f'; write it in quotes: "{node.value}"'
    elif kind == "value_error":
        message = f"{where}: {details['ctx']['error']}" if where else str(details["ctx"]["error"])
    else:
        message = f"{where}: {details['msg']}" if where else details["msg"]
    return Problem(display, key_line, message)


def find_node(root: yaml.Node, location: Sequence[Any]) -> tuple[yaml.Node | None, int | None]:
    """The node at a pydantic location, and the line of the key (or item) that leads to it."""
    node: yaml.Node | None = root
    line: int | None = None
    for part in location:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                return None, line
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return None, line
    return node, line


def describe_location(location: Sequence[Any]) -> str:
    """``("labels", 1)`` -> ``labels item 2``; ``("fields", "input")`` -> ``fields.input``."""
    words = ""
    for part in location:
        if isinstance(part, int):
            words += f" item {part + 1}"
        else:
            words += f".{part}" if words else str(part)
    return words


def field_names_at(model: type[BaseModel], location: Sequence[Any]) -> list[str]:
    """The keys the model nested at `location` accepts, to suggest one for a typo.

    ``(RunConfig, ("costs", "prices", "m"))`` -> the fields of `TokenPrice`: the walk follows
    model fields, and the values of dicts and the items of lists, through ``X | None``.
    """
    kind: Any = model
    for part in location:
        kind = unwrap_optional(kind)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(str(part))
            if field is None:
                return []
            kind = field.annotation
        elif typing.get_origin(kind) in (dict, list):
            kind = typing.get_args(kind)[-1]
        else:
            return []
    kind = unwrap_optional(kind)
    return list(kind.model_fields) if isinstance(kind, type) and issubclass(kind, BaseModel) else []


def unwrap_optional(kind: Any) -> Any:
    """``X | None`` -> ``X``; any other annotation as it is."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        others = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return others[0] if len(others) == 1 else kind
    return kind


# -- settings files ----------------------------------------------------------------------


def load_settings(model: type[Model], path: Path | str, what: str, *, empty: Model | None = None) -> Model:
    """Read a YAML settings file (cost settings, a run's config) as `model`.

    `empty` is what an empty file means; without it an empty file is an error. Raises
    `UsageError` listing every problem, each with the file and, where there is one, the line.
    """
    path = Path(path)
    display = str(path)
    document, problems = read_yaml(path, display, what)
    if document is None:
        raise UsageError(format_problems(problems))
    content = document.content
    if content is None and empty is not None:
        return empty
    if not isinstance(content, dict) or not isinstance(document.root, yaml.MappingNode):
        keys = ", ".join(list(model.model_fields)[:2])
        kind = (
            "a list" if isinstance(content, list) else "a single value" if content is not None else "nothing"
        )
        raise UsageError(f"{display}: {what} must be a mapping of keys ({keys}, ...), got {kind}")
    try:
        settings = model.model_validate(content)
    except ValidationError as error:
        problems += validation_problems(display, document.root, error, model)
        settings = None
    except AdaptlabError as error:
        # A validator shared with the command line may raise its own error (about a flag, with
        # no file in it); it still has to say which file it is about.
        problems.append(Problem(display, None, str(error)))
        settings = None
    if problems or settings is None:
        raise UsageError(format_problems(sorted(problems, key=lambda problem: problem.line or 0)))
    return settings
