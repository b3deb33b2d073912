#!/usr/bin/env python
"""Drift benchmark: LabCycle's drift statistics side by side with
Evidently's ``DataDriftPreset``, in one run, on the same data.

Data: reference and current frames of 1,000,000 rows × 20 numeric + 5 categorical columns
(``--rows``), generated with a fixed seed and written to Parquet in ``bench/.work/drift/``.
The current frame has known shifts on some columns (see :data:`SHIFTED`): mean shifts and a
scale change on numeric columns, new category mixes on two categorical columns; the other
columns are drawn from the same distributions as the reference.

Each system reads the two Parquet files into pandas DataFrames (not timed) and then computes
its drift report from those in-memory frames (timed, wall clock):

- LabCycle: ``compute_drift(reference, current).to_dict()`` in this process (pandas 3),
  ``--repeat`` times (median reported; the first run too), with its default 2 threads and
  once with ``LABCYCLE_DRIFT_THREADS=1``.
- Evidently 0.7 (it does not import with pandas 3): in its own virtual environment,
  ``bench/.work/evidently-venv`` (created on first use with ``pip install "evidently==0.7.*"
  "pandas<3" pyarrow``), where this same file runs as ``--evidently-worker``:
  ``Dataset.from_pandas`` of both frames with a ``DataDefinition`` naming the numeric and
  categorical columns, then ``Report([DataDriftPreset()]).run(...)``, once.

The verdict per column (drifted or not) of both is compared; the targets are at least 20×
faster than Evidently, under 5 s, and the same verdict on every column.

Usage::

    python bench/drift.py            # 1M rows; rewrites its section of bench/RESULTS.md
    python bench/drift.py --quick    # 100k rows, no report unless --out FILE

The section between ``<!-- bench:drift -->`` and ``<!-- /bench:drift -->`` of
``bench/RESULTS.md`` is replaced (appended when missing); the rest of the file is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _results import RESULTS, machine, markers, stamp, write_section

HERE = Path(__file__).resolve().parent
BEGIN, END = markers("drift")
WORK = HERE / ".work"
EVIDENTLY_VENV = WORK / "evidently-venv"
EVIDENTLY_SPEC = "evidently==0.7.*"

NUMERIC = [f"n{i:02d}" for i in range(20)]
CATEGORICAL = [f"c{i}" for i in range(5)]
#: what changes in the current data (everything else keeps the reference distribution)
SHIFTED = {
    "n00": "mean + 0.5 std",
    "n01": "mean + 0.3 std",
    "n02": "mean + 0.2 std",
    "n03": "std × 1.5",
    "n04": "mean + 0.05 std (too small to count)",
    "c0": "new mix of 10 categories",
    "c1": "new mix of 3 categories",
}


# -- data ----------------------------------------------------------------------------------


def make_frames(rows: int, seed: int = 5) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    g = np.random.default_rng(seed)

    def numeric(i: int, current: bool) -> np.ndarray:
        kind = i % 5
        if kind == 0:
            x = g.normal(10, 2, rows)
        elif kind == 1:
            x = g.lognormal(0, 0.5, rows)
        elif kind == 2:
            x = g.uniform(-5, 5, rows)
        elif kind == 3:
            x = g.poisson(50, rows).astype(np.float64)  # ~60 distinct values
        else:
            x = g.integers(0, 4, rows).astype(np.float64)  # 4 distinct values
        if i == 19:
            x = g.gamma(2.0, 2.0, rows)
        if not current:
            return x
        std = x.std()
        name = NUMERIC[i]
        if name == "n00":
            return x + 0.5 * std
        if name == "n01":
            return x + 0.3 * std
        if name == "n02":
            return x + 0.2 * std
        if name == "n03":
            return x.mean() + (x - x.mean()) * 1.5
        if name == "n04":
            return x + 0.05 * std
        return x

    def categorical(i: int, current: bool) -> np.ndarray:
        if i == 0:
            cats = np.array([f"k{j}" for j in range(10)])
            p = np.linspace(1, 3, 10) if not current else np.linspace(3, 1, 10)
        elif i == 1:
            cats = np.array(["red", "green", "blue"])
            p = np.array([0.5, 0.3, 0.2]) if not current else np.array([0.3, 0.3, 0.4])
        elif i == 2:
            cats = np.array([f"city{j}" for j in range(50)])
            p = 1 / np.arange(1, 51)
        elif i == 3:
            cats = np.array(["yes", "no"])
            p = np.array([0.3, 0.7])
        else:
            cats = np.array([f"sku{j:03d}" for j in range(200)])
            p = np.ones(200)
        return cats[g.choice(len(cats), rows, p=p / p.sum())]

    def frame(current: bool) -> pd.DataFrame:
        cols: dict[str, Any] = {n: numeric(i, current) for i, n in enumerate(NUMERIC)}
        cols.update({n: categorical(i, current) for i, n in enumerate(CATEGORICAL)})
        return pd.DataFrame(cols)

    return frame(False), frame(True)


def write_data(rows: int) -> tuple[Path, Path]:
    folder = WORK / "drift"
    folder.mkdir(parents=True, exist_ok=True)
    ref_path, cur_path = folder / f"reference-{rows}.parquet", folder / f"current-{rows}.parquet"
    if not (ref_path.exists() and cur_path.exists()):
        ref, cur = make_frames(rows)
        ref.to_parquet(ref_path)
        cur.to_parquet(cur_path)
    return ref_path, cur_path


# -- Evidently, in its own environment -------------------------------------------------------


def ensure_evidently_venv() -> Path:
    python = EVIDENTLY_VENV / "bin" / "python"
    probe = [str(python), "-c", "import evidently, pandas; print(evidently.__version__)"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    WORK.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", EVIDENTLY_SPEC, "pandas<3", "pyarrow"],
        check=True,
    )
    return python


def evidently_worker(ref_path: str, cur_path: str, out_path: str) -> None:
    """Runs inside the Evidently venv: no LabCycle imports here."""
    import evidently
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref = pd.read_parquet(ref_path)
    cur = pd.read_parquet(cur_path)
    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(cur, data_definition=definition),
        reference_data=Dataset.from_pandas(ref, data_definition=definition),
    )
    elapsed = time.perf_counter() - start
    columns = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config") or {}
        if config.get("type", "").endswith("ValueDrift"):
            method, threshold, value = config["method"], config["threshold"], metric["value"]
            p_value = "p_value" in method
            columns[config["column"]] = {
                "method": method,
                "threshold": threshold,
                "score": value,
                "drifted": bool(value < threshold) if p_value else bool(value >= threshold),
            }
    Path(out_path).write_text(
        json.dumps(
            {
                "seconds": elapsed,
                "version": evidently.__version__,
                "pandas": pd.__version__,
                "columns": columns,
            }
        )
    )


def run_evidently(ref_path: Path, cur_path: Path) -> dict[str, Any]:
    python = ensure_evidently_venv()
    out = WORK / "drift" / "evidently-result.json"
    out.unlink(missing_ok=True)
    env = {**os.environ, "DO_NOT_TRACK": "1", "EVIDENTLY_DISABLE_TELEMETRY": "1"}
    subprocess.run(
        [
            str(python),
            str(Path(__file__).resolve()),
            "--evidently-worker",
            str(ref_path),
            str(cur_path),
            str(out),
        ],
        check=True,
        env=env,
    )
    return json.loads(out.read_text())


# -- LabCycle ------------------------------------------------------------------------------


def run_labcycle(ref_path: Path, cur_path: Path, repeat: int) -> dict[str, Any]:
    import pandas as pd

    from labcycle.monitoring.drift import compute_drift

    ref = pd.read_parquet(ref_path)
    cur = pd.read_parquet(cur_path)
    times, report = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        report = compute_drift(ref, cur).to_dict()
        times.append(time.perf_counter() - start)
    previous = os.environ.get("LABCYCLE_DRIFT_THREADS")
    os.environ["LABCYCLE_DRIFT_THREADS"] = "1"
    try:
        start = time.perf_counter()
        compute_drift(ref, cur).to_dict()
        one_thread = time.perf_counter() - start
    finally:
        if previous is None:
            os.environ.pop("LABCYCLE_DRIFT_THREADS")
        else:
            os.environ["LABCYCLE_DRIFT_THREADS"] = previous
    return {
        "seconds": statistics.median(times),
        "first": times[0],
        "all": times,
        "one_thread": one_thread,
        "pandas": pd.__version__,
        "dtypes": sorted({str(t) for t in ref.dtypes}),
        "report": report,
    }


# -- report --------------------------------------------------------------------------------


def compare(lc: dict[str, Any], ev: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name in NUMERIC + CATEGORICAL:
        mine = lc["report"]["columns"][name]
        theirs = ev["columns"].get(name, {})
        rows.append(
            {
                "column": name,
                "labcycle_method": mine["method"],
                "labcycle_score": mine["score"],
                "labcycle_drifted": mine["drifted"],
                "evidently_method": theirs.get("method"),
                "evidently_score": theirs.get("score"),
                "evidently_drifted": theirs.get("drifted"),
                "agree": mine["drifted"] == theirs.get("drifted"),
                "shift": SHIFTED.get(name, "none"),
            }
        )
    return rows


def fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.4f}"


def report(rows: int, lc: dict, ev: dict, table: list[dict], load: tuple[float, float]) -> str:
    ratio = ev["seconds"] / lc["seconds"]
    agree = sum(r["agree"] for r in table)
    ok = lambda c: "PASS" if c else "MISS"  # noqa: E731
    lines = [
        BEGIN,
        "## Drift (issue 5): LabCycle vs Evidently `DataDriftPreset`",
        "",
        f"Run {stamp()} on {machine()}, Python {platform.python_version()}; "
        f"load average {load[0]:.2f} at the start, {load[1]:.2f} at the end. "
        f"Reference and current: {rows:,} rows × {len(NUMERIC)} numeric + "
        f"{len(CATEGORICAL)} categorical columns each, read from Parquet (not timed). "
        f"LabCycle on pandas {lc['pandas']}, Evidently {ev['version']} on pandas {ev['pandas']} "
        "in its own venv. Wall time of computing the report from the in-memory frames.",
        "",
        "| measure | LabCycle | Evidently | ratio | target | |",
        "|---|---|---|---|---|---|",
        f"| drift report, {rows:,} rows × 25 columns | {lc['seconds']:.2f} s (median of "
        f"{len(lc['all'])}; first {lc['first']:.2f} s; 1 thread {lc['one_thread']:.2f} s) | "
        f"{ev['seconds']:.1f} s | {ratio:.0f}× | ≥ 20× and < 5 s | "
        f"{ok(ratio >= 20 and lc['seconds'] < 5)} |",
        f"| same verdict per column | {agree}/{len(table)} | | | 25/25 | "
        f"{ok(agree == len(table))} |",
        "",
        "| column | shift in current | LabCycle method | score | drift | Evidently method | "
        "score | drift |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in table:
        lines.append(
            f"| {r['column']} | {r['shift']} | {r['labcycle_method']} | "
            f"{fmt(r['labcycle_score'])} | {'yes' if r['labcycle_drifted'] else 'no'} | "
            f"{r['evidently_method']} | {fmt(r['evidently_score'])} | "
            f"{'yes' if r['evidently_drifted'] else 'no'} |"
        )
    lines += [
        "",
        "LabCycle runs its columns on 2 threads (NumPy releases the GIL while sorting); the "
        "1-thread time is the same computation on one. Evidently runs single-threaded. "
        "`python bench/drift.py` reproduces this section.",
        END,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--evidently-worker":
        evidently_worker(*argv[1:4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k rows; no report unless --out")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="write the section to this file")
    args = parser.parse_args(argv)
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    load_start = os.getloadavg()[0]
    print(f"data: {rows:,} rows (load average {load_start:.2f})", flush=True)
    ref_path, cur_path = write_data(rows)
    lc = run_labcycle(ref_path, cur_path, args.repeat)
    print(
        f"LabCycle: {lc['seconds']:.2f} s (runs {', '.join(f'{t:.2f}' for t in lc['all'])}; "
        f"1 thread {lc['one_thread']:.2f} s)",
        flush=True,
    )
    ev = run_evidently(ref_path, cur_path)
    print(f"Evidently {ev['version']}: {ev['seconds']:.1f} s", flush=True)
    table = compare(lc, ev)
    load = (load_start, os.getloadavg()[0])
    for r in table:
        print(
            f"  {r['column']}: LabCycle {r['labcycle_method']} {fmt(r['labcycle_score'])} "
            f"{r['labcycle_drifted']}  Evidently {r['evidently_method']} "
            f"{fmt(r['evidently_score'])} {r['evidently_drifted']}"
            f"{'' if r['agree'] else '  DISAGREE'}"
        )
    agree = sum(r["agree"] for r in table)
    print(
        f"ratio {ev['seconds'] / lc['seconds']:.1f}×, agreement {agree}/{len(table)}, "
        f"load {load[0]:.2f} → {load[1]:.2f}"
    )
    text = report(rows, lc, ev, table, load)
    if args.out:
        args.out.write_text(text + "\n")
    elif not args.quick:
        write_section("drift", text)
        print(f"wrote its section of {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
