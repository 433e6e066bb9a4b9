"""A small OpenAI-compatible server on 127.0.0.1 for the endpoint backend's tests.

It is a raw asyncio HTTP/1.1 server (keep-alive, Content-Length bodies) rather than an ASGI
app, because the faults worth testing live below HTTP: a connection dropped mid-request, a
reply slower than the client's timeout. Answers are deterministic: the server finds which of
its known inputs the last user message contains and answers that input's label.

Faults are configured per server: `faults` are played, in order, on the first attempts of every
distinct request (``"429"`` with ``Retry-After: 0``, ``"500"``, ``"400"``, ``"400-invalid"``
— OpenAI's body for a ``max_tokens`` too large —, ``"drop"``, ``"slow"``), and inputs in
`permanent` always get a 500 whose body quotes the request's ``Authorization`` header (as a
careless server might: the client must not repeat it). The
server counts attempts per distinct request body and the most requests it ever had in flight,
and logs the last user message and the body of every chat request, so tests can check what
the client did. A request's ``stop`` strings cut its answer as OpenAI does.
`top_logprobs` sets, per known input, the first token's alternatives a logprobs request gets
(a judge's spread over grades); without an entry they are derived from the answers.
`refuses` makes it a reasoning model (o1/o3/gpt-5 style, `REASONING_MODEL`): it refuses those
parameters with OpenAI's 400 bodies, counted in `refusals`. `reasoning_tokens` has it think that
many tokens before each answer, inside the token budget as OpenAI's models do (a budget they
fill leaves the answer empty), reported inside ``usage.completion_tokens`` as OpenAI counts them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

REASONING_MODEL = ("max_tokens", "temperature", "logprobs")
"""What OpenAI's reasoning models refuse of what adaptlab sends by default."""
STATUS_TEXT = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests", 500: "Server Error"}


@dataclass
class FakeOpenAIServer:
    """Configuration, then statistics, of one fake server (see the module docstring)."""

    answers: dict[str, str]
    """Known input text -> the answer given when the last user message contains it."""
    faults: list[str] = field(default_factory=list)
    permanent: set[str] = field(default_factory=set)
    logprobs: str = "ok"
    """``ok``: top_logprobs as asked; ``omit``: replies carry none; ``reject``: 400 when asked."""
    usage: bool = True
    tokenize: bool = True
    """Serve ``POST /tokenize`` at the server root (as vLLM does), not under /v1."""
    delay_s: float = 0.0
    slow_s: float = 3.0
    top_logprobs: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    """Known input text -> the (token, logprob) alternatives sent when logprobs are asked."""
    refuses: tuple[str, ...] = ()
    """Request fields refused with an OpenAI-style 400 when sent (temperature: unless it is 1)."""
    reasoning_tokens: int = 0

    attempts: Counter[str] = field(default_factory=Counter)
    """Requests seen per distinct body (sha256 of it)."""
    paths: Counter[str] = field(default_factory=Counter)
    authorization: set[str] = field(default_factory=set)
    """Every Authorization header value received."""
    logprob_requests: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    """The 400s sent for each parameter in `refuses`."""
    asked: list[str] = field(default_factory=list)
    """The last user message of every chat-completions request, in the order they came."""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    """Every chat-completions request body, in the order they came."""
    in_flight: int = 0
    max_in_flight: int = 0
    port: int = 0
    dropped: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- HTTP ----------------------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self.one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the server is shutting down
        finally:
            writer.close()

    async def one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection is to be closed."""
        request_line = await reader.readline()
        if not request_line.strip():
            return False
        method, target, _ = request_line.decode().split(" ", 2)
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.paths[f"{method} {target}"] += 1
        if "authorization" in headers:
            self.authorization.add(headers["authorization"])
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply = await self.reply(target, body, headers.get("authorization", ""))
        finally:
            self.in_flight -= 1
        if reply is None:
            self.dropped += 1
            return False
        status, payload, extra = reply
        data = json.dumps(payload).encode()
        head = [f"HTTP/1.1 {status} {STATUS_TEXT.get(status, 'Status')}", "Content-Type: application/json"]
        head += [f"{name}: {value}" for name, value in extra.items()]
        head += [f"Content-Length: {len(data)}", "Connection: keep-alive", "", ""]
        writer.write("\r\n".join(head).encode() + data)
        await writer.drain()
        return True

    async def reply(
        self, target: str, body: bytes, authorization: str
    ) -> tuple[int, Any, dict[str, str]] | None:
        """Status, JSON payload and extra headers; None to drop the connection unanswered."""
        if target == "/tokenize" and self.tokenize:
            prompt = json.loads(body)["prompt"]
            return 200, {"count": len(prompt.split()), "tokens": list(range(len(prompt.split())))}, {}
        if target != "/v1/chat/completions":
            return 404, {"detail": "Not Found"}, {}
        key = hashlib.sha256(body).hexdigest()
        self.attempts[key] += 1
        request = json.loads(body)
        self.logprob_requests += bool(request.get("logprobs"))
        self.asked.append(self.last_user(request))
        self.bodies.append(request)
        fault = self.faults[self.attempts[key] - 1] if self.attempts[key] <= len(self.faults) else None
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if fault == "drop":
            return None
        if fault == "slow":
            await asyncio.sleep(self.slow_s)
        if fault == "429":
            return 429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"}
        if fault == "400":
            return 400, {"error": {"message": "bad request"}}, {}
        if fault == "400-invalid":
            return 400, self.error("max_tokens is too large: 100000.", "max_tokens", "invalid_value"), {}
        if fault == "500":
            return 500, {"error": {"message": "the model crashed"}}, {}
        if any(text in self.last_user(request) for text in self.permanent):
            return 500, {"error": {"message": f"the model crashed on a request with {authorization}"}}, {}
        if refused := self.refused(request):
            self.refusals[refused["error"]["param"]] += 1
            return 400, refused, {}
        if request.get("logprobs") and self.logprobs == "reject":
            return 400, {"error": {"message": "logprobs are not supported"}}, {}
        return 200, self.completion(request), {}

    @staticmethod
    def error(message: str, param: str, code: str) -> dict[str, Any]:
        return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}

    def refused(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """OpenAI's 400 body for the first field of `refuses` the request sends, else None."""
        for param in self.refuses:
            if param not in request or (param == "temperature" and request[param] == 1):
                continue
            if param == "temperature":
                message = (
                    f"Unsupported value: 'temperature' does not support {request[param]} with this model."
                    " Only the default (1) value is supported."
                )
                return self.error(message, param, "unsupported_value")
            message = f"Unsupported parameter: '{param}' is not supported with this model."
            if param == "max_tokens":
                message += " Use 'max_completion_tokens' instead."
            return self.error(message, param, "unsupported_parameter")
        return None

    # -- answers -------------------------------------------------------------------------------

    @staticmethod
    def last_user(request: dict[str, Any]) -> str:
        return next(m["content"] for m in reversed(request["messages"]) if m["role"] == "user")

    def answer(self, request: dict[str, Any]) -> str:
        answer = self.known(self.answers, request)
        return "I cannot tell." if answer is None else answer

    def known(self, table: dict[str, Any], request: dict[str, Any]) -> Any:
        """`table`'s entry for the longest of its keys the last user message contains, or None."""
        message = self.last_user(request)
        keys = [text for text in table if text in message]
        return table[max(keys, key=len)] if keys else None

    def completion(self, request: dict[str, Any]) -> dict[str, Any]:
        answer = self.answer(request)
        stop = request.get("stop") or []
        ends = [answer.find(s) for s in ([stop] if isinstance(stop, str) else stop) if s in answer]
        answer = answer[: min(ends)] if ends else answer  # as OpenAI: the stop string is left out
        words = answer.split()
        unlimited = len(words) + self.reasoning_tokens
        limit = request.get("max_completion_tokens", request.get("max_tokens", unlimited))
        reasoning = min(self.reasoning_tokens, limit)
        text = " ".join(words[: limit - reasoning])
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop" if text == answer else "length",
        }
        if request.get("logprobs") and self.logprobs == "ok":
            top = self.known(self.top_logprobs, request)
            if top is None:
                others = sorted({label for label in self.answers.values() if label != answer})
                top = [(answer, -0.1)] + [
                    (" " + label[:3].capitalize(), -3.0 - i) for i, label in enumerate(others)
                ]
            top = top[: request.get("top_logprobs", 0)]
            choice["logprobs"] = {
                "content": [
                    {
                        "token": answer,
                        "logprob": -0.1,
                        "top_logprobs": [{"token": t, "logprob": lp, "bytes": None} for t, lp in top],
                    }
                ]
            }
        payload: dict[str, Any] = {"id": "fake", "object": "chat.completion", "choices": [choice]}
        if self.usage:
            prompt_tokens = sum(len(m["content"].split()) for m in request["messages"])
            completion_tokens = len(text.split()) + reasoning
            payload["usage"] = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
            if self.reasoning_tokens:
                payload["usage"]["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        return payload


@contextmanager
def serve(server: FakeOpenAIServer) -> Iterator[FakeOpenAIServer]:
    """Run `server` on a free port of 127.0.0.1 in a background thread for the block."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, asyncio.AbstractServer] = {}

    async def start() -> None:
        holder["server"] = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        server.port = holder["server"].sockets[0].getsockname()[1]
        started.set()

    thread = threading.Thread(
        target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True
    )
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the fake OpenAI server did not start")
    try:
        yield server
    finally:

        async def stop() -> None:
            holder["server"].close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
