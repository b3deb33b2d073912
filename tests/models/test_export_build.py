"""The exported build context builds and serves: what its Dockerfile does, done here.

There is no container engine on the test machines, so the test does the Dockerfile's
steps itself: a fresh virtual environment, the bundled LabCycle wheel installed with
``--no-deps``, then ``requirements.txt``; then ``start.sh`` with the environment the
Kubernetes manifests give the pod (model folder and bind address adapted to the test).
The server answers a prediction with the API key, and its prediction log lands in the
hub's artifact store under the deployment id the export registered, where the hub's
prediction list and the monitors' reader find it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from .conftest import register

sqlite_only = pytest.mark.parametrize("shared_services", ["sqlite"], indirect=True)
#: what a serving image must not contain
NOTEBOOK_SIDE = (
    "jupyterlab",
    "jupyter-server",
    "voila",
    "distributed",
    "papermill",
    "ipykernel",
    "notebook",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pod_env(out: Path, home: Path, hash_file: Path) -> dict[str, str]:
    """The container's environment as the manifests set it (plus PATH of the venv)."""
    deployment = yaml.safe_load((out / "k8s" / "deployment.yaml").read_text())
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    storage = yaml.safe_load((out / "k8s" / "storage-secret.yaml").read_text())
    env.update(storage.get("stringData") or {})
    secret = yaml.safe_load((out / "k8s" / "secret.yaml").read_text())
    hash_file.write_text(secret["stringData"]["hash"])
    env["LABCYCLE_API_KEY_HASH_FILE"] = str(hash_file)
    env["LABCYCLE_HOME"] = str(home)  # the pod's /tmp emptyDir
    return env


@sqlite_only
def test_the_exported_context_installs_slim_and_serves_into_the_hubs_log(
    services, sk_model, churn_data, model_cache, tmp_path
):
    X, _ = churn_data
    version = register(services, "Churn Build", sk_model, input_example=X.head())
    result = services.deployments.export(
        "Churn Build/1", tmp_path / "ctx", actor="alice", replicas=1, max_replicas=2
    )
    out = Path(result["out"])
    deployment = result["deployment"]
    assert deployment["desired"] == "external" and deployment["status"] == "exported"
    assert result["log_url"] == services.blobs.url
    assert deployment["serving"]["exported"]["image"] == result["image"]

    # the Dockerfile's RUN step, in a fresh environment
    venv = tmp_path / "image"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # --no-compile: the bytecode step is most of the install time and proves nothing here
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--no-compile",
        "--disable-pip-version-check",
    ]
    (wheel,) = out.glob("labcycle-*.whl")
    started = time.monotonic()
    subprocess.run([*pip, "--no-deps", str(wheel)], check=True, timeout=300, capture_output=True)
    subprocess.run(
        [*pip, "-r", str(out / "requirements.txt")], check=True, timeout=900, capture_output=True
    )
    install_s = time.monotonic() - started
    listed = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "list",
            "--format=json",
            "--disable-pip-version-check",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    names = {p["name"].casefold() for p in json.loads(listed.stdout)}
    assert "labcycle" in names and "scikit-learn" in names and "skops" in names
    assert not names & set(NOTEBOOK_SIDE), names & set(NOTEBOOK_SIDE)
    site = next((venv / "lib").glob("python3*/site-packages"))
    size_mb = sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 1e6
    print(
        f"\nserving image install: {len(names)} packages, {size_mb:.0f} MB site-packages, "
        f"{install_s:.0f} s"
    )

    # start.sh with the pod's environment
    port = _free_port()
    env = {
        **_pod_env(out, tmp_path / "pod-tmp", tmp_path / "hash"),
        "PORT": str(port),
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
    }
    script = (
        (out / "start.sh")
        .read_text()
        .replace("/srv/model", str(out / "model"))
        .replace("--host 0.0.0.0", "--host 127.0.0.1")
    )
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        ["sh", "-c", script], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{url}/ready", timeout=2).json().get("ready"):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.3)
        rows = X.head(3).to_dict("records")
        refused = httpx.post(f"{url}/predict", json={"records": rows}, timeout=10)
        assert refused.status_code == 401
        answer = httpx.post(
            f"{url}/predict",
            json={"records": rows},
            timeout=30,
            headers={"Authorization": f"Bearer {result['api_key']}"},
        )
        assert answer.status_code == 200, answer.text
        predictions = answer.json()["predictions"]
        assert predictions == sk_model.predict(X.head(3)).tolist()
        health = httpx.get(f"{url}/health", timeout=5).json()
        assert health["deployment_id"] == result["deployment_id"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # drains and writes the prediction log
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        log.close()

    # the hub reads the pods' log under the registered deployment
    listed = services.deployments.predictions(result["deployment_id"])
    assert len(listed["items"]) == 3, (tmp_path / "server.log").read_text()
    assert sorted(i["prediction"] for i in listed["items"]) == sorted(predictions)
    from labcycle.serving.logs import read_predictions

    frame = read_predictions(result["deployment_id"], services=services)
    assert len(frame) == 3 and set(frame["deployment_id"]) == {result["deployment_id"]}
    assert version["id"] == deployment["serving"]["exported"]["version_id"]
    # a monitor on the exported deployment checks the traffic its pods captured
    from monitoring._support import log_dataset

    reference = log_dataset(services, "churn-build-train", X)
    services.monitors.create(
        actor="alice",
        name="exported",
        deployment=result["deployment_id"],
        reference_dataset=reference["id"],
    )
    check = services.monitors.run_check("exported", actor="alice")
    assert check["current_rows"] == 3, check


@sqlite_only
def test_an_exported_deployment_is_never_started_or_changed_here(
    services, sk_model, churn_data, model_cache, tmp_path
):
    from labcycle.errors import Conflict

    X, _ = churn_data
    register(services, "Churn Ext", sk_model, input_example=X.head())
    result = services.deployments.export("Churn Ext/1", tmp_path / "ctx", actor="alice")
    dep_id = result["deployment_id"]
    for call in (
        lambda: services.deployments.start(dep_id, actor="alice"),
        lambda: services.deployments.stop(dep_id, actor="alice"),
        lambda: services.deployments.update(dep_id, actor="alice", workers=2),
    ):
        with pytest.raises(Conflict, match="kubectl"):
            call()
    assert services.deployments.get(dep_id)["desired"] == "external"
    # the same model exported twice: two deployments, two logs
    again = services.deployments.export("Churn Ext/1", tmp_path / "ctx2", actor="alice")
    assert again["deployment_id"] != dep_id
    assert again["deployment"]["name"] == result["deployment"]["name"] + "-2"
    unregistered = services.deployments.export(
        "Churn Ext/1", tmp_path / "ctx3", actor="alice", register=False
    )
    assert unregistered["deployment_id"] is None and "deployment" not in unregistered
    env = yaml.safe_load((tmp_path / "ctx3" / "k8s" / "deployment.yaml").read_text())
    names = {e["name"] for e in env["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "LABCYCLE_DEPLOYMENT_ID" not in names and "LABCYCLE_CAPTURE_URL" not in names
