"""Request counters of a model server, for ``GET /stats``: the whole server, every worker.

Recording is cheap enough for every request: an integer increment and one ``deque.append``
of ``(started, seconds, status)``; no lock, no I/O, no system call. The deque holds the
requests since the last *drain*, which turns them into numpy arrays of the last ``window``
seconds (``size`` requests at most; when more arrived in the window, the rate and the
latencies cover the span those requests cover). A drain costs in proportion to the new
requests, never to the window. Recording, draining and :meth:`Stats.snapshot` all run on
the event loop's thread, so they never race.

With ``workers > 1`` uvicorn runs several processes on one port and whichever answers
``/stats`` only has its own counters. So each worker *publishes* its window once a second
(:meth:`Stats.start`: a task on the event loop drains, a thread does the file work) to a
directory shared by the workers of that server (:func:`shared_dir`: per user, per
deployment and port), as ``<pid>.stats`` written under a temporary name and renamed, and
reads its siblings' files back. ``snapshot`` merges its own live window with the
siblings' last publications (at most a second old): counts, rates and the p50/p99/mean
latency of all of them, plus one line per worker.

A file counts only when its process is alive, is a child of the same uvicorn master as the
reader (so a reused pid or an earlier server on the same port never counts), and was
written in the last ``stale_after`` seconds; a file of a dead pid is deleted, anything
else (other names, corrupt or oversized files) is ignored. A dead worker's counters drop
out of the totals with it.

File format: ``LCSTATS1``, a little-endian ``uint32`` header length, the header (JSON:
pid, ppid, at, started, requests, errors, rejected, size, n), then ``n`` start times
(``float64``, ``time.perf_counter``: the system-wide monotonic clock on Linux and macOS)
and ``n`` latencies in ms (``float32``; NaN for an answer >= 400).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import itertools
import json
import logging
import math
import os
import re
import stat
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MAGIC = b"LCSTATS1"
SUFFIX = ".stats"
MAX_HEADER = 4096
MAX_ENTRIES = 1_000_000  # a file claiming more is not one of ours
_NAME = re.compile(r"\.?(\d{1,10})(?:\.stats|\.tmp)")


@dataclass
class Part:
    """One worker's window: its counters and the requests of the last ``window`` seconds."""

    pid: int
    ppid: int
    at: float  # perf_counter when it was taken
    started: float
    requests: int
    errors: int
    rejected: int
    size: int  # the cap on ``t``: a full window covers less than ``window`` seconds
    t: np.ndarray  # float64 start times
    lat: np.ndarray  # float32 latency ms, NaN for 4xx/5xx


def shared_dir(deployment_id: str, port: int) -> Path | None:
    """The directory where the workers of one server exchange their windows:
    ``<tmp>/labcycle-stats-<uid>/<deployment>-<port>``, created private (0700). None, with a
    warning, when it cannot be made ours (e.g. another user owns the name in a shared /tmp)."""
    name = (
        deployment_id
        if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", deployment_id)
        else hashlib.sha256(deployment_id.encode()).hexdigest()[:16]
    )
    base = Path(tempfile.gettempdir()) / f"labcycle-stats-{os.getuid()}"
    path = base / f"{name}-{int(port)}"
    try:
        for d in (base, path):
            with contextlib.suppress(FileExistsError):
                d.mkdir(mode=0o700)
            st = os.lstat(d)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
                raise PermissionError(f"{d} is not a private directory of this user")
    except OSError as exc:
        log.warning("LabCycle: /stats will report this worker only (%s)", exc)
        return None
    return path


class Stats:
    """Counters and latency window of one worker; with ``shared``, of all its siblings too.

    Parameters
    ----------
    window : seconds covered by the rate and the latency percentiles
    size : at most this many requests are kept per worker
    shared : the directory the workers of this server exchange windows in
        (:func:`shared_dir`); None: this process is the whole server
    interval : seconds between two publications (:meth:`start`)
    """

    def __init__(
        self,
        window: float = 60.0,
        size: int = 50_000,
        *,
        shared: str | os.PathLike | None = None,
        interval: float = 1.0,
    ) -> None:
        self.window = window
        self.size = size
        self.shared = Path(shared) if shared is not None else None
        self.interval = interval
        self.stale_after = max(5.0, 5 * interval)  # a sibling that stopped publishing
        self.pid = os.getpid()
        self.started = time.perf_counter()
        self.requests = 0  # every POST /predict
        self.errors = 0  # 5xx answers
        self.rejected = 0  # 4xx answers (bad input, auth)
        self._new: collections.deque[tuple[float, float, int]] = collections.deque(maxlen=size)
        self._t = np.empty(0, np.float64)
        self._lat = np.empty(0, np.float32)
        self._siblings: dict[int, Part] = {}  # replaced whole by the publisher, never mutated
        self._task: asyncio.Task | None = None
        self._stopped = False
        self._last_error: str | None = None

    @classmethod
    def for_server(cls, deployment_id: str, port: int, workers: int, **kwargs: Any) -> Stats:
        """The stats of one worker of the server of ``deployment_id`` on ``port``: shared
        between its workers when there are several."""
        shared = shared_dir(deployment_id, port) if workers > 1 else None
        return cls(shared=shared, **kwargs)

    def record(self, started: float, seconds: float, status: int) -> None:
        self.requests += 1
        self._new.append((started, seconds, status))
        if status >= 400:
            if status >= 500:
                self.errors += 1
            else:
                self.rejected += 1

    # -- this worker ---------------------------------------------------------------------------
    def _drain(self, now: float) -> None:
        """Move the requests recorded since the last drain into the window arrays."""
        t, lat = self._t, self._lat
        if self._new:
            new, self._new = self._new, collections.deque(maxlen=self.size)
            rows = np.fromiter(
                itertools.chain.from_iterable(new), np.float64, 3 * len(new)
            ).reshape(-1, 3)
            ok = rows[:, 2] < 400
            t = np.concatenate((t, rows[:, 0]))
            lat = np.concatenate((lat, np.where(ok, rows[:, 1] * 1000, np.nan).astype(np.float32)))
        keep = t >= now - self.window
        if not keep.all():
            t, lat = t[keep], lat[keep]
        if len(t) > self.size:
            t, lat = t[-self.size :], lat[-self.size :]
        self._t, self._lat = t, lat

    def _own(self, now: float, ppid: int = 0) -> Part:
        return Part(
            self.pid,
            ppid,
            now,
            self.started,
            self.requests,
            self.errors,
            self.rejected,
            self.size,
            self._t,
            self._lat,
        )

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """The server's figures: this worker's live window merged with its siblings' last
        publications (the dead and the silent left out), and ``per_worker``."""
        now = time.perf_counter() if now is None else now
        self._drain(now)
        parts = [self._own(now)]
        if self._siblings:
            import psutil

            for part in self._siblings.values():
                # a sibling that died since the publisher looked stops counting now
                with contextlib.suppress(psutil.Error):
                    if (
                        now - part.at <= self.stale_after
                        and psutil.Process(part.pid).status() != psutil.STATUS_ZOMBIE
                    ):
                        parts.append(part)
        return merge(parts, now, self.window)

    # -- publishing ----------------------------------------------------------------------------
    def start(self) -> None:
        """Publish this worker's window every ``interval`` seconds and read its siblings'
        (a task on the running event loop; nothing to do without ``shared``)."""
        if self.shared is not None and self._task is None and not self._stopped:
            self._task = asyncio.get_running_loop().create_task(self._publish())

    def stop(self) -> None:
        """Stop publishing and remove this worker's file (and the directory, if it was the
        last one). Call it at shutdown: uvicorn ends a worker by re-raising SIGTERM after
        the lifespan, so no task or atexit cleanup runs (siblings and the next server would
        delete the file of the dead pid anyway)."""
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self.shared is not None:
            with contextlib.suppress(OSError):
                (self.shared / f"{self.pid}{SUFFIX}").unlink()
            with contextlib.suppress(OSError):
                self.shared.rmdir()  # fails while a sibling's file is there

    async def _publish(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    now = time.perf_counter()
                    self._drain(now)  # on the loop: no race with record()
                    ppid = os.getppid()
                    payload = encode(self._own(now, ppid))
                    self._siblings = await loop.run_in_executor(None, self._exchange, payload, ppid)
                    self._last_error = None
                except Exception as exc:  # stats must never stop serving
                    if str(exc) != self._last_error:  # once per distinct error, not every second
                        log.warning("LabCycle: publishing the worker's stats failed: %s", exc)
                    self._last_error = str(exc)
                await asyncio.sleep(self.interval)
        finally:
            if self._task is asyncio.current_task():
                self._task = None
            self.stop()

    def _exchange(self, payload: bytes, ppid: int) -> dict[int, Part]:
        """In a thread: write this worker's file, read the live siblings' files."""
        import psutil

        assert self.shared is not None
        tmp, mine = self.shared / f".{self.pid}.tmp", self.shared / f"{self.pid}{SUFFIX}"
        try:
            tmp.write_bytes(payload)
        except FileNotFoundError:  # the last sibling to stop removed the directory
            self.shared.mkdir(mode=0o700, exist_ok=True)
            tmp.write_bytes(payload)
        os.replace(tmp, mine)  # readers never see half a file
        if self._stopped:  # stop() ran while this thread was writing
            mine.unlink(missing_ok=True)
            return {}
        now = time.perf_counter()
        siblings: dict[int, Part] = {}
        with os.scandir(self.shared) as entries:
            names = [e.name for e in entries]
        for name in names:
            m = _NAME.fullmatch(name)
            if m is None or int(m.group(1)) == self.pid:
                continue  # not a stats file: not ours to judge
            pid = int(m.group(1))
            try:
                proc = psutil.Process(pid)
                dead = proc.status() == psutil.STATUS_ZOMBIE
                sibling = not dead and proc.ppid() == ppid
            except psutil.NoSuchProcess:
                dead = True
            except psutil.Error:
                continue  # alive but not inspectable: not a sibling
            if dead:
                with contextlib.suppress(OSError):
                    os.unlink(self.shared / name)  # a dead worker's file stops counting
                continue
            if not sibling or name.startswith("."):
                continue
            part = read_part(self.shared / name)
            if (
                part is not None
                and part.pid == pid
                and part.ppid == ppid
                and now - part.at <= self.stale_after
            ):
                siblings[pid] = part
        return siblings


def merge(parts: list[Part], now: float, window: float) -> dict[str, Any]:
    """The figures of ``parts`` together (the first is the answering worker)."""
    since = now - window
    workers, lats = [], []
    total_rate = 0.0
    for p in parts:
        recent = p.t >= since
        n = int(recent.sum())
        span = min(window, now - p.started)
        if len(p.t) >= p.size and n == len(p.t) and n:
            span = now - float(p.t.min())  # a full window covers less than ``window``
        rate = n / span if span > 0 else 0.0
        total_rate += rate
        lat = p.lat[recent]
        lats.append(lat[~np.isnan(lat)])
        workers.append(
            {
                "pid": p.pid,
                "requests": p.requests,
                "errors": p.errors,
                "rejected": p.rejected,
                "window_requests": n,
                "request_rate": round(rate, 3),
                "age_s": round(max(0.0, now - p.at), 3),
            }
        )
    lat = np.concatenate(lats).astype(np.float64) if lats else np.empty(0)
    pct = (lambda q: round(float(np.percentile(lat, q)), 3)) if len(lat) else (lambda q: None)
    return {
        "window_s": window,
        "requests": sum(w["requests"] for w in workers),
        "errors": sum(w["errors"] for w in workers),
        "rejected": sum(w["rejected"] for w in workers),
        "window_requests": sum(w["window_requests"] for w in workers),
        "request_rate": round(total_rate, 3),
        "latency_ms": {
            "p50": pct(50),
            "p99": pct(99),
            "mean": round(float(lat.mean()), 3) if len(lat) else None,
        },
        "uptime_s": round(now - min(p.started for p in parts), 3),
        "workers_reporting": len(workers),
        "per_worker": sorted(workers, key=lambda w: w["pid"]),
    }


def encode(part: Part) -> bytes:
    header = json.dumps(
        {
            "pid": part.pid,
            "ppid": part.ppid,
            "at": part.at,
            "started": part.started,
            "requests": part.requests,
            "errors": part.errors,
            "rejected": part.rejected,
            "size": part.size,
            "n": len(part.t),
        }
    ).encode()
    return b"".join(
        (
            MAGIC,
            struct.pack("<I", len(header)),
            header,
            part.t.astype("<f8").tobytes(),
            part.lat.astype("<f4").tobytes(),
        )
    )


def read_part(path: str | os.PathLike) -> Part | None:
    """A published window, or None when the file is not a complete one of ours."""
    try:
        # no FIFO, device or symlink: a hostile name must not block or redirect the reader
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        limit = len(MAGIC) + 4 + MAX_HEADER + 12 * MAX_ENTRIES
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return decode(data)


def decode(data: bytes) -> Part | None:
    if len(data) < len(MAGIC) + 4 or not data.startswith(MAGIC):
        return None
    (hlen,) = struct.unpack_from("<I", data, len(MAGIC))
    start = len(MAGIC) + 4
    if hlen > MAX_HEADER or start + hlen > len(data):
        return None
    try:
        h = json.loads(data[start : start + hlen])
    except ValueError:
        return None
    ints = ("pid", "ppid", "requests", "errors", "rejected", "size", "n")
    floats = ("at", "started")
    if (
        not isinstance(h, dict)
        or not all(type(h.get(k)) is int and 0 <= h[k] < 2**53 for k in ints)
        or not all(isinstance(h.get(k), (int, float)) and math.isfinite(h[k]) for k in floats)
    ):
        return None
    n, body = h["n"], start + hlen
    if n > MAX_ENTRIES or len(data) != body + 12 * n or h["size"] < 1:
        return None
    t = np.frombuffer(data, "<f8", n, body).astype(np.float64)
    lat = np.frombuffer(data, "<f4", n, body + 8 * n).astype(np.float32)
    if not np.isfinite(t).all():
        return None
    return Part(
        h["pid"],
        h["ppid"],
        float(h["at"]),
        float(h["started"]),
        h["requests"],
        h["errors"],
        h["rejected"],
        h["size"],
        t,
        lat,
    )
