"""Serving benchmark: LabCycle's model server side by side with ``mlflow models serve``.

Same model (a 50-tree RandomForestClassifier on scikit-learn's breast-cancer data), same
load generator (``wrk`` with keep-alive connections and a Lua POST script), one run:
requests/s, p50 and p99 at concurrency 1 and 16, for 1-row and 100-row requests. The
model's own ``predict_proba`` time is the floor; a hello-world endpoint on the LabCycle
server gives the HTTP overhead baseline; LabCycle runs with prediction capture on and
off. One server at a time (the machine has 2 cores); each server has 1 worker process.

    python bench/serving.py              # full run, rewrites the serving section of RESULTS.md
    python bench/serving.py --quick      # 3 s per cell, prints only

Needs ``wrk`` (``apt-get install wrk``) and MLflow in an environment of its own (its pins
clash with LabCycle's): ``--mlflow-python /path/to/venv/bin/python`` (or
``LABCYCLE_BENCH_MLFLOW_PYTHON``; :mod:`_mlflow` says how to make one), a Python with
``mlflow``, the same scikit-learn and ``skops``; it saves and serves MLflow's copy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _mlflow
import httpx
from _results import RESULTS, markers, write_section

PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MLFLOW_SAVE = """
import sys
import mlflow.sklearn, skops.io as sio
from mlflow.models import infer_signature
from sklearn.datasets import load_breast_cancer
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
model = sio.load(sys.argv[1], trusted=sio.get_untrusted_types(file=sys.argv[1]))
mlflow.sklearn.save_model(model, sys.argv[2], skops_trusted_types=["sklearn.tree._tree.Tree"],
                          signature=infer_signature(X, model.predict(X)))
print(mlflow.__version__)
"""


def train(folder: Path, mlflow_python: str, env: dict[str, str]):
    """The forest, saved for LabCycle (skops) and, by ``mlflow_python``, for MLflow (the same
    model file, loaded there). Returns the model, X and MLflow's version."""
    import pandas as pd  # noqa: F401
    import skops.io as sio
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = RandomForestClassifier(n_estimators=50, random_state=0).fit(X, y)
    (folder / "labcycle").mkdir(parents=True)
    sio.dump(model, folder / "labcycle" / "model.skops")
    out = subprocess.run(
        [
            mlflow_python,
            "-c",
            MLFLOW_SAVE,
            str(folder / "labcycle" / "model.skops"),
            str(folder / "mlflow"),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        sys.exit(f"saving the MLflow model with {mlflow_python} failed:\n{out.stderr[-3000:]}")
    return model, X, out.stdout.strip().splitlines()[-1]


def predict_floor(model, X) -> dict[int, float]:
    out = {}
    for rows in (1, 100):
        frame = X.iloc[:rows]
        for _ in range(20):
            model.predict_proba(frame)
        times = []
        for _ in range(200):
            t = time.perf_counter()
            model.predict_proba(frame)
            times.append(time.perf_counter() - t)
        times.sort()
        out[rows] = times[len(times) // 2] * 1000
    return out


def wait_http(url: str, timeout: float = 120.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url: str, body: str, conns: int, seconds: float, workdir: Path) -> dict[str, float]:
    script = workdir / "post.lua"
    (workdir / "body.json").write_text(body)
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'local f = io.open("{workdir / "body.json"}", "r")\n'
        'wrk.body = f:read("*a")\nf:close()\n'
    )
    threads = 1 if conns == 1 else 2
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{conns}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50": p50,
        "p99": p99,
        "non2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


ROUNDS = 5  # LabCycle cells alternate capture on / off this many times (runs vary by ±8%)


def settle(spool: Path, timeout: float = 120.0) -> None:
    """Wait until the capture-on server has compacted everything it captured, so that its
    compactor never runs during another server's cell (that would flatter capture)."""
    time.sleep(1.5)  # the worker hands its queue to the spool once a second
    deadline = time.monotonic() + timeout
    while any(spool.glob("*.spool")):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the spool {spool} did not drain in {timeout:g} s")
        time.sleep(0.2)


def compactor_cpu(server: subprocess.Popen) -> float:
    """CPU seconds used so far by the server's prediction-log compactor process(es)."""
    import psutil

    total = 0.0
    for child in psutil.Process(server.pid).children(recursive=True):
        try:
            if "labcycle.serving.spool" in " ".join(child.cmdline()):
                times = child.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            pass
    return total


def logged_rows(root: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in root.glob("predictions/**/*.parquet"))


def _median_run(runs: list[dict]) -> dict:
    """The run with the median req/s (its latencies with it), error counts summed."""
    ranked = sorted(runs, key=lambda r: r["rps"])
    mid = dict(ranked[len(ranked) // 2])
    mid["non2xx"] = sum(r["non2xx"] for r in runs)
    return mid


def run_server(cmd: list[str], health: str, env: dict[str, str]) -> subprocess.Popen:
    with tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False) as log:
        proc = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_http(health, proc=proc)
    except RuntimeError:
        raise RuntimeError(Path(log.name).read_text()[-3000:]) from None
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per cell; print only")
    parser.add_argument("--seconds", type=float, default=None)
    _mlflow.add_argument(parser)
    args = parser.parse_args()
    seconds = args.seconds or (3 if args.quick else 8)
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="labcycle-bench-serving-"))
    load_start = os.getloadavg()[0]
    env = {
        **os.environ,
        "PATH": f"{Path(PY).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": f"file://{work / 'mlruns'}",
        "LABCYCLE_HOME": str(work / "home"),
    }
    ml_env = _mlflow.environment(args.mlflow_python, env)
    model, X, mlflow_version = train(work, args.mlflow_python, ml_env)
    floor = predict_floor(model, X)
    bodies = {
        rows: X.iloc[:rows].to_json(orient="split", index=False, double_precision=15)
        for rows in (1, 100)
    }
    cells = [(rows, conns) for rows in (1, 100) for conns in (1, 16)]
    results: dict[str, dict] = {}

    def measure(name: str, base: str, make_body) -> None:
        for rows, conns in cells:
            results.setdefault(name, {})[(rows, conns)] = wrk(
                base, make_body(rows), conns, seconds, work
            )
            print(name, rows, conns, results[name][(rows, conns)], flush=True)

    bin_dir = Path(PY).parent
    labcycle = str(bin_dir / "labcycle") if (bin_dir / "labcycle").exists() else "labcycle"
    # Capture on and off run side by side, and every cell alternates between them ROUNDS
    # times (medians kept): the capture cost is a difference of a few percent, smaller than
    # the drift of a shared machine over the minute that measuring one server takes.
    servers = {}
    for name, extra in (("labcycle", []), ("labcycle (capture off)", ["--no-capture"])):
        port = free_port()
        cmd = [
            labcycle,
            "serve",
            str(work / "labcycle"),
            "--port",
            str(port),
            "--hello",
            "--capture-url",
            str(work / "capture"),
            *extra,
        ]
        servers[name] = (run_server(cmd, f"http://127.0.0.1:{port}/ready", env), port)
    spool = work / "capture" / "spool" / "deployment=local"
    cpu_before = compactor_cpu(servers["labcycle"][0])
    try:
        for rows, conns in cells:
            runs: dict[str, list] = {name: [] for name in servers}
            for _ in range(ROUNDS):
                for name, (_, port) in servers.items():
                    settle(spool)
                    runs[name].append(
                        wrk(f"http://127.0.0.1:{port}/predict", bodies[rows], conns, seconds, work)
                    )
            for name, got in runs.items():
                results.setdefault(name, {})[(rows, conns)] = _median_run(got)
                print(name, rows, conns, results[name][(rows, conns)], flush=True)
        settle(spool)
        compactor = {
            "cpu_s": compactor_cpu(servers["labcycle"][0]) - cpu_before,
            "rows": logged_rows(work / "capture"),
        }
        print("compactor", compactor, flush=True)
        port = servers["labcycle"][1]
        for conns in (1, 16):
            results.setdefault("hello", {})[(1, conns)] = wrk(
                f"http://127.0.0.1:{port}/hello", bodies[1], conns, seconds, work
            )
            print("hello", conns, results["hello"][(1, conns)], flush=True)
    finally:
        for proc, _ in servers.values():
            stop(proc)
    port = free_port()
    proc = run_server(
        [
            args.mlflow_python,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            str(work / "mlflow"),
            "--env-manager",
            "local",
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-w",
            "1",
        ],
        f"http://127.0.0.1:{port}/ping",
        ml_env,
    )
    try:
        measure(
            "mlflow",
            f"http://127.0.0.1:{port}/invocations",
            lambda rows: json.dumps({"dataframe_split": json.loads(bodies[rows])}),
        )
    finally:
        stop(proc)
    load = os.getloadavg()[0]
    report = render(results, floor, seconds, mlflow_version, load_start, load, compactor)
    print(report)
    if not args.quick:
        start, end = markers("serving")
        write_section("serving", f"{start}\n{report}\n{end}")
        print(f"wrote {RESULTS}")
    shutil.rmtree(work, ignore_errors=True)


def render(
    results: dict,
    floor: dict[int, float],
    seconds: float,
    mlflow_version: str = "?",
    load_start: float | None = None,
    load_end: float | None = None,
    comp: dict | None = None,
) -> str:
    lc, ml, off, hello = (
        results["labcycle"],
        results["mlflow"],
        results["labcycle (capture off)"],
        results["hello"],
    )
    lines = [
        "## Serving: LabCycle model server vs `mlflow models serve`",
        "",
        f"Model: RandomForestClassifier(n_estimators=50) on breast-cancer (30 float columns). "
        f"Load: wrk, keep-alive, {seconds:g} s per cell, POST split-orient JSON. One worker "
        f"process per server, one server loaded at a time; LabCycle's cells alternate capture "
        f"on and off {ROUNDS} times (the median run of each is shown), on {os.cpu_count()} CPUs "
        f"({platform.python_version()}, {platform.machine()}), MLflow {mlflow_version}. "
        + (
            f"1-min load average {load_start:.1f} at the start, {load_end:.1f} at the end"
            + (
                " (more runnable processes than cores: other suites shared the machine; "
                "figures are noisy, ratios less so)."
                if max(load_start, load_end) > 2
                else "."
            )
            if load_start is not None and load_end is not None
            else ""
        ),
        "",
        f"Model's own `predict_proba` (floor): 1 row {floor[1]:.2f} ms, 100 rows {floor[100]:.2f} ms. "
        f"Hello-world endpoint on the LabCycle server: p50 {hello[(1, 1)]['p50']:.2f} ms at "
        f"c=1, {hello[(1, 16)]['rps']:.0f} req/s at c=16.",
        "",
        "| rows | conc. | LabCycle req/s | p50 ms | p99 ms | capture off req/s | MLflow req/s | "
        "p50 ms | p99 ms | req/s ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, conns in sorted(lc):
        a, b, o = lc[(rows, conns)], ml[(rows, conns)], off[(rows, conns)]
        lines.append(
            f"| {rows} | {conns} | {a['rps']:.0f} | {a['p50']:.2f} | {a['p99']:.2f} | "
            f"{o['rps']:.0f} | {b['rps']:.0f} | {b['p50']:.2f} | {b['p99']:.2f} | "
            f"{a['rps'] / b['rps']:.1f}× |"
        )
    bad = sum(r["non2xx"] for group in results.values() for r in group.values())
    ratio = lc[(1, 16)]["rps"] / ml[(1, 16)]["rps"]
    budget = floor[1] + hello[(1, 1)]["p50"] + 1.0
    cost = [1 - lc[k]["rps"] / off[k]["rps"] for k in ((1, 16), (100, 16))]
    lines += [
        "",
        f"Non-2xx responses in all cells: {bad}.",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| ≥ 10× MLflow's req/s at c=16, 1 row | {ratio:.1f}× | {'PASS' if ratio >= 10 else 'MISS'} |",
        f"| p50 at c=1, 1 row ≤ predict + hello p50 + 1 ms ({budget:.2f} ms) | "
        f"{lc[(1, 1)]['p50']:.2f} ms | {'PASS' if lc[(1, 1)]['p50'] <= budget else 'MISS'} |",
        f"| capture costs < 5% of req/s (c=16; 1 row, 100 rows) | {cost[0] * 100:.1f}%, "
        f"{cost[1] * 100:.1f}% | {'PASS' if max(cost) < 0.05 else 'MISS'} |",
    ]
    if comp and comp["rows"]:
        lines += [
            "",
            f"Capture: the serving worker spools raw buffers; its compactor process "
            f"(nice 10) turned {comp['rows']:,} logged rows into Parquet with "
            f"{comp['cpu_s'] / comp['rows'] * 1e8:.0f} ms of CPU per 100,000 rows, "
            f"beside the worker (the cells include the compaction that ran during "
            f"them; each cell starts once the previous one's spool is compacted).",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
