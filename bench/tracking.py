#!/usr/bin/env python
"""Tracking benchmark: LabCycle side by side with MLflow on SQLite, in one run.

Three measures, each with a target that is a requirement:

(a) per-call cost of ``log_metric`` in a loop          LabCycle calls/s >= 100x MLflow's
(b) bulk ingest of metric points                        LabCycle >= 50% of raw sqlite3
                                                        executemany, and >= 20x MLflow
(c) run search (filter + order -> DataFrame)            LabCycle >= 10x faster than MLflow
                                                        and < 300 ms

Usage::

    python bench/tracking.py            # full sizes; rewrites its section of bench/RESULTS.md
    python bench/tracking.py --quick    # smoke run (< 60 s); writes a report only with --out
    python bench/tracking.py --mlflow-python bench/.work/mlflow-venv/bin/python

LabCycle runs in this process; MLflow's pins clash with LabCycle's (pyarrow), so its half
runs in a Python of its own, ``--mlflow-python`` (default ``$LABCYCLE_BENCH_MLFLOW_PYTHON``,
else this one), as ``_mlflow_tracking.py``, which times MLflow's calls there. Both halves
build the same workload from ``_tracking_workload.py``. The two systems take turns (never
concurrently), on SQLite files in a temporary folder. MLflow stays offline: a ``sqlite:///``
tracking URI, no server, telemetry off. Its search store (10,000 runs take minutes to log
through MLflow) is built once and cached under ``bench/.work/``, keyed by the data parameters.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import _mlflow
import sqlalchemy
from _results import RESULTS, markers, stamp, write_section
from _tracking_workload import (
    BASE_MS,
    FILTER,
    FULL,
    ORDER,
    QUICK,
    SEED,
    Sizes,
    digest,
    iter_points,
    point_sequence,
    quiet_gc,
    search_data,
)
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import labcycle as lc
from labcycle.api.fluent import _state as lc_state
from labcycle.services import Services
from labcycle.store.db import SQLITE_PRAGMAS

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work"
DATA_VERSION = 1  # bump when the generated search data changes: invalidates the MLflow cache

console = Console(highlight=False, width=None if sys.stdout.isatty() else 110)


class MlflowHalf:
    """MLflow's half of the bench: ``_mlflow_tracking.py`` running in ``python``, asked one
    request at a time (``half("op", **args)``) and answering with its result."""

    def __init__(self, python: str) -> None:
        self.python = python
        env = _mlflow.environment(python, dict(os.environ))
        self.version = _mlflow.version(python, env)  # exits with what to do if it is missing
        self.proc = subprocess.Popen(
            [python, str(HERE / "_mlflow_tracking.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def __call__(self, op: str, progress: Callable[[int, int], None] | None = None, **args):
        self.proc.stdin.write(json.dumps({"op": op, "args": args}) + "\n")
        self.proc.stdin.flush()
        for line in self.proc.stdout:
            answer = json.loads(line)
            if "progress" in answer:
                if progress is not None:
                    progress(answer["progress"], answer["total"])
            elif "error" in answer:
                raise RuntimeError(f"MLflow's half failed on {op!r}:\n{answer['error']}")
            else:
                return answer["ok"]
        raise RuntimeError(f"MLflow's half ({self.python}) exited with {self.proc.wait()}")

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Row:
    measure: str
    unit: str
    labcycle: float
    peer_name: str
    peer: float
    ratio: float  # LabCycle relative to the peer, "higher is better" for LabCycle
    ratio_text: str
    target: str
    ok: bool | None  # None: information, no target


def fmt(x: float, digits: int = 0) -> str:
    if x >= 100 or digits == 0:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


# -- (a) log_metric per call ------------------------------------------------------------------
def bench_log_metric(sizes: Sizes, tmp: Path, mlflow: MlflowHalf) -> tuple[list[Row], dict]:
    console.rule("(a) log_metric in a loop")
    lc.configure(home=str(tmp / "lc-a"))
    info: dict[str, Any] = {}
    with lc.start_run("bench-log-metric", name="log-metric"):
        for i in range(10):  # warm-up, then start from an empty buffer
            lc.log_metric("warmup", float(i), step=i)
        lc.flush()
        values = [i * 0.001 for i in range(sizes.calls)]
        with quiet_gc():
            t0 = time.perf_counter()
            for i, v in enumerate(values):
                lc.log_metric("loss", v, step=i)
            t1 = time.perf_counter()
            lc.flush()
            t2 = time.perf_counter()
        run_id = lc.active_run().id
    stored = len(lc.get_run(run_id).metric_history("loss"))
    assert stored == sizes.calls, f"LabCycle stored {stored} of {sizes.calls} points"
    lc_state.reset(None)  # stop the flusher thread and close the store before MLflow runs
    lc_loop, lc_total = t1 - t0, t2 - t0
    lc_rate = sizes.calls / lc_loop
    console.print(
        f"LabCycle: {sizes.calls:,} calls in {lc_loop * 1e3:.1f} ms "
        f"({lc_loop / sizes.calls * 1e6:.2f} µs/call); everything flushed after "
        f"{lc_total * 1e3:.1f} ms"
    )

    # The same loop in MLflow's process (10 warm-up calls, then the timed ones, checked after).
    ml_loop = mlflow("log_metric", calls=sizes.mlflow_calls, artifacts=str(tmp / "mlflow-art"))[
        "seconds"
    ]
    ml_rate = sizes.mlflow_calls / ml_loop
    console.print(
        f"MLflow:   {sizes.mlflow_calls:,} calls in {ml_loop:.2f} s "
        f"({ml_loop / sizes.mlflow_calls * 1e3:.2f} ms/call)"
    )
    info.update(
        lc_calls=sizes.calls,
        lc_loop_s=lc_loop,
        lc_flushed_s=lc_total,
        mlflow_calls=sizes.mlflow_calls,
        mlflow_s=ml_loop,
    )
    rows = [
        Row(
            "(a) log_metric in a loop",
            "calls/s",
            lc_rate,
            "MLflow",
            ml_rate,
            lc_rate / ml_rate,
            f"{lc_rate / ml_rate:,.0f}×",
            "≥ 100×",
            lc_rate / ml_rate >= 100,
        ),
        Row(
            "(a) same, until flushed to the store",
            "calls/s",
            sizes.calls / lc_total,
            "MLflow",
            ml_rate,
            sizes.calls / lc_total / ml_rate,
            f"{sizes.calls / lc_total / ml_rate:,.0f}×",
            "info",
            None,
        ),
    ]
    return rows, info


# -- (b) bulk ingest --------------------------------------------------------------------------
def raw_ddl() -> list[str]:
    """LabCycle's own ``metrics`` table, compiled from its model for SQLite: the same
    columns and types, primary key and ``ix_metrics_run_key_step (run_id, key, step)``.
    The foreign key to ``runs`` is left out, so the floor is the bare insert."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect
    from sqlalchemy.schema import CreateIndex, CreateTable

    from labcycle.store.models import Metric

    dialect = sqlite_dialect.dialect()
    table = Metric.__table__
    return [
        str(CreateTable(table, include_foreign_key_constraints=[]).compile(dialect=dialect))
    ] + [str(CreateIndex(ix).compile(dialect=dialect)) for ix in table.indexes]


def bench_raw_floor(sizes: Sizes, tmp: Path, keys, values, round_no: int) -> float:
    path = tmp / f"raw-floor-{round_no}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:  # the pragmas LabCycle sets on its own connections
        conn.execute(f"PRAGMA {pragma}")
    for ddl in raw_ddl():
        conn.execute(ddl)
    run_ids = [uuid.uuid4().hex for _ in range(sizes.ingest_runs)]
    server_time = BASE_MS
    batches: list[list[tuple]] = []
    current: list[tuple] = []
    last_run = 0
    for r, key, value, step, ts in iter_points(sizes, keys, values):
        if (r != last_run or len(current) == sizes.batch) and current:
            batches.append(current)
            current = []
        last_run = r
        current.append((run_ids[r], key, step, value, ts, server_time))
    batches.append(current)
    sql = (
        'INSERT INTO metrics (run_id, "key", step, value, timestamp, server_time) '
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    with quiet_gc():
        t0 = time.perf_counter()
        for batch in batches:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, batch)
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - t0
    count = conn.execute("SELECT count(*) FROM metrics").fetchone()[0]
    assert count == sizes.points, f"raw floor stored {count} of {sizes.points}"
    conn.close()
    return elapsed


def bench_labcycle_ingest(sizes: Sizes, tmp: Path, keys, values, round_no: int) -> float:
    home = tmp / f"lc-b-{round_no}"
    services = Services.open(f"sqlite:///{home / 'labcycle.db'}", str(home / "artifacts"))
    tracking = services.tracking
    run_ids = [
        tracking.create_run(actor="bench", experiment="bench-ingest", name=f"ingest-{r}")["id"]
        for r in range(sizes.ingest_runs)
    ]
    batches: list[tuple[str, list[tuple]]] = []
    current: list[tuple] = []
    last_run = 0
    for r, key, value, step, ts in iter_points(sizes, keys, values):
        if (r != last_run or len(current) == sizes.batch) and current:
            batches.append((run_ids[last_run], current))
            current = []
        last_run = r
        current.append((key, value, step, ts))  # what the flusher sends
    batches.append((run_ids[last_run], current))
    with quiet_gc():
        t0 = time.perf_counter()
        for run_id, batch in batches:
            tracking.log_batch(run_id, actor="bench", metrics=batch)
        elapsed = time.perf_counter() - t0
    with services.store.read() as conn:
        count = conn.exec_driver_sql("SELECT count(*) FROM metrics").scalar()
        latest = conn.exec_driver_sql(
            "SELECT step FROM latest_metrics WHERE key = 'k0' ORDER BY run_id LIMIT 1"
        ).scalar()
    assert count == sizes.points, f"LabCycle stored {count} of {sizes.points}"
    assert latest == sizes.ingest_steps - 1, "latest_metrics does not hold the last step"
    services.close()
    return elapsed


def bench_ingest(sizes: Sizes, tmp: Path, mlflow: MlflowHalf) -> tuple[list[Row], dict]:
    console.rule(f"(b) bulk ingest of {sizes.points:,} metric points")
    keys, values = point_sequence(sizes)
    # MLflow's points are cut in one slice per round, so that each round times all three
    # systems close together: a machine that gets busier or quieter affects them alike.
    setup = mlflow("ingest_setup", sizes=asdict(sizes), artifacts=str(tmp / "mlflow-art-b"))
    assert setup["digest"] == digest(values), "MLflow's half made other points than LabCycle's"
    ml_n = setup["points"]
    ml_points, ml_times = [], []
    raw_times, lc_times = [], []
    for round_no in range(1, sizes.rounds + 1):  # interleaved, fresh files each round

        def raw_round(round_no: int = round_no) -> None:
            raw_times.append(bench_raw_floor(sizes, tmp, keys, values, round_no))
            console.print(
                f"round {round_no}: raw sqlite3 executemany: {raw_times[-1]:.2f} s, "
                f"{sizes.points / raw_times[-1]:,.0f} points/s"
            )

        def lc_round(round_no: int = round_no) -> None:
            lc_times.append(bench_labcycle_ingest(sizes, tmp, keys, values, round_no))
            console.print(
                f"round {round_no}: LabCycle log_batch:      {lc_times[-1]:.2f} s, "
                f"{sizes.points / lc_times[-1]:,.0f} points/s"
            )

        # The order alternates, so neither side always runs right after the other's writes.
        for step in (raw_round, lc_round) if round_no % 2 else (lc_round, raw_round):
            step()
        if round_no <= setup["slices"]:
            part = mlflow("ingest_slice", index=round_no - 1)
            ml_points.append(part["points"])
            ml_times.append(part["seconds"])
            console.print(
                f"round {round_no}: MLflow log_batch:        {ml_times[-1]:.2f} s for "
                f"{ml_points[-1]:,} points, {ml_points[-1] / ml_times[-1]:,.0f} points/s"
            )
    mlflow("ingest_check")  # the first run holds every step it should
    # Central figures for every system: the median round of LabCycle and of the floor (each
    # round is the whole workload), and MLflow's points over its total time.
    raw_s, lc_s = statistics.median(raw_times), statistics.median(lc_times)
    raw_rate, lc_rate = sizes.points / raw_s, sizes.points / lc_s
    ml_s = sum(ml_times)
    ml_rate = ml_n / ml_s
    ml_rates = [p / t for p, t in zip(ml_points, ml_times, strict=True)]
    rows = [
        Row(
            f"(b) ingest {sizes.points:,} points",
            "points/s",
            lc_rate,
            "raw sqlite3",
            raw_rate,
            lc_rate / raw_rate,
            f"{lc_rate / raw_rate:.0%} of floor",
            "≥ 50%",
            lc_rate / raw_rate >= 0.5,
        ),
        Row(
            f"(b) ingest {sizes.points:,} points",
            "points/s",
            lc_rate,
            "MLflow",
            ml_rate,
            lc_rate / ml_rate,
            f"{lc_rate / ml_rate:,.0f}×",
            "≥ 20×",
            lc_rate / ml_rate >= 20,
        ),
    ]
    return rows, {
        "mlflow_rates": ml_rates,
        "raw_s": raw_s,
        "lc_s": lc_s,
        "mlflow_s": ml_s,
        "mlflow_points": ml_n,
        "raw_all": raw_times,
        "lc_all": lc_times,
    }


# -- (c) search -------------------------------------------------------------------------------
def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def build_labcycle_search(sizes: Sizes, home: Path, data) -> float:
    services = Services.open(f"sqlite:///{home / 'labcycle.db'}", str(home / "artifacts"))
    tracking = services.tracking
    t0 = time.perf_counter()
    with progress() as bar:
        task = bar.add_task("LabCycle: logging the search runs", total=len(data))
        for name, start, params, metrics in data:
            run_id = tracking.create_run(
                actor="bench", experiment="bench-search", name=name, start_time=start
            )["id"]
            tracking.log_batch(
                run_id, actor="bench", params=params, metrics=[(k, v, 0, start) for k, v in metrics]
            )
            bar.advance(task)
    elapsed = time.perf_counter() - t0
    services.close()
    return elapsed


def mlflow_cache_path(sizes: Sizes, mlflow_version: str) -> Path:
    key = (
        f"mlflow{mlflow_version}-search-{sizes.search_runs}r-{sizes.search_params}p-"
        f"{sizes.search_metrics}m-seed{SEED}-v{DATA_VERSION}"
    )
    return WORK / f"{key}.db"


def build_mlflow_search(sizes: Sizes, mlflow: MlflowHalf) -> tuple[Path, dict]:
    """The MLflow store for (c), logged in MLflow's process through MlflowClient.log_batch;
    built once, cached."""
    path = mlflow_cache_path(sizes, mlflow.version)
    with progress() as bar:
        task = bar.add_task("MLflow: logging the search runs (once; cached in bench/.work/)")

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        meta = mlflow(
            "search_store",
            progress=advance,
            path=str(path),
            sizes=asdict(sizes),
            artifacts=str(WORK / "mlflow-art"),
        )
    return path, meta


def timed(fn: Callable[[], Any]) -> Callable[[], tuple[float, Any]]:
    """``fn`` as a timed call in this process: the garbage collector runs first (untimed),
    so that no call pays for the garbage another one left."""

    def call() -> tuple[float, Any]:
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        return time.perf_counter() - t0, result

    return call


def alternating_medians(
    fns: list[Callable[[], tuple[float, Any]]], reps: int
) -> list[tuple[float, Any]]:
    """One warm-up call each, then ``reps`` rounds calling each function once in turn (never
    two at a time): all of them see the same moments of a busy or quiet machine. Each
    function times itself (MLflow's in its own process) and returns (seconds, result).
    The median time of each, with its last result."""
    results = [fn()[1] for fn in fns]
    times: list[list[float]] = [[] for _ in fns]
    with quiet_gc():
        for _ in range(reps):
            for i, fn in enumerate(fns):
                results[i] = None
                elapsed, results[i] = fn()
                times[i].append(elapsed)
    return [(statistics.median(t), r) for t, r in zip(times, results, strict=True)]


def bench_search(sizes: Sizes, tmp: Path, mlflow: MlflowHalf) -> tuple[list[Row], dict]:
    console.rule(
        f"(c) search over {sizes.search_runs:,} runs × {sizes.search_params} params × "
        f"{sizes.search_metrics} metrics"
    )
    data = search_data(sizes)
    ml_path, ml_meta = build_mlflow_search(sizes, mlflow)
    console.print(
        f"MLflow store: {ml_path.relative_to(REPO)} "
        + (
            "(cached" + f", built in {ml_meta['build_s']:.0f} s on {ml_meta['built_at']})"
            if ml_meta["cached"]
            else f"(built in {ml_meta['build_s']:.0f} s, now cached)"
        )
    )
    home = tmp / "lc-c"
    lc_build = build_labcycle_search(sizes, home, data)
    console.print(f"LabCycle store: built in {lc_build:.1f} s")

    lc.configure(home=str(home))
    mlflow("search_open", path=str(ml_path))

    def mlflow_search() -> tuple[float, list[str]]:
        answer = mlflow("search")  # mlflow.search_runs, timed there
        return answer["seconds"], answer["names"]

    (lc_med, lc_df), (ml_med, ml_names) = alternating_medians(
        [timed(lambda: lc.search_runs(FILTER, order_by=ORDER, max_results=1000)), mlflow_search],
        sizes.reps,
    )
    lc_state.reset(None)
    console.print(f"LabCycle lc.search_runs: median {lc_med * 1e3:.1f} ms, {len(lc_df)} runs")
    console.print(f"MLflow mlflow.search_runs: median {ml_med * 1e3:.1f} ms, {len(ml_names)} runs")

    lc_names = list(lc_df["name"]) if len(lc_df) else []
    agree = lc_names == ml_names
    if not agree:
        console.print(
            f"[red]The two searches disagree: LabCycle {len(lc_names)} runs, MLflow "
            f"{len(ml_names)} runs (or a different order).[/red]"
        )
    expected = sum(1 for _, _, p, m in data if p.get("p1") == "v3" and dict(m)["m0"] > 0.5)
    rows = [
        Row(
            f"(c) search {sizes.search_runs:,} runs → {len(lc_df)} rows"
            + ("" if agree else " (RESULTS DIFFER)"),
            "ms",
            lc_med * 1e3,
            "MLflow",
            ml_med * 1e3,
            ml_med / lc_med,
            f"{ml_med / lc_med:,.1f}× faster",
            "≥ 10× faster",
            agree and ml_med / lc_med >= 10,
        ),
        Row(
            "(c) search latency",
            "ms",
            lc_med * 1e3,
            "",
            float("nan"),
            float("nan"),
            "",
            "< 300 ms",
            agree and lc_med < 0.3,
        ),
    ]
    info = {
        "lc_build_s": lc_build,
        "mlflow_build_s": ml_meta["build_s"],
        "mlflow_cached": ml_meta["cached"],
        "mlflow_built_at": ml_meta["built_at"],
        "matches": len(lc_df),
        "mlflow_matches": len(ml_names),
        "expected": expected,
        "agree": agree,
        "lc_ms": lc_med * 1e3,
        "mlflow_ms": ml_med * 1e3,
        "mlflow_cache": str(ml_path.relative_to(REPO)),
    }
    return rows, info


# -- report -----------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "OS": f"{platform.system()} {platform.release()}",
    }


def versions(mlflow: dict[str, str]) -> dict[str, str]:
    """This process's versions, and those of MLflow's (``hello``), which may differ."""
    import pandas

    return {
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "SQLAlchemy": sqlalchemy.__version__,
        "pandas": pandas.__version__,
        "MLflow": f"{mlflow['mlflow']} (in its own Python {mlflow['python']}: SQLite "
        f"{mlflow['sqlite']}, SQLAlchemy {mlflow['sqlalchemy']}, pandas {mlflow['pandas']})",
        "LabCycle": lc.__version__,
    }


def value_text(row: Row, which: str) -> str:
    value = row.labcycle if which == "lc" else row.peer
    if value != value:  # NaN: no peer figure
        return "—"
    if row.unit == "ms":
        return f"{value:,.1f} ms"
    return f"{fmt(value)} {row.unit}"


def verdict(row: Row) -> str:
    return "info" if row.ok is None else ("PASS" if row.ok else "MISS")


def notes(sizes: Sizes, infos: dict) -> list[str]:
    out = []
    if "a" in infos:
        a = infos["a"]
        out.append(
            f"(a) LabCycle {a['lc_calls']:,} calls ({a['lc_loop_s'] / a['lc_calls'] * 1e6:.2f} µs/call, "
            f"flushed after {a['lc_flushed_s'] * 1e3:.0f} ms); MLflow timed on {a['mlflow_calls']:,} "
            f"calls ({a['mlflow_s'] / a['mlflow_calls'] * 1e3:.2f} ms/call): per-call cost compared."
        )
    if "b" in infos:
        b = infos["b"]
        sample = (
            "all of them"
            if b["mlflow_points"] >= sizes.points
            else f"the first {b['mlflow_points']:,} of them"
        )
        out.append(
            f"(b) {sizes.ingest_runs} runs × {sizes.ingest_keys} keys × {sizes.ingest_steps:,} steps; "
            f"LabCycle and raw sqlite3 in batches of {sizes.batch:,}, median of {sizes.rounds} "
            f"rounds (taking turns going first); MLflow in batches of {sizes.mlflow_batch:,} on "
            f"{sample}, one slice after each round, points over total time (slices: "
            + ", ".join(f"{rate:,.0f}" for rate in b["mlflow_rates"])
            + " points/s)."
        )
    if "c" in infos:
        c = infos["c"]
        out.append(
            f"(c) {sizes.search_runs:,} runs × {sizes.search_params} params × {sizes.search_metrics} "
            f"metrics; median of {sizes.reps} after a warm-up, taking turns; LabCycle {c['matches']} rows, MLflow "
            f"{c['mlflow_matches']} rows, "
            + ("same runs in the same order." if c["agree"] else "NOT the same runs/order.")
        )
    return out


def print_table(rows: list[Row], title: str) -> None:
    table = Table(title=title, show_lines=True)
    for col, kw in (
        ("measure", {"max_width": 48}),
        ("LabCycle", {"justify": "right"}),
        ("peer", {"justify": "right"}),
        ("ratio", {"justify": "right"}),
        ("target", {}),
        ("result", {}),
    ):
        table.add_column(col, **kw)
    for row in rows:
        v = verdict(row)
        style = {"PASS": "bold green", "MISS": "bold red"}.get(v, "dim")
        peer = f"{row.peer_name}: {value_text(row, 'peer')}" if row.peer_name else "—"
        table.add_row(
            row.measure,
            value_text(row, "lc"),
            peer,
            row.ratio_text,
            row.target,
            f"[{style}]{v}[/{style}]",
        )
    console.print(table)


def markdown(
    rows: list[Row],
    sizes: Sizes,
    quick: bool,
    infos: dict,
    env: dict,
    total_s: float,
    argv: list[str],
) -> str:
    lines = [
        "## Tracking: LabCycle vs MLflow (SQLite)",
        "",
        "Written by `bench/tracking.py` (issue #2, item 11) between its markers. Do not edit by "
        "hand: rerun "
        "`python bench/tracking.py` to refresh it.",
        "",
        f"- **Date:** {env['date']}",
        f"- **Command:** `{' '.join(['python bench/tracking.py', *argv])}`"
        + ("  (quick: smoke sizes, figures not representative)" if quick else ""),
        f"- **Total bench runtime:** {total_s:.0f} s (1-min load average {env['load'][0]:.1f} at the "
        f"start, {env['load_end'][0]:.1f} at the end)"
        + (
            f". **The machine was busy** (more runnable processes than its {os.cpu_count()} cores): "
            "absolute figures are lower than on an idle machine; both systems ran under the same "
            "load, and the ratios are what the targets compare."
            if max(env["load"][0], env["load_end"][0]) > (os.cpu_count() or 1)
            else ""
        ),
        "- **Machine:** "
        + ", ".join(f"{k} {v}" if k != "CPU" else v for k, v in env["machine"].items()),
        "- **Versions:** " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()),
        f"- **Store files:** a temporary folder under `{tempfile.gettempdir()}` (same file system "
        f"for every system). LabCycle and the raw floor use LabCycle's SQLite pragmas: "
        f"{', '.join(SQLITE_PRAGMAS)}; MLflow uses its own defaults.",
        "",
        "### Results",
        "",
        "| measure | LabCycle | peer | ratio | target | result |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        peer = f"{row.peer_name}: {value_text(row, 'peer')}" if row.peer_name else "—"
        result = verdict(row)
        lines.append(
            f"| {row.measure} | {value_text(row, 'lc')} | {peer} | {row.ratio_text} | "
            f"{row.target} | **{result}** |"
        )
    a, b, c = infos["a"], infos["b"], infos["c"]
    lines += [
        "",
        *[f"- {line}" for line in notes(sizes, infos)],
        "",
        "### How each figure is taken",
        "",
        f"**(a) `log_metric` per call.** LabCycle: `lc.configure(home=tmp)`, `lc.start_run()`, then "
        f"{a['lc_calls']:,} × `lc.log_metric('loss', v, step=i)`; the loop alone took "
        f"{a['lc_loop_s'] * 1e3:.1f} ms ({a['lc_loop_s'] / a['lc_calls'] * 1e6:.2f} µs/call) and everything "
        f"was in the store after {a['lc_flushed_s'] * 1e3:.1f} ms (loop + `lc.flush()`). "
        f"MLflow: `mlflow.log_metric('loss', v, step=i)` in an active run with tracking URI "
        f"`sqlite:///…/mlflow.db`, timed on {a['mlflow_calls']:,} calls ({a['mlflow_s']:.2f} s, "
        f"{a['mlflow_s'] / a['mlflow_calls'] * 1e3:.2f} ms/call"
        + (
            f"; 10,000 calls would take ~{a['mlflow_s'] / a['mlflow_calls'] * 10_000:.0f} s, so a sample "
            "is timed and the per-call cost compared"
            if a["mlflow_calls"] < a["lc_calls"]
            else ""
        )
        + "). Both after 10 warm-up calls; MLflow logs synchronously (its default).",
        "",
        f"**(b) bulk ingest.** {sizes.points:,} points ({sizes.ingest_runs} runs × {sizes.ingest_keys} keys × "
        f"{sizes.ingest_steps:,} steps, in logging order: step by step, every key at each step). "
        f"LabCycle: `Services.open(...).tracking.log_batch(run_id, actor=..., metrics=[...])` with "
        f"{sizes.batch:,} `(key, value, step, timestamp)` points per call — what the flusher sends — "
        f"{b['lc_s']:.2f} s. Floor: raw `sqlite3` `executemany` of the same rows into a fresh file with "
        f"the same `metrics` table (columns, primary key, `ix_metrics_run_key_step (run_id, key, step)`; "
        f"no foreign key), the same pragmas and one `BEGIN IMMEDIATE … COMMIT` per {sizes.batch:,} rows — "
        f"{b['raw_s']:.2f} s. LabCycle's figure includes what the floor does not do: validating every "
        "point, the foreign key check on `run_id`, the `latest_metrics` upsert and the audit event. "
        f"MLflow: `MlflowClient().log_batch(run_id, metrics=[Metric(...)])`, {sizes.mlflow_batch:,} metrics "
        f"per request (its maximum), on the first {b['mlflow_points']:,} points of the same sequence "
        f"({b['mlflow_s']:.1f} s in all), logged in {len(b['mlflow_rates'])} slice(s), one right after "
        "each round of the other two: "
        + ", ".join(f"{rate:,.0f}" for rate in b["mlflow_rates"])
        + " points/s. "
        + (
            "MLflow slows down as its tables grow, so its figure is taken over the whole workload, "
            "as LabCycle's is (points over total time), not over its fastest first part"
            if b["mlflow_points"] >= sizes.points
            else "A sample: MLflow slows down as its tables grow, so this favours MLflow; the whole "
            f"{sizes.points:,} would take ~{b['mlflow_s'] / b['mlflow_points'] * sizes.points:.0f} s"
        )
        + f". LabCycle and the floor: the median of {sizes.rounds} rounds of the whole workload, in "
        "fresh files, taking turns going first; floor rounds "
        + ", ".join(f"{t:.2f} s" for t in b["raw_all"])
        + "; LabCycle rounds "
        + ", ".join(f"{t:.2f} s" for t in b["lc_all"])
        + ". Input objects are built before the clock starts, for every system.",
        "",
        f"**(c) search.** {sizes.search_runs:,} runs × {sizes.search_params} params × {sizes.search_metrics} "
        "metrics (params `p*` uniform over `'v0'…'v9'`, metrics `m*` uniform in [0, 1), one point each), "
        "the same data in both stores, logged through each system's `log_batch`. Query: "
        f'`lc.search_runs("{FILTER}", order_by="{ORDER}", max_results=1000)` vs '
        f'`mlflow.search_runs(experiment_ids=[…], filter_string="{FILTER}", order_by=["{ORDER}"], '
        f"max_results=1000)`, both returning a pandas DataFrame. Median of {sizes.reps} timed repetitions "
        f"after one warm-up, the two systems taking turns: LabCycle {c['lc_ms']:.1f} ms, MLflow {c['mlflow_ms']:.1f} ms. "
        f"Both return {c['matches']} runs (MLflow {c['mlflow_matches']}; expected from the data "
        f"{c['expected']}), "
        + ("the same runs in the same order." if c["agree"] else "**but not the same runs/order**.")
        + f" Store build: LabCycle {c['lc_build_s']:.0f} s; MLflow {c['mlflow_build_s']:.0f} s "
        + (
            f"(cached in `{c['mlflow_cache']}`, built {c['mlflow_built_at']})."
            if c["mlflow_cached"]
            else f"(now cached in `{c['mlflow_cache']}`)."
        ),
        "",
        "Each system runs alone (never concurrently). LabCycle runs in the bench's process; MLflow, "
        "whose pins clash with LabCycle's, in a Python of its own (`--mlflow-python`) as "
        "`bench/_mlflow_tracking.py`, which builds the same workload from `bench/_tracking_workload.py` "
        "and times MLflow's calls there (the process start and the requests between the two are "
        "not timed). In each process Python's garbage collector is frozen over what exists before "
        "a system is timed (the pre-built input data, the libraries), and in (c) it also runs, "
        "untimed, before each timed call. MLflow runs offline: no server, telemetry off.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes for a smoke run (< 60 s); no report unless --out is given",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"write the Markdown report here (default: {RESULTS.relative_to(REPO)} "
        "for a full run)",
    )
    parser.add_argument("--mlflow-calls", type=int, help="(a) MLflow calls to time")
    parser.add_argument("--mlflow-points", type=int, help="(b) MLflow points to time")
    parser.add_argument(
        "--only", default="abc", help="run only these measures, e.g. 'ab' (no report)"
    )
    _mlflow.add_argument(parser)
    args = parser.parse_args(argv)
    argv_used = list(argv if argv is not None else sys.argv[1:])

    sizes = QUICK if args.quick else FULL
    if args.mlflow_calls:
        sizes = replace(sizes, mlflow_calls=args.mlflow_calls)
    if args.mlflow_points:
        sizes = replace(sizes, mlflow_points=args.mlflow_points)
    out = args.out if args.out else (None if args.quick or args.only != "abc" else RESULTS)

    mlflow = MlflowHalf(args.mlflow_python)
    env = {
        "date": stamp(),
        "machine": machine(),
        "versions": versions(mlflow("hello")),
        "load": os.getloadavg(),
    }
    console.print(
        "[bold]LabCycle vs MLflow tracking bench[/bold] "
        + ("(quick: smoke sizes)" if args.quick else "(full sizes)")
    )
    console.print(", ".join(f"{k} {v}" for k, v in env["machine"].items()))
    console.print(", ".join(f"{k} {v}" for k, v in env["versions"].items()))

    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="labcycle-bench-"))
    rows: list[Row] = []
    infos: dict[str, dict] = {}
    try:
        with console.status("Creating the MLflow store (schema migrations)…"):
            mlflow("open_store", uri=f"sqlite:///{tmp / 'mlflow.db'}")
        if "a" in args.only:
            r, infos["a"] = bench_log_metric(sizes, tmp, mlflow)
            rows += r
        if "b" in args.only:
            r, infos["b"] = bench_ingest(sizes, tmp, mlflow)
            rows += r
        if "c" in args.only:
            r, infos["c"] = bench_search(sizes, tmp, mlflow)
            rows += r
    finally:
        mlflow.close()
        lc_state.reset(None)
        shutil.rmtree(tmp, ignore_errors=True)
    total = time.perf_counter() - started

    env["load_end"] = os.getloadavg()
    print_table(
        rows,
        f"LabCycle vs MLflow {mlflow.version} on SQLite"
        + (" — QUICK sizes, not representative" if args.quick else ""),
    )
    for line in notes(sizes, infos):
        console.print(line)
    console.print(
        f"Total bench runtime: {total:.0f} s (load average {env['load'][0]:.1f} at the start, "
        f"{env['load_end'][0]:.1f} at the end, {os.cpu_count()} cores)"
    )
    if out is not None:
        if set(infos) != {"a", "b", "c"}:
            console.print("[yellow]Not writing a report: it needs all three measures.[/yellow]")
        else:
            report = markdown(rows, sizes, args.quick, infos, env, total, argv_used)
            begin, end = markers("tracking")
            write_section("tracking", f"{begin}\n{report.strip()}\n{end}", out)
            console.print(f"Report written to the tracking section of {out}")
    return 0  # figures, not a pass/fail test: PASS/MISS is in the table


if __name__ == "__main__":
    sys.exit(main())
