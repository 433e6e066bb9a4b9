"""Serving latency: `adaptlab serve` over HTTP vs calling the same rung in-process.

A rung is served by a real ``adaptlab serve`` process (uvicorn) and asked through its task
model by real HTTP clients (httpx, one connection per client). The floor it is measured
against is the same rung answering the same requests in this process, one at a time, through
the very code the server's worker runs (`answer_group`).

* **1 client**: the same requests are sent in blocks, in-process and over HTTP in turn, three
  times, and each side keeps its best block (the lowest p50): this machine is small and shared,
  and a block that ran beside someone else's job says nothing about either side. Blocks, not
  alternating requests, because two processes' thread pools interleaved on two cores slow
  each other. The server's overhead is its p50 over the in-process p50, minus one: HTTP, JSON,
  the queue and the hop to the worker thread.
* **4 and 16 clients**: concurrent clients, each sending its share one request after another;
  the server answers requests that arrive together with one model call, so its throughput
  should rise above the one-at-a-time floor while each request waits longer.

Both sides are warmed up first with requests not measured, and each concurrency level with a
pass of its own: the first calls of a process, and the first batch of each new shape, are
several times slower (lazy imports, allocator growth, kernels prepared per shape), and a
measured prompt must not be one the backend's prefix memo has already seen.

By default a zero-shot rung of the bundled model (smollm2-135m on tweet-sentiment) is made with a
quick ``adaptlab eval`` in a temporary folder; ``--run ID --runs-dir DIR [--rung NAME]`` serves
an existing run instead, and ``--tiny`` uses a tiny random model to check the harness quickly
(its figures say little: its requests take milliseconds, so HTTP dominates).

Run: ``python benchmarks/serve_latency.py [--requests 24] [--concurrency 1,4,16] [--tiny]``.
The last line gives the setup and ``overhead=<server p50 / in-process p50 - 1 at 1 client>``.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import httpx
import torch
from transformers.utils import logging as hf_logging

from adaptlab.configs import EvalConfig
from adaptlab.runs import find_results, load_results, run_eval
from adaptlab.serve.answering import GroupKey, TaskInput, answer_group
from adaptlab.serve.rung import ServedRung, load_served_rung

STARTUP_TIMEOUT_S = 300
WARM_UP_REQUESTS = 8
BLOCKS = 3


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(latencies: list[float], wall_s: float) -> str:
    return (
        f"p50 {percentile(latencies, 50) * 1000:7.1f} ms  p95 {percentile(latencies, 95) * 1000:7.1f} ms"
        f"  {len(latencies) / wall_s:6.2f} requests/s"
    )


def make_run(directory: Path, tiny: bool, examples: int) -> str:
    """A zero-shot eval run on the bundled task, in `directory`/runs; returns its id."""
    model = "smollm2-135m"
    if tiny:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from tiny_model import build_tiny_model

        model = str(build_tiny_model(directory / "tiny-model"))
    config = EvalConfig(
        task="tweet-sentiment", model=model, strategies=["zero-shot"], limit=examples, consistency_sample=0
    )
    return run_eval(config, out_dir=directory / "runs").run_id


def recorded_inputs(run_id: str, runs_dir: Path, rung: str) -> list[str]:
    """The inputs the run evaluated the rung on, in its order."""
    results = load_results(find_results(run_id, runs_dir))
    return [p["input"] for r in results["rungs"] if r["rung"] == rung for p in r["predictions"]]


def warm_up_inputs(inputs: list[str]) -> list[str]:
    """Inputs like the measured ones (same lengths, give or take a token) but not equal to any."""
    return [f"({index}) {text}" for index, text in enumerate(inputs[:WARM_UP_REQUESTS])]


class InProcess:
    """The served rung answering one request at a time in this process."""

    def __init__(self, served: ServedRung) -> None:
        self.served = served
        budget = served.request.max_new_tokens if served.request.mode == "generate" else 0
        self.key = GroupKey("task", budget)

    def ask(self, text: str) -> float:
        started = time.perf_counter()
        (reply,) = answer_group(self.served, self.key, [TaskInput(text)])
        assert not isinstance(reply, Exception), reply
        return time.perf_counter() - started


class Server:
    """An ``adaptlab serve`` process on a free loopback port, and a client connection to it."""

    def __init__(self, run_id: str, runs_dir: Path, rung: str, log: Path) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "adaptlab", "serve", run_id, "--rung", rung]
        command += ["--runs-dir", str(runs_dir), "--port", str(self.port)]
        env = {key: value for key, value in os.environ.items() if key != "ADAPTLAB_SERVE_TOKEN"}
        with log.open("wb") as sink:
            self.process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
        self.log = log
        self.root = f"http://127.0.0.1:{self.port}"
        self.wait_until_healthy()
        self.http = httpx.Client(timeout=600)
        self.model = self.http.get(f"{self.root}/v1/models").json()["data"][0]["id"]

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"adaptlab serve exited:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.root}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.process.kill()
        raise SystemExit(f"adaptlab serve did not start in {STARTUP_TIMEOUT_S} s:\n{self.log.read_text()}")

    def body(self, text: str) -> dict[str, object]:
        return {"model": self.model, "messages": [{"role": "user", "content": text}]}

    def ask(self, text: str, http: httpx.Client | None = None) -> float:
        """One request's send-to-last-byte time."""
        started = time.perf_counter()
        response = (http or self.http).post(f"{self.root}/v1/chat/completions", json=self.body(text))
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        return elapsed

    def concurrently(self, inputs: list[str], clients: int) -> tuple[list[float], float]:
        """`clients` clients, each with its own connection, taking the next input in turn."""
        pending = list(reversed(inputs))
        latencies: list[float] = []

        def client() -> None:
            with httpx.Client(timeout=600) as http:
                while pending:
                    latencies.append(self.ask(pending.pop(), http))

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            for future in [pool.submit(client) for _ in range(clients)]:
                future.result()
        return latencies, time.perf_counter() - started

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(timeout=60)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def block(ask: Callable[[str], float], texts: list[str]) -> tuple[list[float], float]:
    """Latencies of `texts` asked one after another, and the block's wall time."""
    started = time.perf_counter()
    latencies = [ask(text) for text in texts]
    return latencies, time.perf_counter() - started


def best_blocks(
    local: InProcess, server: Server, inputs: list[str]
) -> tuple[tuple[list[float], float], tuple[list[float], float]]:
    """Each side's block with the lowest p50 over `BLOCKS` rounds. Each round marks its inputs
    (``[round] text``), so no prompt is one the prefix memo has seen; both sides get the same."""
    local_blocks, served_blocks = [], []
    for round_ in range(BLOCKS):
        texts = [f"[{round_}] {text}" for text in inputs]
        local_blocks.append(block(local.ask, texts))
        served_blocks.append(block(server.ask, texts))
    best = (
        min(local_blocks, key=lambda b: percentile(b[0], 50)),
        min(served_blocks, key=lambda b: percentile(b[0], 50)),
    )
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=int, default=24, help="requests per concurrency level (default 24)"
    )
    parser.add_argument("--concurrency", default="1,4,16", help="concurrent clients, comma-separated")
    parser.add_argument("--run", help="serve this run instead of making a zero-shot eval run")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"), help="runs directory of --run")
    parser.add_argument("--rung", help="rung of --run to serve [default: its recommended rung]")
    parser.add_argument("--tiny", action="store_true", help="a tiny random model: checks the harness only")
    args = parser.parse_args()
    hf_logging.set_verbosity_error()
    warnings.filterwarnings("ignore")
    levels = [int(part) for part in args.concurrency.split(",")]
    if levels[0] != 1:
        parser.error("--concurrency must start with 1: the overhead is measured there")

    with tempfile.TemporaryDirectory(prefix="serve-latency-") as scratch:
        directory = Path(scratch)
        run_id, runs_dir = args.run, args.runs_dir
        if run_id is None:
            run_id, runs_dir = make_run(directory, args.tiny, args.requests), directory / "runs"
        local = InProcess(load_served_rung(run_id, runs_dir, args.rung))
        rung = local.served.rung
        inputs = recorded_inputs(run_id, runs_dir, rung)[: args.requests]
        server = Server(run_id, runs_dir, rung, directory / "server.log")
        try:
            for text in warm_up_inputs(inputs):
                local.ask(text)
                server.ask(text)
            print(f"== {server.model} of run {run_id}: {len(inputs)} requests per level")
            (local_s, local_wall), (served_s, served_wall) = best_blocks(local, server, inputs)
            print(f"in-process, one at a time: {summary(local_s, local_wall)}  (best of {BLOCKS} blocks)")
            print(
                f"adaptlab serve, {'1 client:':11}{summary(served_s, served_wall)}  (best of {BLOCKS} blocks)"
            )
            for clients in levels[1:]:
                server.concurrently([f"(warm-up {clients}) {text}" for text in inputs[:clients]], clients)
                latencies, wall = server.concurrently(inputs, clients)
                label = f"{clients} clients:"
                print(f"adaptlab serve, {label:11}{summary(latencies, wall)}")
        finally:
            server.stop()

    overhead = percentile(served_s, 50) / percentile(local_s, 50) - 1
    load = "/".join(f"{value:.1f}" for value in os.getloadavg())
    machine = f"{platform.machine()} {os.cpu_count()} cpu (load {load}), torch {torch.__version__}"
    print(
        f"setup: {server.model} task model over HTTP vs in-process, {len(inputs)} requests x"
        f" {args.concurrency} clients, {machine}, threads {torch.get_num_threads()} overhead={overhead:.3f}"
    )


if __name__ == "__main__":
    main()
