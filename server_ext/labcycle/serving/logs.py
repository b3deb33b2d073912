"""Read the prediction log of a deployment, joined with its ground truth.

:func:`read_predictions` reads all of it from a time on (monitoring);
:func:`read_predictions_page` reads one page of it, newest first, touching only what the
page needs (the REST list of a deployment's predictions). Layout: :mod:`.capture`; a
``date=`` partition holds the rows whose ``ts`` falls on that day (UTC), which is what
lets a page stop at the first partitions it needs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import LabCycleError

#: columns of the log a page does not show (the same for every row of a deployment)
_NOT_SHOWN = ("deployment_id", "model_name")


def parse_since(since: Any) -> tuple[str | None, pd.Timestamp | None]:
    """``(YYYY-MM-DD, UTC timestamp)`` of a datetime, ISO string or epoch milliseconds;
    TypeError or ValueError for anything else."""
    if since is None:
        return None, None
    if isinstance(since, (int, float)):
        ts = pd.Timestamp(since, unit="ms", tz="UTC")
    elif isinstance(since, (datetime, date, str, pd.Timestamp)):
        ts = pd.Timestamp(since)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    else:
        raise TypeError("since must be a datetime, an ISO string or epoch milliseconds")
    return ts.strftime("%Y-%m-%d"), ts


def _partitions(
    fs: Any, root: str, kind: str, deployment_id: str, day: str | None
) -> list[tuple[str, str]]:
    """``(day, folder)`` of the date partitions from ``day`` on, oldest first."""
    base = f"{root.rstrip('/')}/{kind}/deployment={deployment_id}"
    # Another process (the compactor) writes the log: listings cached by an object-store
    # filesystem (s3fs, gcsfs) would hide its new partitions and files.
    fs.invalidate_cache(base)
    if not fs.exists(base):
        return []
    found = []
    for folder in fs.ls(base, detail=False):
        name = folder.rstrip("/").rsplit("/", 1)[-1]
        if name.startswith("date=") and not (day and name[5:] < day):
            found.append((name[5:], folder))
    return sorted(found)


def _parquet_files(fs: Any, folder: str) -> list[str]:
    """The finished Parquet files of a partition (not the ``.part-*.tmp`` being written)."""
    fs.invalidate_cache(folder)  # listed afresh: see _partitions
    return sorted(
        p
        for p in fs.ls(folder, detail=False)
        if p.endswith(".parquet") and not p.rsplit("/", 1)[-1].startswith(".")
    )


def _read_kind(
    fs: Any, root: str, kind: str, deployment_id: str, day: str | None
) -> pa.Table | None:
    tables = []
    for _, folder in _partitions(fs, root, kind, deployment_id, day):
        for path in _parquet_files(fs, folder):
            with fs.open(path, "rb") as fh:
                tables.append(pq.read_table(fh))
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="permissive")


def _log_fs(services: Any, artifact_url: str | None) -> tuple[Any, str]:
    if services is not None:
        return services.blobs.fs, services.blobs.root
    from ..config import LabCycleConfig
    from ..store.storage import open_url

    config = LabCycleConfig()
    return open_url(artifact_url or config.artifact_url, config.storage_options)


def read_predictions(
    deployment_id: str, since: Any = None, *, services: Any = None, artifact_url: str | None = None
) -> pd.DataFrame:
    """Every captured prediction of ``deployment_id`` (from ``since`` on), one row each.

    Columns: ``prediction_id, request_id, deployment_id, model_name, model_version,
    version_id, ts, latency_ms, prediction, probability, input.<column>…`` plus
    ``ground_truth`` and ``feedback_ts`` (the latest feedback for the prediction, or NaN).
    """
    fs, root = _log_fs(services, artifact_url)
    day, ts = parse_since(since)
    table = _read_kind(fs, root, "predictions", deployment_id, day)
    if table is None:
        return pd.DataFrame(
            columns=[
                "prediction_id",
                "request_id",
                "deployment_id",
                "model_name",
                "model_version",
                "version_id",
                "ts",
                "latency_ms",
                "prediction",
                "probability",
                "ground_truth",
                "feedback_ts",
            ]
        )
    frame = table.to_pandas()
    if ts is not None:
        frame = frame[frame["ts"] >= ts]
    feedback = _read_kind(fs, root, "feedback", deployment_id, None)
    if feedback is not None and feedback.num_rows:
        fb = feedback.to_pandas().sort_values("ts").drop_duplicates("prediction_id", keep="last")
        fb = pd.DataFrame(
            {
                "prediction_id": fb["prediction_id"],
                "ground_truth": [json.loads(v) for v in fb["value"]],
                "feedback_ts": fb["ts"],
            }
        )
        frame = frame.merge(fb, on="prediction_id", how="left")
    else:
        frame["ground_truth"] = None
        frame["feedback_ts"] = pd.NaT
    return frame.reset_index(drop=True)


class _Unreadable(LabCycleError):
    """A file or folder of the log cannot be read (corrupt, not Parquet, no permission)."""


def _guard(fs: Any, root: str, path: str, fn: Any) -> Any:
    try:
        return fn()
    except (OSError, ValueError, pa.ArrowException) as exc:
        base = root.rstrip("/") + "/"
        where = path[len(base) :] if path.startswith(base) else path
        reason = str(exc).replace(base, "")[:200]  # paths relative to the store, as in `where`
        raise _Unreadable(
            f"The prediction log cannot be read at {where} ({type(exc).__name__}: "
            f"{reason}); repair or remove that file.",
            path=where,
        ) from None


def _ts_ms(fs: Any, path: str) -> np.ndarray:
    """The ``ts`` column of one file as int64 epoch milliseconds (nulls sort last)."""
    with fs.open(path, "rb") as fh:
        col = pq.read_table(fh, columns=["ts"]).column("ts")
    if not pa.types.is_timestamp(col.type):
        raise ValueError(f"column ts is {col.type}, not a timestamp")
    ms = pc.cast(pc.cast(col, pa.timestamp("ms", tz=col.type.tz), safe=False), pa.int64())
    return pc.fill_null(ms, np.iinfo(np.int64).min + 1).to_numpy()


def _num_rows(fs: Any, path: str) -> int:
    with fs.open(path, "rb") as fh:
        return pq.ParquetFile(fh).metadata.num_rows


def _read_rows(fs: Any, path: str, rows: list[int]) -> list[dict[str, Any]]:
    """Rows ``rows`` of one file as records (the row groups that hold them, the shown columns)."""
    with fs.open(path, "rb") as fh:
        pf = pq.ParquetFile(fh)
        columns = [c for c in pf.schema_arrow.names if c not in _NOT_SHOWN]
        sizes = [pf.metadata.row_group(g).num_rows for g in range(pf.num_row_groups)]
        ends = np.cumsum(sizes)
        groups = sorted({int(g) for g in np.searchsorted(ends, rows, side="right")})
        table = pf.read_row_groups(groups, columns=columns)
    # a row's position in the table read: its index minus the rows of the groups skipped
    starts = ends - np.asarray(sizes)
    read_before = np.cumsum([0] + [sizes[g] for g in groups])[:-1]
    shift = {g: int(starts[g] - before) for g, before in zip(groups, read_before, strict=True)}
    local = [r - shift[int(np.searchsorted(ends, r, side="right"))] for r in rows]
    return table.take(pa.array(local, pa.int64())).to_pandas().to_dict("records")


def _ground_truth(
    fs: Any, root: str, deployment_id: str, ids: set[str], first_day: str
) -> dict[str, tuple[Any, Any]]:
    """``prediction_id → (value, ts)`` of the latest feedback for ``ids``. Feedback names a
    prediction that /predict returned, so it is logged on the prediction's day or later
    (a day earlier allowed for clocks that differ)."""
    day = (pd.Timestamp(first_day) - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    wanted = pa.array(sorted(ids), pa.string())
    found = []
    for _, folder in _partitions(fs, root, "feedback", deployment_id, day):
        for path in _guard(fs, root, folder, lambda f=folder: _parquet_files(fs, f)):

            def read(p: str = path) -> pa.Table:
                with fs.open(p, "rb") as fh:
                    t = pq.read_table(fh, columns=["prediction_id", "value", "ts"])
                return t.filter(pc.is_in(t.column("prediction_id"), value_set=wanted))

            found.append(_guard(fs, root, path, read))
    if not found:
        return {}
    fb = pa.concat_tables(found, promote_options="permissive").to_pandas()
    fb = fb.sort_values("ts", kind="stable").drop_duplicates("prediction_id", keep="last")
    return {
        pid: (_json_value(v), ts)
        for pid, v, ts in zip(fb["prediction_id"], fb["value"], fb["ts"], strict=True)
    }


def _json_value(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text  # not written by LabCycle: shown as stored


def read_predictions_page(
    deployment_id: str,
    *,
    offset: int,
    limit: int,
    since: Any = None,
    services: Any = None,
    artifact_url: str | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """The predictions at ``offset`` … ``offset + limit`` of the log ordered newest first
    (ties in the order they were written), each a record with the columns of
    :func:`read_predictions` (its own inputs only), and whether more follow.

    Reads the date partitions newest first and stops once it has ``offset + limit + 1``
    rows: only the ``ts`` column of the partitions the page spans (a partition wholly
    before ``offset`` only by its files' row counts), then the shown columns of the row
    groups that hold the page's rows, and the feedback of those rows only from their day
    on. ``since`` prunes partitions by their day. A file that cannot be read fails with a
    message naming it (never a traceback).
    """
    fs, root = _log_fs(services, artifact_url)
    day, since_ts = parse_since(since)
    since_ms = None if since_ts is None else since_ts.value / 1e6
    stop = offset + limit + 1  # one more than the page: is there a next page?
    seen = 0  # rows of the partitions newer than the current one
    page: list[tuple[str, str, int]] = []  # (day, file, row) in page order
    base = f"{root.rstrip('/')}/predictions/deployment={deployment_id}"
    folders = _guard(
        fs, root, base, lambda: _partitions(fs, root, "predictions", deployment_id, day)
    )
    for part_day, folder in reversed(folders):
        files = _guard(fs, root, folder, lambda f=folder: _parquet_files(fs, f))
        if offset > seen and part_day != day:
            # wholly before the page? then its row counts (the files' footers) are enough
            total = sum(_guard(fs, root, p, lambda p=p: _num_rows(fs, p)) for p in files)
            if seen + total <= offset:
                seen += total
                continue
        ts, where = [], []
        for i, path in enumerate(files):
            t = _guard(fs, root, path, lambda p=path: _ts_ms(fs, p))
            rows = np.arange(len(t))
            if since_ms is not None:
                keep = t >= since_ms
                t, rows = t[keep], rows[keep]
            ts.append(t)
            where.append(np.stack([np.full(len(t), i), rows], axis=1))
        if not ts:
            continue
        t, where_all = np.concatenate(ts), np.concatenate(where)
        order = np.argsort(-t, kind="stable")  # newest first, ties in written order
        first, last = max(0, offset - seen), min(len(t), stop - seen)
        for j in order[first:last]:
            page.append((part_day, files[where_all[j, 0]], int(where_all[j, 1])))
        seen += len(t)
        if seen >= stop:
            break
    more = len(page) > limit
    page = page[:limit]
    by_file: dict[str, list[int]] = defaultdict(list)
    for _, path, row in page:
        by_file[path].append(row)
    records: dict[tuple[str, int], dict[str, Any]] = {}
    for path, numbers in by_file.items():
        got = _guard(fs, root, path, lambda p=path, r=numbers: _read_rows(fs, p, r))
        records.update(((path, row), rec) for row, rec in zip(numbers, got, strict=True))
    out = [records[(path, row)] for _, path, row in page]
    if out:
        truth = _ground_truth(
            fs, root, deployment_id, {r["prediction_id"] for r in out}, min(d for d, _, _ in page)
        )
        for rec in out:
            rec["ground_truth"], rec["feedback_ts"] = truth.get(
                rec["prediction_id"], (None, pd.NaT)
            )
    return out, more
