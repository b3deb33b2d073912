#!/usr/bin/env python
"""Scale-out benchmark: the team backends side by side with the embedded defaults.

(a) tracking with 4 concurrent writers: 4 processes each create ``--runs`` runs (5 params,
    10 metrics x 10 steps, then finished) on one store, started together; runs logged per
    second over the wall time of the slowest writer. Then run search on the store they
    filled (``metrics.m0 > 0.5 and params.p1 = 'v3'`` ordered by ``metrics.m1 DESC``),
    median of 9 after a warm-up. PostgreSQL (a fresh database on the local server) vs
    SQLite (a fresh file).
(b) artifact upload and download: ``--mb`` MiB files (3 distinct ones) through the artifact
    store (hash, upload under a temporary name, rename; read back in chunks), to an
    S3-compatible server (moto's server mode on 127.0.0.1, reached through the storage
    options) vs a local folder; MiB/s, median of 3.
(c) a 16-trial sweep of a small notebook on a Dask cluster (a ``dask scheduler`` and 2
    ``dask worker`` processes on 127.0.0.1) vs the local pool of 2 worker processes; wall
    time from ``lc.sweep`` to the last trial finished.

Usage::

    python bench/scale.py            # rewrites its section of bench/RESULTS.md
    python bench/scale.py --quick    # smaller sizes; no report unless --out FILE

PostgreSQL: ``LABCYCLE_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``)
names the server the throwaway database is created on (and dropped after).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from _results import load_average, machine, markers, stamp, write_section

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the shared S3 server and process helpers

BEGIN, END = markers("scale")
WRITERS = 4
QUERY = "metrics.m0 > 0.5 and params.p1 = 'v3'"
ORDER = "metrics.m1 DESC"


# -- (a) tracking ----------------------------------------------------------------------------
def writer(
    db_url: str, artifact_url: str, index: int, runs: int, barrier: Any, results: Any
) -> None:
    """One writer process: ``runs`` runs with params and metrics, after the barrier."""
    import random

    from labcycle.services import Services

    services = Services.open(db_url, artifact_url, migrate=False)
    rng = random.Random(index)
    barrier.wait()
    start = time.perf_counter()
    for r in range(runs):
        run = services.tracking.create_run(
            actor=f"writer-{index}", experiment="bench-scale", name=f"w{index}-r{r}"
        )
        params = {f"p{k}": f"v{(r + k) % 10}" for k in range(5)}
        metrics = [
            {"key": f"m{k}", "value": rng.random(), "step": s} for k in range(10) for s in range(10)
        ]
        services.tracking.log_batch(
            run["id"], actor=f"writer-{index}", params=params, metrics=metrics
        )
        services.tracking.update_run(run["id"], actor=f"writer-{index}", status="finished")
    results.put(time.perf_counter() - start)
    services.close()


def tracking(db_url: str, artifact_url: str, runs: int) -> dict[str, Any]:
    from processes import race_processes

    from labcycle.services import Services

    services = Services.open(db_url, artifact_url)  # migrates once, before the writers
    times = race_processes(
        writer, [(db_url, artifact_url, i, runs) for i in range(WRITERS)], timeout=1800
    )
    wall = max(times)
    searches = []
    for i in range(10):
        start = time.perf_counter()
        found = services.tracking.search_runs(filter=QUERY, order_by=ORDER, max_results=100)
        if i:  # the first one warms the caches
            searches.append(time.perf_counter() - start)
    services.close()
    return {
        "runs": WRITERS * runs,
        "wall_s": wall,
        "runs_per_s": WRITERS * runs / wall,
        "search_ms": 1000 * statistics.median(searches),
        "matches": len(found["items"]),
    }


def pg_server() -> Any:
    from conftest import DEFAULT_PG_URL, PostgresServer

    server = PostgresServer(os.environ.get("LABCYCLE_TEST_PG_URL") or DEFAULT_PG_URL)
    server.check()
    return server


# -- (b) artifacts ---------------------------------------------------------------------------
def artifacts(store: Any, files: list[Path]) -> dict[str, float]:
    size = files[0].stat().st_size / 2**20
    up, down = [], []
    for path in files:
        start = time.perf_counter()
        digest, _ = store.put_file(path)
        up.append(time.perf_counter() - start)
        start = time.perf_counter()
        got = sum(len(chunk) for chunk in store.iter_chunks(digest))
        down.append(time.perf_counter() - start)
        assert got == path.stat().st_size
    return {
        "upload_mib_s": size / statistics.median(up),
        "download_mib_s": size / statistics.median(down),
    }


# -- (c) sweeps ------------------------------------------------------------------------------
def write_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell("i = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(
            "import labcycle as lc\nlc.log_metric('y', sum(range(100_000)) % (i + 7))"
        ),
    ]
    nbformat.write(nb, path)
    return path


def sweep(notebook: Path, trials: int, executor: str) -> dict[str, Any]:
    """A warm-up sweep of 2 trials (workers started, imports warm), then the timed one."""
    import labcycle as lc
    from labcycle.api import fluent

    os.environ["LABCYCLE_EXECUTOR"] = executor
    os.environ["LABCYCLE_MAX_JOBS"] = "2"
    fluent._state.reset()  # a new store connection: its dispatcher uses this executor
    name = f"bench-scale-{executor.split(':')[0]}"
    lc.sweep(str(notebook), grid={"i": [0, 1]}, experiment=name, progress=False).wait(
        progress=False
    )
    start = time.perf_counter()
    s = lc.sweep(
        str(notebook),
        grid={"i": list(range(trials))},
        parallel=trials,
        experiment=name,
        progress=False,
    )
    s.wait(progress=False)
    wall = time.perf_counter() - start
    frame = s.to_frame()
    jobs = fluent._state.transport().services.jobs.list(sweep_id=s.id, max_results=100)
    executors = {j["executor"] for j in jobs["items"]}
    assert executors == {executor}, executors  # the trials ran where they were meant to
    return {
        "wall_s": wall,
        "succeeded": int((frame["status"] == "succeeded").sum()),
        "trials": trials,
    }


@contextlib.contextmanager
def dask_cluster(logs: Path):
    """A ``dask scheduler`` and 2 ``dask worker`` processes on 127.0.0.1 (no LocalCluster)."""
    from distributed import Client
    from s3_server import free_port

    exe = shutil.which("dask", path=str(Path(sys.executable).parent))
    dask = [exe] if exe else [sys.executable, "-m", "dask"]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABCYCLE_")}

    def spawn(args: list[str], log: str) -> subprocess.Popen:
        with open(logs / log, "w") as out:
            return subprocess.Popen(
                [*dask, *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    procs = [
        spawn(
            ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            "scheduler.log",
        )
    ]
    for n in range(2):
        procs.append(
            spawn(
                [
                    "worker",
                    f"tcp://127.0.0.1:{port}",
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--name",
                    f"w{n}",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                ],
                f"worker-{n}.log",
            )
        )
    try:
        client = Client(f"tcp://127.0.0.1:{port}", timeout=60)
        client.wait_for_workers(2, timeout=120)
        client.close()
        yield f"dask://127.0.0.1:{port}"
    finally:
        from processes import stop_processes

        stop_processes(procs)


# -- the run ---------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    from s3_server import S3Server

    from labcycle.store import ArtifactStore

    work = Path(tempfile.mkdtemp(prefix="labcycle-bench-scale-"))
    os.environ["LABCYCLE_HOME"] = str(work / "home")
    os.environ["LABCYCLE_TRANSPORT"] = "local"
    for name in (
        "LABCYCLE_API_URL",
        "LABCYCLE_DB_URL",
        "LABCYCLE_ARTIFACT_URL",
        "LABCYCLE_STORAGE_OPTIONS",
    ):
        os.environ.pop(name, None)
    out: dict[str, Any] = {}
    try:
        if "a" in args.only:
            print("(a) tracking, SQLite …", file=sys.stderr)
            out["sqlite"] = tracking(f"sqlite:///{work / 'a.db'}", str(work / "a-art"), args.runs)
            print("(a) tracking, PostgreSQL …", file=sys.stderr)
            server = pg_server()
            try:
                out["postgres"] = tracking(server.create_database(), str(work / "a-art"), args.runs)
            finally:
                server.close()
        if "b" in args.only:
            print("(b) artifacts …", file=sys.stderr)
            files = []
            for i in range(3):
                path = work / f"blob-{i}.bin"
                path.write_bytes(os.urandom(args.mb * 2**20))
                files.append(path)
            out["local"] = artifacts(ArtifactStore(str(work / "b-art"), {}), files)
            with S3Server() as s3:
                bucket = s3.bucket("bench")
                store = ArtifactStore(f"s3://{bucket}/bench", s3.storage_options())
                out["s3"] = artifacts(store, files)
        if "c" in args.only:
            notebook = write_notebook(work / "trial.ipynb")
            print("(c) sweep, local pool …", file=sys.stderr)
            out["pool"] = sweep(notebook, args.trials, "local")
            print("(c) sweep, Dask …", file=sys.stderr)
            with dask_cluster(work) as address:
                out["dask"] = sweep(notebook, args.trials, address)
                from labcycle.api.jobs import _stop_dispatcher

                _stop_dispatcher()  # its Dask client goes before the scheduler does
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def report(r: dict[str, Any], env: dict[str, str], args: argparse.Namespace) -> str:
    lines = [
        BEGIN,
        "## Scale-out: team backends vs embedded defaults (`bench/scale.py`)",
        "",
        f"{env['date']}, {env['machine']}; load average {env['load']} at the start, "
        f"{env['load_end']} at the end.",
        "",
        "**The machine was shared and noisy** (about eight engineers running test suites "
        "on 2 cores): every figure below is a wall-clock time under that load, and the "
        "ratios matter more than the absolute values.",
        "",
    ]
    if "sqlite" in r:
        s, p = r["sqlite"], r["postgres"]
        lines += [
            f"(a) {WRITERS} concurrent writer processes, {r['sqlite']['runs']} runs in all "
            "(5 params, 100 metric points each); then search (`"
            + QUERY
            + "`, `"
            + ORDER
            + "`), median of 9:",
            "",
            "| store | runs/s | wall (s) | search (ms) | matches |",
            "|---|---|---|---|---|",
            f"| SQLite (WAL) | {s['runs_per_s']:.1f} | {s['wall_s']:.1f} | "
            f"{s['search_ms']:.1f} | {s['matches']} |",
            f"| PostgreSQL (local server) | {p['runs_per_s']:.1f} | {p['wall_s']:.1f} | "
            f"{p['search_ms']:.1f} | {p['matches']} |",
            f"| **PostgreSQL / SQLite** | **{p['runs_per_s'] / s['runs_per_s']:.2f}x** | | "
            f"**{p['search_ms'] / s['search_ms']:.2f}x** (time) | |",
            "",
        ]
    if "local" in r:
        lo, s3 = r["local"], r["s3"]
        lines += [
            f"(b) artifact store, {args.mb} MiB files, median of 3 (MiB/s):",
            "",
            "| store | upload | download |",
            "|---|---|---|",
            f"| local folder | {lo['upload_mib_s']:.0f} | {lo['download_mib_s']:.0f} |",
            f"| S3 (moto server on 127.0.0.1) | {s3['upload_mib_s']:.0f} | "
            f"{s3['download_mib_s']:.0f} |",
            f"| **S3 / local** | **{s3['upload_mib_s'] / lo['upload_mib_s']:.2f}x** | "
            f"**{s3['download_mib_s'] / lo['download_mib_s']:.2f}x** |",
            "",
        ]
    if "pool" in r:
        po, da = r["pool"], r["dask"]
        lines += [
            f"(c) a {po['trials']}-trial sweep of a small notebook, 2 at a time:",
            "",
            "| executor | wall (s) | trials succeeded |",
            "|---|---|---|",
            f"| local pool (2 warm workers) | {po['wall_s']:.1f} | {po['succeeded']} |",
            f"| Dask (scheduler + 2 workers on 127.0.0.1) | {da['wall_s']:.1f} | "
            f"{da['succeeded']} |",
            f"| **Dask / local pool** | **{da['wall_s'] / po['wall_s']:.2f}x** | |",
            "",
        ]
    lines += [
        "Notes: PostgreSQL and moto run on the same 2 cores as the writers, so neither shows "
        "what a dedicated server gives; moto keeps objects in memory and is not a "
        "throughput reference for S3 itself (it measures LabCycle's S3 path: hashing, "
        "multipart upload, server-side rename, chunked reads). Each executor runs a "
        "2-trial warm-up sweep first (not timed). The local pool starts each trial's kernel "
        "while the previous one runs; a Dask task starts a fresh process and kernel on its "
        "worker.",
        END,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, no report")
    parser.add_argument("--runs", type=int, help="runs per writer (default 250; quick 25)")
    parser.add_argument("--mb", type=int, help="MiB per artifact file (default 64; quick 8)")
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--only", default="abc", help="measures to run: a, b and/or c")
    parser.add_argument(
        "--out",
        type=Path,
        help="report file (default bench/RESULTS.md for a full run of all three measures)",
    )
    args = parser.parse_args(argv)
    args.runs = args.runs or (25 if args.quick else 250)
    args.mb = args.mb or (8 if args.quick else 64)
    env = {"date": stamp(), "machine": machine(), "load": load_average()}
    result = run(args)
    env["load_end"] = load_average()
    section = report(result, env, args)
    print(section)
    full = not args.quick and args.only == "abc"
    out = args.out or (HERE / "RESULTS.md" if full else None)
    if out is not None:
        write_section("scale", section, out)
        print(f"wrote {out}", file=sys.stderr)
    ok = all(
        r.get("succeeded", r.get("trials")) == r.get("trials")
        for r in (result.get("pool", {}), result.get("dask", {}))
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
