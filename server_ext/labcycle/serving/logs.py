"""Read the prediction log of a deployment, joined with its ground truth (for monitoring)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def _since_day(since: Any) -> tuple[str | None, pd.Timestamp | None]:
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


def _read_kind(fs: Any, root: str, kind: str, deployment_id: str, day: str | None) -> pa.Table | None:
    base = f"{root.rstrip('/')}/{kind}/deployment={deployment_id}"
    if not fs.exists(base):
        return None
    tables = []
    for folder in sorted(fs.ls(base, detail=False)):
        name = folder.rstrip("/").rsplit("/", 1)[-1]
        if not name.startswith("date=") or (day and name[5:] < day):
            continue
        for path in sorted(fs.ls(folder, detail=False)):
            if path.endswith(".parquet") and not path.rsplit("/", 1)[-1].startswith("."):
                with fs.open(path, "rb") as fh:
                    tables.append(pq.read_table(fh))
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="permissive")


def read_predictions(deployment_id: str, since: Any = None, *, services: Any = None,
                     artifact_url: str | None = None) -> pd.DataFrame:
    """Every captured prediction of ``deployment_id`` (from ``since`` on), one row each.

    Columns: ``prediction_id, request_id, deployment_id, model_name, model_version,
    version_id, ts, latency_ms, prediction, probability, input.<column>…`` plus
    ``ground_truth`` and ``feedback_ts`` (the latest feedback for the prediction, or NaN).
    """
    if services is not None:
        fs, root = services.blobs.fs, services.blobs.root
    else:
        import fsspec

        from ..config import LabCycleConfig

        fs, root = fsspec.core.url_to_fs(artifact_url or LabCycleConfig().artifact_url)
    day, ts = _since_day(since)
    table = _read_kind(fs, root, "predictions", deployment_id, day)
    if table is None:
        return pd.DataFrame(columns=["prediction_id", "request_id", "deployment_id", "model_name",
                                     "model_version", "version_id", "ts", "latency_ms",
                                     "prediction", "probability", "ground_truth", "feedback_ts"])
    frame = table.to_pandas()
    if ts is not None:
        frame = frame[frame["ts"] >= ts]
    feedback = _read_kind(fs, root, "feedback", deployment_id, None)
    if feedback is not None and feedback.num_rows:
        fb = feedback.to_pandas().sort_values("ts").drop_duplicates("prediction_id", keep="last")
        fb = pd.DataFrame({"prediction_id": fb["prediction_id"],
                           "ground_truth": [json.loads(v) for v in fb["value"]],
                           "feedback_ts": fb["ts"]})
        frame = frame.merge(fb, on="prediction_id", how="left")
    else:
        frame["ground_truth"] = None
        frame["feedback_ts"] = pd.NaT
    return frame.reset_index(drop=True)

