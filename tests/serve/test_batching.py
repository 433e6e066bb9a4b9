"""The batcher on its own: grouping, draining without waiting, per-request failures, a full queue."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Hashable, Sequence
from typing import Any

import pytest

from adaptlab.serve.batching import Batcher, QueueFull


class Recorder:
    """A handler that doubles numbers, records each call, and can hold the first call."""

    def __init__(self) -> None:
        self.calls: list[tuple[Hashable, list[Any]]] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, key: Hashable, payloads: Sequence[Any]) -> list[Any]:
        self.calls.append((key, list(payloads)))
        assert self.release.wait(10)
        return [ValueError(f"bad {p}") if p < 0 else p * 2 for p in payloads]


async def until(condition: Any) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("timed out")


def test_a_lone_request_goes_straight_to_the_handler() -> None:
    async def scenario() -> None:
        handler = Recorder()
        batcher = Batcher(handler, queue_size=4, max_batch_size=4)
        await batcher.start()
        assert await batcher.submit("a", 21) == 42
        await batcher.stop()
        assert handler.calls == [("a", [21])]

    asyncio.run(scenario())


def test_requests_queued_during_a_call_are_drained_and_grouped_by_key() -> None:
    async def scenario() -> None:
        handler = Recorder()
        handler.release.clear()
        batcher = Batcher(handler, queue_size=16, max_batch_size=4)
        await batcher.start()
        first = asyncio.ensure_future(batcher.submit("a", 1))
        await until(lambda: len(handler.calls) == 1)
        keys = ["a", "b", "a", "b", "a", "c"]
        later = [asyncio.ensure_future(batcher.submit(key, n)) for n, key in enumerate(keys, start=2)]
        await until(lambda: batcher.pending == len(keys))
        handler.release.set()
        assert await first == 2
        assert await asyncio.gather(*later) == [4, 6, 8, 10, 12, 14]
        await batcher.stop()
        # At most 4 taken per round: (a, b, a, b) then (a, c); groups in order of first arrival.
        assert handler.calls == [("a", [1]), ("a", [2, 4]), ("b", [3, 5]), ("a", [6]), ("c", [7])]
        assert batcher.batches == [1, 2, 2, 1, 1]

    asyncio.run(scenario())


def test_a_failing_request_fails_alone_and_a_failing_handler_fails_its_group() -> None:
    async def scenario() -> None:
        batcher = Batcher(Recorder(), queue_size=4, max_batch_size=4)
        await batcher.start()
        with pytest.raises(ValueError, match="bad -1"):
            await batcher.submit("a", -1)
        assert await batcher.submit("a", 2) == 4
        await batcher.stop()

        def broken(key: Hashable, payloads: Sequence[Any]) -> list[Any]:
            raise RuntimeError("model crashed")

        def short(key: Hashable, payloads: Sequence[Any]) -> list[Any]:
            return []

        for handler, message in ((broken, "model crashed"), (short, "answered 0 of 1")):
            batcher = Batcher(handler, queue_size=4, max_batch_size=4)
            await batcher.start()
            with pytest.raises(RuntimeError, match=message):
                await batcher.submit("a", 1)
            await batcher.stop()

    asyncio.run(scenario())


def test_a_full_queue_refuses_at_once_and_stop_fails_what_waits() -> None:
    async def scenario() -> None:
        handler = Recorder()
        handler.release.clear()
        batcher = Batcher(handler, queue_size=1, max_batch_size=1)
        await batcher.start()
        computing = asyncio.ensure_future(batcher.submit("a", 1))
        await until(lambda: len(handler.calls) == 1)
        waiting = asyncio.ensure_future(batcher.submit("a", 2))
        await until(lambda: batcher.pending == 1)
        with pytest.raises(QueueFull):
            await batcher.submit("a", 3)
        await batcher.stop()
        with pytest.raises(RuntimeError, match="shutting down"):
            await waiting
        handler.release.set()
        computing.cancel()

    asyncio.run(scenario())


def test_sizes_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Batcher(Recorder(), queue_size=0, max_batch_size=1)
