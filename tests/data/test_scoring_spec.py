"""How a task says it is scored: metric names and arguments, the answer format, the judge — and
every mistake in them reported on its spec line before a model loads."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from adaptlab.data import load_task
from adaptlab.data.loader import ScoringOverrides
from adaptlab.data.scoring_spec import (
    AnswerFormat,
    JudgeSpec,
    MetricSpec,
    parse_format,
    parse_metric,
    strip_code_fence,
)
from adaptlab.errors import UsageError

Write = Callable[..., str]
ROWS = [{"input": f"def f{i}(): pass", "output": f"Return thing number {i}."} for i in range(12)]


@pytest.fixture()
def data(write: Write) -> str:
    return write("tasks/docs.jsonl", "".join(json.dumps(row) + "\n" for row in ROWS))


def spec(write: Write, *lines: str) -> str:
    return write("tasks/docs.yaml", "\n".join(["name: docs", "data: docs.jsonl", *lines]) + "\n")


def test_metric_names_and_arguments() -> None:
    assert parse_metric("chrF") == MetricSpec("chrf")
    assert parse_metric("regex:^Return .*\\.$") == MetricSpec("regex", "^Return .*\\.$")
    assert str(parse_metric("regex:a:b")) == "regex:a:b", "only the first colon separates"
    with pytest.raises(
        ValueError, match='unknown metric "chrff" \\(did you mean "chrf"\\?\\); known: accuracy'
    ):
        parse_metric("chrff")
    with pytest.raises(ValueError, match='regex needs a pattern: write "regex:PATTERN"'):
        parse_metric("regex")
    with pytest.raises(ValueError, match='the pattern "\\(unclosed" does not compile: missing \\)'):
        parse_metric("regex:(unclosed")
    with pytest.raises(ValueError, match='chrf takes no argument \\(":x"\\)'):
        parse_metric("chrf:x")


def test_a_json_schema_is_read_beside_the_spec_and_checked(write: Write) -> None:
    write("tasks/answer.schema.json", json.dumps({"type": "object", "required": ["team"]}))
    write("tasks/broken.schema.json", json.dumps({"type": "objekt"}))
    base = Path("tasks")
    checked = parse_metric("json:answer.schema.json", base=base)
    assert checked.schema == {"type": "object", "required": ["team"]}
    with pytest.raises(ValueError, match="not a valid JSON Schema: 'objekt' is not valid"):
        parse_metric("json:broken.schema.json", base=base)
    with pytest.raises(ValueError, match=re.escape("the JSON Schema file tasks/missing.json does not exist")):
        parse_metric("json:missing.json", base=base)


def test_an_answer_format_is_a_regex_or_a_schema() -> None:
    layout = parse_format({"regex": "^Issues:.*\\nRating: \\d+/10$"})
    assert layout.allows("Issues: none\nImprovements: more tests\nRating: 7/10")
    assert not layout.allows("Rating: 7/10")
    shaped = parse_format({"json_schema": {"type": "object", "required": ["team"]}})
    assert shaped.allows('```json\n{"team": "billing"}\n```')
    assert not shaped.allows('{"queue": "billing"}') and not shaped.allows("billing")
    assert parse_format("^[A-Z]") == AnswerFormat(regex="^[A-Z]")
    with pytest.raises(ValueError, match='format takes one of "regex: PATTERN" or "json_schema: FILE"'):
        parse_format({"pattern": "x"})
    assert strip_code_fence("```\n[1, 2]\n```") == "[1, 2]"


def test_the_spec_names_the_metrics_format_and_judge(write: Write, data: str) -> None:
    task = load_task(
        spec(
            write,
            "metric: rouge-l",
            "metrics: [chrf, 'regex:^Return ']",
            "format: {regex: '^[A-Z].*\\.$'}",
            "judge: {model: 'openai:grader', base_url: 'http://127.0.0.1:9/v1'}",
        )
    )
    assert task.labels is None, "a task scored by ROUGE-L has free-text outputs, not inferred labels"
    assert task.primary_metric == MetricSpec("rouge-l")
    assert task.reported_metrics == (MetricSpec("chrf"), MetricSpec("regex", "^Return "))
    assert task.answer_format == AnswerFormat(regex="^[A-Z].*\\.$")
    assert task.judge == JudgeSpec(model="openai:grader", base_url="http://127.0.0.1:9/v1")


def test_defaults_accuracy_for_labels_chrf_with_similarity_and_exact_for_free_text(
    write: Write, data: str
) -> None:
    task = load_task(spec(write))
    assert (task.primary_metric, task.reported_metrics) == (
        MetricSpec("chrf"),
        (MetricSpec("similarity"), MetricSpec("exact")),
    )
    labelled = load_task(
        write("labels.jsonl", "".join(f'{{"input": "q{i}", "output": "{"xy"[i % 2]}"}}\n' for i in range(6)))
    )
    assert (labelled.primary_metric, labelled.reported_metrics) == (MetricSpec("accuracy"), ())


def test_the_command_line_replaces_the_specs_scoring(write: Write, data: str) -> None:
    source = spec(write, "metric: rouge-l", "format: {regex: '^x'}")
    task = load_task(
        source, scoring=ScoringOverrides(metric="bleu", metrics=["exact"], answer_format="^[A-Z]")
    )
    assert (task.primary_metric, task.reported_metrics) == (MetricSpec("bleu"), (MetricSpec("exact"),))
    assert task.answer_format == AnswerFormat(regex="^[A-Z]")
    with pytest.raises(UsageError, match='--metric chrff: unknown metric "chrff" \\(did you mean "chrf"'):
        load_task(source, scoring=ScoringOverrides(metric="chrff"))


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["metric: chrff"], 'line 3: metric: unknown metric "chrff" (did you mean "chrf"?)'),
        (["metrics: [exact, 'regex:(']"], 'line 3: metrics: the pattern "(" does not compile'),
        (["format: {regex: '[a-'}"], 'line 3: format: the pattern "[a-" does not compile'),
        (["metric: 'json:nowhere.json'"], "line 3: metric: the JSON Schema file"),
        (["judge: {model: gpt-4}"], "line 3: judge.model: the judge is a model behind an OpenAI-compatible"),
    ],
)
def test_a_bad_scoring_key_is_reported_on_its_spec_line(
    write: Write, data: str, problems: Callable[..., list[str]], lines: list[str], expected: str
) -> None:
    found = problems(spec(write, *lines))
    assert any(expected in problem for problem in found), found


def test_the_judge_metric_needs_a_judge_with_an_endpoint(
    write: Write, data: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(UsageError, match=re.escape("tasks/docs.yaml: the judge metric needs a judge: add")):
        load_task(spec(write, "metric: judge"))
    with pytest.raises(
        UsageError, match=re.escape("tasks/docs.yaml: the judge openai:grader has no endpoint")
    ):
        load_task(spec(write, "metric: judge", "judge: {model: 'openai:grader'}"))
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert load_task(spec(write, "metric: judge", "judge: {model: 'openai:grader'}")).judge is not None
