"""Fuzzing every task loader: whatever file a person brings — JSONL, CSV/TSV, chat messages, a
task spec, or bytes that are none of these — `load_task` returns a valid `Task` or raises a
`TaskFileError` whose problems name the file and, where one line is damaged, that line.
Anything else escaping is a bug, and Hypothesis shows the smallest file that triggers it.

Budgets are per test and scale with the Hypothesis profile (`fuzzing.cases`); the default
profile is derandomized, so CI runs the same cases every time.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.data import Task, TaskFileError, load_task
from adaptlab.data.readers import json_type
from adaptlab.data.spec import label_set_error
from adaptlab.errors import UsageError
from fuzzing import (
    BAD_UTF8,
    LINE_EOLS,
    Layout,
    cases,
    dump_json,
    hostile_text,
    json_values,
    layouts,
    mutated,
    non_strings,
    odd_yaml_documents,
    utf8,
    with_bad_bytes,
    words,
    yaml_with_one_bad_line,
)

SURROGATES = ("\ud800", "\udbff", "\udc00", "\udfff")
SPEC_LINES = (
    "name: fuzz-task",
    "instruction: Say whether the review is positive or negative.",
    "labels: [negative, positive]",
    "label_descriptions: {negative: unhappy, positive: happy}",
    "fields: {input: input, output: output, id: id}",
    "allow_extra_fields: false",
    "data: rows.jsonl",
)
ROWS = [{"input": f"review {n}", "output": ("negative", "positive")[n % 2]} for n in range(6)]
CHAT = [
    {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": f"q{n}"},
            {"role": "assistant", "content": ("yes", "no")[n % 2]},
        ]
    }
    for n in range(4)
]
SAMPLES = {
    ".jsonl": "".join(json.dumps(row) + "\n" for row in ROWS).encode(),
    ".ndjson": "".join(json.dumps(row) + "\n" for row in CHAT).encode(),
    ".json": json.dumps(ROWS).encode(),
    ".csv": b'id,input,output\r\n1,"a, b",x\r\n2,"multi\nline",y\r\n3,c,x\r\n4,d,y\r\n',
    ".tsv": b"input\toutput\na\tx\nb\ty\nc\tx\n",
    ".yaml": ("\n".join(SPEC_LINES) + "\n").encode(),
}


@dataclass(frozen=True)
class BadFile:
    """A file with one damaged row, and the physical line where the damage must be reported."""

    data: bytes
    suffix: str
    line: int
    kind: str


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for every case of a module, holding the data file a task spec names."""
    path = tmp_path_factory.mktemp("fuzz")
    (path / "rows.jsonl").write_bytes(SAMPLES[".jsonl"])
    return path


def write(folder: Path, data: bytes, suffix: str) -> Path:
    path = folder / f"case{suffix}"
    path.write_bytes(data)
    return path


def load(path: Path, **kwargs: Any) -> Task | TaskFileError:
    """Load `path`; return the task after checking it, or the clean error after checking that.

    Any other exception propagates: that is the bug these tests look for.
    """
    try:
        task = load_task(str(path), **kwargs)
    except TaskFileError as error:
        check_error(error)
        return error
    check_task(task)
    return task


def check_error(error: TaskFileError) -> None:
    """Every problem names a file, a line that exists (or none), and prints as UTF-8."""
    assert error.problems
    for problem in error.problems:
        assert problem.file and problem.message
        assert problem.line is None or problem.line >= 1
        assert str(problem).startswith(problem.file)
    str(error).encode("utf-8")  # the CLI prints it; a lone surrogate would crash the write


def check_task(task: Task) -> None:
    """What everything downstream relies on: enough examples, at least two different outputs,
    unique ids, non-empty text that can be written as UTF-8, labels consistent with the outputs,
    and outputs read from numbers or booleans that are the JSON of one."""
    assert len(task.examples) >= 3
    ids = [example.id for example in task.examples]
    assert len(ids) == len(set(ids))
    for example in task.examples:
        for text in (example.id, example.input, example.output):
            assert isinstance(text, str) and text.strip()
        assert example.system is None or example.system.strip()
        assert example.source.split(" line ")[0] in task.sources
    outputs = {example.output for example in task.examples}
    assert len(outputs) >= 2
    if task.output_type != "text":
        assert {json_type(json.loads(output)) for output in outputs} == {task.output_type}
    if task.labels_declared:
        assert task.labels is not None and outputs <= set(task.labels)
    elif task.labels is not None:
        by_value = (lambda output: (float(output), output)) if task.output_type == "number" else None
        assert task.labels == tuple(sorted(outputs, key=by_value))
    assert task.content_hash  # serialises every string as UTF-8, as caches and run records do


def failed(result: Task | TaskFileError) -> TaskFileError:
    assert isinstance(result, TaskFileError), "the damaged file loaded without a problem"
    return result


def lines_of(error: TaskFileError) -> set[int | None]:
    return {problem.line for problem in error.problems}


def refused_for_one_output(result: Task | TaskFileError) -> None:
    """The task was refused only because every example has the same output."""
    problems = failed(result).problems
    assert [(problem.line, "at least two different outputs" in problem.message) for problem in problems] == [
        (None, True)
    ]


# -- any bytes at all -------------------------------------------------------------------------

SUFFIXES = (".jsonl", ".json", ".ndjson", ".csv", ".tsv", ".yaml", ".yml")


@settings(max_examples=cases(100))
@given(data=st.binary(max_size=300), suffix=st.sampled_from(SUFFIXES))
def test_any_bytes_load_or_fail_cleanly(folder: Path, data: bytes, suffix: str) -> None:
    load(write(folder, data, suffix))


@settings(max_examples=cases(120))
@given(st.data())
def test_damaged_real_files_load_or_fail_cleanly(folder: Path, data: st.DataObject) -> None:
    suffix = data.draw(st.sampled_from(sorted(SAMPLES)))
    load(write(folder, data.draw(mutated(SAMPLES[suffix])), suffix))


# -- JSONL --------------------------------------------------------------------------------------

row_keys = st.sampled_from(["input", "output", "id", "metadata", "messages", "inptu", "text"]) | hostile_text


@settings(max_examples=cases(80))
@given(
    rows=st.lists(
        st.one_of(
            st.builds(dict, input=words, output=words),
            st.dictionaries(row_keys, json_values, max_size=5),
            json_values,
            hostile_text,  # a line that is not JSON at all
        ),
        max_size=8,
    ),
    ascii_only=st.booleans(),
    layout=layouts(),
    suffix=st.sampled_from([".jsonl", ".json", ".ndjson"]),
    labels=st.none() | st.lists(words, min_size=2, max_size=4, unique=True),
    allow_extra_fields=st.booleans(),
)
def test_jsonl_of_any_rows_loads_or_fails_cleanly(
    folder: Path,
    rows: list[Any],
    ascii_only: bool,
    layout: Layout,
    suffix: str,
    labels: list[str] | None,
    allow_extra_fields: bool,
) -> None:
    lines = [utf8(row) if isinstance(row, str) else dump_json(row, ascii_only) for row in rows]
    data, _ = layout.join(lines)
    load(write(folder, data, suffix), labels=labels, allow_extra_fields=allow_extra_fields)


finite_numbers = st.integers(-(10**30), 10**30) | st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=cases(60))
@given(
    values=st.lists(finite_numbers, min_size=3, max_size=8) | st.lists(st.booleans(), min_size=3, max_size=8),
    quoted=st.none() | st.integers(0, 7),
    ascii_only=st.booleans(),
    layout=layouts(LINE_EOLS),
)
def test_numeric_and_boolean_outputs_read_as_their_json_text_or_a_quoted_one_is_reported(
    folder: Path, values: list[Any], quoted: int | None, ascii_only: bool, layout: Layout
) -> None:
    """Outputs written as numbers or booleans load as text that reads back as the same value of
    the same type; one output written as a string among them is reported on its line alone."""
    rows: list[dict[str, Any]] = [{"input": f"q{n}", "output": value} for n, value in enumerate(values)]
    if quoted is not None:
        quoted = min(quoted, len(rows) - 1)
        rows[quoted]["output"] = json.dumps(values[quoted])
    data, starts = layout.join([dump_json(row, ascii_only) for row in rows])
    result = load(write(folder, data, ".jsonl"))
    if quoted is not None:
        assert lines_of(failed(result)) == {starts[quoted]}
        return
    if len({json.dumps(value) for value in values}) == 1:
        refused_for_one_output(result)
        return
    assert isinstance(result, Task), str(result)
    read = [json.loads(example.output) for example in result.examples]
    assert [(type(value), value) for value in read] == [(type(value), value) for value in values]
    assert result.output_type == json_type(values[0])


@st.composite
def plain_rows(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[str]]:
    """4 to 6 valid rows (with unique ids, or none) and the labels their outputs come from."""
    labels = draw(st.lists(words, min_size=2, max_size=3, unique=True))
    count = draw(st.integers(4, 6))
    ids = draw(
        st.none() | st.lists(words | st.integers(0, 10**6), min_size=count, max_size=count, unique_by=str)
    )
    rows = [
        {"input": draw(words), "output": draw(st.sampled_from(labels))} | ({"id": ids[n]} if ids else {})
        for n in range(count)
    ]
    return rows, labels


@st.composite
def damaged_row(
    draw: st.DrawFn, rows: list[dict[str, Any]], index: int, labels: list[str] | None
) -> tuple[str, bytes]:
    """Row `index` of `rows`, damaged in one of the ways people's files are."""
    kinds = [
        "truncated",
        "not an object",
        "missing field",
        "wrong type",
        "blank field",
        "unknown field",
        "metadata not an object",
        "bad bytes",
        "surrogate",
        "deep nesting",
        "huge number",
        "control character",
    ]
    if index > 0:
        kinds.append("chat row in a plain file")
        if "id" in rows[0]:
            kinds.append("duplicate id")
    if labels is not None:
        kinds.append("not a label")
    kind = draw(st.sampled_from(kinds))
    row = dict(rows[index])
    text = json.dumps(row)
    field = draw(st.sampled_from(["input", "output", "id"]))
    if kind == "truncated":
        return kind, text[: draw(st.integers(1, len(text) - 1))].encode()
    if kind == "not an object":
        return kind, dump_json(
            draw(json_values.filter(lambda v: not isinstance(v, dict))), draw(st.booleans())
        )
    if kind == "missing field":
        del row[draw(st.sampled_from(["input", "output"]))]
    elif kind == "wrong type":
        bad = (
            non_strings
            if field != "id"
            else non_strings.filter(lambda v: isinstance(v, bool) or not isinstance(v, int))
        )
        row[field] = draw(bad)
    elif kind == "blank field":
        row[field] = draw(st.sampled_from(["", " ", "\t", "\n ", "\u3000"]))
    elif kind == "unknown field":
        name = draw(words.filter(lambda k: k not in ("input", "output", "id", "metadata", "messages")))
        row[name] = draw(json_values)
    elif kind == "metadata not an object":
        row["metadata"] = draw(json_values.filter(lambda v: not isinstance(v, dict)))
    elif kind == "bad bytes":
        return kind, draw(with_bad_bytes(text.encode()))
    elif kind == "surrogate":
        where = draw(st.sampled_from(["value", "key", "metadata"]))
        half = draw(st.sampled_from(SURROGATES))
        if where == "value":
            row[field] = draw(words) + half
        elif where == "key":
            row[f"note{half}"] = 1
        else:
            row["metadata"] = {"source": [f"x{half}"]}
    elif kind == "deep nesting":
        return kind, f'{text[:-1]}, "metadata": {{"a": {"[" * 5000}{"]" * 5000}}}}}'.encode()
    elif kind == "huge number":
        return kind, f'{text[:-1]}, "id": {"9" * 5000}}}'.encode()
    elif kind == "control character":
        return kind, text.replace('"input": "', '"input": "\x01', 1).encode()
    elif kind == "chat row in a plain file":
        row = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]}
    elif kind == "duplicate id":
        row["id"] = rows[draw(st.integers(0, index - 1))]["id"]
    elif kind == "not a label":
        row["output"] = draw(words.filter(lambda w: w not in (labels or ())))
    return kind, dump_json(row, ascii_only=True)


@st.composite
def jsonl_with_one_bad_row(draw: st.DrawFn) -> tuple[BadFile, list[str] | None]:
    rows, labels = draw(plain_rows())
    declared = labels if draw(st.booleans()) else None
    index = draw(st.integers(0, len(rows) - 1))
    kind, bad = draw(damaged_row(rows, index, declared))
    ascii_only = draw(st.booleans())
    lines = [bad if n == index else dump_json(row, ascii_only) for n, row in enumerate(rows)]
    layout = draw(layouts(LINE_EOLS))
    data, starts = layout.join(lines, blank=draw(st.sampled_from([b"", b"  ", b"\t"])))
    return BadFile(data, draw(st.sampled_from([".jsonl", ".ndjson"])), starts[index], kind), declared


@settings(max_examples=cases(150))
@given(case=jsonl_with_one_bad_row())
def test_one_bad_jsonl_row_is_reported_on_its_line(
    folder: Path, case: tuple[BadFile, list[str] | None]
) -> None:
    bad, labels = case
    error = failed(load(write(folder, bad.data, bad.suffix), labels=labels))
    assert lines_of(error) == {bad.line}, bad.kind


@settings(max_examples=cases(50))
@given(rows=plain_rows(), declared=st.lists(words | st.sampled_from(["", " "]), max_size=5))
def test_declared_label_sets_of_any_size(
    folder: Path, rows: tuple[list[dict[str, Any]], list[str]], declared: list[str]
) -> None:
    """A label set of 0 or 1 labels, blank or repeated labels is refused as an argument;
    otherwise every output outside it is reported on its own line."""
    path = write(folder, b"".join(dump_json(row, ascii_only=False) + b"\n" for row in rows[0]), ".jsonl")
    if label_set_error(declared):
        with pytest.raises(UsageError, match=r"^labels \(--labels\): "):
            load_task(str(path), labels=declared)
        return
    result = load(path, labels=declared)
    outside = {n for n, row in enumerate(rows[0], start=1) if row["output"] not in declared}
    if not outside and len({row["output"] for row in rows[0]}) == 1:
        refused_for_one_output(result)
        return
    assert (lines_of(result) if isinstance(result, TaskFileError) else set()) == outside


# -- chat messages -----------------------------------------------------------------------------

roles = st.sampled_from(["system", "user", "assistant"])
odd_roles = st.sampled_from(["User", "bot", "tool", "function", "", "assistant "]) | non_strings
message = st.one_of(
    st.builds(lambda role, content: {"role": role, "content": content}, roles, words),
    st.builds(
        lambda role, content: {"role": role, "content": content},
        roles | odd_roles,
        hostile_text | non_strings,
    ),
    st.dictionaries(st.sampled_from(["role", "content", "name", "weight"]), json_values, max_size=3),
    json_values,
)
conversation = st.builds(
    lambda system, user, assistant: (
        [{"role": "system", "content": system}] * (system is not None)
        + [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    ),
    st.none() | words,
    words,
    words,
)
messages_values = st.one_of(conversation, st.lists(message, max_size=4), json_values)


def expected_turn(messages: Any) -> tuple[str | None, str, str] | None:
    """The README's rule, restated: an optional system message first, then one user and one
    assistant message, each exactly ``role`` and non-empty string ``content``, all valid text.
    None when `messages` breaks it."""
    try:
        json.dumps(messages, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return None
    if not isinstance(messages, list) or not all(
        isinstance(m, dict)
        and set(m) == {"role", "content"}
        and isinstance(m["content"], str)
        and m["content"].strip()
        for m in messages
    ):
        return None
    contents = [m["content"] for m in messages]
    if [m["role"] for m in messages] == ["user", "assistant"]:
        return None, contents[0], contents[1]
    if [m["role"] for m in messages] == ["system", "user", "assistant"]:
        return contents[0], contents[1], contents[2]
    return None


@settings(max_examples=cases(100))
@given(
    valid=st.lists(conversation, min_size=4, max_size=6),
    index=st.integers(0, 5),
    messages=messages_values,
    ascii_only=st.booleans(),
    layout=layouts(LINE_EOLS),
)
def test_chat_rows_load_as_the_readme_says_or_fail_on_their_line(
    folder: Path, valid: list[Any], index: int, messages: Any, ascii_only: bool, layout: Layout
) -> None:
    index = min(index, len(valid) - 1)
    rows = [{"messages": messages if n == index else turns} for n, turns in enumerate(valid)]
    data, starts = layout.join([dump_json(row, ascii_only) for row in rows])
    result = load(write(folder, data, ".jsonl"))
    expected = expected_turn(messages)
    if expected is None:
        assert lines_of(failed(result)) == {starts[index]}
        return
    if {expected[2]} | {turns[-1]["content"] for n, turns in enumerate(valid) if n != index} == {expected[2]}:
        refused_for_one_output(result)
        return
    assert isinstance(result, Task), str(result)
    example = result.examples[index]
    assert (example.system, example.input, example.output) == expected
    assert example.source.endswith(f" line {starts[index]}")


# -- CSV / TSV -----------------------------------------------------------------------------------

cells = hostile_text.filter(lambda text: not any(half in text for half in SURROGATES))


def csv_record(cells: list[str], delimiter: str, quoting: int, eol: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=eol).writerow(cells)
    return out.getvalue()


@settings(max_examples=cases(100))
@given(
    suffix=st.sampled_from([".csv", ".tsv"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    eol=st.sampled_from(["\n", "\r\n"]),
    rows=st.lists(st.tuples(cells, cells, cells, cells), min_size=3, max_size=6),
    columns=st.permutations(["input", "output", "id", "note"]),
    with_ids=st.booleans(),
    blanks=st.lists(st.integers(0, 2), max_size=9),
    bom=st.booleans(),
)
def test_csv_written_by_the_csv_module_round_trips(
    folder: Path,
    suffix: str,
    quoting: int,
    eol: str,
    rows: list[tuple[str, ...]],
    columns: list[str],
    with_ids: bool,
    blanks: list[int],
    bom: bool,
) -> None:
    """Whatever the cells hold (quotes, delimiters, line breaks, NUL, BOMs), a file written by
    Python's csv module loads back exactly, each example sourced on its record's first line;
    blank cells and repeated ids are reported on exactly their records' lines."""
    delimiter = "," if suffix == ".csv" else "\t"
    if quoting == csv.QUOTE_MINIMAL and eol == "\n":
        # The csv module leaves a lone \r unquoted then, writing a file it cannot read back itself.
        rows = [tuple(cell.replace("\r", "") for cell in row) for row in rows]
    header = columns if with_ids else [name for name in columns if name != "id"]
    text, starts = csv_record(header, delimiter, quoting, eol), []
    for n, row in enumerate(rows):
        text += eol * (blanks[n] if n < len(blanks) else 0)
        starts.append(text.count("\n") + 1)
        values = dict(zip(["input", "output", "id", "note"], row, strict=True))
        text += csv_record([values[name] for name in header], delimiter, quoting, eol)
    result = load(
        write(folder, (b"\xef\xbb\xbf" if bom else b"") + text.encode(), suffix), allow_extra_fields=True
    )

    bad_lines, seen = set(), set()
    for start, (text_in, text_out, given_id, _) in zip(starts, rows, strict=True):
        if not text_in.strip() or not text_out.strip():
            bad_lines.add(start)
        if with_ids and (not given_id.strip() or given_id in seen):
            bad_lines.add(start)
        seen.add(given_id)
    if bad_lines:
        assert lines_of(failed(result)) == bad_lines
        return
    if len({row[1] for row in rows}) == 1:
        refused_for_one_output(result)
        return
    assert isinstance(result, Task), str(result)
    assert [(e.input, e.output, e.id, e.source) for e in result.examples] == [
        (row[0], row[1], row[2] if with_ids else str(start), f"{folder / f'case{suffix}'} line {start}")
        for start, row in zip(starts, rows, strict=True)
    ]


csv_words = words.map(lambda text: text.replace("\r", "")).filter(
    lambda text: text.strip() and text not in ("input", "output", "id")
)


@st.composite
def csv_with_one_bad_row(draw: st.DrawFn) -> tuple[BadFile, list[str] | None]:
    """A valid CSV/TSV file (cells with quotes, delimiters and line breaks) with one record or
    the header damaged; the line is the damaged record's first, or the header's."""
    suffix = draw(st.sampled_from([".csv", ".tsv"]))
    delimiter = "," if suffix == ".csv" else "\t"
    labels = draw(st.lists(csv_words, min_size=2, max_size=3, unique=True))
    declared = labels if draw(st.booleans()) else None
    with_ids = draw(st.booleans())
    count = draw(st.integers(4, 6))
    ids = draw(st.lists(csv_words, min_size=count, max_size=count, unique=True))
    rows = [[draw(csv_words), draw(st.sampled_from(labels))] + [ids[n]] * with_ids for n in range(count)]
    header = ["input", "output"] + ["id"] * with_ids
    kinds = ["too few fields", "too many fields", "blank field", "unclosed quote", "text after a quote"]
    kinds += [
        "lone carriage return",
        "bad bytes",
        "no header",
        "column twice",
        "renamed column",
        "other delimiter",
    ]
    kinds += ["duplicate id"] * with_ids + ["not a label"] * (declared is not None)
    kind = draw(st.sampled_from(kinds))
    # An unclosed quote swallows the rest of the file, so it comes last; the kinds that stop
    # reading come after a good row, or "the file has a header but no rows" is true as well.
    stops = ("duplicate id", "text after a quote", "lone carriage return")
    index = count - 1 if kind == "unclosed quote" else draw(st.integers(1 if kind in stops else 0, count - 1))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    label = rows[index][1]
    write_delimiter = delimiter
    if kind == "too few fields":
        rows[index] = rows[index][:-1]
    elif kind == "too many fields":
        rows[index] = [*rows[index], draw(csv_words)]
    elif kind == "blank field":
        rows[index][draw(st.integers(0, 1))] = draw(st.sampled_from(["", " ", "\t "]))
    elif kind == "duplicate id":
        rows[index][2] = ids[draw(st.integers(0, index - 1))]
    elif kind == "not a label":
        rows[index][1] = draw(csv_words.filter(lambda w: w not in labels))
    elif kind == "column twice":
        header.append("input")
        rows = [[*row, row[0]] for row in rows]
    elif kind == "renamed column":
        header[draw(st.integers(0, 1))] = draw(st.sampled_from(["text", "label", "Input", " input"]))
    elif kind == "other delimiter":
        # Cells plain enough never to be quoted: the header is then one column, as are the rows.
        write_delimiter = ";" if suffix == ".csv" else ","
        rows = [[re.sub(r'[,;\t"\r\n]', " ", cell) for cell in row] for row in rows]
    elif kind == "bad bytes":
        rows[index][0] = "cafe"  # the bytes go inside this plain cell, where they cannot move a quote
    records = [csv_record(row, write_delimiter, csv.QUOTE_MINIMAL, eol) for row in rows]
    raw_record = {
        "unclosed quote": f'"never closed{delimiter}{label}{eol}',
        "text after a quote": f'"quoted"then text{delimiter}{label}{eol}',
        "lone carriage return": f"lone\rreturn{delimiter}{label}{eol}",
    }
    records[index] = raw_record.get(kind, records[index])
    head = [] if kind == "no header" else [csv_record(header, write_delimiter, csv.QUOTE_MINIMAL, eol)]
    encoded = [record.encode() for record in head + records]
    offset = len(head)
    if kind == "bad bytes":
        encoded[offset + index] = b"caf" + draw(st.sampled_from(BAD_UTF8)) + encoded[offset + index][3:]
    layout = draw(layouts(LINE_EOLS))
    data, starts = Layout(b"", layout.bom, layout.blanks, False).join(encoded, blank=eol.encode())
    header_kinds = ("no header", "column twice", "renamed column", "other delimiter")
    line = starts[0] if kind in header_kinds else starts[offset + index]
    return BadFile(data, suffix, line, kind), declared


@settings(max_examples=cases(120))
@given(case=csv_with_one_bad_row())
def test_one_bad_csv_row_is_reported_on_its_first_line(
    folder: Path, case: tuple[BadFile, list[str] | None]
) -> None:
    bad, labels = case
    error = failed(load(write(folder, bad.data, bad.suffix), labels=labels))
    assert lines_of(error) == {bad.line}, bad.kind


# -- task specs -----------------------------------------------------------------------------------


@settings(max_examples=cases(100))
@given(st.data())
def test_a_task_spec_with_one_bad_line_fails_on_that_line(folder: Path, data: st.DataObject) -> None:
    marker = folder / "constructed"
    case = data.draw(yaml_with_one_bad_line(SPEC_LINES, str(marker)))
    result = load(write(folder, case.data, data.draw(st.sampled_from([".yaml", ".yml"]))))
    assert not marker.exists(), "a !!python tag constructed an object"
    if case.line is not None:
        assert lines_of(failed(result)) - {None} == {case.line}, case.kind


@settings(max_examples=cases(20))
@given(document=odd_yaml_documents)
def test_a_task_spec_that_is_not_a_mapping_fails_cleanly(folder: Path, document: bytes) -> None:
    failed(load(write(folder, document, ".yaml")))


@settings(max_examples=cases(30))
@given(
    splits=st.dictionaries(
        st.sampled_from(["train", "dev", "test", "validation"]),
        st.sampled_from(
            ["rows.jsonl", "./rows.jsonl", "sub/../rows.jsonl", "other.jsonl", "", "a" * 300 + ".jsonl"]
        ),
        min_size=1,
    )
)
def test_split_files_never_load_one_file_twice(folder: Path, splits: dict[str, str]) -> None:
    """Naming one file for two splits would duplicate every example (and its id) across train
    and test; it must be refused, not loaded."""
    (folder / "other.jsonl").write_bytes(
        b"".join(dump_json(row | {"id": f"o{n}"}, True) + b"\n" for n, row in enumerate(ROWS))
    )
    load(write(folder, ("splits: " + json.dumps(splits) + "\n").encode(), ".yaml"))


# -- the command line ------------------------------------------------------------------------------

runner = CliRunner()


@settings(max_examples=cases(15))
@given(
    case=st.one_of(
        # `validate` is given no label set, so an output outside the declared labels is fine there.
        jsonl_with_one_bad_row().map(lambda case: case[0]).filter(lambda bad: bad.kind != "not a label"),
        csv_with_one_bad_row().filter(lambda case: case[1] is None).map(lambda case: case[0]),
    )
)
def test_validate_reports_a_bad_file_without_a_traceback(folder: Path, case: BadFile) -> None:
    path = write(folder, case.data, case.suffix)
    result = runner.invoke(app, ["validate", str(path), "--chars"])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, result.exception
    assert "Traceback" not in result.output
    assert result.stderr.startswith(f"adaptlab: {path} line ")
    assert f"{path} line {case.line}:" in result.stderr
