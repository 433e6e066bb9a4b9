"""``context_id`` / ``context``: the passage (or text) that holds an example's answer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from adaptlab.data import load_task

Write = Callable[..., str]
Problems = Callable[..., list[str]]


def test_read_at_the_top_level_or_in_metadata(write_jsonl: Write) -> None:
    name = write_jsonl(
        "qa.jsonl",
        [
            {"input": "q1", "output": "a", "context_id": "doc-1"},
            {"input": "q2", "output": "b", "metadata": {"context_id": 7, "context": "B is b."}},
            {"input": "q3", "output": "a"},
        ],
    )
    examples = load_task(name).examples
    assert [(e.context_id, e.context, e.evidence) for e in examples] == [
        ("doc-1", None, "doc-1"),
        ("7", "B is b.", "7"),
        (None, None, None),
    ]


def test_a_csv_may_have_evidence_columns(write: Write) -> None:
    name = write("qa.csv", "input,output,context\nq1,a,A is a.\nq2,b,\nq3,a,A is a.\n")
    assert [e.context for e in load_task(name).examples] == ["A is a.", None, "A is a."]


def test_evidence_that_is_not_text_is_reported_on_its_line(write_jsonl: Write, problems: Problems) -> None:
    name = write_jsonl(
        "qa.jsonl",
        [
            {"input": "q1", "output": "a"},
            {"input": "q2", "output": "b", "context_id": ["x"]},
            {"input": "q3", "output": "a"},
        ],
    )
    assert problems(name) == ['qa.jsonl line 2: field "context_id" must be a string, got array']


def test_a_spec_corpus_is_resolved_next_to_the_spec_and_must_exist(
    write: Write, write_jsonl: Write, problems: Problems, tmp_path: Path
) -> None:
    write_jsonl(
        "qa.jsonl",
        [{"input": "q", "output": "a"}, {"input": "r", "output": "b"}, {"input": "s", "output": "a"}],
    )
    write("docs/a.md", "A is a.")
    spec = write("task.yaml", "data: qa.jsonl\ncorpus: docs\n")
    assert Path(str(load_task(spec).corpus)).resolve() == (Path(spec).parent / "docs").resolve()
    missing = write("bad.yaml", "data: qa.jsonl\ncorpus: nowhere\n")
    [problem] = problems(missing)
    assert problem.startswith('bad.yaml line 2: corpus: no such file or folder "nowhere"')
