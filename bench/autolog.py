#!/usr/bin/env python
"""Autolog overhead: a 100-tree RandomForest fit with and without
``lc.autolog()``, and the same with ``mlflow.sklearn.autolog()`` as the peer.

Data: ``make_classification`` with 4,000 rows × 20 features (``--rows``), seed 0; the model
``RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=0)``. Rounds alternate a
plain fit and an autologged fit (``--rounds`` of each), so the machine's load drifts over
both alike; the figure is the median of each.

Two times per autologged fit:

- **fit returns**: the wall time of the ``fit`` call, what the user waits for. LabCycle
  reads params and curves into memory there and leaves creating the run, training
  metrics, the model (skops), the dataset fingerprint and the run's end to a background
  thread.
- **fit + logging**: until everything is stored (``labcycle.autologging.wait()``). The
  next round starts only after it, so background work never overlaps a measured fit.

Defaults of ``lc.autolog()`` (models, datasets, training metrics, system metrics every
10 s) on a local SQLite store in a temporary folder. MLflow's half runs in MLflow's own
Python (``--mlflow-python``, see ``_mlflow.py``) with this file as ``--mlflow-worker``,
on a ``sqlite:///`` store in a temporary folder; MLflow's autolog is synchronous, so its
"fit returns" is also its "fit + logging". ``--skip-mlflow`` measures LabCycle only.

Usage::

    python bench/autolog.py               # rewrites its section of bench/RESULTS.md
    python bench/autolog.py --quick       # 2 rounds, 1,000 rows; no report unless --out
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TARGET = 0.05  # at most 5 % longer fit
START_LOAD = " ".join(f"{x:.2f}" for x in os.getloadavg())
KEYS = ("plain", "returns", "logged", "plain_cpu", "returns_cpu", "logged_cpu")


class Clock:
    """Wall time, and the process's CPU time (all its threads): on a shared machine the
    wall time swings with other processes' load, the CPU time much less."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def record(self, times: dict[str, list[float]], key: str) -> None:
        times[key].append(time.perf_counter() - self.wall)
        times[f"{key}_cpu"].append(time.process_time() - self.cpu)


def make_data(rows: int):
    from sklearn.datasets import make_classification

    return make_classification(n_samples=rows, n_features=20, n_informative=10, random_state=0)


def forest():
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=0)


def labcycle_rounds(rows: int, rounds: int) -> dict:
    import labcycle as lc
    from labcycle import autologging

    X, y = make_data(rows)
    times: dict[str, list[float]] = {k: [] for k in KEYS}
    with tempfile.TemporaryDirectory(prefix="labcycle-bench-autolog-") as home:
        lc.configure(home=home)
        forest().fit(X[:200], y[:200])  # warm-up: imports, first allocations
        lc.autolog()
        forest().fit(X[:200], y[:200])  # warm-up of the store and the first run
        autologging.wait()
        lc.autolog(disable=True)
        for _ in range(rounds):
            clock = Clock()
            forest().fit(X, y)
            clock.record(times, "plain")
            lc.autolog()
            clock = Clock()
            forest().fit(X, y)
            clock.record(times, "returns")
            autologging.wait()
            clock.record(times, "logged")
            lc.autolog(disable=True)
        runs = lc.search_runs()
        assert len(runs) == rounds + 1 and set(runs["status"]) == {"finished"}, runs
        run = lc.get_run(runs["run_id"].iloc[0])
        assert "training_accuracy_score" in run.metrics and run.params["n_estimators"] == "100"
    return times


def mlflow_worker(rows: int, rounds: int) -> None:
    """In MLflow's Python: the same alternation with ``mlflow.sklearn.autolog()``."""
    import mlflow

    X, y = make_data(rows)
    times: dict[str, list[float]] = {k: [] for k in KEYS}
    with tempfile.TemporaryDirectory(prefix="mlflow-bench-autolog-") as tmp:
        mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
        # artifacts in the temporary folder too (the default is ./mlruns)
        mlflow.create_experiment("autolog", artifact_location=Path(tmp, "artifacts").as_uri())
        mlflow.set_experiment("autolog")
        forest().fit(X[:200], y[:200])
        mlflow.sklearn.autolog(silent=True)
        forest().fit(X[:200], y[:200])
        mlflow.sklearn.autolog(disable=True)
        for _ in range(rounds):
            clock = Clock()
            forest().fit(X, y)
            clock.record(times, "plain")
            mlflow.sklearn.autolog(silent=True)
            clock = Clock()
            forest().fit(X, y)
            clock.record(times, "returns")  # synchronous: the logging is done when fit returns
            clock.record(times, "logged")
            mlflow.sklearn.autolog(disable=True)
    print(json.dumps({**times, "version": mlflow.__version__}))


def mlflow_rounds(python: str, rows: int, rounds: int) -> dict:
    import _mlflow

    env = _mlflow.environment(python, dict(os.environ))
    version = _mlflow.version(python, env)
    out = subprocess.run(
        [python, __file__, "--mlflow-worker", "--rows", str(rows), "--rounds", str(rounds)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=tempfile.gettempdir(),  # nothing of MLflow's lands in the working folder
    )
    if out.returncode:
        sys.exit(f"MLflow's half failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["version"] = version
    return result


def paired(result: dict, key: str, cpu: bool = False) -> float:
    """The median over rounds of each autologged fit against the plain fit just before it:
    load that changes between rounds cancels out of each pair."""
    suffix = "_cpu" if cpu else ""
    pairs = zip(result[key + suffix], result["plain" + suffix], strict=True)
    return statistics.median(a / b - 1 for a, b in pairs)


def overhead(result: dict, key: str, cpu: bool = False) -> float:
    suffix = "_cpu" if cpu else ""
    return statistics.median(result[key + suffix]) / statistics.median(result["plain" + suffix]) - 1


def report(lab: dict, mlf: dict | None, rows: int, rounds: int) -> str:
    from _results import load_average, machine, markers, stamp

    begin, end = markers("autolog")
    med = statistics.median

    def cell(result: dict, key: str, cpu: bool) -> str:
        value = med(result[key + ("_cpu" if cpu else "")])
        if key == "plain":
            return f"{value:.2f} s"
        return f"{value:.2f} s ({overhead(result, key, cpu):+.1%})"

    def line(name: str, result: dict, cpu: bool) -> str:
        kind = "CPU" if cpu else "wall"
        return (
            f"| {name} | {kind} | {cell(result, 'plain', cpu)} | "
            f"{cell(result, 'returns', cpu)} | {cell(result, 'logged', cpu)} | "
            f"{paired(result, 'returns', cpu):+.1%} |"
        )

    rows_md = [line("LabCycle `lc.autolog()`", lab, False), line("", lab, True)]
    if mlf:
        name = f"MLflow {mlf['version']} `mlflow.sklearn.autolog()`"
        rows_md += [line(name, mlf, False), line("", mlf, True)]
    wall, cpu = paired(lab, "returns"), paired(lab, "returns", cpu=True)
    verdict = (
        "meets it"
        if max(wall, cpu) < TARGET
        else ("meets it in CPU time" if cpu < TARGET else "misses it")
    )
    peer = ""
    if mlf:
        peer = (
            f" MLflow's autolog is synchronous: its fit returns "
            f"{overhead(mlf, 'returns'):+.1%} later (wall; CPU {overhead(mlf, 'returns', True):+.1%}),"
            " most of it saving the model and inferring its pip requirements."
        )
    text = [
        begin,
        "## Autolog overhead (issue 12): a 100-tree forest, with and without autologging",
        "",
        f"{stamp()} · {machine()} · load average {START_LOAD} at the start, "
        f"{load_average()} at the end (other work on the machine makes single fits' wall "
        "times swing); rounds alternate plain "
        "and autologged fits, the medians are compared, and the process's CPU time (all "
        "its threads), which the other processes disturb far less, is given beside the "
        "wall time.",
        "",
        f"`RandomForestClassifier(n_estimators=100, n_jobs=1)` on {rows:,} × 20 "
        f"(`make_classification`), {rounds} rounds of each; `python bench/autolog.py`.",
        "",
        "| autolog | time | plain fit (median) | fit returns | fit + logging stored | fit returns, paired |",
        "|---|---|---|---|---|---|",
        *rows_md,
        "",
        "Medians of each column, and in the last column the median over rounds of each "
        "autologged fit against the plain fit just before it (load that changes between "
        "rounds cancels out of each pair).",
        "",
        f"Target: under 5 % on the fit. LabCycle {verdict} (paired): {wall:+.1%} wall, "
        f"{cpu:+.1%} CPU "
        "on the fit call (the call reads the params; creating the run, training metrics, "
        "the skops model, the dataset fingerprint and the run's end happen in the "
        f"background thread), {overhead(lab, 'logged'):+.1%} wall / "
        f"{overhead(lab, 'logged', True):+.1%} CPU until all of it is stored.{peer}",
        "",
        "Per round, wall (s): LabCycle plain "
        + ", ".join(f"{v:.2f}" for v in lab["plain"])
        + "; autologged "
        + ", ".join(f"{v:.2f}" for v in lab["returns"])
        + ".",
        end,
    ]
    return "\n".join(text)


def main() -> None:
    import _mlflow

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="2 rounds, 1,000 rows; no report")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="write the section to this file")
    parser.add_argument("--mlflow-worker", action="store_true", help=argparse.SUPPRESS)
    _mlflow.add_argument(parser)
    args = parser.parse_args()
    rows = args.rows or (1000 if args.quick else 4000)
    rounds = args.rounds or (2 if args.quick else 7)
    if args.mlflow_worker:
        mlflow_worker(rows, rounds)
        return
    mlf = None if args.skip_mlflow else mlflow_rounds(args.mlflow_python, rows, rounds)
    lab = labcycle_rounds(rows, rounds)
    raw = HERE / ".work" / "autolog.json"  # the rounds, for a second look (git-ignored)
    raw.parent.mkdir(exist_ok=True)
    raw.write_text(json.dumps({"labcycle": lab, "mlflow": mlf}, indent=1))
    text = report(lab, mlf, rows, rounds)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    elif not args.quick:
        from _results import write_section

        write_section("autolog", text)


if __name__ == "__main__":
    main()
