"""A deployment outlives its Jupyter server: a real JupyterLab (tests/live_jupyter.py) deploys
a model over REST; the server stops and the model keeps answering; the next server adopts
the same process; a process that died while no server ran is restarted from the store on
the same URL by the server started after."""

from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path

import httpx
from live_jupyter import LiveJupyter
from waiting import wait_for


def _register(server: LiveJupyter) -> None:
    """Model ``iris`` v1 with alias ``champion``, through the REST API only."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from labcycle.models import save_model_dir

    X, y = load_iris(return_X_y=True, as_frame=True)
    run = server.lc("POST", "runs", json={"experiment": "restart"}).json()
    folder = Path(tempfile.mkdtemp()) / "m"
    save_model_dir(LogisticRegression(max_iter=300).fit(X, y), folder, input_example=X.head())
    for path in sorted(folder.iterdir()):
        reply = server.lc(
            "PUT",
            f"runs/{run['id']}/artifacts/staged/{path.name}",
            content=path.read_bytes(),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert reply.status_code == 201, reply.text
    reply = server.lc(
        "POST", "models/iris/versions", json={"run_id": run["id"], "source_path": "staged"}
    )
    assert reply.status_code == 201, reply.text
    reply = server.lc("PUT", "models/iris/aliases/champion", json={"version": 1})
    assert reply.status_code in (200, 201), reply.text


def _predict(url: str) -> httpx.Response:
    row = {
        "sepal length (cm)": 5.1,
        "sepal width (cm)": 3.5,
        "petal length (cm)": 1.4,
        "petal width (cm)": 0.2,
    }
    return httpx.post(url + "predict", json=[row], timeout=30, trust_env=False)


def _ready(server: LiveJupyter, deployment_id: str, not_pid: int | None = None):
    d = server.lc("GET", f"deployments/{deployment_id}").json()
    if d["status"] == "ready" and d["pids"] and d["pids"][0] != not_pid:
        return d
    return None


def test_a_deployment_survives_restarts_of_the_jupyter_server(tmp_path):
    base = tmp_path / "jupyter"
    server = LiveJupyter(base).start()
    deployment_id, pid = None, None
    try:
        _register(server)
        created = server.lc("POST", "deployments", json={"model": "iris@champion"})
        assert created.status_code == 201, created.text
        deployment_id = created.json()["id"]
        d = wait_for(lambda: _ready(server, deployment_id), timeout=120, interval=0.3)
        url, pid = d["url"], d["pids"][0]
        assert d["try_url"].startswith(server.url + "labcycle/apps/predict?deployment_url=")
        assert url in d["curl_example"]
        assert _predict(url).status_code == 200
        d = server.lc("GET", f"deployments/{deployment_id}").json()
        assert d["request_rate"] > 0 and d["latency_ms"] > 0
    finally:
        server.stop()

    # No Jupyter server: the model still answers.
    assert _predict(url).status_code == 200

    # The next server adopts the same process: same pid, same URL, no restart.
    server = LiveJupyter(base).start()
    try:
        d = wait_for(lambda: _ready(server, deployment_id), timeout=120, interval=0.3)
        assert (d["pids"], d["url"], d["restarts"]) == ([pid], url, 0)
        assert d["try_url"].startswith(server.url)  # this server's page now
        assert _predict(url).status_code == 200
        assert server.lc("GET", f"deployments/{deployment_id}").json()["request_rate"] > 0
    finally:
        server.stop()

    # The process dies while no server runs: the next server starts it again from the store.
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: _predict_fails(url), timeout=30, interval=0.3)
    server = LiveJupyter(base).start()
    try:
        d = wait_for(lambda: _ready(server, deployment_id, not_pid=pid), timeout=120, interval=0.3)
        assert d["url"] == url and d["pids"][0] != pid
        assert _predict(url).status_code == 200
        stopped = server.lc("DELETE", f"deployments/{deployment_id}").json()
        assert stopped["desired"] == "stopped"
        wait_for(lambda: _predict_fails(url), timeout=60, interval=0.3)
    finally:
        server.stop()
        server.stop_model_servers()


def _predict_fails(url: str) -> bool:
    try:
        _predict(url)
    except httpx.HTTPError:
        return True
    return False
