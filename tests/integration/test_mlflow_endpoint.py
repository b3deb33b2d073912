"""The MLflow-compatible endpoint (``labcycle/mlflow``) with the real MLflow client.

One module fixture runs the same client workload (``mlflow_client_workload.py``, in the
MLflow venv of ``mlflow_python``) against a real ``mlflow server`` and against a real
LabCycle server (``live_jupyter``), side by side; the answers must be the same. Then what
the client wrote must be ordinary LabCycle runs and models in LabCycle's own API, and
hostile requests must get MLflow's error shape, never a 500.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from live_jupyter import free_port
from processes import stop_processes

HERE = Path(__file__).parent
pytestmark = pytest.mark.timeout(300)
MLFLOW = "labcycle/mlflow"


def _client_env(python: str, uri: str, token: str | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LABCYCLE_", "MLFLOW_", "JPY_")) and "PROXY" not in k.upper()
    }
    env.update(
        MLFLOW_TRACKING_URI=uri,
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        NO_PROXY="127.0.0.1,localhost",
        PATH=f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    if token:
        env["MLFLOW_TRACKING_TOKEN"] = token
    return env


@pytest.fixture(scope="module")
def workloads(mlflow_python: str, live_jupyter, tmp_path_factory: pytest.TempPathFactory):
    """``(mlflow's answers, LabCycle's answers, suffix)`` of the same workload."""
    root = tmp_path_factory.mktemp("mlflow-endpoint")
    port = free_port()
    log = open(root / "mlflow-server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [
            mlflow_python,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "mlflow-artifacts"),
        ],
        env=_client_env(mlflow_python, ""),
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if (
                    httpx.get(
                        f"http://127.0.0.1:{port}/health", timeout=2, trust_env=False
                    ).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, (root / "mlflow-server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "mlflow server did not start"
            time.sleep(0.3)
        suffix = "-" + uuid.uuid4().hex[:6]
        script = str(HERE / "mlflow_client_workload.py")
        clients = {
            "mlflow": subprocess.Popen(
                [mlflow_python, script, str(root / "mlflow.json")],
                env=_client_env(mlflow_python, f"http://127.0.0.1:{port}"),
                cwd=root,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            ),
            "labcycle": subprocess.Popen(
                [mlflow_python, script, str(root / "labcycle.json"), suffix],
                env=_client_env(mlflow_python, live_jupyter.url + MLFLOW, live_jupyter.token),
                cwd=root,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            ),
        }
        for name, proc in clients.items():
            _, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, f"the workload failed against {name}:\n{err[-4000:]}"
        yield (
            json.loads((root / "mlflow.json").read_text()),
            json.loads((root / "labcycle.json").read_text()),
            suffix,
        )
    finally:
        stop_processes([server])
        log.close()


def test_the_client_gets_the_same_answers_as_from_mlflow_server(workloads) -> None:
    mlflow_out, labcycle_out, _ = workloads
    ours = {k: v for k, v in labcycle_out.items() if k != "ids"}
    theirs = {k: v for k, v in mlflow_out.items() if k != "ids"}
    for key in sorted(theirs):
        assert ours.get(key) == theirs[key], key
    assert set(ours) == set(theirs)
    assert ours["prediction"] == ours["expected_prediction"]  # the registered model, loaded back
    assert ours["experiment"]["artifact_scheme"] == "mlflow-artifacts"  # proxied by the server


def test_what_the_client_wrote_is_in_labcycle(workloads, live_jupyter) -> None:
    _, out, suffix = workloads
    ids = out["ids"]
    first = next(rid for rid, name in ids["runs"].items() if name == "r0")
    run = live_jupyter.lc("GET", f"runs/{first}").json()
    assert run["experiment_name"] == "workload" + suffix
    assert run["status"] == "finished"
    assert run["params"] == {"x": "1", "lr": "0.01", "depth": "3"}
    assert run["metrics"]["acc"] == pytest.approx(0.6)
    assert run["tags"]["k"] == "v"
    history = live_jupyter.lc("GET", f"runs/{first}/metrics/acc").json()["points"]
    assert [p["step"] for p in history] == [0, 1, 2, 3, 4]
    artifacts = {
        a["path"] for a in live_jupyter.lc("GET", f"runs/{first}/artifacts").json()["items"]
    }
    assert artifacts == {"notes.txt", "sub/data.csv"}
    found = live_jupyter.lc(
        "GET",
        "runs",
        params={
            "experiment_id": ids["experiment"],
            "filter": "metrics.acc > 0.5",
            "order_by": "metrics.acc desc",
        },
    ).json()["items"]
    assert [r["name"] for r in found] == ["r2", "r0"]

    model = live_jupyter.lc("GET", f"models/{ids['model']}").json()
    assert model["aliases"] == {"champion": 1}
    version = live_jupyter.lc("GET", f"models/{ids['model']}/versions/1").json()
    assert version["run_id"] == ids["model_run"]
    assert version["flavor"] == "sklearn"  # skops, loadable by LabCycle without trust
    assert version["lineage"]["experiment_name"] == "workload" + suffix
    audit = live_jupyter.lc("GET", "audit", params={"entity_id": version["id"]}).json()["items"]
    assert "model.version.create" in {e["action"] for e in audit}


def _raw(
    live_jupyter, method: str, path: str, body: bytes | None = None, token: bool = True
) -> tuple[int, dict]:
    """A request sent as written: no client normalises '..' out of the path."""
    conn = http.client.HTTPConnection("127.0.0.1", live_jupyter.port, timeout=30)
    headers = {"Authorization": f"Bearer {live_jupyter.token}"} if token else {}
    conn.request(method, "/" + MLFLOW + path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, json.loads(data)


def test_hostile_requests_get_mlflow_errors(workloads, live_jupyter) -> None:
    ids = workloads[1]["ids"]
    run_id = next(iter(ids["runs"]))
    prefix = f"/api/2.0/mlflow-artifacts/artifacts/{ids['experiment']}/{run_id}/artifacts"

    status, body = _raw(live_jupyter, "GET", "/api/2.0/mlflow/runs/no-such-endpoint")
    assert status == 404 and body["error_code"] == "ENDPOINT_NOT_FOUND"
    assert "runs/no-such-endpoint" in body["message"]
    status, body = _raw(
        live_jupyter, "POST", "/api/2.0/mlflow/runs/delete", json.dumps({"run_id": run_id}).encode()
    )
    assert status == 404 and body["error_code"] == "ENDPOINT_NOT_FOUND"
    status, body = _raw(live_jupyter, "GET", "/api/9.9/anything")
    assert status == 404 and body["error_code"] == "ENDPOINT_NOT_FOUND"

    status, body = _raw(live_jupyter, "POST", "/api/2.0/mlflow/runs/create", b"{not json")
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE"
    status, body = _raw(
        live_jupyter,
        "POST",
        "/api/2.0/mlflow/runs/search",
        json.dumps(
            {"experiment_ids": [ids["experiment"]], "filter": "metrics.acc >>> 'x"}
        ).encode(),
    )
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE"
    status, body = _raw(
        live_jupyter,
        "POST",
        "/api/2.0/mlflow/runs/search",
        json.dumps(
            {"experiment_ids": [ids["experiment"]], "filter": "attributes.nope = 1"}
        ).encode(),
    )
    assert status == 400 and "nope" in body["message"]
    status, body = _raw(
        live_jupyter,
        "POST",
        "/api/2.0/mlflow/runs/log-metric",
        json.dumps({"run_id": run_id, "key": "acc", "value": "high", "timestamp": 1}).encode(),
    )
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE"
    status, body = _raw(
        live_jupyter,
        "POST",
        "/api/2.0/mlflow/runs/log-parameter",
        json.dumps({"run_id": run_id, "key": "x", "value": "changed"}).encode(),
    )  # params are immutable
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE"
    status, body = _raw(live_jupyter, "GET", "/api/2.0/mlflow/runs/get?run_id=" + "0" * 32)
    assert status == 404 and body["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    status, body = _raw(
        live_jupyter,
        "POST",
        "/api/2.0/mlflow/experiments/search",
        json.dumps({"max_results": 50000}).encode(),
    )  # capped, not refused
    assert status == 200 and body["experiments"]

    status, body = _raw(
        live_jupyter, "GET", "/api/2.0/mlflow/runs/get?run_id=" + run_id, token=False
    )
    assert status == 403 and body["error_code"] == "PERMISSION_DENIED"
    status, body = _raw(live_jupyter, "PUT", prefix + "/x.txt", b"data", token=False)
    assert status == 403

    for path in (
        prefix + "/../../../../etc/passwd",
        prefix + "/sub/%2e%2e/%2e%2e/x",
        f"/api/2.0/mlflow-artifacts/artifacts?path={ids['experiment']}/{run_id}/artifacts/../../x",
    ):
        status, body = _raw(live_jupyter, "GET", path)
        assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE", path
    status, body = _raw(live_jupyter, "PUT", prefix + "/../escape.txt", b"data")
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE"
    status, body = _raw(live_jupyter, "GET", prefix + "/missing.txt")
    assert status == 404 and body["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_garbage_on_every_endpoint_is_a_4xx(live_jupyter) -> None:
    """Wrong types in every field MLflow's calls take: an MLflow error; odd values (the
    second body, some of them valid): never a 500."""
    from labcycle.services.mlflow_compat import ROUTES

    garbage = [
        {
            "run_id": 5,
            "name": [],
            "experiment_id": {},
            "key": None,
            "value": {"a": 1},
            "metrics": "x",
            "params": [1],
            "tags": {"k": "v"},
            "max_results": "lots",
            "version": "one",
            "alias": 3,
            "source": 7,
            "filter": 1,
            "order_by": 5,
            "experiment_ids": "x",
            "status": 9,
            "models": "m",
            "page_token": "!!",
        },
        {
            "run_id": "0" * 32,
            "name": "../x",
            "experiment_id": "0" * 64 + "1",
            "key": "a/b",
            "value": "NaNx",
            "metrics": [{"key": "m"}],
            "params": [{"key": ""}],
            "max_results": -1,
            "version": "-1",
            "alias": "latest",
            "source": "runs:/",
            "filter": "attributes.nope = 1",
            "order_by": ["metrics.`x` sideways"],
            "experiment_ids": ["0" * 65],
            "status": "DONE",
            "page_token": "bm9wZQ==",
        },
    ]
    for (method, endpoint), _ in sorted(ROUTES.items()):
        for strict, body in zip((True, False), garbage, strict=True):
            if method in ("GET", "DELETE"):
                query = urlencode({k: v for k, v in body.items() if isinstance(v, (str, int))})
                status, answer = _raw(live_jupyter, method, f"/api/2.0/mlflow/{endpoint}?{query}")
            else:
                status, answer = _raw(
                    live_jupyter, method, f"/api/2.0/mlflow/{endpoint}", json.dumps(body).encode()
                )
            assert (400 if strict else 200) <= status < 500, (method, endpoint, body, answer)
            if status >= 400:
                assert set(answer) == {"error_code", "message"}, (method, endpoint, answer)
