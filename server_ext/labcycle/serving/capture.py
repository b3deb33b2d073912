"""Prediction capture: a background writer of Parquet prediction logs and feedback.

Layout under the artifact store's root (any fsspec filesystem)::

    predictions/deployment=<id>/date=YYYY-MM-DD/part-<uuid>.parquet
    feedback/deployment=<id>/date=YYYY-MM-DD/part-<uuid>.parquet

A request appends one record per *batch* to an in-memory deque (no lock, no I/O) before
its response is sent; a thread turns the records into Arrow tables and writes one file
per flush (every ``flush_rows`` rows or ``flush_seconds``). :meth:`CaptureWriter.close`
drains everything, so a clean shutdown (SIGTERM) loses no acknowledged prediction.
Files are written under a temporary name and renamed, so readers never see half a file.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

INPUT_PREFIX = "input."


@dataclass
class CapturedBatch:
    columns: dict[str, np.ndarray]
    predictions: np.ndarray
    probabilities: np.ndarray | None
    prediction_ids: list[str]
    request_ids: list[str]
    latency_ms: list[float]  # per row (the row's request latency)
    model_name: str
    model_version: int | None
    version_id: str
    ts_ms: int


def partition_dir(root: str, kind: str, deployment_id: str, ts_ms: int) -> str:
    day = datetime.fromtimestamp(ts_ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d")
    return f"{root.rstrip('/')}/{kind}/deployment={deployment_id}/date={day}"


def write_table(fs: Any, directory: str, table: pa.Table) -> str:
    fs.makedirs(directory, exist_ok=True)
    name = f"part-{uuid.uuid4().hex}.parquet"
    tmp = f"{directory}/.{name}.tmp"
    with fs.open(tmp, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")
    fs.mv(tmp, f"{directory}/{name}")
    return f"{directory}/{name}"


def _array(values: np.ndarray) -> pa.Array:
    if values.dtype == object:
        return pa.array(values.tolist(), from_pandas=True)
    return pa.array(values)


def batch_table(batch: CapturedBatch, deployment_id: str) -> pa.Table:
    n = len(batch.prediction_ids)
    cols: dict[str, pa.Array] = {
        "prediction_id": pa.array(batch.prediction_ids, pa.string()),
        "request_id": pa.array(batch.request_ids, pa.string()),
        "deployment_id": pa.array([deployment_id] * n, pa.string()),
        "model_name": pa.array([batch.model_name] * n, pa.string()),
        "model_version": pa.array([batch.model_version] * n, pa.int64()),
        "version_id": pa.array([batch.version_id] * n, pa.string()),
        "ts": pa.array(np.full(n, batch.ts_ms, dtype="datetime64[ms]"), pa.timestamp("ms", tz="UTC")),
        "latency_ms": pa.array(batch.latency_ms, pa.float64()),
        "prediction": _array(np.asarray(batch.predictions)),
    }
    if batch.probabilities is not None:
        proba = np.asarray(batch.probabilities, dtype=np.float64)
        if proba.ndim == 1:
            proba = proba[:, None]
        cols["probability"] = pa.FixedSizeListArray.from_arrays(
            pa.array(proba.ravel()), proba.shape[1]).cast(pa.list_(pa.float64()))
    else:
        cols["probability"] = pa.nulls(n, pa.list_(pa.float64()))
    for name, values in batch.columns.items():
        cols[INPUT_PREFIX + name] = _array(values)
    return pa.table(cols)


def feedback_table(items: list[tuple[str, Any, int, str]], deployment_id: str) -> pa.Table:
    return pa.table({
        "prediction_id": pa.array([i[0] for i in items], pa.string()),
        "value": pa.array([json.dumps(i[1]) for i in items], pa.string()),
        "deployment_id": pa.array([deployment_id] * len(items), pa.string()),
        "ts": pa.array(np.array([i[2] for i in items], dtype="datetime64[ms]"),
                       pa.timestamp("ms", tz="UTC")),
        "user": pa.array([i[3] for i in items], pa.string()),
    })


class CaptureWriter:
    """Queue + thread; :meth:`append` never blocks and never does I/O."""

    def __init__(self, fs: Any, root: str, deployment_id: str, *, flush_rows: int = 20_000,
                 flush_seconds: float = 2.0) -> None:
        self.fs = fs
        self.root = root
        self.deployment_id = deployment_id
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self._batches: collections.deque[CapturedBatch] = collections.deque()
        self._feedback: collections.deque[tuple[str, Any, int, str]] = collections.deque()
        self._pending_rows = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written_rows = 0
        self.failures = 0

    def start(self) -> CaptureWriter:
        self._thread = threading.Thread(target=self._loop, name="labcycle-capture", daemon=True)
        self._thread.start()
        return self

    def append(self, batch: CapturedBatch) -> None:
        self._batches.append(batch)
        self._pending_rows += len(batch.prediction_ids)
        if self._pending_rows >= self.flush_rows:
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
        batches = []
        while self._batches:
            batches.append(self._batches.popleft())
        self._pending_rows = sum(len(b.prediction_ids) for b in self._batches)
        feedback = []
        while self._feedback:
            feedback.append(self._feedback.popleft())
        if batches:
            self._write_predictions(batches)
        if feedback:
            by_dir: dict[str, list] = collections.defaultdict(list)
            for item in feedback:
                by_dir[partition_dir(self.root, "feedback", self.deployment_id, item[2])].append(item)
            for directory, items in by_dir.items():
                self._retrying(lambda d=directory, i=items: write_table(
                    self.fs, d, feedback_table(i, self.deployment_id)))

    def _write_predictions(self, batches: list[CapturedBatch]) -> None:
        groups: dict[tuple[str, tuple], list[pa.Table]] = collections.defaultdict(list)
        for b in batches:
            table = batch_table(b, self.deployment_id)
            directory = partition_dir(self.root, "predictions", self.deployment_id, b.ts_ms)
            groups[(directory, tuple(table.schema.names))].append(table)
        for (directory, _), tables in groups.items():
            try:
                table = pa.concat_tables(tables, promote_options="permissive")
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                for t in tables:
                    self._retrying(lambda t=t, d=directory: write_table(self.fs, d, t))
                    self.written_rows += t.num_rows
                continue
            self._retrying(lambda t=table, d=directory: write_table(self.fs, d, t))
            self.written_rows += table.num_rows

    def _retrying(self, fn: Any) -> None:
        for attempt in range(5):
            try:
                fn()
                return
            except Exception:  # noqa: BLE001 - storage hiccup: retry, then report
                self.failures += 1
                log.exception("LabCycle: writing the prediction log failed (attempt %d)", attempt + 1)
                time.sleep(0.2 * (attempt + 1))

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.flush()
