"""`adaptlab eval`, `run` and `tune` with ``--model openai:NAME`` against a fake server on
127.0.0.1: what the run records, what a re-run asks again, what the ladder skips, and that the
API key appears nowhere it could leak."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.data import load_task, split_task
from adaptlab.models.openai.parameters import SAMPLED
from fake_openai_server import REASONING_MODEL, FakeOpenAIServer, serve
from sample_tasks import SENTIMENT_EXAMPLES, write_sentiment_task

runner = CliRunner()
SECRET = "sk-e2e-9f8e7d6c5b4a"


def flat(text: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture
def task_file(tmp_path: Path) -> Path:
    return write_sentiment_task(tmp_path / "tweets.jsonl", repeat=2)


@pytest.fixture
def server(task_file: Path) -> Iterator[FakeOpenAIServer]:
    with serve(FakeOpenAIServer(dict(SENTIMENT_EXAMPLES))) as running:
        yield running


def test_eval_run_and_tune_through_an_endpoint(
    task_file: Path,
    server: FakeOpenAIServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    test_inputs = [e.input for e in split_task(load_task(str(task_file))).test]
    failing, wrong = test_inputs[0], next(text for text in test_inputs if text != test_inputs[0])
    server.permanent = {failing}
    server.answers[wrong] = "I cannot tell."
    failed = test_inputs.count(failing)
    out = tmp_path / "runs"
    endpoint = ["--model", "openai:fake", "--base-url", server.base_url, "--out", str(out)]
    command = [
        "eval",
        str(task_file),
        *endpoint,
        "-s",
        "zero-shot,label-scoring",
        "--consistency-sample",
        "0",
        "--robustness-sample",
        "0",
    ]

    result = runner.invoke(app, [*command, "--max-retries", "1"])
    assert result.exit_code == 0, result.output
    s = "s" if failed > 1 else ""
    printed = flat(result.output)
    assert f"{failed} request{s} failed after retries; rerun the same command to retry only those" in printed
    assert "label-scoring: labels scored by first-token top_logprobs" in printed
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["schema_version"] == 6
    model = results["model"]
    assert (model["backend"], model["model_id"], model["base_url"]) == (
        "openai",
        "openai:fake",
        server.base_url,
    )
    assert (model["label_scoring"], model["token_counts"], model["api_key_env"]) == (
        "first-token top_logprobs",
        "server",
        "OPENAI_API_KEY",
    )
    for rung in results["rungs"]:
        assert rung["metrics"]["errors"] == failed and rung["metrics"]["n"] == len(test_inputs)
        errored = [p for p in rung["predictions"] if p["error"]]
        assert [p["input"] for p in errored] == [failing] * failed
        assert errored[0]["error"].startswith("HTTP 500 after 2 attempts")
        assert errored[0]["output"] == "" and not errored[0]["correct"] and not errored[0]["compliant"]
    assert results["rungs"][1]["strategy"]["scoring"] == "first-token top_logprobs"
    lines = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert sum(1 for line in lines if line["error"]) == 2 * failed
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert (config["model"], config["base_url"], config["api_key_env"]) == (
        "openai:fake",
        server.base_url,
        "OPENAI_API_KEY",
    )
    assert (config["concurrency"], config["request_timeout_s"], config["max_retries"]) == (8, 60.0, 1)
    report = (run_dir / "report.html").read_text()
    assert "Failed requests" in report and "labels scored by first-token top_logprobs" in report
    with sqlite3.connect(out / "adaptlab.db") as db:
        stored = db.execute("SELECT COUNT(*) FROM predictions WHERE error LIKE 'HTTP 500%'").fetchone()[0]
    assert stored == 2 * failed

    # The same command again, the server mended: only the failed requests reach it.
    server.permanent = set()
    before = sum(server.attempts.values())
    again = runner.invoke(app, [*command, "--max-retries", "1"])
    assert again.exit_code == 0, again.output
    # Examples with the same input share one prompt: one request per rung asks them all again.
    assert sum(server.attempts.values()) - before == 2
    assert "failed after retries" not in again.output

    # The whole ladder: prompt rungs only, fine-tuning skipped with the reason, priced by the table.
    costs = tmp_path / "costs.yaml"
    costs.write_text('prices:\n  "openai:fake": {input_usd_per_million: 0.5, output_usd_per_million: 1.5}\n')
    ladder = runner.invoke(
        app,
        [
            "run",
            str(task_file),
            *endpoint,
            "-s",
            "zero-shot",
            "--consistency-sample",
            "0",
            "--costs",
            str(costs),
        ],
    )
    assert ladder.exit_code == 0, ladder.output
    reason = (
        "openai:fake is served by an OpenAI-compatible endpoint: fine-tuning needs the model's weights"
        " on this machine (a bundled model, a Hugging Face directory or a .gguf file)"
    )
    assert f"skipping fine-tuning: {reason}" in flat(ladder.output)
    (run_results,) = [
        r for p in out.glob("*/results.json") if (r := json.loads(p.read_text()))["command"] == "run"
    ]
    assert {"phase": "fine-tuning", "reason": reason} in run_results["skipped"]
    decision = run_results["decision"]
    assert decision["recommendation"] == "prompt" and any(reason in r for r in decision["reasons"])
    assert decision["costs"]["rungs"]["zero-shot"]["priced_by"] == "price-table"

    # Fine-tuning an endpoint model is refused before anything is written.
    tune_out = tmp_path / "tune-runs"
    tuned = runner.invoke(app, ["tune", str(task_file), *endpoint[:4], "--out", str(tune_out)])
    assert tuned.exit_code == 2
    assert f"adaptlab: {reason}; `adaptlab eval` and `adaptlab run` measure its prompt rungs" in flat(
        tuned.output
    )
    assert not tune_out.exists()

    # The key went out as a bearer token, and was written down nowhere.
    assert server.authorization == {f"Bearer {SECRET}"}
    for path in [*out.rglob("*"), *tmp_path.rglob("*.yaml")]:
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    for output in (result.output, again.output, ladder.output, tuned.output, caplog.text):
        assert SECRET not in output


def test_eval_through_a_reasoning_model_records_what_it_was_sent(
    task_file: Path, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """A server that refuses max_tokens, temperature 0 and logprobs, as OpenAI's reasoning
    models do: each refusal is met once, and the run records how the model was asked and
    counts its reasoning as output."""
    server.refuses, server.reasoning_tokens = REASONING_MODEL, 2
    out = tmp_path / "runs"
    command = ["eval", str(task_file), "--model", "openai:reasoner", "--base-url", server.base_url]
    strategies = ["-s", "zero-shot,label-scoring", "--consistency-sample", "0", "--robustness-sample", "0"]
    result = runner.invoke(app, [*command, *strategies, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert server.refusals == {"max_tokens": 1, "temperature": 1, "logprobs": 1}

    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    results = json.loads((run_dir / "results.json").read_text())
    model = results["model"]
    assert model["decoding"] == SAMPLED
    assert model["request_parameters"]["max_tokens_field"] == "max_completion_tokens"
    assert model["request_parameters"]["omitted"] == ["temperature"]
    assert [reason.split(":")[0] for reason in model["request_parameters"]["learned_from"]] == [
        "HTTP 400 for max_tokens",
        "HTTP 400 for temperature",
    ]
    answered = len(server.bodies) - sum(server.refusals.values())
    assert model["reasoning_tokens"] == 2 * answered and model["cut_short_by_reasoning"] == 0
    zero_shot, label_scoring = results["rungs"]
    assert zero_shot["strategy"]["decoding"] == SAMPLED
    assert label_scoring["strategy"]["scoring"] == "generation (the server rejected logprobs: HTTP 400)"
    for rung in results["rungs"]:
        assert rung["metrics"]["errors"] == 0 and rung["metrics"]["score"] == 1.0
        # Each answer is one word; the two reasoning tokens before it are output too.
        assert {p["output_tokens"] for p in rung["predictions"]} == {3}
        assert rung["metrics"]["output_tokens_mean"] == 3
    report = " ".join((run_dir / "report.html").read_text().split())
    assert "the token budget went out as <code>max_completion_tokens</code>" in report


def test_endpoint_mistakes_are_refused_with_a_reason_and_nothing_written(
    task_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    out = tmp_path / "runs"
    cases = [
        (["eval", str(task_file), "--model", "openai:fake"], "openai:fake needs the server's address"),
        (
            ["eval", str(task_file), "--model", "openai:fake", "--base-url", "localhost:8000"],
            '--base-url "localhost:8000" is not an http(s) URL',
        ),
        (
            [
                "eval",
                str(task_file),
                "--model",
                "openai:fake",
                "--base-url",
                "http://h/v1",
                "--api-key-env",
                SECRET,
            ],
            "--api-key-env takes the name of the environment variable that holds the key",
        ),
        (
            ["eval", str(task_file), "--base-url", "http://h/v1"],
            "--base-url is for models behind an endpoint (--model openai:NAME)",
        ),
        (["validate", str(task_file), "--model", "openai:fake"], "openai:fake is served by an endpoint"),
    ]
    for args, message in cases:
        result = runner.invoke(app, [*args, "--out", str(out)] if args[0] == "eval" else args)
        assert result.exit_code == 2, result.output
        assert f"adaptlab: {message}" in flat(result.output)
        assert SECRET not in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_help_shows_an_endpoint_example() -> None:
    result = runner.invoke(app, ["eval", "--help"])
    assert result.exit_code == 0
    printed = flat(result.output).replace(" \\ ", " ")  # an example continued on the next line
    example = "adaptlab eval tweet-sentiment --model openai:Qwen/Qwen2.5-7B-Instruct --base-url http://localhost:8000/v1"
    assert example in printed
    assert "--concurrency" in printed and "--max-retries" in printed and "--request-timeout" in printed
