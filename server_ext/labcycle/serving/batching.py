"""Adaptive micro-batching: concurrent requests for one model version share one ``predict``.

Requests append themselves to a queue; one drainer task per model version takes whatever
is queued (up to ``max_batch_rows``), builds a single DataFrame and calls the model once,
in a dedicated thread so that the event loop keeps reading and parsing the next requests
meanwhile. While a batch is being predicted the next one fills up by itself, so under load
batches grow without any waiting; an idle server dispatches a lone request at once (no
latency added at concurrency 1). ``max_wait_us`` only applies when other requests are
known to be mid-parse: the drainer then waits up to that long for them to join.

A request that is *alone* (no other request is being read, queued or predicted: the
``alone`` callable) is predicted on the event loop itself, skipping the hand-off to the
prediction thread and back (two thread wake-ups, which cost from tens of microseconds on an
idle machine to milliseconds on a busy one). Nothing else could use the loop meanwhile, and
a request arriving during that predict is read as soon as it ends.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Pending:
    columns: dict[str, np.ndarray]
    rows: int
    request_id: str
    started: float  # perf_counter at arrival
    future: asyncio.Future = field(repr=False)
    capture: bool = True  # False: left out of the prediction log (X-LabCycle-Capture: off)


class Batcher:
    """Queue + drainer for one model version. ``run_batch(items) -> list[result]`` runs in
    ``executor``; each item's future gets its own result (or the batch's exception)."""

    def __init__(
        self,
        run_batch: Callable[[list[Pending]], list[Any]],
        executor: Executor | None,
        *,
        enabled: bool = True,
        max_batch_rows: int = 256,
        max_wait_us: int = 2000,
        gauge: Callable[[], int] | None = None,
        alone: Callable[[], bool] | None = None,
    ) -> None:
        self.run_batch = run_batch
        self.executor = executor
        self.enabled = enabled
        self.max_batch_rows = max(1, int(max_batch_rows))
        self.max_wait = max(0, int(max_wait_us)) / 1e6
        self.gauge = gauge or (lambda: 0)  # requests being read/parsed right now
        self.alone = alone or (lambda: False)  # no other request in the server right now
        self.inline_batches = 0
        self.queue: collections.deque[Pending] = collections.deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self.batches = 0
        self.requests = 0

    async def submit(
        self,
        columns: dict[str, np.ndarray],
        rows: int,
        request_id: str,
        started: float,
        capture: bool = True,
    ) -> Any:
        loop = asyncio.get_running_loop()
        item = Pending(columns, rows, request_id, started, loop.create_future(), capture)
        if not self.enabled:
            self.batches += 1
            self.requests += 1
            if self.executor is None or self.alone():
                return self.run_batch([item])[0]
            return (await loop.run_in_executor(self.executor, self.run_batch, [item]))[0]
        self.queue.append(item)
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._drain())
        assert self._wake is not None
        self._wake.set()
        return await item.future

    def _take(self) -> list[Pending]:
        batch: list[Pending] = []
        rows = 0
        while self.queue:
            nxt = self.queue[0]
            if batch and rows + nxt.rows > self.max_batch_rows:
                break
            batch.append(self.queue.popleft())
            rows += nxt.rows
        return batch

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.queue:
                if self.max_wait and self.gauge() > 0:
                    # Requests are mid-parse: give them up to max_wait to join this batch.
                    deadline = time.perf_counter() + self.max_wait
                    while (
                        self.gauge() > 0
                        and time.perf_counter() < deadline
                        and sum(p.rows for p in self.queue) < self.max_batch_rows
                    ):
                        await asyncio.sleep(0)
                if self.executor is None:
                    await asyncio.sleep(0)  # inline: let requests already read join first
                batch = self._take()
                self.batches += 1
                self.requests += len(batch)
                try:
                    if self.executor is None:  # inline: no thread hop, no GIL hand-offs
                        results = self.run_batch(batch)
                    elif len(batch) == 1 and not self.queue and self.alone():
                        self.inline_batches += 1  # alone: no thread hop either
                        results = self.run_batch(batch)
                    else:
                        results = await loop.run_in_executor(self.executor, self.run_batch, batch)
                except BaseException as exc:  # handed to every waiting request
                    for item in batch:
                        if not item.future.done():
                            item.future.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    continue
                for item, result in zip(batch, results, strict=False):
                    if not item.future.done():
                        item.future.set_result(result)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


def concat_columns(items: list[Pending], names: list[str]) -> dict[str, np.ndarray]:
    """One array per column for the whole batch (no copy for a batch of one)."""
    if len(items) == 1:
        return items[0].columns
    return {name: np.concatenate([it.columns[name] for it in items]) for name in names}
