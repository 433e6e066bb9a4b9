"""`adaptlab serve` in its own process on a free loopback port: started, awaited, stopped with
Ctrl-C (SIGINT) — which must exit cleanly — for the tests that call it over real HTTP."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from served_runs import TinyRun

STARTUP_TIMEOUT_S = 120


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    log: Path
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"adaptlab serve exited with {server.process.returncode}:\n{server.log.read_text()}")
        try:
            if httpx.get(server.url.removesuffix("/v1") + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"adaptlab serve did not come up in {STARTUP_TIMEOUT_S} s:\n{server.log.read_text()}")


@contextmanager
def serving(run: TinyRun, rung: str, log: Path, *options: str) -> Iterator[Server]:
    """`adaptlab serve RUN --rung RUNG [options]` with a token from ADAPTLAB_SERVE_TOKEN; on exit
    it checks the server stopped cleanly and never printed the token."""
    port = free_port()
    token = secrets.token_hex(16)
    command = [sys.executable, "-m", "adaptlab", "serve", run.run_id, "--rung", rung]
    command += ["--runs-dir", str(run.runs), "--port", str(port), *options]
    env = {**os.environ, "ADAPTLAB_SERVE_TOKEN": token}
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    running = Server(f"http://127.0.0.1:{port}/v1", token, log, process)
    try:
        wait_until_healthy(running)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert process.returncode == 0, log.read_text()
    output = log.read_text()
    assert "Finished server process" in output
    assert token not in output
