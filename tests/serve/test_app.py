"""The HTTP API in-process (FastAPI's TestClient) around the tiny model: the two models, auth,
limits, error shapes, streaming, /tokenize, and batching of concurrent requests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adaptlab.data import Example
from adaptlab.evaluation import evaluate
from adaptlab.evaluation.engine import Request
from adaptlab.models.base import Generation
from adaptlab.serve.app import create_app
from adaptlab.serve.rung import ServedRung
from adaptlab.serve.settings import ServeSettings

TOKEN = "s3cret-token-for-tests"


@pytest.fixture()
def client(tiny_served: ServedRung) -> Iterator[TestClient]:
    with TestClient(create_app(tiny_served)) as test_client:
        yield test_client


def ask(served: ServedRung, text: str, **fields: Any) -> dict[str, Any]:
    return {"model": served.task_model_id, "messages": [{"role": "user", "content": text}], **fields}


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"]
    return body["error"]


def sse_payloads(text: str) -> list[Any]:
    """The data of every server-sent event, JSON-decoded except the final [DONE]."""
    events = [block for block in text.split("\n\n") if block]
    assert all(block.startswith("data: ") for block in events)
    data = [block.removeprefix("data: ") for block in events]
    assert data[-1] == "[DONE]"
    return [json.loads(item) for item in data[:-1]]


def test_models_are_the_task_model_and_the_plain_model(client: TestClient, tiny_served: ServedRung) -> None:
    listed = client.get("/v1/models").json()
    assert listed["object"] == "list"
    assert [model["id"] for model in listed["data"]] == ["tweets/zero-shot", "tiny"]
    assert all(model["object"] == "model" and model["max_model_len"] == 2048 for model in listed["data"])
    assert client.get("/v1/models/tweets/zero-shot").json()["id"] == "tweets/zero-shot"
    assert error_of(client.get("/v1/models/gpt-9"))["code"] == "model_not_found"
    assert client.get("/health").json() == {"status": "ok"}


def test_the_task_model_answers_a_bare_input_as_the_rung_did(
    client: TestClient, tiny_served: ServedRung
) -> None:
    examples = tiny_served.task.examples[:4]
    measured = evaluate(
        tiny_served.task, examples, tiny_served.backend, tiny_served.strategy, max_new_tokens=4
    )
    for example, prediction in zip(examples, measured.predictions, strict=True):
        body = client.post("/v1/chat/completions", json=ask(tiny_served, example.input)).json()
        (choice,) = body["choices"]
        expected = prediction.parsed if prediction.parsed is not None else prediction.output
        assert choice["message"] == {"role": "assistant", "content": expected, "refusal": None}
        assert body["object"] == "chat.completion" and body["model"] == "tweets/zero-shot"
        assert body["usage"]["prompt_tokens"] == prediction.prompt_tokens
        assert body["usage"]["completion_tokens"] == prediction.output_tokens
        assert body["usage"]["total_tokens"] == prediction.prompt_tokens + prediction.output_tokens
        # The tiny model writes newlines until the budget runs out.
        assert choice["finish_reason"] == "length"
    # A smaller max_tokens lowers the rung's own budget.
    body = client.post("/v1/chat/completions", json=ask(tiny_served, "lost my bag", max_tokens=2)).json()
    assert body["usage"]["completion_tokens"] == 2


def test_the_plain_model_takes_messages_as_they_are(client: TestClient, tiny_served: ServedRung) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "what time is boarding"},
    ]
    (expected,) = tiny_served.backend.generate([messages], max_new_tokens=5)  # type: ignore[list-item]
    body = client.post(
        "/v1/chat/completions", json={"model": "tiny", "messages": messages, "max_tokens": 5}
    ).json()
    assert body["choices"][0]["message"]["content"] == expected.text
    assert body["usage"]["prompt_tokens"] == expected.prompt_tokens
    assert body["choices"][0]["finish_reason"] == ("stop" if expected.stopped else "length")
    # Content in OpenAI's list-of-parts form and a developer message mean the same.
    parts = [
        {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
        {
            "role": "user",
            "content": [{"type": "text", "text": "what time is "}, {"type": "text", "text": "boarding"}],
        },
    ]
    again = client.post(
        "/v1/chat/completions", json={"model": "tiny", "messages": parts, "max_tokens": 5}
    ).json()
    assert again["choices"][0]["message"]["content"] == expected.text


def test_logprobs_of_the_first_token_in_openais_shape(client: TestClient, tiny_served: ServedRung) -> None:
    messages = [{"role": "user", "content": "lost my bag"}]
    request = {"model": "tiny", "messages": messages, "max_tokens": 1, "logprobs": True, "top_logprobs": 20}
    body = client.post("/v1/chat/completions", json=request).json()
    (first,) = body["choices"][0]["logprobs"]["content"]
    top = first["top_logprobs"]
    assert len(top) == 20
    values = [entry["logprob"] for entry in top]
    assert values == sorted(values, reverse=True) and all(v <= 0 for v in values)
    assert (first["token"], first["logprob"]) == (top[0]["token"], top[0]["logprob"])
    assert all(entry["bytes"] == list(entry["token"].encode()) for entry in top)
    (expected,) = tiny_served.backend.next_token_logprobs([messages], 20)
    assert [(e["token"], e["logprob"]) for e in top] == [(t, pytest.approx(v, abs=1e-5)) for t, v in expected]
    # Greedy decoding writes the most likely token.
    assert body["choices"][0]["message"]["content"] == top[0]["token"].strip()
    without = client.post(
        "/v1/chat/completions", json={"model": "tiny", "messages": messages, "max_tokens": 1}
    )
    assert without.json()["choices"][0]["logprobs"] is None


def test_streaming_sends_the_same_answer_in_chunks(client: TestClient, tiny_served: ServedRung) -> None:
    messages = [{"role": "user", "content": "the crew was lovely"}]
    plain = {"model": "tiny", "messages": messages, "max_tokens": 12}
    whole = client.post("/v1/chat/completions", json=plain).json()
    response = client.post("/v1/chat/completions", json={**plain, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = sse_payloads(response.text)
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "length"}
    content = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks)
    assert content == whole["choices"][0]["message"]["content"]

    with_usage = client.post(
        "/v1/chat/completions", json={**plain, "stream": True, "stream_options": {"include_usage": True}}
    )
    last = sse_payloads(with_usage.text)[-1]
    assert last["choices"] == [] and last["usage"] == whole["usage"]


def bad_requests(served: ServedRung) -> list[tuple[str, Any, int, str | None]]:
    """(what, body, status, param) of requests a server must refuse with an OpenAI error."""
    good = ask(served, "lost my bag")
    return [
        ("malformed JSON", b'{"model": "tiny", "messages": [', 400, None),
        ("not an object", b"[1, 2]", 400, None),
        ("no messages", {"model": "tiny"}, 400, "messages"),
        ("empty messages", {"model": "tiny", "messages": []}, 400, "messages"),
        (
            "a tool message",
            {"model": "tiny", "messages": [{"role": "tool", "content": "x"}]},
            400,
            "messages.0.role",
        ),
        ("unknown model", {**good, "model": "gpt-9"}, 404, "model"),
        ("several choices", {**good, "n": 2}, 400, "n"),
        ("stop sequences", {**good, "stop": ["\n"]}, 400, "stop"),
        ("huge max_tokens", {**good, "max_tokens": 100_000}, 400, "max_tokens"),
        ("huge max_completion_tokens", {**good, "max_completion_tokens": 513}, 400, "max_completion_tokens"),
        ("zero max_tokens", {**good, "max_tokens": 0}, 400, "max_tokens"),
        (
            "too many top_logprobs",
            {**good, "model": "tiny", "logprobs": True, "top_logprobs": 21},
            400,
            "top_logprobs",
        ),
        ("task-model logprobs", {**good, "logprobs": True}, 400, "logprobs"),
        ("two task inputs", {**good, "messages": good["messages"] * 2}, 400, "messages"),
        (
            "a task input from the assistant",
            {**good, "messages": [{"role": "assistant", "content": "x"}]},
            400,
            "messages",
        ),
        ("huge body", {**good, "messages": [{"role": "user", "content": "x" * (1 << 20)}]}, 413, None),
    ]


def test_bad_requests_get_openai_errors_and_the_server_keeps_serving(
    client: TestClient, tiny_served: ServedRung
) -> None:
    for what, body, status, param in bad_requests(tiny_served):
        if isinstance(body, bytes):
            response = client.post("/v1/chat/completions", content=body)
        else:
            response = client.post("/v1/chat/completions", json=body)
        assert response.status_code == status, what
        error = error_of(response)
        assert error["param"] == param, what
        assert error["type"] == "invalid_request_error", what
    assert error_of(client.get("/v1/nothing-here"))["code"] == "unknown_url"
    assert client.get("/v1/chat/completions").status_code == 405
    response = client.post("/v1/chat/completions", json=ask(tiny_served, "lost my bag"))
    assert response.status_code == 200


def test_a_body_over_the_limit_is_refused_without_a_content_length(tiny_served: ServedRung) -> None:
    settings = ServeSettings(max_body_bytes=1000)

    def chunks() -> Iterator[bytes]:
        yield b'{"model": "tiny", "messages": [{"role": "user", "content": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}]}'

    with TestClient(create_app(tiny_served, settings)) as client:
        response = client.post("/v1/chat/completions", content=chunks())
        assert response.status_code == 413
        assert error_of(response)["code"] == "request_too_large"


def test_a_prompt_longer_than_the_context_is_a_400(client: TestClient, tiny_served: ServedRung) -> None:
    response = client.post("/v1/chat/completions", json=ask(tiny_served, "lost my bag " * 1200))
    assert response.status_code == 400
    assert error_of(response)["code"] == "context_length_exceeded"


def test_a_token_guards_everything_but_health(tiny_served: ServedRung) -> None:
    with TestClient(create_app(tiny_served, ServeSettings(token=TOKEN))) as client:
        assert client.get("/health").status_code == 200
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
            for response in (
                client.get("/v1/models", headers=headers),
                client.post("/v1/chat/completions", json=ask(tiny_served, "hi"), headers=headers),
                client.post("/tokenize", json={"model": "tiny", "prompt": "hi"}, headers=headers),
            ):
                assert response.status_code == 401
                assert error_of(response)["type"] == "authentication_error"
                assert response.headers["www-authenticate"] == "Bearer"
                assert TOKEN not in response.text
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert client.get("/v1/models", headers=good).status_code == 200
        assert (
            client.post("/v1/chat/completions", json=ask(tiny_served, "hi"), headers=good).status_code == 200
        )
    assert TOKEN not in repr(ServeSettings(token=TOKEN))


def test_tokenize_counts_with_the_served_tokenizer(client: TestClient, tiny_served: ServedRung) -> None:
    tokenizer = tiny_served.backend.tokenizer
    body = client.post("/tokenize", json={"model": "tiny", "prompt": "the crew was lovely"}).json()
    assert body["tokens"] == tokenizer("the crew was lovely")["input_ids"]
    assert body["count"] == len(body["tokens"]) and body["max_model_len"] == 2048
    bare = client.post(
        "/tokenize", json={"model": "tweets/zero-shot", "prompt": "hi", "add_special_tokens": False}
    )
    assert bare.json()["count"] == tiny_served.backend.count_tokens("hi")
    assert client.post("/tokenize", json={"model": "gpt-9", "prompt": "hi"}).status_code == 404
    assert client.post("/tokenize", json={"model": "tiny"}).status_code == 400


def gated_generate(served: ServedRung, monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], threading.Event]:
    """Make the backend hold every generate call until the returned event is set; the list
    records each call's number of conversations."""
    calls: list[int] = []
    gate = threading.Event()
    original = served.backend.generate

    def generate(conversations: Any, **options: Any) -> Any:
        calls.append(len(conversations))
        assert gate.wait(30)
        return original(conversations, **options)

    monkeypatch.setattr(served.backend, "generate", generate)
    return calls, gate


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_concurrent_requests_share_model_calls(
    tiny_served: ServedRung, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first request goes straight to the model; the seven that arrive while it computes
    are answered together by one more call, with the answers they would get alone."""
    inputs = [example.input for example in tiny_served.task.examples[:8]]
    with TestClient(create_app(tiny_served)) as client:
        alone = [client.post("/v1/chat/completions", json=ask(tiny_served, text)).json() for text in inputs]
        calls, gate = gated_generate(tiny_served, monkeypatch)
        batcher = client.app.state.batcher  # type: ignore[attr-defined]
        with ThreadPoolExecutor(len(inputs)) as pool:
            first = pool.submit(client.post, "/v1/chat/completions", json=ask(tiny_served, inputs[0]))
            wait_for(lambda: calls == [1])
            rest = [
                pool.submit(client.post, "/v1/chat/completions", json=ask(tiny_served, t)) for t in inputs[1:]
            ]
            wait_for(lambda: batcher.pending == len(inputs) - 1)
            gate.set()
            together = [first.result().json(), *(future.result().json() for future in rest)]
    assert calls == [1, len(inputs) - 1]
    assert [a["choices"][0]["message"] for a in together] == [a["choices"][0]["message"] for a in alone]


def test_a_full_queue_answers_503_at_once(tiny_served: ServedRung, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ServeSettings(queue_size=1, max_batch_size=1)
    with TestClient(create_app(tiny_served, settings)) as client:
        calls, gate = gated_generate(tiny_served, monkeypatch)
        batcher = client.app.state.batcher  # type: ignore[attr-defined]
        with ThreadPoolExecutor(2) as pool:
            computing = pool.submit(client.post, "/v1/chat/completions", json=ask(tiny_served, "one"))
            wait_for(lambda: calls == [1])
            waiting = pool.submit(client.post, "/v1/chat/completions", json=ask(tiny_served, "two"))
            wait_for(lambda: batcher.pending == 1)
            refused = client.post("/v1/chat/completions", json=ask(tiny_served, "three"))
            assert refused.status_code == 503
            assert error_of(refused)["code"] == "server_busy"
            assert refused.headers["retry-after"] == "1"
            gate.set()
            assert computing.result().status_code == waiting.result().status_code == 200
        assert client.post("/v1/chat/completions", json=ask(tiny_served, "four")).status_code == 200


def test_a_failing_model_call_is_a_500_and_the_server_recovers(
    tiny_served: ServedRung, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = tiny_served.backend.generate
    failures = iter([RuntimeError("out of memory")])

    def generate(conversations: Any, **options: Any) -> Any:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return original(conversations, **options)

    monkeypatch.setattr(tiny_served.backend, "generate", generate)
    with TestClient(create_app(tiny_served), raise_server_exceptions=False) as client:
        failed = client.post("/v1/chat/completions", json=ask(tiny_served, "lost my bag"))
        assert failed.status_code == 500
        assert error_of(failed)["type"] == "server_error"
        assert client.post("/v1/chat/completions", json=ask(tiny_served, "lost my bag")).status_code == 200


def test_the_task_model_returns_the_parsed_answer_else_the_raw_text(
    client: TestClient, tiny_served: ServedRung, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chatty answer that names one label comes back as that label; one naming none comes
    back as written, so a client can see what the model said."""
    replies = iter(["The sentiment is Negative.", "I cannot tell."])

    def generate(conversations: Any, *, max_new_tokens: int, **options: Any) -> list[Generation]:
        return [Generation(next(replies), 10, 5, 0.0, stopped=True) for _ in conversations]

    monkeypatch.setattr(tiny_served.backend, "generate", generate)
    for content in ("negative", "I cannot tell."):
        body = client.post("/v1/chat/completions", json=ask(tiny_served, "lost my bag")).json()
        assert body["choices"][0]["message"]["content"] == content
        assert body["choices"][0]["finish_reason"] == "stop"


def test_a_system_message_is_the_inputs_system_prompt(client: TestClient, tiny_served: ServedRung) -> None:
    """Chat-format tasks carry a system prompt per example: the task model takes it from a
    leading system message, as the task file would."""
    system = "You label airline tweets."
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "lost my bag"}]
    body = client.post(
        "/v1/chat/completions", json={"model": "tweets/zero-shot", "messages": messages}
    ).json()
    example = Example(id="", input="lost my bag", output="", system=system)
    (prompt,) = tiny_served.backend.encode_prompts([tiny_served.strategy.render(example, tiny_served.task)])
    assert body["usage"]["prompt_tokens"] == len(prompt)
    bare = client.post("/v1/chat/completions", json=ask(tiny_served, "lost my bag")).json()
    assert bare["usage"]["prompt_tokens"] < len(prompt)


def test_stop_strings_reach_the_plain_model_and_the_task_model_keeps_its_rungs(
    tiny_served: ServedRung, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client's `stop` (a string or a list) ends the plain model's answer; the task model ends
    its answers with the rung's recorded request's stop, as the run did."""
    asked_stop: list[tuple[str, ...]] = []

    def generate(conversations: Any, *, max_new_tokens: int, stop: Any = (), **options: Any) -> Any:
        asked_stop.append(tuple(stop))
        return [Generation("first line", 10, 3, 0.0, stopped=bool(stop)) for _ in conversations]

    one_line = replace(tiny_served, request=Request("generate", max_new_tokens=4, stop=("\n",)))
    monkeypatch.setattr(one_line.backend, "generate", generate)
    messages = [{"role": "user", "content": "what time is boarding"}]
    with TestClient(create_app(one_line)) as client:
        for stop in ("\n", ["\n", "###"], None):
            body = client.post(
                "/v1/chat/completions", json={"model": "tiny", "messages": messages, "stop": stop}
            ).json()
            assert body["choices"][0]["finish_reason"] == ("stop" if stop else "length")
        assert client.post("/v1/chat/completions", json=ask(one_line, "lost my bag")).status_code == 200
    assert asked_stop == [("\n",), ("\n", "###"), (), ("\n",)]
