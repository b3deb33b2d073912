"""The job queue's rules on SQLite and PostgreSQL (no kernels: see tests/jobs for those)."""

from __future__ import annotations

import os
import subprocess
import threading

import pytest

from labcycle.errors import Conflict, InvalidInput, NotFound
from labcycle.services.jobs import SERVER_STOPPED


@pytest.fixture
def notebook(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}')
    return str(path)


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_submit_list_get_and_mask(services, notebook):
    job = services.jobs.submit(
        actor="alice",
        notebook=notebook,
        parameters={"lr": 0.1},
        env={"A": "1", "DB_PASSWORD": "x"},
        resources={"memory": "1GB"},
        sweep_id="s1",
        timeout_s=5,
    )
    assert job["status"] == "pending" and job["attempt"] == 0
    assert job["env"] == {"A": "1", "DB_PASSWORD": "***"}
    assert job["resources"] == {"memory": 1e9}
    assert services.jobs.get_raw(job["id"])["env"]["DB_PASSWORD"] == "x"
    other = services.jobs.submit(actor="alice", notebook=notebook)
    page = services.jobs.list(max_results=1)
    assert [j["id"] for j in page["items"]] == [other["id"]] and page["next_page_token"]
    assert [j["id"] for j in services.jobs.list(sweep_id="s1")["items"]] == [job["id"]]
    assert services.jobs.list(status="running")["items"] == []
    with pytest.raises(InvalidInput):
        services.jobs.list(status="bogus")
    with pytest.raises(NotFound):
        services.jobs.get("missing")
    events = services.audit.list(entity_type="job", entity_id=job["id"])["items"]
    assert [(e["action"], e["user"]) for e in events] == [("job.submit", "alice")]


def test_parameters_are_checked(services, notebook):
    with pytest.raises(InvalidInput) as info:
        services.jobs.submit(actor="a", notebook=notebook, parameters={"import os": 1})
    assert info.value.details["field"] == "parameters.import os"
    with pytest.raises(InvalidInput):
        services.jobs.submit(actor="a", notebook=notebook, parameters={"x": {1, 2}})
    with pytest.raises(InvalidInput):
        services.jobs.submit(actor="a", notebook="nb.txt")
    with pytest.raises(InvalidInput):
        services.jobs.submit(actor="a", notebook=notebook, env={"BAD NAME": "1"})
    with pytest.raises(InvalidInput):
        services.jobs.submit(actor="a", notebook=notebook, git_ref="--upload-pack=x")


def test_claims_are_atomic_across_threads(services, notebook):
    ids = [services.jobs.submit(actor="a", notebook=notebook)["id"] for _ in range(8)]
    got: list[list[str]] = [[], [], []]

    def claim(i: int) -> None:
        for _ in range(8):
            got[i] += [j["id"] for j in services.jobs.claim(f"d{i}", "x", pid=os.getpid())]

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = got[0] + got[1] + got[2]
    assert sorted(claimed) == sorted(ids) and len(set(claimed)) == len(claimed)
    assert all(services.jobs.get(i)["attempt"] == 1 for i in ids)


def test_cancel_and_finish(services, notebook):
    pending = services.jobs.submit(actor="a", notebook=notebook)
    assert services.jobs.cancel(pending["id"], actor="bob")["status"] == "cancelled"
    with pytest.raises(Conflict):
        services.jobs.cancel(pending["id"], actor="bob")
    running = services.jobs.submit(actor="a", notebook=notebook)
    services.jobs.claim("d", "x", pid=os.getpid())
    job = services.jobs.cancel(running["id"], actor="bob")
    assert job["status"] == "running" and job["cancel_requested"]
    assert services.jobs.cancel_requested(running["id"])
    assert services.jobs.finish(running["id"], "cancelled")["status"] == "cancelled"
    # a finished job stays finished
    assert services.jobs.finish(running["id"], "succeeded")["status"] == "cancelled"


def test_recover_fails_or_requeues_jobs_of_dead_workers(services, notebook):
    once = services.jobs.submit(actor="a", notebook=notebook)
    twice = services.jobs.submit(actor="a", notebook=notebook, retries=1)
    claimed = services.jobs.claim("dead", "x", limit=2, pid=_dead_pid())
    assert {j["id"]: j["status"] for j in claimed} == {
        once["id"]: "running",
        twice["id"]: "running",
    }
    assert set(services.jobs.recover()) == {once["id"], twice["id"]}
    failed = services.jobs.get(once["id"])
    assert failed["status"] == "failed" and failed["error"] == SERVER_STOPPED
    assert services.jobs.get(twice["id"])["status"] == "pending"
    services.jobs.claim("alive", "x", pid=os.getpid())
    assert services.jobs.recover() == []  # its worker (this process) is alive
