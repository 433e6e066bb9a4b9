"""Batch concurrent requests into one model call, without making anyone wait for a batch.

One model answers every request, and a batch costs less than its requests one by one (far
less on a GPU), so requests that arrive together should be answered together. The usual way — wait
a few milliseconds for more requests — taxes every request at low load. Here nothing waits:
one worker takes the first pending request and whatever else is *already* queued behind it
(up to `max_batch_size`), groups them by what they ask (model, answer mode, token budget),
and answers each group with one backend call in the batcher's own thread (torch releases the
GIL, so the event loop keeps accepting requests meanwhile; always the same thread, so torch
keeps one pool of compute threads instead of one per calling thread). Requests that arrive
during a call queue up and form the next batch: at concurrency 1 every request goes straight
to the model, and under load the batches grow by themselves.

The queue is bounded: past `queue_size` pending requests a new one is refused at once
(`QueueFull`, a 503 for the client) instead of waiting behind a queue it would time out in.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[[Hashable, Sequence[Any]], Sequence[Any]]
"""Answers one group: (group key, payloads) -> one result per payload, in order. A result that
is an exception fails that request alone."""


class QueueFull(Exception):
    """More requests are pending than the queue holds."""


@dataclass
class _Job:
    key: Hashable
    payload: Any
    future: asyncio.Future[Any] = field(repr=False)


class Batcher:
    """A bounded queue of requests and the one worker that answers them in groups.

    >>> batcher = Batcher(lambda key, payloads: [p * 2 for p in payloads], queue_size=64, max_batch_size=32)
    >>> await batcher.start(); await batcher.submit("double", 21)
    42
    """

    def __init__(self, handler: Handler, *, queue_size: int, max_batch_size: int) -> None:
        if queue_size < 1 or max_batch_size < 1:
            raise ValueError("queue_size and max_batch_size must be at least 1")
        self.handler = handler
        self.queue_size = queue_size
        self.max_batch_size = max_batch_size
        self._queue: asyncio.Queue[_Job] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._thread: ThreadPoolExecutor | None = None
        self.batches: list[int] = []
        """Size of every group handed to the handler, in order (tests and benchmarks read it)."""

    @property
    def pending(self) -> int:
        """Requests queued and not yet taken by the worker."""
        return self._queue.qsize() if self._queue is not None else 0

    async def start(self) -> None:
        """Start the worker on the running event loop (the app's lifespan calls this)."""
        self._queue = asyncio.Queue(maxsize=self.queue_size)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adaptlab-serve-model")
        self._worker = asyncio.create_task(self._run(), name="adaptlab-serve-batcher")

    async def stop(self) -> None:
        """Stop the worker; requests still queued fail instead of hanging."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._thread is not None:
            self._thread.shutdown(wait=False, cancel_futures=True)
            self._thread = None
        while self._queue is not None and not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(RuntimeError("the server is shutting down"))

    async def submit(self, key: Hashable, payload: Any) -> Any:
        """Queue one request and wait for its result; `QueueFull` at once when the queue is full."""
        if self._queue is None:
            raise RuntimeError("Batcher.start() must run before requests are submitted")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Job(key, payload, future))
        except asyncio.QueueFull:
            raise QueueFull from None
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            jobs = [await self._queue.get()]
            while len(jobs) < self.max_batch_size and not self._queue.empty():
                jobs.append(self._queue.get_nowait())
            for group in _groups(job for job in jobs if not job.future.done()):
                await self._answer(group)

    async def _answer(self, group: list[_Job]) -> None:
        self.batches.append(len(group))
        try:
            payloads = [job.payload for job in group]
            loop = asyncio.get_running_loop()
            results = await loop.run_in_executor(self._thread, self.handler, group[0].key, payloads)
            if len(results) != len(group):
                raise RuntimeError(f"the handler answered {len(results)} of {len(group)} requests")
        except Exception as error:  # the handler failed as a whole: every request in it fails
            results = [error] * len(group)
        for job, result in zip(group, results, strict=True):
            if job.future.done():  # the client went away while it was being answered
                continue
            if isinstance(result, BaseException):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)


def _groups(jobs: Any) -> list[list[_Job]]:
    """Jobs grouped by key, groups in order of their first job, jobs in arrival order."""
    groups: dict[Hashable, list[_Job]] = {}
    for job in jobs:
        groups.setdefault(job.key, []).append(job)
    return list(groups.values())
