"""`labcycle deploy export`: the build context, and manifests checked by the official
kubernetes client models (deserialised, then serialised back to the same document, so a
misspelt or misplaced field cannot hide)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from kubernetes.client import ApiClient

from labcycle.errors import Forbidden, InvalidInput
from labcycle.models import load_model_dir
from labcycle.models.export import export, k8s_name
from labcycle.serving.keys import hash_api_key

from .conftest import register

KINDS = {
    "deployment": "V1Deployment",
    "service": "V1Service",
    "hpa": "V2HorizontalPodAutoscaler",
    "secret": "V1Secret",
    "pdb": "V1PodDisruptionBudget",
    "serviceaccount": "V1ServiceAccount",
    "storage-secret": "V1Secret",
}


def _strip_none(value):
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def k8s_objects(folder: Path) -> dict:
    client = ApiClient()
    objects = {}
    for kind, model in KINDS.items():
        doc = yaml.safe_load((folder / "k8s" / f"{kind}.yaml").read_text())
        obj = client._ApiClient__deserialize(doc, model)
        # every field of the document is a field of the model, where the API expects it
        assert _strip_none(client.sanitize_for_serialization(obj)) == doc, kind
        objects[kind] = obj
    return objects


@pytest.fixture
def version(services, sk_model, churn_data, model_cache):
    X, _ = churn_data
    return register(services, "Churn Model", sk_model, input_example=X.head())


# The export reads the registry only: one backend is enough (the registry suite runs both).
sqlite_only = pytest.mark.parametrize("shared_services", ["sqlite"], indirect=True)


@sqlite_only
def test_export_writes_a_build_context_and_valid_manifests(
    services, version, tmp_path, sk_model, churn_data
):
    from labcycle.models import materialize

    folder = materialize(version, lambda f: services.blobs.read_bytes(f["digest"]))
    result = export(
        version, folder, tmp_path / "out", workers=3, port=9000, replicas=2, max_replicas=7
    )
    out = Path(result["out"])
    assert result["api_key"] and result["api_key_hash"] == hash_api_key(result["api_key"])
    assert result["name"] == "churn-model-v1" == k8s_name("Churn Model", "-v1")

    objs = k8s_objects(out)
    dep, svc, hpa, secret = objs["deployment"], objs["service"], objs["hpa"], objs["secret"]
    (container,) = dep.spec.template.spec.containers
    assert dep.spec.replicas == 2
    assert dep.spec.selector.match_labels.items() <= dep.spec.template.metadata.labels.items()
    assert container.readiness_probe.http_get.path == "/ready"
    assert container.liveness_probe.http_get.path == "/health"
    assert container.readiness_probe.http_get.port == "http" == container.ports[0].name
    assert container.ports[0].container_port == 9000
    assert container.resources.requests == {"cpu": "1500m", "memory": "1536Mi"}
    env = {e.name: e.value for e in container.env}
    assert env["LABCYCLE_API_KEY_HASH_FILE"] == "/etc/labcycle/api-key/hash"
    assert env["WORKERS"] == "3" and "LABCYCLE_TRUST_MODEL_DIR" not in env
    mount, tmp_mount = container.volume_mounts
    volume, tmp_volume = dep.spec.template.spec.volumes
    assert volume.name == mount.name and mount.mount_path == "/etc/labcycle/api-key"
    assert volume.secret.secret_name == secret.metadata.name
    # Pod Security "restricted": a read-only root, /tmp an emptyDir, nothing to escalate
    sec = container.security_context
    assert sec.allow_privilege_escalation is False and sec.capabilities.drop == ["ALL"]
    assert sec.read_only_root_filesystem is True and sec.run_as_non_root is True
    assert sec.seccomp_profile.type == "RuntimeDefault"
    pod = dep.spec.template.spec
    assert pod.security_context.run_as_non_root and pod.security_context.run_as_user == 10001
    assert pod.security_context.seccomp_profile.type == "RuntimeDefault"
    assert (tmp_mount.mount_path, tmp_volume.name) == ("/tmp", tmp_mount.name)
    assert tmp_volume.empty_dir.size_limit == "1Gi"
    assert container.startup_probe.http_get.path == "/health"
    assert container.startup_probe.failure_threshold * container.startup_probe.period_seconds >= 120
    assert pod.service_account_name == objs["serviceaccount"].metadata.name == dep.metadata.name
    assert pod.automount_service_account_token is False
    assert container.env_from[0].secret_ref.name == objs["storage-secret"].metadata.name
    assert objs["pdb"].spec.max_unavailable == 1
    assert objs["pdb"].spec.selector.match_labels == dep.spec.selector.match_labels
    # the image tag is pinned to this build context, never :latest
    assert re.fullmatch(r"churn-model-v1:0\.1\.0-[0-9a-f]{12}", container.image), container.image
    assert result["image"] == container.image
    assert secret.string_data == {"hash": result["api_key_hash"]}
    written = [p for p in out.rglob("*") if p.is_file()]
    assert not any(result["api_key"].encode() in p.read_bytes() for p in written)
    assert svc.spec.selector == dep.spec.selector.match_labels
    assert svc.spec.ports[0].target_port == "http"
    assert hpa.api_version == "autoscaling/v2"
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (2, 7)
    assert hpa.spec.scale_target_ref.name == dep.metadata.name
    assert hpa.spec.metrics[0].resource.target.average_utilization == 70
    kustomization = yaml.safe_load((out / "k8s" / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(f"{k}.yaml" for k in KINDS)

    dockerfile = (out / "Dockerfile").read_text()
    assert dockerfile.startswith("# Built by") and "FROM python:3." in dockerfile
    assert "COPY model/ /srv/model/" in dockerfile and "USER 10001" in dockerfile
    wheel = next(out.glob("labcycle-*.whl"))
    assert f"pip install --no-cache-dir --no-deps /srv/{wheel.name}" in dockerfile
    start = (out / "start.sh").read_text()
    assert "exec labcycle serve /srv/model --host 0.0.0.0" in start and "--workers" in start
    requirements = (out / "requirements.txt").read_text().split()
    pins = dict(line.split("==") for line in requirements)
    packages = version["environment"]["packages"]
    assert pins["scikit-learn"] == packages["scikit-learn"] and pins["skops"] == packages["skops"]
    assert "labcycle" not in pins and "mlflow" not in pins and len(pins) < 20
    for heavy in ("jupyterlab", "voila", "distributed", "papermill", "jupyter-server"):
        assert heavy not in pins
    # the copied model folder loads as it is
    loaded = load_model_dir(out / "model")
    X, _ = churn_data
    assert (loaded.predict(X) == sk_model.predict(X)).all()
    assert json.loads((out / "model" / "version.json").read_text())["id"] == version["id"]


@sqlite_only
def test_export_refusals(services, version, tmp_path, sk_model):
    from labcycle.models import materialize

    folder = materialize(version, lambda f: services.blobs.read_bytes(f["digest"]))
    for kwargs in (
        {"workers": 0},
        {"port": 70000},
        {"replicas": 3, "max_replicas": 2},
        {"api_key_hash": "plain"},
    ):
        with pytest.raises(InvalidInput):
            export(version, folder, tmp_path / "x", **kwargs)
    for image in ("churn", "churn:latest", "registry:5000/churn", "a b:1"):
        with pytest.raises(InvalidInput, match="image"):
            export(version, folder, tmp_path / "x", image=image)
    with pytest.raises(InvalidInput, match="not a LabCycle wheel"):
        export(version, folder, tmp_path / "x", wheel=tmp_path / "missing.whl")
    with pytest.raises(InvalidInput, match="environment variable name"):
        export(version, folder, tmp_path / "x", storage_env={"A-B": "1"})
    assert not (tmp_path / "x").exists()  # refused before anything is written
    pinned = export(
        version,
        folder,
        tmp_path / "pinned",
        image="registry:5000/churn:1.4.2",
        api_key_hash="sha256:" + "0" * 64,
    )
    assert pinned["image"] == "registry:5000/churn:1.4.2"
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "f").write_text("x")
    with pytest.raises(InvalidInput, match="not empty"):
        export(version, folder, tmp_path / "busy")
    with pytest.raises(Forbidden, match="--trusted"):
        export({**version, "trusted": True, "flavor": "pickle"}, folder, tmp_path / "y")
    out = export(
        {**version, "trusted": True, "flavor": "pickle"},
        folder,
        tmp_path / "z",
        trusted=True,
        api_key_hash="sha256:" + "0" * 64,
    )
    assert out["api_key"] is None
    dep = k8s_objects(tmp_path / "z")["deployment"]
    env = {e.name: e.value for e in dep.spec.template.spec.containers[0].env}
    assert env["LABCYCLE_TRUST_MODEL_DIR"] == "/srv/model"
    assert "LABCYCLE_TRUST_MODEL_DIR=/srv/model" in (tmp_path / "z" / "Dockerfile").read_text()


@pytest.mark.parametrize(
    "text, suffix, expected",
    [
        ("Churn Model", "-v3", "churn-model-v3"),
        ("9lives", "", "m-9lives"),
        ("ﬁ__x", "", "fi-x"),
        ("x" * 80, "-v12", "x" * 59 + "-v12"),
        ("---", "", "model"),
    ],
)
def test_k8s_names(text, suffix, expected):
    name = k8s_name(text, suffix)
    assert (
        name == expected and re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 63
    )


def test_cli_models_and_export(tmp_path, monkeypatch, sk_model, churn_data):
    from labcycle.cli.base import main
    from labcycle.services import Services

    X, _ = churn_data
    home = tmp_path / "home"
    monkeypatch.setenv("LABCYCLE_HOME", str(home))
    monkeypatch.delenv("LABCYCLE_DB_URL", raising=False)
    monkeypatch.delenv("LABCYCLE_ARTIFACT_URL", raising=False)
    services = Services.from_config()
    register(services, "churn", sk_model, input_example=X.head())
    register(services, "churn", sk_model)
    services.close()
    runner = CliRunner()
    result = runner.invoke(main, ["models", "alias", "churn", "champion", "1"])
    assert result.exit_code == 0 and "churn@champion → v1" in result.output
    result = runner.invoke(main, ["models", "ls", "--json"])
    (model,) = json.loads(result.output)
    assert model["aliases"] == {"champion": 1} and model["latest_version"] == 2
    result = runner.invoke(main, ["models", "show", "churn"])
    assert result.exit_code == 0 and "champion" in result.output
    result = runner.invoke(main, ["models", "show", "nobody"])
    assert result.exit_code == 1 and "No registered model" in result.output
    result = runner.invoke(
        main,
        [
            "deploy",
            "export",
            "churn@champion",
            "--out",
            str(tmp_path / "d"),
            "--workers",
            "2",
            "--replicas",
            "3",
            "--max-replicas",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "API key (shown once" in result.output
    objs = k8s_objects(tmp_path / "d")
    assert objs["hpa"].spec.min_replicas == 3 and objs["hpa"].spec.max_replicas == 5
    assert json.loads((tmp_path / "d" / "model" / "version.json").read_text())["version"] == 1
    result = runner.invoke(main, ["deploy", "export", "churn/9", "--out", str(tmp_path / "e")])
    assert result.exit_code == 1 and "no version 9" in result.output


def _manifest_files(folder: Path) -> list[str]:
    return sorted(str(p) for p in (folder / "k8s").glob("*.yaml") if p.name != "kustomization.yaml")


@sqlite_only
def test_manifests_pass_kubernetes_validate_strict(services, version, tmp_path):
    """The real API schemas of the oldest and newest Kubernetes versions the export targets,
    in strict mode (an unknown or misplaced field fails), through the kubernetes-validate CLI."""
    import shutil
    import subprocess
    import sys

    from labcycle.models import materialize
    from labcycle.models.export import K8S_VERSIONS

    folder = materialize(version, lambda f: services.blobs.read_bytes(f["digest"]))
    export(
        version,
        folder,
        tmp_path / "out",
        deployment_id="0" * 32,
        log_url="s3://bucket/lc",
        storage_env={"LABCYCLE_STORAGE_OPTIONS": '{"anon": false}'},
        service_account_annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"},
    )
    files = _manifest_files(tmp_path / "out")
    assert len(files) == len(KINDS)
    exe = shutil.which("kubernetes-validate", path=str(Path(sys.executable).parent))
    assert exe, "kubernetes-validate is installed by the test extra"
    for k8s in K8S_VERSIONS:
        done = subprocess.run(
            [exe, "--strict", "-k", k8s, *files],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (k8s, done.stdout, done.stderr)
        assert done.stdout.count(" passed for resource ") == len(files), done.stdout
        assert f"against version {k8s.rsplit('.', 1)[0]}" in done.stdout
    # and a broken document does fail (the check is not vacuous)
    bad = tmp_path / "bad.yaml"
    doc = yaml.safe_load((tmp_path / "out" / "k8s" / "deployment.yaml").read_text())
    doc["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFs"] = True
    bad.write_text(yaml.safe_dump(doc))
    done = subprocess.run(
        [exe, "--strict", "-k", K8S_VERSIONS[-1], str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0 and "readOnlyRootFs" in done.stdout + done.stderr
