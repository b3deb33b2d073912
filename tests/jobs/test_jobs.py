"""Notebook jobs with real kernels: parameters, the job's run, failures, timeout, cancel."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from waiting import wait_for

from labcycle.errors import Conflict, InvalidInput, NotFound
from labcycle.services.jobs import SERVER_STOPPED, mask_env

from .conftest import read_executed, stdout_of, submit, write_notebook

pytestmark = pytest.mark.kernel


def test_hostile_parameters_stay_data_and_metrics_land_in_the_jobs_run(services, batch, marker):
    job = services.jobs.wait(batch["jobs"]["happy"]["id"], timeout=150)
    assert job["status"] == "succeeded", job
    assert job["progress"]["cell"] == job["progress"]["total"] == 3  # parameters, injected, body
    assert not marker.exists()  # no parameter became code
    run = services.tracking.get_run(job["run_id"])
    assert run["status"] == "finished" and run["source"] == "job"
    assert run["tags"]["labcycle.job_id"] == job["id"]
    # lc.log_metric inside the notebook, with no set-up cell, went to the job's run
    assert run["metrics"] == {"n2": 63.0}
    assert [p["value"] for p in services.tracking.metric_history(run["id"], "n2")["points"]] == [
        42.0,
        63.0,
    ]
    # the injected parameters are the run's params
    assert run["params"]["quote"] == batch["hostile"]["quote"]
    assert run["params"]["n"] == "21"
    assert json.loads(run["params"]["items"]) == [1, "two", {"3": None}]
    # the kernel saw the exact strings, in the job's cwd, with the job's env
    seen = json.loads((batch["work"] / "seen.json").read_text())
    for key, value in batch["hostile"].items():
        assert seen[key] == value, key
    assert seen["items"] == [1, "two", {"3": None}]
    assert seen["cwd"] == str(batch["work"])
    assert seen["env"] == "blue"
    assert seen["run"] == seen["env_run"] == run["id"]
    # the executed notebook is an artifact of the run
    executed = read_executed(services, run["id"])
    assert json.loads(stdout_of(executed, 2))["lines"] == batch["hostile"]["lines"]
    # secrets in env are stored for the kernel, never shown
    assert job["env"] == {"JOB_COLOR": "blue", "MY_API_TOKEN": "***"}


def test_failure_records_cell_exception_and_partial_notebook(services, batch):
    job = services.jobs.wait(batch["jobs"]["failing"]["id"], timeout=150)
    assert job["status"] == "failed"
    detail = job["error_detail"]
    assert detail["reason"] == "error"
    assert detail["cell_index"] == 1
    assert detail["ename"] == "ValueError" and detail["evalue"] == "boom at cell one"
    assert any("boom at cell one" in line for line in detail["traceback"])
    assert "\x1b[" not in "".join(detail["traceback"])
    run = services.tracking.get_run(job["run_id"])
    assert run["status"] == "failed"
    assert run["tags"]["labcycle.error.cell"] == "1"
    assert run["tags"]["labcycle.error.ename"] == "ValueError"
    assert detail["cell_source"] == "raise ValueError('boom at cell one')"
    # the partial notebook, with papermill's error banners (at the top and before the cell)
    executed = read_executed(services, run["id"])
    assert detail["executed_cell_index"] == 3
    assert run["tags"]["labcycle.error.executed_cell"] == "3"
    for banner in (0, 2):
        assert "papermill-error-cell-tag" in executed["cells"][banner]["metadata"]["tags"]
    assert stdout_of(executed, 1) == "before the error\n"
    assert executed["cells"][3]["outputs"][0]["ename"] == "ValueError"
    assert executed["cells"][4]["outputs"] == []  # never ran


def test_timeout_stops_the_kernel(services, batch):
    job = services.jobs.wait(batch["jobs"]["timeout"]["id"], timeout=150)
    assert job["status"] == "failed"
    assert job["error_detail"]["reason"] == "timeout"
    assert "timeout" in job["error"]
    assert services.tracking.get_run(job["run_id"])["status"] == "failed"
    assert "executed.ipynb" in {a["path"] for a in services.artifacts.list_artifacts(job["run_id"])}


def test_cancel_stops_the_kernel_and_leaves_no_process(services, batch):
    job_id = batch["jobs"]["cancel"]["id"]
    pid_file = batch["work"] / "kernel.pid"
    wait_for(lambda: pid_file.exists() and pid_file.read_text(), timeout=150)
    kernel_pid = int(pid_file.read_text())
    assert psutil.pid_exists(kernel_pid)
    assert services.jobs.get(job_id)["status"] == "running"
    assert services.jobs.cancel(job_id, actor="tester")["cancel_requested"] is True
    job = services.jobs.wait(job_id, timeout=30)
    assert job["status"] == "cancelled"
    assert services.tracking.get_run(job["run_id"])["status"] == "killed"

    def gone() -> bool:
        try:
            return psutil.Process(kernel_pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_for(gone, timeout=10)
    leftovers = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get("LABCYCLE_JOB_ID") == job_id:
                leftovers.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    assert leftovers == []
    with pytest.raises(Conflict):
        services.jobs.cancel(job_id, actor="tester")


def test_concurrency_limit_is_respected(services, dispatcher, batch):
    for job in batch["jobs"].values():
        services.jobs.wait(job["id"], timeout=150)
    ours = [
        j
        for j in services.jobs.list(max_results=1000)["items"]
        if j["started_at"] and j["ended_at"] and j["executor"] == "local"
    ]
    events = sorted(
        [(j["started_at"], 1) for j in ours] + [(j["ended_at"], -1) for j in ours],
        key=lambda e: (e[0], e[1]),
    )
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert len(ours) >= 4
    assert peak <= dispatcher.max_jobs == 2
    assert peak == 2  # and the pool did run jobs side by side


@pytest.mark.parametrize("name", ["1x", "a-b", "class", "with space", "", "é"])
def test_parameter_names_must_be_identifiers(services, tmp_path, name):
    nb = write_notebook(tmp_path / "n.ipynb", "pass")
    with pytest.raises(InvalidInput) as info:
        services.jobs.submit(actor="t", notebook=str(nb), parameters={name: 1})
    assert info.value.details["field"] == f"parameters.{name}"
    assert repr(name) in info.value.message


def test_parameter_values_must_be_json_literals(services, tmp_path):
    nb = write_notebook(tmp_path / "n.ipynb", "pass")
    for bad in (object(), b"bytes", {1: "int key"}, [set()]):
        with pytest.raises(InvalidInput) as info:
            services.jobs.submit(actor="t", notebook=str(nb), parameters={"p": bad})
        assert info.value.details["field"].startswith("parameters.p")
    with pytest.raises(InvalidInput):
        services.jobs.submit(actor="t", notebook=str(tmp_path / "missing.ipynb"))
    with pytest.raises(InvalidInput):
        services.jobs.submit(actor="t", notebook=str(nb), resources={"tpus": 1})
    with pytest.raises(InvalidInput):
        services.jobs.submit(actor="t", notebook=str(nb), timeout_s=-1)
    with pytest.raises(NotFound):
        services.jobs.get("nope")


def test_mask_env():
    assert mask_env(
        {"A": "1", "GITHUB_TOKEN": "x", "db_password": "y", "AWS_SECRET_KEY": "z", "APIKEY": "k"}
    ) == {
        "A": "1",
        "GITHUB_TOKEN": "***",
        "db_password": "***",
        "AWS_SECRET_KEY": "***",
        "APIKEY": "***",
    }


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _mark_running(services, job_id: str, pid: int) -> None:
    import socket

    services.jobs.report(
        job_id,
        status="running",
        worker_pid=pid,
        worker_host=socket.gethostname(),
        claimed_by="old|1|dead",
        attempt=1,
        started_at=int(time.time() * 1000),
    )


def test_restart_marks_jobs_of_a_dead_server_failed_or_requeues(services, tmp_path):
    nb = write_notebook(tmp_path / "n.ipynb", "pass")
    no_retry = services.jobs.submit(actor="t", notebook=str(nb))
    retry = services.jobs.submit(actor="t", notebook=str(nb), retries=1)
    alive = services.jobs.submit(actor="t", notebook=str(nb))
    _mark_running(services, no_retry["id"], _dead_pid())
    _mark_running(services, retry["id"], _dead_pid())
    _mark_running(services, alive["id"], os.getpid())  # its worker still runs
    changed = services.jobs.recover()
    assert set(changed) >= {no_retry["id"], retry["id"]} and alive["id"] not in changed
    failed = services.jobs.get(no_retry["id"])
    assert failed["status"] == "failed" and failed["error"] == SERVER_STOPPED
    assert failed["error_detail"]["reason"] == "worker_lost"
    requeued = services.jobs.get(retry["id"])
    assert requeued["status"] == "pending" and requeued["attempt"] == 1
    assert services.jobs.get(alive["id"])["status"] == "running"
    # a second claim of the re-queued job is its second attempt; it has no retries left
    claimed = services.jobs.claim(
        "new|2|x", "fake", job_ids=[retry["id"]], limit=1, pid=_dead_pid()
    )
    assert claimed[0]["attempt"] == 2
    services.jobs.recover()
    assert services.jobs.get(retry["id"])["status"] == "failed"
    services.jobs.finish(alive["id"], "cancelled")


def test_two_dispatchers_never_claim_one_job(services, tmp_path):
    nb = write_notebook(tmp_path / "n.ipynb", "pass")
    ids = [services.jobs.submit(actor="t", notebook=str(nb))["id"] for _ in range(6)]
    import threading

    got: list[list[str]] = [[], []]

    def claim(i: int) -> None:
        for _ in range(6):
            got[i].extend(
                j["id"] for j in services.jobs.claim(f"d{i}", "x", job_ids=ids, pid=os.getpid())
            )

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got[0] + got[1]) == sorted(ids)
    assert not set(got[0]) & set(got[1])
    for job_id in ids:
        services.jobs.finish(job_id, "cancelled")


class HoldExecutor:
    """An executor that accepts jobs and never runs them (a server that is about to die)."""

    name = "hold"

    def __init__(self, spec, store, max_jobs):
        self.max_jobs = max_jobs
        self.held: list[str] = []

    def start(self):
        pass

    def submit(self, job):
        self.held.append(job["id"])

    def poll(self):
        return []

    def active(self):
        return len(self.held)

    def kill(self, job_id):
        return False

    def shutdown(self):
        pass


def test_pending_jobs_survive_a_dispatcher_restart(services, dispatcher, store_urls, tmp_path):
    from labcycle.jobs import register_executor
    from labcycle.jobs.dispatcher import Dispatcher

    register_executor("hold", HoldExecutor)
    nb = write_notebook(tmp_path / "n.ipynb", "import labcycle as lc\nlc.log_metric('ok', 1)")
    first = services.jobs.submit(actor="t", notebook=str(nb), retries=1)
    second = services.jobs.submit(actor="t", notebook=str(nb))
    db_url, artifact_url = store_urls
    old = Dispatcher(
        services,
        executor="hold",
        max_jobs=1,
        db_url=db_url,
        artifact_url=artifact_url,
        kernel_env={},
        job_ids={first["id"], second["id"]},
    )
    old.tick()
    assert services.jobs.get(first["id"])["status"] == "running"
    assert services.jobs.get(second["id"])["status"] == "pending"
    old.stop()  # the server stops: its running job is re-queued (it has a retry)
    assert services.jobs.get(first["id"])["status"] == "pending"
    assert services.jobs.get(second["id"])["status"] == "pending"
    dispatcher.add_jobs([first["id"], second["id"]])  # a new server's dispatcher
    for job in (first, second):
        done = services.jobs.wait(job["id"], timeout=150)
        assert done["status"] == "succeeded", done
        assert services.tracking.get_run(done["run_id"])["metrics"] == {"ok": 1.0}
    assert services.jobs.get(first["id"])["attempt"] == 2


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_git_ref_runs_the_committed_version_in_a_worktree(services, dispatcher, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "T")
    code = "import labcycle as lc, os\nlc.log_metric('version', {v})\nprint(os.getcwd())"
    write_notebook(repo / "nbs" / "train.ipynb", code.format(v=1))
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "v1")
    _git(repo, "tag", "v1")
    v1 = _git(repo, "rev-parse", "HEAD")
    write_notebook(repo / "nbs" / "train.ipynb", code.format(v=2))  # uncommitted change
    job = submit(services, dispatcher, notebook="nbs/train.ipynb", git_ref="v1", cwd=str(repo))
    job = services.jobs.wait(job["id"], timeout=150)
    assert job["status"] == "succeeded", job
    run = services.tracking.get_run(job["run_id"])
    assert run["metrics"] == {"version": 1.0}
    assert run["git"]["commit"] == v1 and run["git"]["branch"] == "v1"
    assert run["git"]["dirty"] is False
    executed = read_executed(services, run["id"])
    kernel_cwd = stdout_of(executed, 0).strip()
    # cwd (the repository) maps to the same folder of the worktree
    assert kernel_cwd.endswith("/worktree") and not kernel_cwd.startswith(str(repo))
    assert not Path(kernel_cwd).exists()  # the worktree is gone
    assert _git(repo, "worktree", "list").count("\n") == 0  # only the main one
    bad = submit(
        services, dispatcher, notebook="nbs/train.ipynb", git_ref="no-such-ref", cwd=str(repo)
    )
    bad = services.jobs.wait(bad["id"], timeout=60)
    assert bad["status"] == "failed" and "git" in bad["error"]
