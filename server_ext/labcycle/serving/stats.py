"""Request counters of one model server process, for ``GET /stats``.

Cheap enough for every request: two integer increments and one ``deque.append`` of
``(time, latency)``. The deque keeps the last ``size`` requests; a snapshot computes the
request rate and the latency percentiles over the last ``window`` seconds from it (when
more than ``size`` requests arrived in the window, over the span the deque covers).
"""

from __future__ import annotations

import collections
import time
from typing import Any

import numpy as np


class Stats:
    def __init__(self, window: float = 60.0, size: int = 50_000) -> None:
        self.window = window
        self.started = time.perf_counter()
        self.requests = 0  # every POST /predict
        self.errors = 0  # 5xx answers
        self.rejected = 0  # 4xx answers (bad input, auth)
        self._times: collections.deque[float] = collections.deque(maxlen=size)
        self._ok: collections.deque[tuple[float, float]] = collections.deque(maxlen=size)

    def record(self, started: float, seconds: float, status: int) -> None:
        self.requests += 1
        self._times.append(started)
        if status < 400:
            self._ok.append((started, seconds))
        elif status >= 500:
            self.errors += 1
        else:
            self.rejected += 1

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        now = time.perf_counter() if now is None else now
        since = now - self.window
        times = np.fromiter(self._times, np.float64, len(self._times))  # a copy: safe to read
        recent = times[times >= since]
        span = min(self.window, now - self.started)
        if len(times) == self._times.maxlen and len(recent) == len(times) and len(times):
            span = now - float(times[0])  # the deque covers less than the window
        ok = list(self._ok)
        lat = np.array([s for t, s in ok if t >= since], dtype=np.float64) * 1000
        pct = (lambda q: round(float(np.percentile(lat, q)), 3)) if len(lat) else (lambda q: None)
        return {
            "window_s": self.window,
            "requests": self.requests, "errors": self.errors, "rejected": self.rejected,
            "window_requests": int(len(recent)),
            "request_rate": round(len(recent) / span, 3) if span > 0 else 0.0,
            "latency_ms": {"p50": pct(50), "p99": pct(99),
                           "mean": round(float(lat.mean()), 3) if len(lat) else None},
            "uptime_s": round(now - self.started, 3),
        }
