"""Logging that never blocks: calls append to a buffer that a background thread sends in batches."""

from __future__ import annotations

import atexit
import logging
import threading
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..errors import LabCycleError
from .transport import Transport

log = logging.getLogger(__name__)
MAX_POINTS_PER_REQUEST = 10_000


@dataclass
class _RunBuffer:
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, Any] = field(default_factory=dict)
    metrics: list[tuple[str, float, int, int]] = field(default_factory=list)  # key, value, step, ms
    cells: list[dict] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.params or self.tags or self.metrics or self.cells)


class Flusher:
    """Batches writes per run and sends them every ``interval`` seconds, or sooner when full.

    ``log_*`` only take a lock and append (a few microseconds). ``flush()`` sends
    everything now and raises the first error the server reported since the last flush,
    so a rejected value is never lost silently. Transient failures (the server restarting)
    are retried with backoff and keep the data in the buffer.
    """

    def __init__(
        self, transport: Transport, interval: float = 1.0, max_buffer: int = 20_000
    ) -> None:
        self.transport = transport
        self.interval = interval
        self.max_buffer = max_buffer
        self._buffers: dict[str, _RunBuffer] = defaultdict(_RunBuffer)
        self._pending = 0
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # one sender at a time keeps batches in order
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._errors: list[LabCycleError] = []
        self._thread = threading.Thread(target=self._loop, name="labcycle-flusher", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    # -- producers (the notebook's thread) -------------------------------------------------
    def add_metric(self, run_id: str, key: str, value: float, step: int, timestamp: int) -> None:
        with self._lock:
            self._buffers[run_id].metrics.append((key, value, step, timestamp))
            self._pending += 1
            full = self._pending >= self.max_buffer
        if full:
            self._wake.set()

    def add_params(self, run_id: str, params: dict[str, Any]) -> None:
        with self._lock:
            self._buffers[run_id].params.update(params)
            self._pending += len(params)

    def add_tags(self, run_id: str, tags: dict[str, Any]) -> None:
        with self._lock:
            self._buffers[run_id].tags.update(tags)
            self._pending += len(tags)

    def add_cell(self, run_id: str, cell: dict) -> None:
        with self._lock:
            self._buffers[run_id].cells.append(cell)
            self._pending += 1

    # -- sending --------------------------------------------------------------------------
    def _take(self, run_id: str | None = None) -> dict[str, _RunBuffer]:
        with self._lock:
            if run_id is None:
                taken, self._buffers = dict(self._buffers), defaultdict(_RunBuffer)
                self._pending = 0
            else:
                buffer = self._buffers.pop(run_id, None)
                taken = {run_id: buffer} if buffer else {}
                self._pending = sum(
                    len(b.metrics) + len(b.params) + len(b.tags) + len(b.cells)
                    for b in self._buffers.values()
                )
        return {k: v for k, v in taken.items() if v}

    def _put_back(self, run_id: str, buffer: _RunBuffer) -> None:
        with self._lock:
            current = self._buffers[run_id]
            current.metrics[:0] = buffer.metrics
            current.cells[:0] = buffer.cells
            current.params = {**buffer.params, **current.params}
            current.tags = {**buffer.tags, **current.tags}
            self._pending += len(buffer.metrics) + len(buffer.cells)

    def _send(self, run_id: str | None = None, *, retries: int = 3) -> None:
        with self._send_lock:
            for rid, buffer in self._take(run_id).items():
                for attempt in range(retries + 1):
                    try:
                        self._send_one(rid, buffer)
                        break
                    except LabCycleError as exc:  # the server refused the data: report, drop
                        self._errors.append(exc)
                        log.warning("LabCycle could not log to run %s: %s", rid, exc)
                        break
                    except Exception as exc:  # network or store trouble: keep the data, retry
                        if attempt == retries:
                            self._put_back(rid, buffer)
                            log.warning("LabCycle will retry sending to run %s: %s", rid, exc)
                        else:
                            time.sleep(0.2 * 2**attempt)

    def _send_one(self, run_id: str, buffer: _RunBuffer) -> None:
        metrics = buffer.metrics
        first = metrics[:MAX_POINTS_PER_REQUEST]
        if buffer.params or buffer.tags or first:
            self.transport.log_batch(
                run_id,
                params=buffer.params or None,
                metrics=first or None,
                tags=buffer.tags or None,
            )
            buffer.params, buffer.tags = {}, {}
        for start in range(MAX_POINTS_PER_REQUEST, len(metrics), MAX_POINTS_PER_REQUEST):
            self.transport.log_batch(
                run_id, metrics=metrics[start : start + MAX_POINTS_PER_REQUEST]
            )
        buffer.metrics = []
        if buffer.cells:
            self.transport.log_cells(run_id, buffer.cells)
            buffer.cells = []

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self._send()
            except Exception:  # never let the thread die
                log.exception("LabCycle background flush failed")

    def flush(self, run_id: str | None = None) -> None:
        """Send what is buffered (for one run or all) and raise the first refusal, if any."""
        self._send(run_id)
        if self._errors:
            errors, self._errors = self._errors, []
            raise errors[0]

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake.set()
        try:
            self.flush()
        except LabCycleError as exc:
            warnings.warn(f"LabCycle: some logged values were refused: {exc}", stacklevel=1)
