"""`load_task`: from a file, a task spec or a bundled name to a validated `Task`.

Loading reads every file of the task, checks every row and collects every problem before
raising one `TaskFileError`, so a person fixes a file in one go. Nothing is written anywhere.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from adaptlab.data.bundled import BUNDLED_TASKS, bundled_task_path
from adaptlab.data.problems import Problem, TaskFileError, did_you_mean, unexpected_field
from adaptlab.data.readers import (
    DATA_SUFFIXES,
    RawFile,
    RawRow,
    json_type,
    parse_chat,
    read_data_file,
    scalar_text,
)
from adaptlab.data.scoring_spec import AnswerFormat, JudgeSpec, MetricSpec, parse_format, parse_metric
from adaptlab.data.spec import SPEC_SUFFIXES, FieldNames, TaskSpec, label_set_error, read_spec
from adaptlab.data.task import Example, OutputType, Task
from adaptlab.errors import UsageError

MIN_EXAMPLES = 3
MAX_INFERRED_LABELS = 20
MAX_LABEL_CHARS = 40
MIN_EXAMPLES_PER_INFERRED_LABEL = 2
METADATA_FIELD = "metadata"
EVIDENCE_FIELDS = ("context_id", "context")
"""Optional fields naming the passage (or quoting the text) that holds an example's answer; read
at the top level of a row, as CSV columns, or inside its ``metadata`` object."""
TYPE_NAMES: dict[OutputType, str] = {"text": "a string", "number": "a number", "boolean": "a boolean"}


@dataclass(frozen=True)
class DataFile:
    """One data file of a task: where it is, how to name it to people, which split it holds."""

    path: Path
    display: str
    split: str | None = None
    named_in: str | None = None  # the spec that names this file, for "no such file" messages


class Content(NamedTuple):
    """The parts of an example a row yielded; None where the row's field was unusable."""

    input: str | None = None
    output: str | None = None
    system: str | None = None
    output_type: OutputType = "text"
    context_id: str | None = None
    context: str | None = None


class OutputSeen(NamedTuple):
    """A row's readable output, with its JSON type and where it is, for the check that every
    output of a task has the same type."""

    text: str
    type: OutputType
    raw: RawFile
    line: int


@dataclass(frozen=True)
class Settings:
    """What rows must look like: field names, declared labels, and whether extras are allowed."""

    fields: FieldNames
    labels: tuple[str, ...] | None
    allow_extra_fields: bool


def load_task(
    source: str | Path,
    *,
    name: str | None = None,
    labels: Sequence[str] | None = None,
    instruction: str | None = None,
    input_field: str = "input",
    output_field: str = "output",
    id_field: str = "id",
    allow_extra_fields: bool = False,
    scoring: ScoringOverrides | None = None,
) -> Task:
    """Load and validate a task from a data file, a task spec (``.yaml``) or a bundled name.

    Keyword arguments override the spec; a field name or `allow_extra_fields` left at its
    default keeps the spec's value, and so does each of `scoring`'s settings left at None.
    Raises `TaskFileError` listing every problem found.

    >>> task = load_task("reviews.csv", input_field="text", output_field="label")  # doctest: +SKIP
    """
    spec, display, files = resolve_source(source)
    if labels is not None and (error := label_set_error(labels)):
        raise UsageError(f"labels (--labels): {error}")
    declared = labels if labels is not None else spec.labels
    settings = Settings(
        fields=FieldNames(
            input=input_field if input_field != "input" else spec.fields.input,
            output=output_field if output_field != "output" else spec.fields.output,
            id=id_field if id_field != "id" else spec.fields.id,
        ),
        labels=tuple(declared) if declared is not None else None,
        allow_extra_fields=allow_extra_fields or spec.allow_extra_fields,
    )
    metric, metrics, answer_format, judge = task_scoring(spec, display, scoring or ScoringOverrides())
    examples, output_type = read_examples(files, settings, display)
    return Task(
        name=name or spec.name or Path(display).stem,
        examples=tuple(examples),
        labels=settings.labels or inferred_labels(examples, output_type, metric),
        labels_declared=settings.labels is not None,
        output_type=output_type,
        instruction=instruction or spec.instruction,
        description=spec.description,
        label_descriptions=tuple(spec.label_descriptions.items()) if spec.label_descriptions else None,
        sources=tuple(file.display for file in files),
        metric=metric,
        metrics=metrics,
        answer_format=answer_format,
        judge=judge,
        corpus=spec.corpus_path(),
    )


def inferred_labels(
    examples: Sequence[Example], output_type: OutputType, metric: MetricSpec | None
) -> tuple[str, ...] | None:
    """The outputs as a closed label set when they look like classes — unless the task names a
    primary metric other than accuracy: then the user has said its outputs are free text."""
    if metric is not None and metric.name != "accuracy":
        return None
    return infer_labels([example.output for example in examples], output_type)


@dataclass(frozen=True)
class ScoringOverrides:
    """How the command line changes a spec's scoring (None: keep the spec's)."""

    metric: str | None = None
    metrics: Sequence[str] | None = None
    answer_format: str | None = None
    """A regex, or ``json_schema:FILE``."""
    judge: JudgeSpec | None = None


def task_scoring(
    spec: TaskSpec, display: str, overrides: ScoringOverrides
) -> tuple[MetricSpec | None, tuple[MetricSpec, ...] | None, AnswerFormat | None, JudgeSpec | None]:
    """The metrics, answer format and judge of the task: the spec's, each replaced by the
    command line's where it gives one. The spec's own values were checked with their lines when
    it was read; a bad command-line value is a `UsageError` naming its option."""
    folder = spec.folder

    def metric_of(text: str, option: str, base: Path | None) -> MetricSpec:
        try:
            return parse_metric(text, base=base)
        except ValueError as error:
            raise UsageError(f"{option} {text}: {error}") from None

    if overrides.metric is not None:
        metric = metric_of(overrides.metric, "--metric", None)
    else:
        metric = metric_of(spec.metric, "metric", folder) if spec.metric is not None else None
    if overrides.metrics is not None:
        metrics = tuple(metric_of(text, "--metrics", None) for text in overrides.metrics)
    elif spec.metrics is not None:
        metrics = tuple(metric_of(text, "metrics", folder) for text in spec.metrics)
    else:
        metrics = None
    answer_format = None
    if overrides.answer_format is not None:
        kind, colon, path = overrides.answer_format.partition("json_schema:")
        value = {"json_schema": path} if colon and not kind else overrides.answer_format
        try:
            answer_format = parse_format(value)
        except ValueError as error:
            raise UsageError(f"--format {overrides.answer_format}: {error}") from None
    elif spec.format is not None:
        answer_format = parse_format(spec.format, base=folder)
    judge = overrides.judge or spec.judge
    named = [metric, *(metrics or ())]
    if any(m is not None and m.name == "judge" for m in named):
        if judge is None:
            raise UsageError(
                f"{display}: the judge metric needs a judge: add"
                ' "judge: {model: openai:NAME, base_url: URL}" to the task spec, or pass'
                " --judge-model openai:NAME and --judge-base-url URL"
            )
        if judge.base_url is None and not os.environ.get("OPENAI_BASE_URL"):
            raise UsageError(
                f"{display}: the judge {judge.model} has no endpoint: give its base_url in the spec's"
                " judge (or --judge-base-url, or set $OPENAI_BASE_URL)"
            )
    return metric, metrics, answer_format, judge


def infer_labels(outputs: Sequence[str], output_type: OutputType = "text") -> tuple[str, ...] | None:
    """The closed label set implied by `outputs`, or None when they look like free text.

    Outputs are treated as classes when there are few distinct ones (at most 20), each short
    (at most 40 characters), and each seen at least twice on average: free-text answers are
    mostly distinct, while real classes repeat. A wrong guess matters (classification scoring
    and stratified splits follow from it), so a user who knows better declares `labels`.
    Labels are sorted, numbers by value: a 0-10 scale reads 0, 1, 2, ... 10 in a prompt.

    >>> infer_labels(["10", "2", "2", "10"], "number")
    ('2', '10')
    """
    distinct = set(outputs)
    if (
        len(distinct) <= MAX_INFERRED_LABELS
        and all(len(output) <= MAX_LABEL_CHARS for output in distinct)
        and len(outputs) >= MIN_EXAMPLES_PER_INFERRED_LABEL * len(distinct)
    ):
        if output_type == "number":
            return tuple(sorted(distinct, key=lambda output: (float(output), output)))
        return tuple(sorted(distinct))
    return None


# -- where the data is --------------------------------------------------------------------


def resolve_source(source: str | Path) -> tuple[TaskSpec, str, list[DataFile]]:
    """Find the spec, its display name and the data files that `source` names.

    A plain data file is treated as the spec ``data: <file>`` with every default, so that the
    rest of loading has one path. Raises `TaskFileError` when the source cannot be used.
    """
    display = str(source)
    path = Path(source)
    if display in BUNDLED_TASKS and not path.exists():
        bundled = bundled_task_path(display)
        if bundled is not None:
            return spec_files(bundled, bundled.name)
    problem = path_problem(path, display, (*DATA_SUFFIXES, *SPEC_SUFFIXES))
    if problem:
        raise TaskFileError([problem])
    if path.suffix.lower() in SPEC_SUFFIXES:
        return spec_files(path, display)
    return TaskSpec(data=display), display, [DataFile(path, display)]


def spec_files(path: Path, display: str) -> tuple[TaskSpec, str, list[DataFile]]:
    spec, problems = read_spec(path, display)
    if spec is None:
        raise TaskFileError(problems)
    files = [
        DataFile(path.parent / relative, str(Path(display).parent / relative), split, display)
        for split, relative in spec.data_files().items()
    ]
    return spec, display, files


def path_problem(path: Path, display: str, suffixes: Sequence[str]) -> Problem | None:
    """Why `path` cannot be read as one of `suffixes`, or None when it can."""
    try:
        is_dir, exists = path.is_dir(), path.exists()
    except OSError as error:
        # pathlib answers False for a missing file, but raises for a path the system refuses
        # to look up at all, such as a name over 255 bytes ("File name too long").
        return Problem(display, None, f"cannot use this path ({error.strerror})")
    if is_dir:
        return Problem(display, None, f"is a directory, not a file (give {suffix_choices(suffixes)})")
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        if not suffix and not exists:
            bundled = ", ".join(BUNDLED_TASKS)
            hint = did_you_mean(display, list(BUNDLED_TASKS))
            return Problem(
                display, None, f"no such file, and not a bundled task{hint}; bundled tasks: {bundled}"
            )
        shown = f'"{path.suffix}"' if suffix else "(no extension)"
        return Problem(display, None, f"unsupported file type {shown} (use {suffix_choices(suffixes)})")
    if not exists:
        return Problem(display, None, "no such file")
    return None


def suffix_choices(suffixes: Sequence[str]) -> str:
    """``.jsonl, .csv, .tsv or a task .yaml`` — the extensions people should use."""
    choices = [".jsonl", ".csv", ".tsv"]
    if ".yaml" in suffixes:
        return f"{', '.join(choices)} or a task .yaml"
    return f"{', '.join(choices[:-1])} or {choices[-1]}"


# -- rows to examples ---------------------------------------------------------------------


def read_examples(
    files: Sequence[DataFile], settings: Settings, task_display: str
) -> tuple[list[Example], OutputType]:
    """Read and check every file; raise one `TaskFileError` with everything that is wrong.

    Returns the examples and the type their outputs were written as.
    """
    collector = ExampleCollector(settings, several_files=len(files) > 1)
    read: list[Problem | RawFile] = []  # per file, in order: why it was not read, or what was
    records = 0
    all_read = True
    for file in files:
        problem = path_problem(file.path, file.display, DATA_SUFFIXES)
        if problem:
            note = f" (named in {file.named_in})" if file.named_in else ""
            read.append(Problem(problem.file, problem.line, problem.message + note))
            all_read = False
            continue
        raw = read_data_file(file.path, file.display)
        collector.add_file(raw, file)
        records += raw.records
        all_read = all_read and raw.complete
        read.append(raw)
    collector.check_output_types()
    problems: list[Problem] = []
    for item in read:
        problems += [item] if isinstance(item, Problem) else sorted(item.problems, key=lambda p: p.line or 0)
    if records < MIN_EXAMPLES and all_read:
        problems.append(
            Problem(
                task_display,
                None,
                f"the task has {records} example{'s' if records != 1 else ''}; at least {MIN_EXAMPLES} "
                "are needed (one each for train, dev and test)",
            )
        )
    # Only once every row was read: a row with a problem may hold the other output.
    if not problems and len({example.output for example in collector.examples}) == 1:
        problems.append(single_output_problem(collector, task_display))
    if problems:
        raise TaskFileError(problems)
    return collector.examples, collector.output_type()


def single_output_problem(collector: ExampleCollector, task_display: str) -> Problem:
    """A task whose examples all share one output measures nothing: always giving that output
    scores 100%, so accuracy, baselines and every comparison would be meaningless."""
    first = collector.outputs[0]
    shown = shown_output(first.text, first.type)
    count = len(collector.examples)
    return Problem(
        task_display,
        None,
        f"every one of the {count} examples has the output {shown}; a task needs at least two different "
        f"outputs, or answering {shown} every time scores 100%",
    )


@dataclass
class ExampleCollector:
    """Turns raw rows into examples, checking fields, formats, labels and id uniqueness."""

    settings: Settings
    several_files: bool
    examples: list[Example] = field(default_factory=list)
    id_lines: dict[str, tuple[str, int]] = field(default_factory=dict)
    outputs: list[OutputSeen] = field(default_factory=list)

    def add_file(self, raw: RawFile, file: DataFile) -> None:
        names = self.settings.fields
        if raw.header is not None:
            self.check_header(raw)
            if names.input not in raw.header or names.output not in raw.header:
                return
        chat_rows = [raw.header is None and "messages" in row.values for row in raw.rows]
        differing = next((n for n, is_chat in enumerate(chat_rows) if is_chat != chat_rows[0]), None)
        if differing is not None:
            raw.problem(
                raw.rows[differing].line, mixed_formats_message(chat_rows[differing], raw.rows[0].line)
            )
        for row, is_chat in zip(raw.rows, chat_rows, strict=True):
            content, errors = self.chat_content(row, raw) if is_chat else self.plain_content(row, raw)
            example = self.finish(row, raw, file, content, errors)
            if example is not None:
                self.examples.append(example)

    def check_header(self, raw: RawFile) -> None:
        """CSV/TSV: missing and unexpected columns are reported once, on the header line."""
        names = self.settings.fields
        header = raw.header or ()
        for role, required in (("input", names.input), ("output", names.output)):
            if required not in header:
                raw.problem(raw.header_line, missing_column(role, required, header))
        if not self.settings.allow_extra_fields:
            expected = (names.input, names.output, names.id)
            for column in header:
                if column not in expected and column not in EVIDENCE_FIELDS:
                    raw.problem(raw.header_line, unexpected_field(column, expected, EVIDENCE_FIELDS))

    def plain_content(self, row: RawRow, raw: RawFile) -> tuple[Content, list[str]]:
        names = self.settings.fields
        errors = self.extra_field_errors(row, (names.input, names.output, names.id), raw)
        text, input_error = text_field(row.values, names.input)
        output, output_type, output_error = output_field(row.values, names.output)
        errors += [error for error in (input_error, output_error) if error]
        (context_id, context), evidence_errors = evidence_fields(row.values)
        return Content(text, output, None, output_type, context_id, context), errors + evidence_errors

    def chat_content(self, row: RawRow, raw: RawFile) -> tuple[Content, list[str]]:
        errors = self.extra_field_errors(row, ("messages", self.settings.fields.id), raw)
        turn, chat_errors = parse_chat(row.values["messages"], self.settings.allow_extra_fields)
        if turn is None:
            return Content(), errors + chat_errors
        (context_id, context), evidence_errors = evidence_fields(row.values)
        content = Content(turn.user, turn.assistant, turn.system, "text", context_id, context)
        return content, errors + evidence_errors

    def extra_field_errors(self, row: RawRow, expected: tuple[str, ...], raw: RawFile) -> list[str]:
        """JSONL only (CSV columns are checked once, in the header): ``metadata`` is accepted
        when it is an object, and other fields are problems unless extras are allowed."""
        if raw.header is not None:
            return []
        errors = []
        if METADATA_FIELD in row.values and not isinstance(row.values[METADATA_FIELD], dict):
            errors.append(
                f'field "{METADATA_FIELD}" must be an object, got {json_type(row.values[METADATA_FIELD])}'
            )
        if not self.settings.allow_extra_fields:
            accepted = (METADATA_FIELD, *EVIDENCE_FIELDS)
            errors += [
                unexpected_field(key, expected, accepted)
                for key in row.values
                if key not in expected and key not in accepted
            ]
        return errors

    def finish(
        self, row: RawRow, raw: RawFile, file: DataFile, content: Content, errors: list[str]
    ) -> Example | None:
        """Check the id and the label, report the row's problems, or build its example."""
        example_id, id_error = self.example_id(row, raw, file)
        errors += [id_error] if id_error else []
        labels, output = self.settings.labels, content.output
        if output is not None:
            self.outputs.append(OutputSeen(output, content.output_type, raw, row.line))
        if output is not None and labels is not None and output not in labels:
            hint = did_you_mean(output, labels)
            errors.append(f'output "{output}" is not one of the labels {", ".join(labels)}{hint}')
        for error in errors:
            raw.problem(row.line, error)
        if errors or content.input is None or output is None or example_id is None:
            return None
        return Example(
            id=example_id,
            input=content.input,
            output=output,
            source=f"{file.display} line {row.line}",
            system=content.system,
            split=file.split,
            context_id=content.context_id,
            context=content.context,
        )

    def example_id(self, row: RawRow, raw: RawFile, file: DataFile) -> tuple[str | None, str | None]:
        """The row's id (given, or made from the line number) and a problem if it is unusable."""
        key = self.settings.fields.id
        if key in row.values:
            value = row.values[key]
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                return None, f'field "{key}" must be a string or an integer, got {json_type(value)}'
            example_id = str(value)
            if not example_id.strip():
                return None, f'field "{key}" is empty'
        else:
            example_id = f"{file.path.stem}:{row.line}" if self.several_files else str(row.line)
        first_file, first_line = self.id_lines.setdefault(example_id, (raw.display, row.line))
        if (first_file, first_line) != (raw.display, row.line):
            place = (
                f"on line {first_line}" if first_file == raw.display else f"in {first_file} line {first_line}"
            )
            return None, f'id "{example_id}" is already used {place}'
        return example_id, None

    def output_type(self) -> OutputType:
        """The type most outputs were written as; a tie goes to the type met first."""
        counts = Counter(seen.type for seen in self.outputs)
        return max(counts, key=counts.__getitem__) if counts else "text"

    def check_output_types(self) -> None:
        """Report every output written as another type than most: a column that mixes ``1`` and
        ``"1"`` (or ``"positive"``) is a half-converted file, and reading both as "1" would hide
        it. The rarer rows are the ones reported, since they are likely the mistakes."""
        main = self.output_type()
        reference = next((seen for seen in self.outputs if seen.type == main), None)
        if reference is None:
            return
        for seen in self.outputs:
            if seen.type == main:
                continue
            where = f"line {reference.line}"
            if reference.raw is not seen.raw:
                where = f"{reference.raw.display} {where}"
            seen.raw.problem(
                seen.line,
                f"output {shown_output(seen.text, seen.type)} is {TYPE_NAMES[seen.type]}, but {where}'s "
                f"output is {TYPE_NAMES[main]}; write every output as the same type",
            )


def evidence_fields(values: dict[str, Any]) -> tuple[tuple[str | None, str | None], list[str]]:
    """A row's ``context_id`` and ``context`` (top level first, else in ``metadata``), and what
    is wrong with them: each must be a non-empty string (an integer id is read as its text)."""
    metadata = values.get(METADATA_FIELD)
    found: list[str | None] = []
    errors: list[str] = []
    for key in EVIDENCE_FIELDS:
        value = values.get(key)
        if value is None and isinstance(metadata, dict):
            value = metadata.get(key)
        if value is None or value == "":
            found.append(None)
        elif isinstance(value, bool) or not isinstance(value, str | int):
            found.append(None)
            errors.append(f'field "{key}" must be a string, got {json_type(value)}')
        else:
            found.append(str(value))
    return (found[0], found[1]), errors


def missing_column(role: str, name: str, header: Sequence[str]) -> str:
    """A missing CSV column usually exists under another name (``text``, ``label``): say which
    columns there are and how to pick one, rather than only that ``input`` is absent."""
    columns = ", ".join(header)
    return (
        f'field "{name}" is missing (the header has {columns}; choose the {role} column with '
        f'--{role}-field or "fields:" in a task spec)'
    )


def text_field(values: dict[str, Any], key: str) -> tuple[str | None, str | None]:
    """A required non-empty string field: its value, or what is wrong with it."""
    if key not in values:
        return None, f'field "{key}" is missing'
    value = values[key]
    if not isinstance(value, str):
        return None, f'field "{key}" must be a string, got {json_type(value)}'
    if not value.strip():
        return None, f'field "{key}" is empty'
    return value, None


def output_field(values: dict[str, Any], key: str) -> tuple[str | None, OutputType, str | None]:
    """A required output: its text and the type it was written as, or what is wrong with it.

    Besides a non-empty string, a JSON number or boolean is accepted and read as its text
    (`scalar_text`), since that is how most published classification data stores labels.
    """
    value = values.get(key)
    if key not in values or isinstance(value, str):
        text, error = text_field(values, key)
        return text, "text", error
    text = scalar_text(value)
    if text is not None:
        return text, "boolean" if isinstance(value, bool) else "number", None
    if isinstance(value, float):
        return None, "number", f'field "{key}" must be a finite number, got {json.dumps(value)}'
    return None, "text", f'field "{key}" must be a string, a number or a boolean, got {json_type(value)}'


def shown_output(text: str, output_type: OutputType) -> str:
    """An output as the file writes it: a string in quotes, a number or boolean bare."""
    return f'"{text}"' if output_type == "text" else text


def mixed_formats_message(is_chat: bool, first_line: int) -> str:
    chat, plain = 'a chat example ("messages")', "a plain example (input/output)"
    this, first = (chat, plain) if is_chat else (plain, chat)
    return f"this line is {this} but line {first_line} is {first}; a file must use one format"
