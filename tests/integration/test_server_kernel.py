"""A kernel started by a real Jupyter server logs over HTTP with no token pasted by anyone."""

from __future__ import annotations

import pytest
from live_jupyter import execute, write_notebook
from waiting import wait_for

from labcycle.client.local import local_user

pytestmark = pytest.mark.kernel


def test_kernel_of_the_server_logs_over_http(live_jupyter):
    sources = [
        "%load_ext labcycle\n%lc start --experiment churn --name over-http",
        "import labcycle as lc, os\n"
        "print(type(lc.api.fluent._state.transport()).__name__, 'LABCYCLE_API_TOKEN' in os.environ)",
        "lc.log_params({'model': 'rf'})\nfor i in range(3):\n    lc.log_metric('acc', 0.8 + i / 100)",
        "lc.log_metric('bad', float('inf'))",
    ]
    cell_ids = write_notebook(live_jupyter.workspace / "train.ipynb", sources + ["%lc end"])
    kernel_id = live_jupyter.start_session("train.ipynb")
    client = live_jupyter.kernel_client(kernel_id)
    try:
        results = [execute(client, src, cid) for src, cid in zip(sources, cell_ids, strict=False)]
        assert all(r["status"] == "ok" for r in results), results
        assert "HttpTransport True" in results[1]["output"]

        # Live: the run and its metrics are visible through the REST API before it ends.
        def running_run():
            items = live_jupyter.lc("GET", "runs", params={"filter": "name = 'over-http'"}).json()[
                "items"
            ]
            return items[0] if items and "acc" in items[0]["metrics"] else None

        run = wait_for(running_run, timeout=20, interval=0.2)
        assert run["status"] == "running"
        assert run["notebook_path"] == "train.ipynb"
        assert run["source"] == "notebook"

        ended = execute(client, "%lc end", cell_ids[-1])
        assert ended["status"] == "ok" and "finished" in ended["output"]
    finally:
        client.stop_channels()

    detail = live_jupyter.lc("GET", f"runs/{run['id']}").json()
    assert detail["status"] == "finished"
    assert detail["params"] == {"model": "rf"}
    assert detail["metrics"]["acc"] == pytest.approx(0.82)
    assert detail["metrics"]["bad"] == "Infinity"
    assert detail["out_of_order"] is False
    # A single-user server's stock token login names nobody: its owner is the actor.
    me = local_user()
    assert detail["user"] == me

    cells = live_jupyter.lc("GET", f"runs/{run['id']}/cells").json()["items"]
    assert [c["cell_id"] for c in cells] == cell_ids[1:4]
    artifacts = {
        a["path"] for a in live_jupyter.lc("GET", f"runs/{run['id']}/artifacts").json()["items"]
    }
    assert "notebook.ipynb" in artifacts
    audit = live_jupyter.lc("GET", "audit", params={"entity_id": run["id"]}).json()["items"]
    assert {e["user"] for e in audit} == {me}
    live_jupyter.api("DELETE", f"api/kernels/{kernel_id}")
