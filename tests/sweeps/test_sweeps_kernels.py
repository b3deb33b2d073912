"""Real kernels: a sweep's comparison table and best run, the per-sweep parallel limit, a
30-run sweep whose processes, file descriptors and memory stay bounded, and reproduce
(a changed package, an unchanged metric, the captured local module used again)."""

from __future__ import annotations

import contextlib
import time

import psutil
import pytest
from sqlalchemy import update

from labcycle.store.models import Run

from .conftest import write_notebook

pytestmark = pytest.mark.kernel


def _max_overlap(jobs: list[dict]) -> int:
    """The most jobs that were running at the same instant (from their start/end times)."""
    events = []
    for job in jobs:
        events += [(job["started_at"], 1), (job["ended_at"], -1)]
    running = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        running += step
        peak = max(peak, running)
    return peak


def test_a_grid_sweep_runs_compares_and_finds_the_best(kernel_home, train_notebook):
    import labcycle as lc

    sweep = lc.sweep(
        str(train_notebook),
        grid={"lr": [0.01, 0.1], "depth": [3, 5]},
        parallel=2,
        experiment="grid",
        wait=True,
        progress=False,
    )
    assert sweep.status == "succeeded", sweep.runs()
    frame = sweep.to_frame()
    assert len(frame) == 4
    assert list(frame["params.lr"]) == [0.01, 0.01, 0.1, 0.1]
    assert list(frame["params.depth"]) == [3, 5, 3, 5]
    assert list(frame["metrics.score"]) == pytest.approx([0.03, 0.05, 0.3, 0.5])
    assert set(frame["status"]) == {"succeeded"}
    best = sweep.best("score")
    assert best["parameters"] == {"lr": 0.1, "depth": 5}
    run = lc.get_run(best["run_id"])
    assert run.metrics["score"] == pytest.approx(0.5)
    assert run.tags["labcycle.sweep_id"] == sweep.id  # lineage on the run itself
    assert sweep.best("score", mode="min")["parameters"] == {"lr": 0.01, "depth": 3}
    # the runs are one query away from the sweep, by tag too
    found = lc.search_runs(f"tags.`labcycle.sweep_id` = '{sweep.id}'")
    assert sorted(found["run_id"]) == sorted(frame["run_id"])


def _tree(process: psutil.Process) -> list[psutil.Process]:
    out = [process]
    with contextlib.suppress(psutil.Error):
        out += process.children(recursive=True)
    return out


def _usage() -> tuple[int, int, int]:
    """(open fds, RSS bytes, kernel processes) of this process and all its descendants."""
    fds = rss = kernels = 0
    for proc in _tree(psutil.Process()):
        try:
            fds += proc.num_fds()
            rss += proc.memory_info().rss
            if "ipykernel_launcher" in " ".join(proc.cmdline()):
                kernels += 1
        except psutil.Error:
            continue
    return fds, rss, kernels


def test_a_30_run_sweep_keeps_processes_fds_and_memory_bounded(kernel_home, tmp_path):
    """Also the per-sweep limit: the queue could run 3 jobs (kernel_home), the sweep allows 2."""
    import labcycle as lc

    notebook = write_notebook(tmp_path / "tiny.ipynb", "i = 0", "x = i * 2")
    base_fds, base_rss, base_kernels = _usage()  # other suites' servers may hold kernels
    samples: list[tuple[int, int, int]] = []
    active: list[int] = []
    started = time.monotonic()
    sweep = lc.sweep(
        str(notebook), grid={"i": list(range(30))}, parallel=2, experiment="many", progress=False
    )

    def sample(data):
        samples.append(_usage())
        active.append(data["progress"]["pending"] + data["progress"]["running"])

    sweep.wait(progress=False, on_progress=sample)
    elapsed = time.monotonic() - started
    assert sweep.status == "succeeded", [r for r in sweep.runs() if r["status"] != "succeeded"]
    peak_fds = max(s[0] for s in samples)
    peak_rss = max(s[1] for s in samples)
    peak_kernels = max(s[2] for s in samples)
    print(
        f"\n30 runs in {elapsed:.1f}s; peak fds {peak_fds} (base {base_fds}), peak RSS "
        f"{peak_rss / 2**20:.0f} MiB (base {base_rss / 2**20:.0f}), kernels {peak_kernels}"
    )
    assert max(active) <= 2  # never more of its jobs queued or running than the sweep allows
    # A finished job's kernel may still be exiting while the next one starts.
    assert peak_kernels - base_kernels <= 3
    assert peak_fds < base_fds + 400
    assert peak_rss < base_rss + 2 * 2**30
    services = lc.api.fluent._state.transport().services
    jobs = services.jobs.list(sweep_id=sweep.id)["items"]
    assert len(jobs) == 30
    overlap = _max_overlap(
        [{"started_at": j["started_at"], "ended_at": j["ended_at"]} for j in jobs]
    )
    assert overlap == 2  # parallel=2 although the queue could run 3


def test_reproduce_reports_a_changed_package_and_an_unchanged_metric(kernel_home, tmp_path):
    """Also local-code capture: the notebook imports ``helpers.py`` next to it; the run keeps
    it as ``code/helpers.py``, and the reproduction runs with that copy even after the file
    on disk changed."""
    import labcycle as lc

    project = tmp_path / "project"
    project.mkdir()
    (project / "helpers.py").write_text("def double(x):\n    return 2 * x\n")
    (project / "data.txt").write_text("10\n")
    notebook = write_notebook(
        project / "train.ipynb",
        "lr = 0.1\ndepth = 3",
        "import labcycle as lc\nfrom helpers import double\n"
        "offset = int(open('data.txt').read())\n"
        "lc.log_metric('score', double(lr * depth) + offset)",
    )
    job = lc.submit(str(notebook), {"lr": 0.2, "depth": 4}, experiment="repro", wait=True)
    assert job.status == "succeeded", job.error
    original = job.run_id
    services = lc.api.fluent._state.transport().services
    artifacts = {a["path"] for a in services.artifacts.list_artifacts(original)}
    assert "code/helpers.py" in artifacts, artifacts
    assert services.tracking.get_run(original)["code_files"] == ["code/helpers.py"]
    assert not any(p.startswith("code/") and "labcycle" in p for p in artifacts)
    assert (
        services.artifacts.read_artifact(original, "code/helpers.py")
        == (project / "helpers.py").read_bytes()
    )
    # The code on disk moves on; the reproduction must still run the captured copy.
    (project / "helpers.py").write_text("def double(x):\n    return 3 * x\n")
    # Simulate environment drift: the original ran with another numpy.
    run = services.tracking.get_run(original)
    packages = dict(run["packages"])
    current_numpy = packages.get("numpy")
    packages["numpy"] = "0.0.1-original"
    with services.store.write() as conn:
        conn.execute(
            update(Run.__table__).where(Run.__table__.c.id == original).values(packages=packages)
        )

    reproduction = lc.reproduce(original, timeout=300)
    assert reproduction.job["status"] == "succeeded", reproduction.job.get("error")
    assert reproduction.job["reproduces_run_id"] == original
    new_run = lc.get_run(reproduction.run_id)
    assert new_run.tags["labcycle.reproduces_run_id"] == original
    assert new_run.params == {"lr": "0.2", "depth": "4"}
    report = reproduction.report
    assert report["packages"]["changed"] == {"numpy": {"a": "0.0.1-original", "b": current_numpy}}
    score = reproduction.metric("score")
    assert score["a"] == pytest.approx(11.6) and score["b"] == pytest.approx(11.6)
    assert score["changed"] is False and score["abs_change"] == 0.0 and score["rel_change"] == 0.0
    assert report["python"]["changed"] is False
    assert "numpy" in reproduction._repr_html_() and "+0%" in reproduction._repr_html_()
    # The same report from the service, by the default "newest reproduction" rule.
    again = services.reproduce.report(original)
    assert again["run_b"]["id"] == reproduction.run_id
