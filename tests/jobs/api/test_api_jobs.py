"""The jobs routes through a real Jupyter server: submit, list, get, cancel, bad input."""

from __future__ import annotations

import asyncio
import time

import pytest

from labcycle.server.responses.jobs import Job, JobList

from ..conftest import write_notebook

pytestmark = pytest.mark.kernel


async def _wait(api, job_id: str, timeout: float = 150) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, job, _ = await api("GET", "jobs", job_id)
        assert status == 200, job
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.3)  # the server runs in this loop: never block it
    raise AssertionError(f"job {job_id} did not finish: {job}")


async def test_submit_run_and_read_a_job_over_rest(api, jp_root_dir):
    write_notebook(
        jp_root_dir / "nbs" / "train.ipynb",
        "import labcycle as lc, os\nlc.log_metric('lr10', lr * 10)\n"
        "print(type(lc.api.fluent._state.transport()).__name__)",
        parameters="lr = 0.0",
    )
    status, job, headers = await api(
        "POST",
        "jobs",
        body={
            "notebook": "nbs/train.ipynb",
            "parameters": {"lr": 0.5},
            "experiment": "rest",
            "env": {"SERVICE_PASSWORD": "hunter2", "COLOR": "red"},
        },
    )
    assert status == 201, job
    Job.model_validate(job)
    assert headers["Location"].endswith(f"/labcycle/api/v1/jobs/{job['id']}")
    assert job["status"] == "pending" and job["created_by"]
    assert job["env"] == {"SERVICE_PASSWORD": "***", "COLOR": "red"}
    assert job["notebook"] == str((jp_root_dir / "nbs" / "train.ipynb").resolve())
    done = await _wait(api, job["id"])
    assert done["status"] == "succeeded", done
    Job.model_validate(done)
    assert done["progress"] == {"cell": 3, "total": 3}
    status, run, _ = await api("GET", "runs", done["run_id"])
    assert run["metrics"] == {"lr10": 5.0} and run["source"] == "job"
    # the job's kernel logged through this server's REST API
    status, artifacts, _ = await api("GET", "runs", done["run_id"], "artifacts")
    assert "executed.ipynb" in {a["path"] for a in artifacts["items"]}
    status, listing, _ = await api("GET", "jobs", params={"status": "succeeded"})
    assert status == 200 and [j["id"] for j in listing["items"]] == [job["id"]]
    JobList.model_validate(listing)
    status, error, _ = await api("POST", "jobs", job["id"], "cancel")
    assert status == 409 and error["error"]["code"] == "conflict"


async def test_cancel_a_pending_job(api, jp_root_dir):
    write_notebook(jp_root_dir / "slow.ipynb", "import time\ntime.sleep(60)")
    first = (await api("POST", "jobs", body={"notebook": "slow.ipynb"}))[1]
    second = (await api("POST", "jobs", body={"notebook": "slow.ipynb"}))[1]
    status, cancelled, _ = await api("POST", "jobs", second["id"], "cancel")
    assert status == 200 and cancelled["status"] == "cancelled"
    status, cancelled, _ = await api("POST", "jobs", first["id"], "cancel")
    assert status == 200 and cancelled["cancel_requested"] is True
    done = await _wait(api, first["id"], timeout=120)
    assert done["status"] == "cancelled"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"notebook": "a.ipynb", "parameters": {"1x": 1}}, "parameters.1x"),
        ({"notebook": "a.ipynb", "parameters": {"ok": 1}, "bogus": 1}, "bogus"),
        ({"notebook": "../outside.ipynb"}, "notebook"),
        ({"notebook": "/etc/passwd.ipynb"}, "notebook"),
        ({"notebook": "missing.ipynb"}, "notebook"),
        ({"notebook": "a.ipynb", "timeout_s": -1}, "timeout_s"),
        ({"notebook": "a.ipynb", "resources": {"tpus": 1}}, "resources.tpus"),
        ({"notebook": "a.ipynb", "cwd": "../.."}, "cwd"),
        ({}, "notebook"),
    ],
)
async def test_bad_submissions_are_400(api, jp_root_dir, body, field):
    write_notebook(jp_root_dir / "a.ipynb", "pass")
    status, error, _ = await api("POST", "jobs", body=body)
    assert status == 400, error
    assert error["error"]["code"] == "invalid_input"
    assert error["error"]["details"]["field"] == field


async def test_unknown_jobs_are_404_and_bad_queries_400(api):
    status, error, _ = await api("GET", "jobs", "0" * 32)
    assert status == 404 and error["error"]["code"] == "not_found"
    status, error, _ = await api("POST", "jobs", "0" * 32, "cancel")
    assert status == 404
    status, error, _ = await api("GET", "jobs", params={"status": "bogus"})
    assert status == 400 and error["error"]["details"]["field"].startswith("status")
