"""`adaptlab serve` for real: a uvicorn server in its own process, called over HTTP by the
openai Python client and by `adaptlab eval --model openai:...`, with no test doubles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from served_process import Server, serving
from served_runs import TUNED, TinyRun
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.data import load_task
from adaptlab.prompting import get_strategy


@pytest.fixture(scope="module")
def server(tiny_run: TinyRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`adaptlab serve RUN --rung lora-4` on a free loopback port, with a token from the
    environment."""
    with serving(tiny_run, TUNED, tmp_path_factory.mktemp("server") / "server.log") as running:
        yield running


def expected(prediction: dict) -> str:
    return prediction["parsed"] if prediction["parsed"] is not None else prediction["output"]


def test_the_openai_client_gets_the_runs_answers(server: Server, tiny_run: TinyRun) -> None:
    client = openai.OpenAI(base_url=server.url, api_key=server.token, max_retries=0)
    task_model, plain_model = "tweets/lora-4", "tiny-model0+lora-4"
    assert [model.id for model in client.models.list()] == [task_model, plain_model]
    started = server.log.read_text()
    assert task_model in started and plain_model in started and "$ADAPTLAB_SERVE_TOKEN" in started

    rung = tiny_run.rung(TUNED)
    for prediction in rung["predictions"]:
        messages = [{"role": "user", "content": prediction["input"]}]
        answer = client.chat.completions.create(model=task_model, messages=messages)  # type: ignore[arg-type]
        assert answer.choices[0].message.content == expected(prediction)
        assert answer.usage is not None and answer.usage.prompt_tokens == prediction["prompt_tokens"]

    first = rung["predictions"][0]
    stream = client.chat.completions.create(
        model=task_model,
        messages=[{"role": "user", "content": first["input"]}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == expected(first)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == first["output_tokens"]

    # The plain model, asked with the rung's own prompt and budget, writes the recorded text.
    task = load_task(tiny_run.task_file)
    example = next(e for e in task.examples if e.id == first["example_id"])
    conversation = get_strategy("zero-shot").render(example, task)
    budget = rung["strategy"]["max_new_tokens"]
    plain = client.chat.completions.create(model=plain_model, messages=conversation, max_tokens=budget)  # type: ignore[arg-type]
    assert plain.choices[0].message.content == first["output"]

    scored = client.chat.completions.create(
        model=plain_model,
        messages=conversation,
        max_tokens=1,
        logprobs=True,
        top_logprobs=5,  # type: ignore[arg-type]
    )
    assert scored.choices[0].logprobs is not None and scored.choices[0].logprobs.content is not None
    top = scored.choices[0].logprobs.content[0].top_logprobs
    assert len(top) == 5 and top[0].logprob >= top[-1].logprob

    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server.url, api_key="wrong", max_retries=0).models.list()
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=task_model, messages=[{"role": "user", "content": "hi"}], n=2)


def test_adaptlab_eval_through_the_plain_model_matches_the_local_run(
    server: Server, tiny_run: TinyRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`adaptlab eval --model openai:<plain model>` against the server gives, example for
    example, the text, parse and token counts the run recorded with the local weights."""
    monkeypatch.setenv("SERVE_TOKEN", server.token)
    out = tmp_path / "runs"
    args = ["eval", str(tiny_run.task_file), "--model", "openai:tiny-model0+lora-4", "--base-url", server.url]
    args += ["--api-key-env", "SERVE_TOKEN", "--consistency-sample", "0", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (run_dir,) = [path for path in out.iterdir() if path.is_dir() and path.name[0].isdigit()]
    (served,) = json.loads((run_dir / "results.json").read_text())["rungs"]

    def answers(rung: dict) -> dict[str, tuple]:
        fields = ("output", "parsed", "prompt_tokens", "output_tokens")
        return {p["example_id"]: tuple(p[f] for f in fields) for p in rung["predictions"]}

    assert served["metrics"]["errors"] == 0
    assert answers(served) == answers(tiny_run.rung(TUNED))
