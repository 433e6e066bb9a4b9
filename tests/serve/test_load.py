"""Load on `adaptlab serve`: many concurrent clients over loopback, every request answered,
every answer the one its own input should get (a batching mix-up would hand one client another
client's answer), and the server still serving afterwards.

`make test` sends a bounded 200 requests; `make reliability` sends the full 2,000. Both print
p50/p95 latency and requests/s.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from served_process import Server, serving
from served_runs import TUNED, TinyRun

from adaptlab.evaluation.metrics import percentile

CONCURRENCY = 32
BOUNDED_REQUESTS = 200
FULL_REQUESTS = 2_000
MAX_BODY_BYTES = 4_096
TASK_MODEL = "tweets/lora-4"


@dataclass
class LoadOutcome:
    latencies_s: list[float] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def summary(self, requests: int) -> str:
        p50, p95 = percentile(self.latencies_s, 50) * 1000, percentile(self.latencies_s, 95) * 1000
        return (
            f"load: {requests} requests at concurrency {CONCURRENCY}: {len(self.latencies_s)} answered,"
            f" {len(self.failures)} failed, {len(self.wrong)} wrong; p50 {p50:.1f} ms, p95 {p95:.1f} ms,"
            f" {len(self.latencies_s) / self.wall_s:.1f} requests/s"
        )


async def send_load(server: Server, cases: list[tuple[str, str]], requests: int) -> LoadOutcome:
    """`requests` chat completions of the task model, cycling through (input, expected answer)
    cases, from CONCURRENCY clients that each send their next request when the last returns."""
    outcome = LoadOutcome()
    pending = iter(range(requests))
    headers = {"Authorization": f"Bearer {server.token}"}
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)

    async def client_loop(client: httpx.AsyncClient) -> None:
        for index in pending:
            text, answer = cases[index % len(cases)]
            body = {"model": TASK_MODEL, "messages": [{"role": "user", "content": text}]}
            started = time.perf_counter()
            try:
                response = await client.post("/chat/completions", json=body)
            except httpx.HTTPError as error:
                outcome.failures.append(f"request {index}: {type(error).__name__}: {error}")
                continue
            if response.status_code != 200:
                outcome.failures.append(f"request {index}: HTTP {response.status_code} {response.text[:200]}")
                continue
            outcome.latencies_s.append(time.perf_counter() - started)
            got = response.json()["choices"][0]["message"]["content"]
            if got != answer:
                outcome.wrong.append(f"request {index}: {text!r} answered {got!r}, expected {answer!r}")

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=server.url, headers=headers, limits=limits, timeout=120) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(CONCURRENCY)))
    outcome.wall_s = time.perf_counter() - started
    return outcome


@pytest.fixture(scope="module")
def load_server(tiny_run: TinyRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The tuned rung served with a small body limit (checked after the load) and the default
    queue of 64, which 32 clients never overflow."""
    log = tmp_path_factory.mktemp("load-server") / "server.log"
    with serving(tiny_run, TUNED, log, "--max-body-bytes", str(MAX_BODY_BYTES)) as running:
        yield running


def recorded_answers(tiny_run: TinyRun) -> list[tuple[str, str]]:
    """Each test input with the answer the run recorded for it (the parsed label, else the text)."""
    predictions = tiny_run.rung(TUNED)["predictions"]
    cases = [(p["input"], p["parsed"] if p["parsed"] is not None else p["output"]) for p in predictions]
    assert len({answer for _, answer in cases}) > 1, "answers that differ make a mix-up visible"
    return cases


def check_load(server: Server, tiny_run: TinyRun, requests: int, capsys: pytest.CaptureFixture[str]) -> None:
    outcome = asyncio.run(send_load(server, recorded_answers(tiny_run), requests))
    with capsys.disabled():
        print("\n" + outcome.summary(requests))
    assert outcome.failures == []
    assert outcome.wrong == []
    assert len(outcome.latencies_s) == requests

    # Still serving, and the body limit set on the command line holds.
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
    padding = "x" * MAX_BODY_BYTES
    huge = json.dumps({"model": TASK_MODEL, "messages": [], "pad": padding}).encode()
    too_big = httpx.post(f"{server.url}/chat/completions", content=huge, headers=headers, timeout=30)
    assert too_big.status_code == 413
    assert too_big.json()["error"]["type"] == "invalid_request_error"
    assert httpx.get(f"{server.url}/models", headers=headers, timeout=30).status_code == 200


def test_concurrent_clients_all_get_their_own_answers(
    load_server: Server, tiny_run: TinyRun, capsys: pytest.CaptureFixture[str]
) -> None:
    check_load(load_server, tiny_run, BOUNDED_REQUESTS, capsys)


@pytest.mark.reliability
def test_two_thousand_requests_at_concurrency_32(
    load_server: Server, tiny_run: TinyRun, capsys: pytest.CaptureFixture[str]
) -> None:
    check_load(load_server, tiny_run, FULL_REQUESTS, capsys)
