"""Metric points accepted now and written in batches: the server side of "logging never blocks".

MLflow's ``log_metric`` is one HTTP request per point. Writing each in its own transaction
costs more than the request itself, so the MLflow endpoint hands validated points to a
:class:`MetricBuffer`: a background thread writes them every ``interval`` seconds through
:meth:`TrackingService.log_batch` (one transaction and one audit event per run and batch),
and whoever reads a run first calls :meth:`MetricBuffer.flush`, so every read through the
endpoint sees every point accepted before it. A hard crash of the server loses at most the
last ``interval`` of points, the bound LabCycle's own client has (DESIGN.md: metric logging).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Any

log = logging.getLogger(__name__)

Point = tuple[str, float, int, int]  # key, value, step, timestamp (what log_batch takes)


class MetricBuffer:
    """Points per (run, actor), flushed by a daemon thread and on demand."""

    def __init__(self, tracking: Any, interval: float = 0.2, max_points: int = 50_000) -> None:
        self.tracking = tracking
        self.interval = interval
        self.max_points = max_points
        self._pending: dict[tuple[str, str], list[Point]] = defaultdict(list)
        self._count = 0
        self._lock = threading.Lock()  # guards _pending; held only to append or swap
        self._flushing = threading.RLock()  # one flush at a time: a reader waits for it
        self._wake = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(
            target=self._loop, name="labcycle-mlflow-metrics", daemon=True
        )
        self._thread.start()

    def add(self, run_id: str, actor: str, point: Point) -> None:
        with self._lock:
            self._pending[(run_id, actor)].append(point)
            self._count += 1
            full = self._count >= self.max_points
        if full:
            self._wake.set()

    def flush(self, run_id: str | None = None) -> None:
        """Write what is pending (of ``run_id`` only, if given) before returning."""
        with self._flushing:
            with self._lock:
                if run_id is None:
                    batches, self._pending = self._pending, defaultdict(list)
                    self._count = 0
                else:
                    batches = {
                        k: self._pending.pop(k) for k in list(self._pending) if k[0] == run_id
                    }
                    self._count -= sum(map(len, batches.values()))
            for (run, actor), points in batches.items():
                try:
                    self.tracking.log_batch(run, actor=actor, metrics=points)
                except Exception:  # noqa: BLE001 - a run deleted meanwhile: log, keep going
                    log.exception(
                        "LabCycle: %d metric points of run %s could not be written",
                        len(points),
                        run,
                    )

    def _loop(self) -> None:
        while not self._stopped:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=30)
        self.flush()
