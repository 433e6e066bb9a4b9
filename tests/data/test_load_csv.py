"""Loading CSV and TSV files: quoting, physical line numbers, headers and row widths."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adaptlab.data import load_task

Write = Callable[..., str]
Problems = Callable[..., list[str]]

EXTRA_HINT = "pass allow_extra_fields / --allow-extra-fields to ignore extra fields"


def test_csv_with_quoted_newlines_keeps_physical_line_numbers(write: Write) -> None:
    name = write(
        "train.csv",
        'id,input,output\nr1,"first line\nsecond line",pos\nr2,"a, b ""quoted""",neg\n\nr3,plain,pos\n',
    )
    task = load_task(name)
    assert [(e.id, e.input, e.source) for e in task.examples] == [
        ("r1", "first line\nsecond line", "train.csv line 2"),
        ("r2", 'a, b "quoted"', "train.csv line 4"),
        ("r3", "plain", "train.csv line 6"),
    ]


def test_tsv_with_bom_crlf_and_mapped_columns(write: Write) -> None:
    name = write("t.tsv", "\ufefftext\tlabel\r\nhello there\tyes\r\nbye\tno\r\nhi\tyes\r\n".encode())
    task = load_task(name, input_field="text", output_field="label")
    assert [(e.id, e.input, e.output) for e in task.examples] == [
        ("2", "hello there", "yes"),
        ("3", "bye", "no"),
        ("4", "hi", "yes"),
    ]


def test_header_problems_are_on_the_header_line(write: Write, problems: Problems) -> None:
    name = write("train.csv", "\n\ninput,label\na,b\nc,d\ne,f\n")
    assert problems(name) == [
        'train.csv line 3: field "output" is missing (the header has input, label; choose the output '
        'column with --output-field or "fields:" in a task spec)',
        f'train.csv line 3: unexpected field "label" (expected input, output, id; {EXTRA_HINT})',
    ]


def test_header_only_file(write: Write, problems: Problems) -> None:
    assert problems(write("train.csv", "input,output\n")) == ["train.csv: the file has a header but no rows"]


def test_empty_csv(write: Write, problems: Problems) -> None:
    assert problems(write("train.csv", "\n\n")) == ["train.csv: the file is empty"]


def test_rows_of_the_wrong_width(write: Write, problems: Problems) -> None:
    name = write("train.csv", "input,output\na,b\na,b,c\nonly\na,b\n")
    assert problems(name) == [
        "train.csv line 3: the row has 3 fields but the header has 2",
        "train.csv line 4: the row has 1 fields but the header has 2",
    ]


def test_extra_and_missing_columns_are_reported_once_on_the_header(write: Write, problems: Problems) -> None:
    name = write("train.csv", "input,ouput,notes\na,b,c\nd,e,f\ng,h,i\n")
    assert problems(name) == [
        'train.csv line 1: field "output" is missing (the header has input, ouput, notes; choose the '
        'output column with --output-field or "fields:" in a task spec)',
        'train.csv line 1: unexpected field "ouput" (did you mean "output"?) '
        f"(expected input, output, id; {EXTRA_HINT})",
        f'train.csv line 1: unexpected field "notes" (expected input, output, id; {EXTRA_HINT})',
    ]


def test_extra_columns_are_ignored_when_allowed(write: Write) -> None:
    task = load_task(write("t.csv", "input,output,notes\na,x,1\nb,x,2\nc,y,3\n"), allow_extra_fields=True)
    assert [e.input for e in task.examples] == ["a", "b", "c"]


def test_empty_cells_and_duplicate_ids(write: Write, problems: Problems) -> None:
    name = write("train.csv", "id,input,output\n1,a,x\n2, ,x\n1,c,x\n3,d,\n")
    assert problems(name) == [
        'train.csv line 3: field "input" is empty',
        'train.csv line 4: id "1" is already used on line 2',
        'train.csv line 5: field "output" is empty',
    ]


def test_duplicate_header_names(write: Write, problems: Problems) -> None:
    name = write("train.csv", "input,output,input\na,b,c\nd,e,f\ng,h,i\n")
    assert problems(name) == ['train.csv line 1: column "input" appears more than once in the header']


def test_non_utf8_in_a_csv_names_line_and_column(write: Write, problems: Problems) -> None:
    name = write("train.csv", b'input,output\na,b\n"multi\nline caf\xe9",b\nc,d\ne,f\n')
    assert problems(name) == [
        "train.csv line 4: not valid UTF-8 (byte 0xe9 at column 9); save the file as UTF-8"
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            'input,output\na,b\n"never closed,b\nc,d\n',
            "train.csv line 3: invalid CSV: a quoted field that starts in this row is never closed; "
            "rows after this one were not read",
        ),
        (
            'input,output\na,b\n"quoted"tail,b\nc,d\n',
            "train.csv line 3: invalid CSV: ',' expected after '\"'; rows after this one were not read",
        ),
    ],
)
def test_broken_quoting(write: Write, problems: Problems, content: str, expected: str) -> None:
    assert problems(write("train.csv", content)) == [expected]


def test_other_column_names_are_mapped_with_field_options(write: Write, problems: Problems) -> None:
    name = write("reviews.csv", "text,label\ngood,pos\nbad,neg\nfine,pos\n")
    assert problems(name)[0] == (
        'reviews.csv line 1: field "input" is missing (the header has text, label; choose the input '
        'column with --input-field or "fields:" in a task spec)'
    )
    task = load_task(name, input_field="text", output_field="label")
    assert [(e.input, e.output) for e in task.examples] == [("good", "pos"), ("bad", "neg"), ("fine", "pos")]
