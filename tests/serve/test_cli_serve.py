"""`adaptlab serve` on the command line: refusals before anything loads, and the startup message."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.serve.rung import ServedRung
from adaptlab.serve.server import startup_message

runner = CliRunner()


def test_serve_help_has_examples() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "adaptlab serve 20261128-101500-3fa9c1" in result.output
    assert "--token-env" in result.output and "--max-tokens-limit" in result.output


def test_serve_refuses_to_expose_itself_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADAPTLAB_SERVE_TOKEN", raising=False)
    result = runner.invoke(app, ["serve", "any-run", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "no token is set" in result.output


def test_serve_refuses_a_named_token_variable_that_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_TOKEN", raising=False)
    result = runner.invoke(app, ["serve", "any-run", "--token-env", "NO_SUCH_TOKEN"])
    assert result.exit_code == 2
    assert "NO_SUCH_TOKEN is not set" in result.output


def test_serve_names_an_unknown_run(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "no-such-run", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert 'no run "no-such-run"' in result.output


def test_the_startup_message_shows_how_to_call_without_showing_the_token(tiny_served: ServedRung) -> None:
    served = ServedRung(**{**vars(tiny_served), "sample_input": "it's 'late' again"})
    message = startup_message(served, "127.0.0.1", 8123, "$MY_TOKEN")
    assert "http://127.0.0.1:8123/v1" in message
    assert "tweets/zero-shot" in message and "tiny" in message
    curl = message.split("try it:\n")[1].split("\n  OpenAI(")[0].replace("\\\n", " ")
    words = shlex.split(curl)
    assert words[words.index("-H", 3) + 1] == "Authorization: Bearer $MY_TOKEN"
    body = json.loads(words[words.index("-d") + 1])
    assert body == {
        "model": "tweets/zero-shot",
        "messages": [{"role": "user", "content": "it's 'late' again"}],
    }
    assert 'api_key=os.environ["MY_TOKEN"]' in message
    assert "none (this machine only)" in startup_message(served, "127.0.0.1", 8123, None)
    assert "<token>" in startup_message(served, "::1", 8123, "--token")
    assert "http://[::1]:8123/v1" in startup_message(served, "::1", 8123, "--token")
