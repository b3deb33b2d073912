"""Prediction logs written as the compactor writes them, shared by the suites
(``from prediction_logs import write_log, write_feedback``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

DAY_MS = 86_400_000


def write_log(
    blobs: Any,
    deployment_id: str,
    *,
    days: int,
    files: int,
    rows: int,
    seed: int = 0,
    columns: tuple[str, ...] = ("a", "b"),
    version: int = 1,
    day0: int | None = None,
) -> tuple[list[str], int]:
    """``days`` days (the last one today, or from ``day0``, epoch ms of a UTC midnight) of
    ``files`` Parquet files of ``rows`` rows each, in requests of 5 rows sharing one ``ts``
    (ties); the files of a day interleave in time. Returns the prediction ids in the order
    written and ``day0``."""
    from labcycle.serving.capture import CapturedBatch, IdSource, PredictionLog

    log = PredictionLog(blobs.fs, blobs.root, deployment_id)
    rng = np.random.default_rng(seed)
    ids = IdSource()
    if day0 is None:
        day0 = (pd.Timestamp.now(tz="UTC").value // 10**6 // DAY_MS - days + 1) * DAY_MS
    written: list[str] = []
    for d in range(days):
        for f in range(files):
            batches = []
            for b in range(0, rows, 5):
                pids = ids.take(5)
                proba = rng.uniform(size=(5, 2))
                ts = day0 + d * DAY_MS + 1000 * (b * files + f) + int(rng.integers(0, 3)) * 1000
                batches.append(
                    CapturedBatch(
                        columns={c: rng.normal(size=5) for c in columns},
                        predictions=(proba[:, 1] > 0.5).astype(int),
                        probabilities=proba,
                        prediction_ids=pids,
                        request_ids=[ids.next()],
                        request_rows=[5],
                        latency_ms=[1.0 + f],
                        model_name="m",
                        model_version=version,
                        version_id=f"v{version}",
                        ts_ms=ts,
                    )
                )
                written += pids
            assert log.write(batches)
    return written, day0


def write_feedback(blobs: Any, deployment_id: str, items: list[tuple[str, Any, int, str]]) -> None:
    """``(prediction_id, value, ts_ms, user)`` items: one file per distinct time, in that
    time's day partition."""
    from labcycle.serving.capture import feedback_table, partition_dir, write_table

    for ts in sorted({i[2] for i in items}):
        write_table(
            blobs.fs,
            partition_dir(blobs.root, "feedback", deployment_id, ts),
            feedback_table([i for i in items if i[2] == ts], deployment_id),
        )
