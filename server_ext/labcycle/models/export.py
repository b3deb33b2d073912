"""Scale-out export: a container build context and Kubernetes manifests for one model version.

``labcycle deploy export churn@champion --out deploy/`` writes::

    deploy/
      Dockerfile            python:<recorded minor>-slim + LabCycle + pinned flavor packages
      requirements.txt      labcycle and the packages the flavor needs, pinned to the versions
                            recorded with the model (environment.packages)
      start.sh              exec labcycle serve /srv/model --host 0.0.0.0 --port $PORT ...
      model/                the version's files, labcycle-model.json and version.json
      k8s/deployment.yaml   apps/v1 Deployment: readiness /ready, liveness /health, requests
      k8s/service.yaml      v1 Service (ClusterIP, port 80 → http)
      k8s/hpa.yaml          autoscaling/v2 HorizontalPodAutoscaler on CPU
      k8s/secret.yaml       v1 Secret with the API key's hash (never the key)
      k8s/kustomization.yaml
      README.md

The server in the container binds 0.0.0.0, so it requires an API key: the export makes one,
prints it once, and stores only its ``sha256:`` hash in the Secret, mounted at
``/etc/labcycle/api-key/hash`` and named by ``LABCYCLE_API_KEY_HASH_FILE``.

A version whose flavor runs code when loaded (pickle, joblib, python) is exported only with
``trusted=True`` (audited as ``model.load.trusted`` with purpose ``export``); the image then
sets ``LABCYCLE_TRUST_MODEL_DIR=/srv/model``, which is the only way a model folder is loaded
as trusted without an explicit ``trusted=True``.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import Forbidden, InvalidInput
from .flavors import get_flavor

MODEL_DIR = "/srv/model"
HASH_DIR = "/etc/labcycle/api-key"
HASH_FILE = f"{HASH_DIR}/hash"
# What the server itself needs whatever the flavor (pinned when the environment has them).
SERVER_PACKAGES = ("uvicorn", "starlette", "pandas", "numpy", "pyarrow")


def k8s_name(text: str, suffix: str = "") -> str:
    """A DNS-1123 label (lower-case alphanumerics and '-', at most 63) from ``text``."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.casefold()).strip("-")
    name = re.sub(r"-{2,}", "-", name) or "model"
    if not name[0].isalpha():
        name = f"m-{name}"
    room = 63 - len(suffix)
    return (name[:room].rstrip("-") + suffix)[:63]


def hash_key(key: str) -> str:
    try:
        from ..services.deployments import hash_api_key
    except ImportError:  # serving not installed: the same scheme
        import hashlib

        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return hash_api_key(key)


def pinned_requirements(version: dict[str, Any], extra: tuple[str, ...] = (),
                        labcycle_spec: str | None = None) -> list[str]:
    """``labcycle==X`` plus the flavor's packages (and ``extra``) pinned to the recorded versions."""
    packages = {k.casefold(): v for k, v in ((version.get("environment") or {}).get("packages") or {}).items()}
    wanted = list(dict.fromkeys([*get_flavor(version["flavor"]).packages, *SERVER_PACKAGES, *extra]))
    lines = [labcycle_spec or f"labcycle=={__version__}"]
    for name in wanted:
        key = name.casefold()
        found = packages.get(key) or packages.get(key.replace("-", "_")) or packages.get(key.replace("_", "-"))
        lines.append(f"{name}=={found}" if found else name)
    return lines


def _labels(name: str, version: dict[str, Any]) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "labcycle-model",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/managed-by": "labcycle",
        "labcycle.io/model": k8s_name(str(version.get("model_name") or "model")),
        "labcycle.io/version": str(version.get("version") or ""),
    }


def manifests(version: dict[str, Any], *, name: str, image: str, port: int, workers: int,
              replicas: int, max_replicas: int, key_hash: str, cpu_target: int = 70,
              trusted: bool = False) -> dict[str, dict[str, Any]]:
    """The Kubernetes objects (as dicts, in the API's camelCase) of one exported version."""
    labels = _labels(name, version)
    selector = {"app.kubernetes.io/instance": name, "app.kubernetes.io/name": "labcycle-model"}
    secret_name = f"{name[:52]}-api-key"
    env = [
        {"name": "LABCYCLE_API_KEY_HASH_FILE", "value": HASH_FILE},
        {"name": "PORT", "value": str(port)},
        {"name": "WORKERS", "value": str(workers)},
    ]
    if trusted:
        env.append({"name": "LABCYCLE_TRUST_MODEL_DIR", "value": MODEL_DIR})
    probe = {"httpGet": {"path": "/ready", "port": "http"}, "initialDelaySeconds": 3,
             "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 3}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(selector)},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                    "containers": [{
                        "name": "model",
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
                        "env": env,
                        "readinessProbe": probe,
                        "livenessProbe": {**probe, "httpGet": {"path": "/health", "port": "http"},
                                          "initialDelaySeconds": 15, "periodSeconds": 10},
                        "resources": {
                            "requests": {"cpu": f"{500 * workers}m", "memory": f"{512 * workers}Mi"},
                            "limits": {"memory": f"{2048 * workers}Mi"},
                        },
                        "volumeMounts": [{"name": "api-key", "mountPath": HASH_DIR, "readOnly": True}],
                    }],
                    "volumes": [{"name": "api-key", "secret": {"secretName": secret_name}}],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {"type": "ClusterIP", "selector": selector,
                 "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]},
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": replicas,
            "maxReplicas": max_replicas,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu_target}}}],
        },
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name, "labels": labels},
        "type": "Opaque",
        "stringData": {"hash": key_hash},
    }
    return {"deployment": deployment, "service": service, "hpa": hpa, "secret": secret}


DOCKERFILE = """\
# Built by `labcycle deploy export` for model {ref} (flavor {flavor}).
FROM python:{python}-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \\
    PORT={port} WORKERS={workers} LABCYCLE_HOME=/tmp/labcycle \\
    LABCYCLE_API_KEY_HASH_FILE={hash_file}{trust_env}
WORKDIR /srv
COPY requirements.txt /srv/requirements.txt
{wheel_copy}RUN pip install --no-cache-dir -r /srv/requirements.txt
COPY model/ {model_dir}/
COPY start.sh /srv/start.sh
RUN chmod 0755 /srv/start.sh && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin labcycle
USER 10001
EXPOSE {port}
CMD ["/srv/start.sh"]
"""

START = """\
#!/bin/sh
# The model server: binds every address, so it needs the API key hash (a mounted Secret).
set -e
exec labcycle serve {model_dir} --host 0.0.0.0 --port "${{PORT:-{port}}}" \\
    --workers "${{WORKERS:-{workers}}}" --api-key-hash-file "${{LABCYCLE_API_KEY_HASH_FILE:-{hash_file}}}"
"""

README = """\
# {ref} — container and Kubernetes export

Written by `labcycle deploy export` (LabCycle {labcycle}).

```bash
docker build -t {image} .
# locally: the server requires the API key; mount the hash file it checks
mkdir -p secret && echo '{key_hash}' > secret/hash
docker run -p {port}:{port} -v "$PWD/secret:{hash_dir}:ro" {image}
curl -H 'Authorization: Bearer <API key>' -H 'Content-Type: application/json' \\
     -d '{{"records": [...]}}' http://127.0.0.1:{port}/predict

# on a cluster (push the image where the cluster can pull it first)
kubectl apply -k k8s/
```

The API key was printed once by the export; only its hash is stored (`k8s/secret.yaml`).
Probes: readiness `GET /ready`, liveness `GET /health`; the HorizontalPodAutoscaler keeps
{replicas}–{max_replicas} replicas at about {cpu_target}% CPU.
"""


def export(
    version: dict[str, Any],
    model_folder: Path,
    out: Path,
    *,
    workers: int = 1,
    port: int = 8080,
    replicas: int = 2,
    max_replicas: int = 10,
    image: str | None = None,
    trusted: bool = False,
    api_key_hash: str | None = None,
    wheel: Path | None = None,
    extra_packages: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Write the build context and manifests for ``version`` (files in ``model_folder``).

    Returns ``{"out", "files", "name", "image", "api_key" (None when a hash was given),
    "api_key_hash"}``.
    """
    for field, value, low, high in (("workers", workers, 1, 64), ("port", port, 1, 65535),
                                    ("replicas", replicas, 1, 1000),
                                    ("max_replicas", max_replicas, 1, 1000)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(f"{field} must be an integer from {low} to {high}.", field=field)
    if max_replicas < replicas:
        raise InvalidInput("max_replicas must be at least replicas.", field="max_replicas")
    if version.get("trusted") and not trusted:
        raise Forbidden(
            f"{version.get('ref')} is a {version['flavor']}-flavor model that runs code when it "
            "loads; export it with --trusted (audited) if you trust it.", field="trusted")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise InvalidInput(f"{out} exists and is not empty; choose a new folder.", field="out")
    ref = version.get("ref") or f"{version.get('model_name')}/{version.get('version')}"
    name = k8s_name(str(version.get("model_name") or "model"), f"-v{version.get('version') or 0}")
    image = image or f"{name}:latest"
    api_key = None
    if api_key_hash is None:
        api_key = secrets.token_urlsafe(32)
        api_key_hash = hash_key(api_key)
    elif not re.fullmatch(r"sha256:[0-9a-f]{64}", api_key_hash.strip()):
        raise InvalidInput("The API key hash must be 'sha256:<64 hex digits>'.", field="api_key_hash")
    api_key_hash = api_key_hash.strip()
    (out / "k8s").mkdir(parents=True, exist_ok=True)
    shutil.copytree(model_folder, out / "model", ignore=shutil.ignore_patterns("__pycache__"))
    (out / "model" / "version.json").write_text(json.dumps(version, indent=2, default=str))
    spec = None
    if wheel is not None:
        wheel = Path(wheel)
        if not wheel.is_file() or wheel.suffix != ".whl":
            raise InvalidInput(f"{wheel} is not a wheel file.", field="wheel")
        shutil.copy2(wheel, out / wheel.name)
        spec = f"/srv/{wheel.name}"
    (out / "requirements.txt").write_text(
        "\n".join(pinned_requirements(version, extra_packages, spec)) + "\n")
    python = ".".join(str((version.get("environment") or {}).get("python") or "3.11").split(".")[:2])
    values = dict(ref=ref, flavor=version["flavor"], python=python, port=port, workers=workers,
                  hash_file=HASH_FILE, hash_dir=HASH_DIR, model_dir=MODEL_DIR, image=image,
                  key_hash=api_key_hash, labcycle=__version__, replicas=replicas,
                  max_replicas=max_replicas, cpu_target=70,
                  trust_env=f" \\\n    LABCYCLE_TRUST_MODEL_DIR={MODEL_DIR}" if trusted else "",
                  wheel_copy=f"COPY {wheel.name} /srv/{wheel.name}\n" if wheel else "")
    (out / "Dockerfile").write_text(DOCKERFILE.format(**values))
    (out / "start.sh").write_text(START.format(**values))
    (out / "start.sh").chmod(0o755)
    (out / "README.md").write_text(README.format(**values))
    import yaml

    objects = manifests(version, name=name, image=image, port=port, workers=workers,
                        replicas=replicas, max_replicas=max_replicas, key_hash=api_key_hash,
                        trusted=trusted)
    for kind, obj in objects.items():
        (out / "k8s" / f"{kind}.yaml").write_text(yaml.safe_dump(obj, sort_keys=False))
    (out / "k8s" / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [f"{kind}.yaml" for kind in ("secret", "deployment", "service", "hpa")],
    }, sort_keys=False))
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    return {"out": str(out), "files": files, "name": name, "image": image, "api_key": api_key,
            "api_key_hash": api_key_hash}
