"""Read JSONL and CSV/TSV files into raw rows, each tagged with its physical line number.

Readers find what stops a row from being read at all (bad bytes, bad JSON, a CSV row of the
wrong width), and `parse_chat` reads a chat ``messages`` list into one exchange; which fields a
row must have is checked by the loader. Every problem is collected and reading goes on with the
next row, so one pass reports everything wrong with a file.

Line numbers are physical lines as an editor shows them: counted on ``\\n`` only, including
blank lines, and a CSV row whose quoted field spans several lines is reported on its first.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adaptlab.data.problems import Problem, did_you_mean, unexpected_field

UTF8_BOM = b"\xef\xbb\xbf"
JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
DELIMITERS = {".csv": ",", ".tsv": "\t"}
DATA_SUFFIXES = (*JSONL_SUFFIXES, *DELIMITERS)
CHAT_ROLES = ("system", "user", "assistant")
SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class RawRow:
    """A record as read: a JSON object, or a CSV row as a header -> cell mapping."""

    line: int
    values: dict[str, Any]


@dataclass
class RawFile:
    """Everything read from one file.

    `records` counts every record met, readable or not, so that "too few examples" can be told
    in the same pass as the problems that made some records unreadable; it is a true count only
    when the file was `complete`-ly read. `header` (on `header_line`) is set for CSV/TSV files,
    whose columns are checked once rather than on every row.
    """

    display: str
    rows: list[RawRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    records: int = 0
    complete: bool = True
    header: tuple[str, ...] | None = None
    header_line: int = 1

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.display, line, message))

    def give_up(self, line: int | None, message: str) -> None:
        """Record a problem after which the rest of the file is not (or cannot be) read."""
        self.problem(line, message)
        self.complete = False


@dataclass(frozen=True)
class ChatTurn:
    """The one exchange of a single-turn chat example."""

    system: str | None
    user: str
    assistant: str


def read_data_file(path: Path, display: str) -> RawFile:
    """Read `path` (a ``.jsonl``/``.json``/``.ndjson``/``.csv``/``.tsv`` file) into raw rows.

    `display` is the path as the user should see it in messages.
    """
    raw = RawFile(display)
    try:
        data = path.read_bytes()
    except OSError as error:
        raw.give_up(None, f"cannot read the file ({error.strerror})")
        return raw
    data = data.removeprefix(UTF8_BOM)
    if not data.strip():
        raw.give_up(None, "the file is empty")
        return raw
    lines, bad_lines = decode_lines(data, raw)
    suffix = path.suffix.lower()
    if suffix in DELIMITERS:
        read_table(lines, bad_lines, DELIMITERS[suffix], raw)
    elif suffix == ".json" and not bad_lines and is_json_array(lines):
        raw.give_up(
            None,
            "the file is one JSON array, but adaptlab reads JSON Lines (one JSON object per line); "
            "convert it with e.g. jq -c '.[]'",
        )
    else:
        read_jsonl(lines, bad_lines, raw)
    return raw


def decode_lines(data: bytes, raw: RawFile) -> tuple[list[str], set[int]]:
    """Split on ``\\n`` (never part of a multi-byte UTF-8 character) and decode each line.

    Returns the lines (with their ends) and the numbers of those that are not UTF-8; each of
    those gets a problem naming the first bad byte and its column, counted in characters as an
    editor shows it. Bad lines are kept, with replacement characters, so that CSV quoting and
    line numbers stay intact.
    """
    pieces = data.split(b"\n")
    lines = [piece + b"\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    texts: list[str] = []
    bad: set[int] = set()
    for number, line in enumerate(lines, start=1):
        text, ok = decode_line(number, line, raw)
        texts.append(text)
        if not ok:
            bad.add(number)
    return texts, bad


def decode_line(number: int, line: bytes, raw: RawFile) -> tuple[str, bool]:
    """Line `number` as text, and whether it was UTF-8; if not, a problem names the first bad
    byte and its column, and the text has replacement characters.

    One line at a time, so that a file read line by line (a corpus larger than memory) gets the
    same messages as one read whole (`decode_lines`).
    """
    try:
        return line.decode("utf-8"), True
    except UnicodeDecodeError as error:
        column = len(line[: error.start].decode("utf-8")) + 1
        byte = f"0x{line[error.start]:02x}"
        raw.problem(number, f"not valid UTF-8 (byte {byte} at column {column}); save the file as UTF-8")
        return line.decode("utf-8", errors="replace"), False


def is_json_array(lines: Sequence[str]) -> bool:
    """Whether a ``.json`` file holds one JSON array (a common export) rather than JSON Lines."""
    text = "".join(lines)
    if not text.lstrip().startswith("["):
        return False
    value, error = parse_json(text)
    return error is None and isinstance(value, list)


def read_jsonl(lines: Sequence[str], bad_lines: set[int], raw: RawFile) -> None:
    """One JSON object per line; blank lines are skipped, undecodable ones already reported."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        raw.records += 1
        if number in bad_lines:
            continue
        value = jsonl_object(number, line, raw)
        if value is not None:
            raw.rows.append(RawRow(number, value))


def jsonl_object(number: int, line: str, raw: RawFile) -> dict[str, Any] | None:
    """The JSON object on line `number` (its line end is dropped), or None after reporting why
    it is not one: invalid JSON, a lone surrogate escape, or another JSON type.

    Shared with readers that go through a file line by line, so that they report alike.
    """
    text = line.rstrip("\r\n")
    value, error = parse_json(text)
    if error is None and (char := first_surrogate(value)) is not None:
        escape = text.lower().find(f"\\u{ord(char):04x}")
        error = surrogate_message(char) + (f" (column {escape + 1})" if escape >= 0 else "")
    if error is not None:
        raw.problem(number, f"invalid JSON: {error}")
        return None
    if not isinstance(value, dict):
        raw.problem(number, f"expected a JSON object, got {json_type(value)}")
        return None
    return value


def parse_json(text: str) -> tuple[Any, str | None]:
    """The decoded value, or why `text` cannot be read as JSON.

    Besides malformed JSON, `json.loads` raises a bare `ValueError` for an integer past Python's
    4,300-digit limit and a `RecursionError` for arrays or objects nested about a thousand deep;
    both are bad input, not bugs, and get a message like any other.
    """
    try:
        return json.loads(text), None
    except json.JSONDecodeError as error:
        return None, f"{error.msg} (column {error.colno})"
    except ValueError:
        return None, "a number has too many digits to read"
    except RecursionError:
        return None, "arrays or objects are nested too deeply to read"


def first_surrogate(value: Any) -> str | None:
    """The first lone UTF-16 surrogate in any string (or object key) of a decoded value.

    JSON and YAML escapes like ``\\ud800`` decode to such a half character, which is not text:
    it cannot be encoded as UTF-8, so an example holding one would break every later write
    (caches, predictions, the task's content hash). The walk is iterative, so values nested as
    deep as the parser allows cost no stack.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if match := SURROGATE.search(item):
                return match.group()
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def surrogate_message(char: str) -> str:
    return (
        f"\\u{ord(char):04x} is half of a UTF-16 surrogate pair without its other half, "
        "so it is not a character; fix or remove the escape"
    )


def read_table(lines: Sequence[str], bad_lines: set[int], delimiter: str, raw: RawFile) -> None:
    """A header row, then one record per row; rows of the wrong width are problems.

    Quoting follows the csv module (what Python, pandas and spreadsheets write), for TSV too.
    A row that touches an undecodable line is skipped: its problem is already reported.
    """
    for first, last, cells in table_records(lines, delimiter, raw):
        if raw.header is None:
            raw.header, raw.header_line = tuple(cells), first
            check_header(raw)
            continue
        raw.records += 1
        if any(first <= number <= last for number in bad_lines):
            continue
        if len(cells) != len(raw.header):
            raw.problem(first, f"the row has {len(cells)} fields but the header has {len(raw.header)}")
            continue
        raw.rows.append(RawRow(first, dict(zip(raw.header, cells, strict=True))))
    if raw.header is not None and raw.records == 0:
        raw.give_up(None, "the file has a header but no rows")


def table_records(lines: Sequence[str], delimiter: str, raw: RawFile) -> Iterator[tuple[int, int, list[str]]]:
    """Yield (first line, last line, cells) per non-blank record; stop at malformed quoting."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    last = 0
    while True:
        first = last + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            reason = str(error)
            if "unexpected end of data" in reason:
                reason = "a quoted field that starts in this row is never closed"
            elif "new-line character seen in unquoted field" in reason:
                # Python's wording, meant for programmers; the cause is a lone \r (old Mac line
                # endings, or a carriage return inside a field that is not quoted).
                reason = (
                    "a carriage return (\\r) outside quotes; save the file with \\n or \\r\\n line "
                    "endings, or quote the field"
                )
            raw.give_up(first, f"invalid CSV: {reason}; rows after this one were not read")
            return
        last = reader.line_num
        if cells:
            yield first, last, cells


def check_header(raw: RawFile) -> None:
    """A repeated column name would silently lose one of the columns."""
    seen: set[str] = set()
    for name in raw.header or ():
        if name in seen:
            raw.problem(raw.header_line, f'column "{name}" appears more than once in the header')
        seen.add(name)


def parse_chat(messages: Any, allow_extra_fields: bool) -> tuple[ChatTurn | None, list[str]]:
    """Turn a chat ``messages`` list into one exchange, or say everything wrong with it.

    Only single-turn conversations are supported: an optional system message first, then one
    user message and one assistant message, which become the input and the gold output.
    """
    if not isinstance(messages, list):
        return None, [f'field "messages" must be a list, got {json_type(messages)}']
    if not messages:
        return None, ['field "messages" is empty']
    errors = [
        error
        for n, message in enumerate(messages, start=1)
        for error in check_message(n, message, allow_extra_fields)
    ]
    if errors:
        return None, errors
    error = conversation_error([message["role"] for message in messages])
    if error:
        return None, [error]
    contents = {message["role"]: message["content"] for message in messages}
    return ChatTurn(contents.get("system"), contents["user"], contents["assistant"]), []


def check_message(number: int, message: Any, allow_extra_fields: bool) -> list[str]:
    if not isinstance(message, dict):
        return [f"message {number} must be a JSON object, got {json_type(message)}"]
    errors = []
    role = message.get("role")
    if "role" not in message:
        errors.append(f'message {number}: field "role" is missing')
    elif role not in CHAT_ROLES:
        shown = f'"{role}"' if isinstance(role, str) else json_type(role)
        hint = did_you_mean(role, CHAT_ROLES) if isinstance(role, str) else ""
        errors.append(f"message {number}: role must be system, user or assistant, got {shown}{hint}")
    content = message.get("content")
    if "content" not in message:
        errors.append(f'message {number}: field "content" is missing')
    elif not isinstance(content, str):
        # Unlike a plain file's output, a message is text in every chat format; a number here is
        # an export that went wrong, so it is not read as its text, but the fix is shown.
        text = scalar_text(content)
        hint = f'; chat messages hold text, so write it in quotes: "{text}"' if text is not None else ""
        errors.append(f'message {number}: field "content" must be a string, got {json_type(content)}{hint}')
    elif not content.strip():
        errors.append(f'message {number}: field "content" is empty')
    if not allow_extra_fields:
        errors.extend(
            f"message {number}: {unexpected_field(name, ('role', 'content'))}"
            for name in message
            if name not in ("role", "content")
        )
    return errors


def conversation_error(roles: Sequence[str]) -> str | None:
    """What is wrong with the order of roles, if anything: it must be [system], user, assistant."""
    if "system" in roles[1:]:
        return "a system message may only come first"
    if roles.count("user") > 1 or roles.count("assistant") > 1:
        return (
            "multi-turn conversations are not supported yet; give one user message "
            "and one assistant message (after an optional system message)"
        )
    if "user" not in roles:
        return "the conversation has no user message"
    if roles[-1] != "assistant":
        return f"the last message must be from the assistant, got {roles[-1]}"
    return None


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, as people reading the file know it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def scalar_text(value: Any) -> str | None:
    """The text a JSON number or boolean stands for, as JSON writes it; None for other values.

    Published classification data mostly stores labels as numbers (``"label": 1``) or booleans.
    Read as this text they compare equal to labels typed as text (``--labels 0,1``), and the
    text round-trips: 1 -> "1", 0.5 -> "0.5", 1.0 -> "1.0", true -> "true". NaN and the
    infinities are no one's label (pandas writes NaN for a missing value) and get None.

    >>> [scalar_text(value) for value in (1, 1.0, 1e16, False, float("nan"), "1")]
    ['1', '1.0', '1e+16', 'false', None, None]
    """
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):  # bool is an int
        return json.dumps(value)
    return None
