"""MLflow's half of the tracking benchmark, run by ``tracking.py`` in MLflow's own Python.

    <mlflow-python> bench/_mlflow_tracking.py

reads one JSON request per line on stdin, ``{"op": NAME, "args": {...}}``, and answers each
with one JSON line on stdout: ``{"ok": RESULT}`` or ``{"error": TRACEBACK}``, after
``{"progress": DONE, "total": N}`` lines for long work. The workload comes from
``_tracking_workload.py``, as LabCycle's does. Every time is taken here, around MLflow's own
calls: this interpreter's start, building the input objects and the pipe are not timed.
Imports no LabCycle (it is not installed here).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import sqlite3
import sys
import time
import traceback
import warnings
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from _mlflow import OFFLINE
from _tracking_workload import (
    BASE_MS,
    FILTER,
    ORDER,
    Sizes,
    digest,
    mlflow_runs_needed,
    mlflow_slices,
    point_sequence,
    quiet_gc,
    search_data,
)

# Offline and synchronous, set before MLflow is imported: no telemetry, no server, no
# async logging, nothing under the cwd.
os.environ.update(OFFLINE)
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ.pop("MLFLOW_ENABLE_ASYNC_LOGGING", None)
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import mlflow
import pandas
import sqlalchemy
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

for _name in ("mlflow", "alembic", "alembic.runtime.migration"):
    logging.getLogger(_name).setLevel(logging.WARNING)
warnings.filterwarnings("ignore", module="mlflow")


class Worker:
    """One method per request; state (the store, the ingest runs) is kept between them."""

    def __init__(self, answers) -> None:
        self.answers = answers
        self.uri = ""
        self.ingest: dict | None = None
        self.search_exp = ""

    def progress(self, done: int, total: int) -> None:
        self.answers.write(json.dumps({"progress": done, "total": total}) + "\n")

    def hello(self) -> dict:
        return {
            "mlflow": mlflow.__version__,
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "sqlalchemy": sqlalchemy.__version__,
            "pandas": pandas.__version__,
        }

    def open_store(self, uri: str) -> None:
        """The (a)/(b) store, migrated now rather than inside a timing."""
        self.uri = uri
        mlflow.set_tracking_uri(uri)
        MlflowClient().search_experiments()

    # -- (a) --------------------------------------------------------------------------------
    def log_metric(self, calls: int, artifacts: str) -> dict:
        mlflow.set_tracking_uri(self.uri)
        client = MlflowClient()
        exp = client.create_experiment(
            "bench-log-metric", artifact_location=Path(artifacts).as_uri()
        )
        with mlflow.start_run(experiment_id=exp, run_name="log-metric"):
            for i in range(10):
                mlflow.log_metric("warmup", float(i), step=i)
            values = [i * 0.001 for i in range(calls)]
            with quiet_gc():
                t0 = time.perf_counter()
                for i, v in enumerate(values):
                    mlflow.log_metric("loss", v, step=i)
                seconds = time.perf_counter() - t0
            run_id = mlflow.active_run().info.run_id
        stored = len(client.get_metric_history(run_id, "loss"))
        assert stored == calls, f"MLflow stored {stored} of {calls} points"
        return {"seconds": seconds}

    # -- (b) --------------------------------------------------------------------------------
    def ingest_setup(self, sizes: dict, artifacts: str) -> dict:
        """The runs for MLflow's points (made untimed) and the slices of its requests."""
        s = Sizes(**sizes)
        keys, values = point_sequence(s)
        mlflow.set_tracking_uri(self.uri)
        client = MlflowClient()
        exp = client.create_experiment("bench-ingest", artifact_location=Path(artifacts).as_uri())
        run_ids = [
            client.create_run(exp, run_name=f"ingest-{r}").info.run_id
            for r in range(mlflow_runs_needed(s))
        ]
        slices = mlflow_slices(s)
        self.ingest = {
            "sizes": s,
            "keys": keys,
            "values": values,
            "runs": run_ids,
            "slices": slices,
            "client": client,
        }
        return {"points": s.mlflow_n, "slices": len(slices), "digest": digest(values)}

    def ingest_slice(self, index: int) -> dict:
        """One slice of requests, timed. Point p of run r is step (p - r * per_run) // keys,
        key (p - r * per_run) % keys, as ``iter_points`` orders them."""
        st = self.ingest
        s, keys, values = st["sizes"], st["keys"], st["values"]
        per_run, n_keys = s.ingest_keys * s.ingest_steps, s.ingest_keys
        batches = []
        for run, start, end in st["slices"][index]:
            metrics = []
            for p in range(start, end):
                step, k = divmod(p - run * per_run, n_keys)
                metrics.append(Metric(keys[k], values[p], BASE_MS + step, step))
            batches.append((st["runs"][run], metrics))
        client = st["client"]
        with quiet_gc():
            t0 = time.perf_counter()
            for run_id, batch in batches:
                client.log_batch(run_id, metrics=batch)
            seconds = time.perf_counter() - t0
        return {"points": sum(len(batch) for _, batch in batches), "seconds": seconds}

    def ingest_check(self) -> None:
        st, self.ingest = self.ingest, None
        s = st["sizes"]
        stored = len(st["client"].get_metric_history(st["runs"][0], st["keys"][0]))
        expected = min(s.ingest_steps, s.mlflow_n // s.ingest_keys)
        assert stored == expected, f"MLflow stored {stored} k0 points, not {expected}"

    # -- (c) --------------------------------------------------------------------------------
    def search_store(self, path: str, sizes: dict, artifacts: str) -> dict:
        """The store for (c), logged through MlflowClient.log_batch; built once, cached at
        ``path`` with its build time beside it."""
        s = Sizes(**sizes)
        db = Path(path)
        meta_path = db.with_suffix(".json")
        if db.exists() and meta_path.exists():
            meta = json.loads(meta_path.read_text())
            with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
                count = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
            if count == s.search_runs:
                return {**meta, "cached": True}
            print(f"Cached MLflow store {db.name} has {count} runs; rebuilding.", file=sys.stderr)
        db.parent.mkdir(parents=True, exist_ok=True)
        partial = db.with_suffix(".partial.db")
        partial.unlink(missing_ok=True)
        mlflow.set_tracking_uri(f"sqlite:///{partial}")
        client = MlflowClient()
        exp = client.create_experiment("bench-search", artifact_location=Path(artifacts).as_uri())
        data = search_data(s)
        every = max(1, len(data) // 100)
        t0 = time.perf_counter()
        for i, (name, start, params, metrics) in enumerate(data, 1):
            run_id = client.create_run(exp, start_time=start, run_name=name).info.run_id
            client.log_batch(
                run_id,
                metrics=[Metric(k, v, start, 0) for k, v in metrics],
                params=[Param(k, v) for k, v in params.items()],
            )
            if i % every == 0 or i == len(data):
                self.progress(i, len(data))
        elapsed = time.perf_counter() - t0
        mlflow.set_tracking_uri(self.uri)
        with contextlib.closing(sqlite3.connect(partial)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        os.replace(partial, db)
        meta = {
            "build_s": elapsed,
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "mlflow": mlflow.__version__,
            "sizes": asdict(s),
        }
        meta_path.write_text(json.dumps(meta, indent=2))
        return {**meta, "cached": False}

    def search_open(self, path: str) -> None:
        mlflow.set_tracking_uri(f"sqlite:///{path}")
        self.search_exp = MlflowClient().get_experiment_by_name("bench-search").experiment_id

    def search(self) -> dict:
        """One timed ``mlflow.search_runs``, after an untimed collection (as LabCycle's)."""
        with quiet_gc():
            t0 = time.perf_counter()
            df = mlflow.search_runs(
                experiment_ids=[self.search_exp],
                filter_string=FILTER,
                order_by=[ORDER],
                max_results=1000,
            )
            seconds = time.perf_counter() - t0
        names = list(df["tags.mlflow.runName"]) if len(df) else []
        return {"seconds": seconds, "names": names}


def main() -> None:
    # Answers go to a copy of stdout; whatever MLflow prints goes to stderr instead.
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    worker = Worker(answers)
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        try:
            if op.startswith("_") or not callable(getattr(worker, op, None)):
                raise ValueError(f"unknown request {op!r}")
            answer = {"ok": getattr(worker, op)(**request.get("args", {}))}
        except Exception:  # the parent reports it and stops
            answer = {"error": traceback.format_exc()}
        answers.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
