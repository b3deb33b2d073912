"""Prediction capture: a background writer of Parquet prediction logs and feedback.

Layout under the artifact store's root (any fsspec filesystem)::

    predictions/deployment=<id>/date=YYYY-MM-DD/part-<uuid>.parquet
    feedback/deployment=<id>/date=YYYY-MM-DD/part-<uuid>.parquet

The request path does almost nothing: after a batch is predicted, one
:class:`CapturedBatch` holding *references* to arrays that already exist (the parsed
input columns, the prediction and probability arrays, the prediction ids of the
response) plus one request id, row count and latency per request is appended to a deque
(no lock, no copy, no I/O, no per-row Python work). A thread takes the queue every
``flush_seconds`` (or after ``flush_rows`` rows). In a model server it hands the batches
to the spool (:mod:`.spool`: raw buffers in a file, turned into Parquet by a compactor
process, so that the Arrow and Parquet work never takes CPU from serving). Elsewhere
(and in the compactor) :class:`PredictionLog` groups the batches by day, model version
and columns, concatenates each column with *one* ``np.concatenate`` over all the batches
of a group, builds one Arrow table per group and writes it as one Parquet file.
:meth:`CaptureWriter.close` drains everything, so a clean shutdown (SIGTERM) loses no
acknowledged prediction. Files are written under a temporary name and renamed, so
readers never see half a file.

Prediction ids (:class:`IdSource`) are 32 hex characters: 16 from ``os.urandom`` drawn
once per process, then a 16-digit hexadecimal counter. Unique across processes (64
random bits per process) and restarts, and cheap enough to make one per row.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

INPUT_PREFIX = "input."
DAY_MS = 86_400_000
DICTIONARY_COLUMNS = ("request_id", "deployment_id", "model_name", "version_id", "user")


class IdSource:
    """Unique 32-hex-character ids: a random per-process prefix and a counter.

    ``next()`` gives one id, ``take(n)`` a list of ``n``. ``itertools.count`` is atomic
    under the GIL, so the event loop and the prediction thread can share one source.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """A new prefix (called in a forked worker so that workers never share one)."""
        self.prefix = os.urandom(8).hex()
        self._counter = itertools.count(1)
        self._pid = os.getpid()

    def next(self) -> str:
        return f"{self.prefix}{next(self._counter):016x}"

    def take(self, n: int) -> list[str]:
        prefix, counter = self.prefix, self._counter
        return [f"{prefix}{next(counter):016x}" for _ in range(n)]


@dataclass(slots=True)
class CapturedBatch:
    """One predicted batch: references to its arrays, and one entry per request."""

    columns: dict[str, Any]  # name → array (values None when ``block`` holds them)
    predictions: np.ndarray
    probabilities: np.ndarray | None
    prediction_ids: Sequence[str]  # one per row (a list, or a spool.IdRun)
    request_ids: list[str]  # one per request
    request_rows: list[int]  # rows of each request
    latency_ms: list[float]  # one per request
    model_name: str
    model_version: int | None
    version_id: str
    ts_ms: int
    #: the same inputs as one (rows × columns) float64 matrix, when the server built one
    #: for the model anyway: one concatenation for all columns instead of one per column
    block: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return len(self.prediction_ids)


def partition_dir(root: str, kind: str, deployment_id: str, ts_ms: int) -> str:
    day = datetime.fromtimestamp(ts_ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d")
    return f"{root.rstrip('/')}/{kind}/deployment={deployment_id}/date={day}"


def write_table(fs: Any, directory: str, table: pa.Table) -> str:
    fs.makedirs(directory, exist_ok=True)
    name = f"part-{uuid.uuid4().hex}.parquet"
    tmp = f"{directory}/.{name}.tmp"
    with fs.open(tmp, "wb") as fh:
        # Dictionary encoding only where values repeat (it costs more than it saves on
        # numbers); zstd: small files at a low CPU cost.
        pq.write_table(
            table,
            fh,
            compression="zstd",
            use_dictionary=[c for c in DICTIONARY_COLUMNS if c in table.column_names],
        )
    fs.mv(tmp, f"{directory}/{name}")
    return f"{directory}/{name}"


def _array(values: np.ndarray) -> pa.Array:
    # from_pandas: NaN (and None in object arrays) become nulls, as a DataFrame would have it
    return pa.array(values, from_pandas=True)


def _const(value: Any, type_: pa.DataType, n: int) -> pa.Array:
    return pa.array([value], type_).take(pa.array(np.zeros(n, dtype=np.int32)))


def _concat(arrays: list[np.ndarray]) -> np.ndarray:
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLES = np.arange(60, -1, -4, dtype=np.uint64)  # the 16 hex digits of a counter, first first


def _id_column(batches: list[CapturedBatch]) -> pa.Array:
    """The prediction ids as one Arrow string column.

    Ids from :meth:`IdSource.take` are one prefix and consecutive counters: those are
    rebuilt with NumPy, not converted from 100,000 Python strings (a third of a flush's
    CPU). A batch whose ids are not such a run (another thread took a counter between
    two of them) sends the whole column the slow way."""
    runs = []
    for b in batches:
        ids = b.prediction_ids
        if not ids:
            continue
        first, last = ids[0], ids[-1]
        try:
            start, end = int(first[16:], 16), int(last[16:], 16)
        except ValueError:
            start, end = 0, -1
        if len(first) != 32 or first[:16] != last[:16] or end - start != len(ids) - 1:
            return pa.array(
                list(itertools.chain.from_iterable(b.prediction_ids for b in batches)), pa.string()
            )
        runs.append((first[:16].encode(), start, len(ids)))
    total = sum(n for _, _, n in runs)
    if not total:
        return pa.array([], pa.string())
    counters = np.concatenate([np.arange(s, s + n, dtype=np.uint64) for _, s, n in runs])
    digits = _HEX[((counters[:, None] >> _NIBBLES) & np.uint64(15)).astype(np.intp)]
    prefixes = np.repeat(
        np.frombuffer(b"".join(p for p, _, _ in runs), np.uint8).reshape(-1, 16),
        [n for _, _, n in runs],
        axis=0,
    )
    data = np.ascontiguousarray(np.hstack([prefixes, digits]))
    offsets = np.arange(0, 32 * total + 1, 32, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), total, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def batches_table(batches: list[CapturedBatch], deployment_id: str) -> pa.Table:
    """One Arrow table for batches of the same model version and columns: each column is
    concatenated once over all of them (no per-row or per-batch Python work)."""
    first = batches[0]
    rows_per_batch = np.fromiter((b.rows for b in batches), np.int64, len(batches))
    n = int(rows_per_batch.sum())
    req_rows = np.fromiter(itertools.chain.from_iterable(b.request_rows for b in batches), np.int64)
    request_ids = np.fromiter(
        itertools.chain.from_iterable(b.request_ids for b in batches), object, len(req_rows)
    )
    latency = np.fromiter(
        itertools.chain.from_iterable(b.latency_ms for b in batches), np.float64, len(req_rows)
    )
    ts = np.repeat(np.fromiter((b.ts_ms for b in batches), np.int64, len(batches)), rows_per_batch)
    cols: dict[str, pa.Array] = {
        "prediction_id": _id_column(batches),
        "request_id": pa.array(np.repeat(request_ids, req_rows), pa.string()),
        "deployment_id": _const(deployment_id, pa.string(), n),
        "model_name": _const(first.model_name, pa.string(), n),
        "model_version": _const(first.model_version, pa.int64(), n),
        "version_id": _const(first.version_id, pa.string(), n),
        "ts": pa.array(ts.astype("datetime64[ms]"), pa.timestamp("ms", tz="UTC")),
        "latency_ms": pa.array(np.repeat(latency, req_rows), pa.float64()),
        "prediction": _array(_concat([np.asarray(b.predictions) for b in batches])),
    }
    if first.probabilities is not None:
        proba = _concat([np.asarray(b.probabilities, dtype=np.float64) for b in batches])
        if proba.ndim == 1:
            proba = proba[:, None]
        cols["probability"] = pa.FixedSizeListArray.from_arrays(
            pa.array(np.ascontiguousarray(proba).ravel()), proba.shape[1]
        ).cast(pa.list_(pa.float64()))
    else:
        cols["probability"] = pa.nulls(n, pa.list_(pa.float64()))
    blocks = [b.block for b in batches if b.block is not None]
    if len(blocks) == len(batches):
        # one copy, straight into one contiguous row per input column
        block = np.empty((len(first.columns), n))
        np.concatenate([b.T for b in blocks], axis=1, out=block)
        for j, name in enumerate(first.columns):
            cols[INPUT_PREFIX + name] = _array(block[j])
    else:
        for name in first.columns:
            cols[INPUT_PREFIX + name] = _array(_concat([b.columns[name] for b in batches]))
    return pa.table(cols)


def batch_table(batch: CapturedBatch, deployment_id: str) -> pa.Table:
    return batches_table([batch], deployment_id)


def _group_key(b: CapturedBatch) -> tuple:
    proba = b.probabilities
    width = None if proba is None else (1 if np.ndim(proba) == 1 else np.shape(proba)[1])
    return (
        b.ts_ms // DAY_MS,
        b.version_id,
        b.model_version,
        b.model_name,
        tuple(b.columns),
        width,
        b.block is not None,
    )


def feedback_table(items: list[tuple[str, Any, int, str]], deployment_id: str) -> pa.Table:
    return pa.table(
        {
            "prediction_id": pa.array([i[0] for i in items], pa.string()),
            "value": pa.array([json.dumps(i[1]) for i in items], pa.string()),
            "deployment_id": pa.array([deployment_id] * len(items), pa.string()),
            "ts": pa.array(
                np.array([i[2] for i in items], dtype="datetime64[ms]"),
                pa.timestamp("ms", tz="UTC"),
            ),
            "user": pa.array([i[3] for i in items], pa.string()),
        }
    )


class PredictionLog:
    """Writes captured batches and feedback as Parquet files of one deployment's log."""

    def __init__(self, fs: Any, root: str, deployment_id: str) -> None:
        self.fs = fs
        self.root = root
        self.deployment_id = deployment_id
        self.written_rows = 0
        self.failures = 0

    def write(self, batches: list[CapturedBatch]) -> bool:
        """One file per day partition; False when storage failed (the caller may retry the
        same batches: a batch that cannot be converted at all is logged and dropped)."""
        groups: dict[tuple, list[CapturedBatch]] = collections.defaultdict(list)
        for b in batches:
            groups[_group_key(b)].append(b)
        by_dir: dict[str, list[pa.Table]] = collections.defaultdict(list)
        for group in groups.values():
            directory = partition_dir(self.root, "predictions", self.deployment_id, group[0].ts_ms)
            try:
                by_dir[directory].append(batches_table(group, self.deployment_id))
            except (ValueError, TypeError, pa.ArrowInvalid, pa.ArrowTypeError):
                # columns whose types differ between batches: one table per batch
                for b in group:
                    try:
                        by_dir[directory].append(batch_table(b, self.deployment_id))
                    except (ValueError, TypeError, pa.ArrowInvalid, pa.ArrowTypeError):
                        self.failures += 1
                        log.exception("LabCycle: a predicted batch could not be logged")
        ok = True
        for directory, tables in by_dir.items():
            try:
                merged = [
                    tables[0]
                    if len(tables) == 1
                    else pa.concat_tables(tables, promote_options="permissive")
                ]
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                merged = tables
            for table in merged:
                if self._retrying(lambda t=table, d=directory: write_table(self.fs, d, t)):
                    self.written_rows += table.num_rows
                else:
                    ok = False
        return ok

    def write_feedback(self, items: list[tuple[str, Any, int, str]]) -> None:
        by_dir: dict[str, list] = collections.defaultdict(list)
        for item in items:
            by_dir[partition_dir(self.root, "feedback", self.deployment_id, item[2])].append(item)
        for directory, chunk in by_dir.items():
            self._retrying(
                lambda d=directory, c=chunk: write_table(
                    self.fs, d, feedback_table(c, self.deployment_id)
                )
            )

    def _retrying(self, fn: Any) -> bool:
        for attempt in range(5):
            try:
                fn()
                return True
            except Exception:  # storage hiccup: retry, then report
                self.failures += 1
                log.exception(
                    "LabCycle: writing the prediction log failed (attempt %d)", attempt + 1
                )
                time.sleep(0.2 * (attempt + 1))
        return False


class CaptureWriter:
    """Queue + thread; :meth:`append` never blocks and never does I/O.

    Without a ``spool`` the thread writes the Parquet log itself. With one (what model
    servers use) it only hands the queued batches to the spool, once a second, as raw
    buffers; a compactor process turns them into Parquet (:mod:`.spool`)."""

    def __init__(
        self,
        fs: Any,
        root: str,
        deployment_id: str,
        *,
        flush_rows: int = 100_000,
        flush_seconds: float = 5.0,
        spool: Any = None,
    ) -> None:
        # with a spool, feedback goes to the same log object the final compaction writes
        self.log = spool.log if spool is not None else PredictionLog(fs, root, deployment_id)
        self.spool = spool
        self.flush_rows = flush_rows
        # handing off to the spool is cheap: do it often and hold less memory
        self.flush_seconds = flush_seconds if spool is None else min(1.0, flush_seconds)
        self._batches: collections.deque[CapturedBatch] = collections.deque()
        self._feedback: collections.deque[tuple[str, Any, int, str]] = collections.deque()
        self._queued_rows = 0  # only ever increased by append (one writer: no lost updates)
        self._taken_rows = 0  # only ever increased by the writer thread
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def written_rows(self) -> int:
        return self.log.written_rows

    @property
    def failures(self) -> int:
        return self.log.failures + (0 if self.spool is None else self.spool.failures)

    def start(self) -> CaptureWriter:
        if self.spool is not None:
            self.spool.start()
        self._thread = threading.Thread(target=self._loop, name="labcycle-capture", daemon=True)
        self._thread.start()
        return self

    def append(self, batch: CapturedBatch) -> None:
        self._batches.append(batch)
        self._queued_rows += len(batch.prediction_ids)
        if self._queued_rows - self._taken_rows >= self.flush_rows:
            self._wake.set()

    def append_feedback(self, prediction_id: str, value: Any, user: str = "") -> None:
        self._feedback.append((prediction_id, value, int(time.time() * 1000), user))
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()
        self.flush()

    def flush(self) -> None:
        with self._flush_lock:
            batches = []
            while self._batches:
                batches.append(self._batches.popleft())
            self._taken_rows += sum(b.rows for b in batches)
            feedback = []
            while self._feedback:
                feedback.append(self._feedback.popleft())
            if batches:
                if self.spool is not None:
                    self.spool.write(batches)
                else:
                    self.log.write(batches)
            if feedback:
                self.log.write_feedback(feedback)

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop the thread (and compact the spool)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.flush()
        if self.spool is not None:
            self.spool.close()
