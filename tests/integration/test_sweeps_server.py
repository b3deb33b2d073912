"""Through a real Jupyter server with LabCycle: its scheduler advances a sweep, its job
queue runs the jobs, the kernels log over its REST API, and the sweep ends with its runs."""

from __future__ import annotations

import time

import nbformat
import pytest

pytestmark = pytest.mark.kernel


def test_the_server_runs_a_sweep_to_the_end(live_jupyter):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cell = nbformat.v4.new_code_cell("lr = 0.1")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [
        cell,
        nbformat.v4.new_code_cell("import labcycle as lc\nlc.log_metric('double', lr * 2)"),
    ]
    path = live_jupyter.workspace / "sweep_over_rest.ipynb"
    nbformat.write(nb, path)
    created = live_jupyter.lc(
        "POST",
        "sweeps",
        json={
            "notebook": str(path),
            "trials": [{"lr": 1}, {"lr": 2}],
            "parallel": 2,
            "experiment": "over-rest",
        },
    )
    assert created.status_code == 201, created.text
    sweep_id = created.json()["id"]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        detail = live_jupyter.lc("GET", f"sweeps/{sweep_id}").json()
        if detail["status"] != "running":
            break
        time.sleep(0.5)
    assert detail["status"] == "succeeded", (detail["progress"], detail["runs"])
    assert [t["metrics"]["double"] for t in detail["runs"]] == [2.0, 4.0]
    best = live_jupyter.lc("GET", f"sweeps/{sweep_id}/best", params={"metric": "double"}).json()
    assert best["parameters"] == {"lr": 2}
    run = live_jupyter.lc("GET", f"runs/{best['run_id']}").json()
    assert run["tags"]["labcycle.sweep_id"] == sweep_id and run["source"] == "job"
