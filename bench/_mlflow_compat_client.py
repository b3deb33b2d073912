"""The MLflow client's half of ``bench/mlflow_compat.py``, run in MLflow's own Python.

    <mlflow-python> bench/_mlflow_compat_client.py OP JSON-ARGS

with ``MLFLOW_TRACKING_URI`` (and ``MLFLOW_TRACKING_TOKEN`` for LabCycle) naming the server.
Prints one JSON line with the result. Every time is taken here, around the unmodified
client's own calls (``MlflowClient``); the interpreter's start and MLflow's import are not
timed. Ops:

``log``       ``{"calls", "batches", "batch"}``: one run; ``calls`` × ``log_metric``, then
              ``batches`` × ``log_batch`` of ``batch`` metric points (MLflow's limit is 1000).
``seed``      ``{"data", "db"}``: MLflow's store only. Creates experiment ``search`` through
              the server, then writes the runs of the JSON file ``data`` straight into the
              server's SQLite file ``db`` with MLflow's own table definitions (10,000 runs
              through the REST API would take longer than the rest of the benchmark).
``search``    ``{"targets", "filter", "order_by", "repeat"}``: per server (``targets``: name →
              uri and experiment) one warm-up, then ``repeat`` timed ``search_runs``, the
              servers taking turns; the medians and the run names returned.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import time
import warnings

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric  # noqa: E402

logging.getLogger("mlflow").setLevel(logging.WARNING)
warnings.filterwarnings("ignore")


def log(client: MlflowClient, calls: int, batches: int, batch: int) -> dict:
    exp = client.get_experiment_by_name("ingest")
    exp_id = exp.experiment_id if exp else client.create_experiment("ingest")
    run_id = client.create_run(exp_id).info.run_id
    t0 = 1_700_000_000_000
    for i in range(10):  # warm-up: connections, server caches
        client.log_metric(run_id, "warm", float(i), timestamp=t0 + i, step=i)
    start = time.perf_counter()
    for i in range(calls):
        client.log_metric(run_id, "loss", 1.0 / (i + 1), timestamp=t0 + i, step=i)
    metric_s = time.perf_counter() - start
    # point i of the sequence: key m<i % 10>, step i // 10 (every key at each step)
    payloads = [
        [Metric(f"m{i % 10}", i * 1e-6, t0 + i, i // 10) for i in range(b * batch, (b + 1) * batch)]
        for b in range(batches + 1)
    ]
    client.log_batch(run_id, metrics=payloads[0])  # warm-up
    start = time.perf_counter()
    for metrics in payloads[1:]:
        client.log_batch(run_id, metrics=metrics)
    batch_s = time.perf_counter() - start
    client.set_terminated(run_id)
    history = len(client.get_metric_history(run_id, "loss"))
    return {
        "calls": calls,
        "metric_s": metric_s,
        "calls_per_s": calls / metric_s,
        "points": batches * batch,
        "batch_s": batch_s,
        "points_per_s": batches * batch / batch_s,
        "history": history,
    }


def seed(client: MlflowClient, data: str, db: str) -> dict:
    import sqlalchemy
    from mlflow.store.tracking.dbmodels.models import (
        SqlLatestMetric,
        SqlMetric,
        SqlParam,
        SqlRun,
        SqlTag,
    )

    rows = json.loads(open(data).read())  # noqa: SIM115, PTH123 - read once
    exp_id = client.create_experiment("search")
    start = time.perf_counter()
    engine = sqlalchemy.create_engine(f"sqlite:///{db}")
    runs, params, metrics, tags = [], [], [], []
    for run in rows:
        rid = run["id"]
        runs.append(
            {
                "run_uuid": rid,
                "name": run["name"],
                "user_id": "bench",
                "status": "FINISHED",
                "start_time": run["start_time"],
                "end_time": run["start_time"] + 1000,
                "lifecycle_stage": "active",
                "experiment_id": int(exp_id),
                "artifact_uri": f"mlflow-artifacts:/{exp_id}/{rid}/artifacts",
                "source_type": "LOCAL",
                "source_name": "",
            }
        )
        params += [{"run_uuid": rid, "key": k, "value": v} for k, v in run["params"].items()]
        metrics += [
            {
                "run_uuid": rid,
                "key": k,
                "value": v,
                "timestamp": run["start_time"],
                "step": 0,
                "is_nan": False,
            }
            for k, v in run["metrics"].items()
        ]
        tags.append({"run_uuid": rid, "key": "mlflow.runName", "value": run["name"]})
    with engine.begin() as conn:
        conn.execute(sqlalchemy.insert(SqlRun.__table__), runs)
        conn.execute(sqlalchemy.insert(SqlParam.__table__), params)
        conn.execute(sqlalchemy.insert(SqlMetric.__table__), metrics)
        conn.execute(sqlalchemy.insert(SqlLatestMetric.__table__), metrics)
        conn.execute(sqlalchemy.insert(SqlTag.__table__), tags)
    engine.dispose()
    return {"experiment": exp_id, "runs": len(runs), "seed_s": time.perf_counter() - start}


def search(
    client: MlflowClient,
    targets: dict[str, dict],
    filter: str,  # noqa: A002
    order_by: list[str],
    repeat: int,
) -> dict:
    """``targets``: name → {"uri", "experiment"}; the servers take turns, search by search,
    so that load from elsewhere on the machine falls on both alike."""
    clients = {name: MlflowClient(tracking_uri=t["uri"]) for name, t in targets.items()}

    def once(name: str) -> tuple[float, list[str]]:
        start = time.perf_counter()
        runs = clients[name].search_runs(
            [targets[name]["experiment"]], filter_string=filter, order_by=order_by, max_results=1000
        )
        return time.perf_counter() - start, [r.info.run_name for r in runs]

    times: dict[str, list[float]] = {name: [] for name in targets}
    names: dict[str, list[str]] = {}
    order = list(targets)
    for name in order:
        once(name)  # warm-up
    for i in range(repeat):
        for name in order if i % 2 == 0 else order[::-1]:
            seconds, names[name] = once(name)
            times[name].append(seconds)
    return {
        name: {
            "median_s": statistics.median(times[name]),
            "times_s": times[name],
            "rows": len(names[name]),
            "names": names[name],
        }
        for name in targets
    }


def main() -> None:
    op, args = sys.argv[1], json.loads(sys.argv[2])
    client = MlflowClient()
    result = {"log": log, "seed": seed, "search": search}[op](client, **args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
