"""A pooled worker's spare kernel: started while a job runs, taken by exactly one next job.

Runs the worker's code (``run_job`` with a :class:`SpareKernels`) in this process, with
real kernels, so the test can look at the spare itself.
"""

from __future__ import annotations

import json
import sys

import psutil
import pytest

from labcycle.jobs.engine import SpareKernels
from labcycle.jobs.runner import kernel_store_env, run_job

from .conftest import read_executed, stdout_of, write_notebook

pytestmark = pytest.mark.kernel

PROBE = (
    "import json, os, sys\n"
    "print(json.dumps({'pid': os.getpid(), 'cwd': os.getcwd(),\n"
    "                  'run': os.environ.get('LABCYCLE_RUN_ID'),\n"
    "                  'job': os.environ.get('LABCYCLE_JOB_ID'),\n"
    "                  'user': os.environ.get('LABCYCLE_USER'),\n"
    "                  'color': os.environ.get('JOB_COLOR'),\n"
    "                  'names': sorted(n for n in globals() if 'labcycle' in n)}))"
)


def _run(services, store_urls, spares, notebook, **fields):
    job = services.jobs.submit(
        actor="spare-tester", notebook=str(notebook), experiment="spare-kernels", **fields
    )
    assert services.jobs.claim("spare-test", "local", job_ids=[job["id"]])
    db_url, artifact_url = store_urls
    status = run_job(
        services, job["id"], kernel_store_env(db_url=db_url, artifact_url=artifact_url), spares
    )
    job = services.jobs.get(job["id"])
    assert status == "succeeded", job
    executed = read_executed(services, job["run_id"])
    probe = next(i for i, c in enumerate(executed["cells"]) if "json.dumps" in "".join(c["source"]))
    return job, json.loads(stdout_of(executed, probe)), executed


def test_next_job_takes_the_spare_kernel_with_its_own_run_and_folder(
    services, store_urls, tmp_path
):
    notebook = write_notebook(tmp_path / "nb" / "probe.ipynb", PROBE, parameters="n = 0")
    first_dir, second_dir = tmp_path / "one", tmp_path / "two"
    first_dir.mkdir()
    second_dir.mkdir()
    spares = SpareKernels()
    try:
        first, seen1, _ = _run(
            services, store_urls, spares, notebook, cwd=str(first_dir), parameters={"n": 1}
        )
        assert spares.taken == 0
        assert spares.spare is not None  # started while the first job ran
        spare_pid = spares.spare["km"].provisioner.pid
        assert psutil.pid_exists(spare_pid) and spare_pid != seen1["pid"]

        second, seen2, executed = _run(
            services, store_urls, spares, notebook, cwd=str(second_dir), parameters={"n": 2}
        )
        assert spares.taken == 1
        # the spare served the second job: its pid, and the job's own run, job, user, folder
        assert seen2["pid"] == spare_pid != seen1["pid"]
        assert seen2 == {
            "pid": spare_pid,
            "cwd": str(second_dir),
            "run": second["run_id"],
            "job": second["id"],
            "user": "spare-tester",
            "color": None,
            "names": [],
        }
        assert seen1["run"] == first["run_id"] != second["run_id"]
        assert seen1["cwd"] == str(first_dir)
        # the bootstrap left no trace in the notebook: counts start at 1, parameters injected
        counts = [c.get("execution_count") for c in executed["cells"] if c["cell_type"] == "code"]
        assert counts == [1, 2, 3]
        assert "n = 2" in "".join(executed["cells"][1]["source"])  # the injected cell
        assert services.tracking.get_run(second["run_id"])["params"]["n"] == "2"
        # a kernel serves one job: the first job's kernel is gone, the second's too
        for pid in (seen1["pid"], spare_pid):
            assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"

        # a job with its own environment gets a kernel started with it, not the spare
        assert spares.spare is not None
        third_spare = spares.spare["km"].provisioner.pid
        third, seen3, _ = _run(
            services, store_urls, spares, notebook, cwd=str(first_dir), env={"JOB_COLOR": "green"}
        )
        assert spares.taken == 1
        assert seen3["color"] == "green" and seen3["pid"] != third_spare
        assert seen3["run"] == third["run_id"]
        assert psutil.pid_exists(third_spare)  # still waiting for a job that fits
    finally:
        leftover = spares.spare["km"].provisioner.pid if spares.spare else None
        spares.discard()
    assert spares.spare is None
    if leftover:
        assert not psutil.pid_exists(leftover) or psutil.Process(leftover).status() == "zombie"


def test_a_kernel_that_dies_while_starting_fails_no_job(
    services, store_urls, tmp_path, monkeypatch
):
    """The first kernel exits before it answers (as when another process took its port);
    the job starts one more and succeeds, in its own folder with its own run."""
    marker = tmp_path / "died-once"
    spec = tmp_path / "jupyter" / "kernels" / "dies-once"
    spec.mkdir(parents=True)
    launch = (
        f"import os, sys; m = {str(marker)!r}\n"
        "if not os.path.exists(m):\n"
        "    open(m, 'w').close(); sys.exit(3)\n"
        "from ipykernel import kernelapp; kernelapp.launch_new_instance()"
    )
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-c", launch, "-f", "{connection_file}"],
                "display_name": "dies once",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    folder = tmp_path / "here"
    folder.mkdir()
    notebook = write_notebook(tmp_path / "nb" / "probe.ipynb", PROBE)
    job, seen, _ = _run(
        services, store_urls, None, notebook, cwd=str(folder), kernel_name="dies-once"
    )
    assert marker.exists()  # the first kernel did die
    assert seen["cwd"] == str(folder) and seen["run"] == job["run_id"]
