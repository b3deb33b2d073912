"""A real kernel runs a notebook that logs through ``%lc`` magics into a local store."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
from nbclient import NotebookClient

from labcycle.services import Services

pytestmark = pytest.mark.kernel

CELLS = [
    "%load_ext labcycle\n%lc start --experiment churn --name magic-run --tag team=ml",
    "import labcycle as lc\nlc.log_params({'model': 'rf', 'depth': 5})\n"
    "for step in range(5):\n    lc.log_metric('loss', 1 / (step + 1))",
    "%lc log acc=0.93 --step 1\n%lc log --param seed=42\n%lc log --tag stage=dev",
    "lc.log_metric('weird', float('nan'))\nlc.log_metric('big', float('-inf'))",
    "%lc status",
    "1 / 0",
    "%lc end",
]


def _notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nbformat.write(nb, path)
    return nb


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("LABCYCLE_HOME", str(home))
    monkeypatch.delenv("LABCYCLE_API_URL", raising=False)
    monkeypatch.setenv("LABCYCLE_FLUSH_INTERVAL", "0.2")
    return home


def _services(home):
    return Services.open(f"sqlite:///{home / 'labcycle.db'}", str(home / "artifacts"))


def test_magics_record_a_run_with_cells_and_snapshot(tmp_path, home, monkeypatch):
    path = tmp_path / "train.ipynb"
    nb = _notebook(path, CELLS)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()

    status_output = "".join(o.get("text", "") for o in nb.cells[4].outputs)
    assert "magic-run" in status_output and "model=rf" in status_output

    services = _services(home)
    runs = services.tracking.search_runs(filter="name = 'magic-run'")["items"]
    assert len(runs) == 1
    run = services.tracking.get_run(runs[0]["id"])
    assert run["status"] == "finished"
    assert run["source"] == "notebook"
    assert run["experiment_name"] == "churn"
    assert run["params"] == {"model": "rf", "depth": "5", "seed": "42"}
    assert run["tags"] == {"team": "ml", "stage": "dev"}
    assert run["metrics"]["loss"] == pytest.approx(0.2)
    assert run["metrics"]["acc"] == 0.93
    assert math.isnan(run["metrics"]["weird"]) and run["metrics"]["big"] == -math.inf
    assert [p["step"] for p in services.tracking.metric_history(run["id"], "loss")["points"]] == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert run["python_version"] and "ipykernel" in run["packages"]

    cells = services.artifacts.list_cells(run["id"])
    # The cell that starts the run and the one that ends it are outside it.
    assert [c["source"] for c in cells] == CELLS[1:6]
    assert [c["status"] for c in cells] == ["ok", "ok", "ok", "ok", "error"]
    assert "ZeroDivisionError" in cells[-1]["error"]
    assert [c["execution_count"] for c in cells] == [2, 3, 4, 5, 6]

    artifacts = {a["path"]: a for a in services.artifacts.list_artifacts(run["id"])}
    assert "notebook.ipynb" in artifacts
    snapshot = nbformat.reads(
        services.artifacts.read_artifact(run["id"], "notebook.ipynb").decode(), 4
    )
    assert [c.source for c in snapshot.cells] == CELLS
    assert run["out_of_order"] is False
    services.close()


async def _run_cells_in_order(nb, order, cwd):
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    )
    async with client.async_setup_kernel():
        for index in order:
            await client.async_execute_cell(nb.cells[index], index)


def test_cells_run_out_of_order_flag_the_run(tmp_path, home, monkeypatch):
    import asyncio

    cells = [
        "%load_ext labcycle\n%lc start --experiment order --name shuffled",
        "x = 1",
        "y = x + 1",
        "import labcycle as lc\nlc.log_metric('y', y)",
        "%lc end",
    ]
    path = tmp_path / "shuffled.ipynb"
    nb = _notebook(path, cells)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    # Re-running cell 1 after cell 2 is the classic hidden-state mistake.
    # In a thread of its own: the API suites' plugin keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _run_cells_in_order(nb, [0, 1, 2, 1, 3, 4], tmp_path)).result()
    services = _services(home)
    run = services.tracking.search_runs(filter="name = 'shuffled'")["items"][0]
    assert services.tracking.get_run(run["id"])["out_of_order"] is True
    services.close()
