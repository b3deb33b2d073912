"""Sweeps benchmark: the wall time of a 200-run sweep of a small notebook.

    python bench/sweeps.py                 # 200 runs, parallel 2; writes its section of RESULTS.md
    python bench/sweeps.py --runs 20       # a smaller sweep; no report unless --out FILE
    python bench/sweeps.py --parallel 4 --max-jobs 4

The notebook has a papermill ``parameters`` cell and one cell that logs a metric with
``lc.log_metric`` (its kernel attaches to the job's run). The sweep runs as a script does,
without a Jupyter server: ``lc.sweep(..., wait=True)`` submits at most ``--parallel`` jobs
at a time and runs them in this process's pool of ``--max-jobs`` worker processes, each
job in a fresh kernel. While it runs, the open file descriptors, the resident memory and
the kernels of this process and all its descendants are sampled every 0.2 s.

The section between ``<!-- bench:sweeps -->`` and ``<!-- /bench:sweeps -->`` of
``bench/RESULTS.md`` is replaced (appended when missing); the rest of the file is kept.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
from _results import RESULTS, markers, stamp, write_section

BEGIN, END = markers("sweeps")


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
        nbformat.v4.new_code_cell("import labcycle as lc\nlc.log_metric('y', (i * 7) % 13)"),
    ]
    nbformat.write(nb, path)
    return path


def usage() -> tuple[int, int, int, int]:
    """(open fds, RSS bytes, processes, kernels) of this process and its descendants."""
    me = psutil.Process()
    procs = [me]
    with contextlib.suppress(psutil.Error):
        procs += me.children(recursive=True)
    fds = rss = 0
    kernel_parents: dict[int, int] = {}
    for proc in procs:
        try:
            fds += proc.num_fds()
            rss += proc.memory_info().rss
            if "ipykernel_launcher" in " ".join(proc.cmdline()):
                kernel_parents[proc.pid] = proc.ppid()
        except psutil.Error:
            continue
    # a kernel's own fork (a subprocess before its exec) shows the kernel's command line
    kernels = sum(1 for parent in kernel_parents.values() if parent not in kernel_parents)
    return fds, rss, len(procs), kernels


def run(runs: int, parallel: int, max_jobs: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="labcycle-bench-sweeps-"))
    os.environ["LABCYCLE_HOME"] = str(work / "home")
    os.environ["LABCYCLE_MAX_JOBS"] = str(max_jobs)
    os.environ["LABCYCLE_TRANSPORT"] = "local"
    for name in ("LABCYCLE_API_URL", "LABCYCLE_DB_URL", "LABCYCLE_ARTIFACT_URL"):
        os.environ.pop(name, None)
    import labcycle as lc

    notebook = write_notebook(work / "small.ipynb")
    base = usage()
    samples: list[tuple[int, int, int, int]] = []
    last = [0.0]

    def sample(data: dict) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.2:
            last[0] = now
            samples.append(usage())
            p = data["progress"]
            print(
                f"\r{p['done']}/{p['total']} done, {p['running']} running, {p['failed']} failed",
                end="",
                flush=True,
            )

    started = time.perf_counter()
    sweep = lc.sweep(
        str(notebook),
        grid={"i": list(range(runs))},
        parallel=parallel,
        experiment="bench-sweeps",
        progress=False,
    )
    sweep.wait(progress=False, on_progress=sample)
    wall = time.perf_counter() - started
    print()
    frame = sweep.to_frame()
    after = usage()
    durations = frame["duration_s"].dropna()
    return {
        "runs": runs,
        "parallel": parallel,
        "max_jobs": max_jobs,
        "wall_s": wall,
        "status": sweep.status,
        "succeeded": int((frame["status"] == "succeeded").sum()),
        "with_metric": int(frame["metrics.y"].notna().sum()) if "metrics.y" in frame else 0,
        "job_median_s": float(durations.median()) if len(durations) else float("nan"),
        "job_p95_s": float(durations.quantile(0.95)) if len(durations) else float("nan"),
        "base_fds": base[0],
        "peak_fds": max(s[0] for s in samples),
        "end_fds": after[0],
        "base_rss": base[1],
        "peak_rss": max(s[1] for s in samples),
        "peak_procs": max(s[2] for s in samples),
        "peak_kernels": max(s[3] for s in samples),
    }


def report(r: dict, env: dict) -> str:
    mib = 2**20
    # at most --parallel kernels running jobs, plus one spare (unused, fresh) per worker
    bounded = (
        r["peak_kernels"] <= r["parallel"] + r["max_jobs"] and r["peak_fds"] < r["base_fds"] + 1000
    )
    done = r["succeeded"] == r["runs"]
    lines = [
        BEGIN,
        "## Sweeps (issue 3, benchmark c)",
        "",
        f"{env['date']} · {env['machine']} · load average {env['load'][0]:.2f} at start, "
        f"{env['load_end'][0]:.2f} at end · `python bench/sweeps.py "
        f"--runs {r['runs']} --parallel {r['parallel']} --max-jobs {r['max_jobs']}`",
        "",
        "| measure | value |",
        "|---|---|",
        f"| runs (succeeded / total) | {r['succeeded']} / {r['runs']} "
        f"({r['with_metric']} with their metric) |",
        f"| wall time of the sweep | {r['wall_s']:.1f} s "
        f"({r['runs'] / r['wall_s'] * 60:.1f} runs/min) |",
        f"| per job (claim to finish), median / p95 | {r['job_median_s']:.2f} s / "
        f"{r['job_p95_s']:.2f} s |",
        f"| peak open fds, this process + descendants | {r['peak_fds']} "
        f"(before {r['base_fds']}, after {r['end_fds']}) |",
        f"| peak RSS, this process + descendants | {r['peak_rss'] / mib:.0f} MiB "
        f"(before {r['base_rss'] / mib:.0f} MiB) |",
        f"| peak processes / kernels at once | {r['peak_procs']} / {r['peak_kernels']} |",
        "",
        f"Target (issue 3): the sweep completes on this 2-core machine without exhausting "
        f"memory or file handles: **{'PASS' if done and bounded else 'MISS'}** "
        f"({'all runs succeeded' if done else 'some runs did not succeed'}; "
        f"{'kernels never above --parallel + one spare per worker, fds bounded' if bounded else 'resources grew'}).",
        "",
        "The sweep keeps at most `--parallel` of its jobs pending or running; the worker pool "
        "(`--max-jobs` processes) is reused, each job gets a fresh kernel that exits with it "
        "(each worker starts its next job's kernel while a job runs, so kernels at once are at "
        "most `--parallel` + `--max-jobs`), "
        "so descriptors and memory stay flat whatever the number of runs. Figures are wall "
        "clock on a shared machine: other processes slow the kernels down (see the load "
        "average).",
        END,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--max-jobs", type=int, default=2)
    parser.add_argument(
        "--out",
        type=Path,
        help="report file (default: bench/RESULTS.md for a 200-run sweep, none otherwise)",
    )
    args = parser.parse_args(argv)
    env = {
        "date": stamp(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"{psutil.virtual_memory().total / 2**30:.1f} GiB RAM, Python "
        f"{platform.python_version()}",
        "load": os.getloadavg(),
    }
    result = run(args.runs, args.parallel, args.max_jobs)
    env["load_end"] = os.getloadavg()
    section = report(result, env)
    print(section)
    out = args.out or (RESULTS if args.runs == 200 else None)
    if out is not None:
        write_section("sweeps", section, out)
        print(f"wrote {out}", file=sys.stderr)
    return 0 if result["succeeded"] == result["runs"] else 1


if __name__ == "__main__":
    sys.exit(main())
