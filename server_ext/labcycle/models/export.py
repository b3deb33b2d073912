"""Scale-out export: a container build context and Kubernetes manifests for one model version.

``labcycle deploy export churn@champion --out deploy/`` writes::

    deploy/
      Dockerfile            python:<recorded minor>-slim + the LabCycle wheel (--no-deps) +
                            requirements.txt
      labcycle-<v>-py3-none-any.whl
                            LabCycle's serving wheel (:mod:`.wheel`), or the one given
      requirements.txt      the ``serve`` extra and the packages the flavor needs, pinned to
                            the versions recorded with the model (environment.packages)
      start.sh              exec labcycle serve /srv/model --host 0.0.0.0 --port $PORT ...
      model/                the version's files, labcycle-model.json and version.json
      k8s/deployment.yaml   apps/v1 Deployment: startup/readiness/liveness probes, requests,
                            Pod Security "restricted" (non-root, read-only root with an
                            emptyDir on /tmp, no privilege escalation, no capabilities,
                            seccomp RuntimeDefault), the prediction log's place and id
      k8s/service.yaml      v1 Service (ClusterIP, port 80 → http)
      k8s/hpa.yaml          autoscaling/v2 HorizontalPodAutoscaler on CPU
      k8s/pdb.yaml          policy/v1 PodDisruptionBudget (one pod at most down at a time)
      k8s/serviceaccount.yaml
                            v1 ServiceAccount of the pods (annotate it for workload identity)
      k8s/secret.yaml       v1 Secret with the API key's hash (never the key)
      k8s/storage-secret.yaml
                            v1 Secret: the storage options and the credential variables the
                            export was told to copy, as the pods' environment
      k8s/kustomization.yaml
      README.md

The server in the container binds 0.0.0.0, so it requires an API key: the export makes one,
prints it once, and stores only its ``sha256:`` hash in the Secret, mounted at
``/etc/labcycle/api-key/hash`` and named by ``LABCYCLE_API_KEY_HASH_FILE``.

The pods write their prediction log to ``log_url`` (the hub's artifact store, object
storage for a cluster) under ``deployment_id``, a deployment registered in the hub for the
export, so the hub lists the predictions and a monitor watches them as for a local one.

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
from ..serving.keys import hash_api_key
from .flavors import get_flavor

MODEL_DIR = "/srv/model"
HASH_DIR = "/etc/labcycle/api-key"
HASH_FILE = f"{HASH_DIR}/hash"
#: the pods' only writable folder (the root file system is read-only)
TMP_DIR = "/tmp"  # an emptyDir volume of the pod
UID = 10001
#: Kubernetes versions the manifests are validated against in the tests (oldest, newest)
K8S_VERSIONS = ("1.30.0", "1.37.0")


def k8s_name(text: str, suffix: str = "") -> str:
    """A DNS-1123 label (lower-case alphanumerics and '-', at most 63) from ``text``."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.casefold()).strip("-")
    name = re.sub(r"-{2,}", "-", name) or "model"
    if not name[0].isalpha():
        name = f"m-{name}"
    room = 63 - len(suffix)
    return (name[:room].rstrip("-") + suffix)[:63]


_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$")


def pinned_requirements(version: dict[str, Any], extra: tuple[str, ...] = ()) -> list[str]:
    """LabCycle's ``serve`` extra, the flavor's packages and ``extra``, each pinned to the
    version recorded with the model when there is one (else as the extra states it)."""
    from .wheel import serve_requirements

    serving = serve_requirements()
    if not serving:
        raise InvalidInput(
            "This LabCycle's metadata has no 'serve' extra; reinstall LabCycle "
            "(pip install -e . or make install) and export again."
        )
    packages = {
        k.casefold(): v
        for k, v in ((version.get("environment") or {}).get("packages") or {}).items()
    }
    lines: dict[str, str] = {}
    for requirement in [*serving, *get_flavor(version["flavor"]).packages, *extra]:
        match = _REQUIREMENT.match(requirement)
        if match is None:
            raise InvalidInput(f"{requirement!r} is not a package requirement.", field="package")
        name, extras, spec = match.group(1), match.group(2) or "", match.group(3).strip()
        key = name.casefold()
        found = (
            packages.get(key)
            or packages.get(key.replace("-", "_"))
            or packages.get(key.replace("_", "-"))
        )
        lines.setdefault(key, f"{name}{extras}=={found}" if found else f"{name}{extras}{spec}")
    return list(lines.values())


def _labels(name: str, version: dict[str, Any]) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "labcycle-model",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/managed-by": "labcycle",
        "labcycle.io/model": k8s_name(str(version.get("model_name") or "model")),
        "labcycle.io/version": str(version.get("version") or ""),
    }


def _security_context() -> dict[str, Any]:
    """The container's side of Pod Security "restricted"."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def manifests(
    version: dict[str, Any],
    *,
    name: str,
    image: str,
    port: int,
    workers: int,
    replicas: int,
    max_replicas: int,
    key_hash: str,
    cpu_target: int = 70,
    trusted: bool = False,
    deployment_id: str | None = None,
    log_url: str | None = None,
    storage_env: dict[str, str] | None = None,
    service_account_annotations: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The Kubernetes objects (as dicts, in the API's camelCase) of one exported version."""
    labels = _labels(name, version)
    if deployment_id:
        labels["labcycle.io/deployment-id"] = deployment_id
    selector = {"app.kubernetes.io/instance": name, "app.kubernetes.io/name": "labcycle-model"}
    secret_name = f"{name[:52]}-api-key"
    storage_name = f"{name[:52]}-storage"
    env = [
        {"name": "LABCYCLE_API_KEY_HASH_FILE", "value": HASH_FILE},
        {"name": "PORT", "value": str(port)},
        {"name": "WORKERS", "value": str(workers)},
        {"name": "LABCYCLE_HOME", "value": f"{TMP_DIR}/labcycle"},
    ]
    if deployment_id:
        env.append({"name": "LABCYCLE_DEPLOYMENT_ID", "value": deployment_id})
    if log_url:
        env.append({"name": "LABCYCLE_CAPTURE_URL", "value": log_url})
    if trusted:
        env.append({"name": "LABCYCLE_TRUST_MODEL_DIR", "value": MODEL_DIR})
    probe = {
        "httpGet": {"path": "/ready", "port": "http"},
        "periodSeconds": 5,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(selector)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "serviceAccountName": name,
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": UID,
                        "runAsGroup": UID,
                        "fsGroup": UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "terminationGracePeriodSeconds": 30,
                    "containers": [
                        {
                            "name": "model",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
                            "env": env,
                            "envFrom": [{"secretRef": {"name": storage_name}}],
                            "securityContext": _security_context(),
                            # loading a large model may take a while: liveness waits for it
                            "startupProbe": {
                                "httpGet": {"path": "/health", "port": "http"},
                                "periodSeconds": 2,
                                "timeoutSeconds": 2,
                                "failureThreshold": 90,
                            },
                            "readinessProbe": probe,
                            "livenessProbe": {
                                **probe,
                                "httpGet": {"path": "/health", "port": "http"},
                                "periodSeconds": 10,
                            },
                            "resources": {
                                "requests": {
                                    "cpu": f"{500 * workers}m",
                                    "memory": f"{512 * workers}Mi",
                                },
                                "limits": {"memory": f"{2048 * workers}Mi"},
                            },
                            "volumeMounts": [
                                {"name": "api-key", "mountPath": HASH_DIR, "readOnly": True},
                                {"name": "tmp", "mountPath": TMP_DIR},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "api-key", "secret": {"secretName": secret_name}},
                        # the spool of the prediction log and Python's temporary files
                        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": cpu_target},
                    },
                }
            ],
        },
    }
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "labels": labels},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(selector)}},
    }
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": name,
            "labels": labels,
            **(
                {"annotations": dict(service_account_annotations)}
                if service_account_annotations
                else {}
            ),
        },
        "automountServiceAccountToken": False,
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name, "labels": labels},
        "type": "Opaque",
        "stringData": {"hash": key_hash},
    }
    storage_secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": storage_name, "labels": labels},
        "type": "Opaque",
        "stringData": dict(sorted((storage_env or {}).items())),
    }
    return {
        "deployment": deployment,
        "service": service,
        "hpa": hpa,
        "pdb": pdb,
        "serviceaccount": account,
        "secret": secret,
        "storage-secret": storage_secret,
    }


DOCKERFILE = """\
# Built by `labcycle deploy export` for model {ref} (flavor {flavor}).
FROM python:{python}-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \\
    PORT={port} WORKERS={workers} LABCYCLE_HOME=/tmp/labcycle \\
    LABCYCLE_API_KEY_HASH_FILE={hash_file}{trust_env}
WORKDIR /srv
COPY requirements.txt {wheel} /srv/
# LabCycle itself without its notebook-side dependencies, then what serving needs
RUN pip install --no-cache-dir --no-deps /srv/{wheel} \\
    && pip install --no-cache-dir -r /srv/requirements.txt
COPY model/ {model_dir}/
COPY start.sh /srv/start.sh
RUN chmod 0755 /srv/start.sh && useradd --uid {uid} --no-create-home --shell /usr/sbin/nologin labcycle
USER {uid}
EXPOSE {port}
CMD ["/srv/start.sh"]
"""

START = """\
#!/bin/sh
# The model server: binds every address, so it needs the API key hash (a mounted Secret).
# LABCYCLE_DEPLOYMENT_ID and LABCYCLE_CAPTURE_URL (the manifests set them) name the
# prediction log; without them it goes under LABCYCLE_HOME.
set -e
exec labcycle serve {model_dir} --host 0.0.0.0 --port "${{PORT:-{port}}}" \\
    --workers "${{WORKERS:-{workers}}}" --api-key-hash-file "${{LABCYCLE_API_KEY_HASH_FILE:-{hash_file}}}"
"""

README = """\
# {ref} — container and Kubernetes export

Written by `labcycle deploy export` (LabCycle {labcycle}). The hub knows this deployment
as `{deployment_id}`: its prediction log goes to `{log_url}`, where the hub and its
monitors read it.

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
Storage credentials: `k8s/storage-secret.yaml` holds `LABCYCLE_STORAGE_OPTIONS` and the
variables the export was asked to copy (`--storage-env`); with workload identity instead,
annotate `k8s/serviceaccount.yaml` (`--service-account-annotation`).
Probes: startup and liveness `GET /health`, readiness `GET /ready`; the
HorizontalPodAutoscaler keeps {replicas}–{max_replicas} replicas at about {cpu_target}% CPU;
the PodDisruptionBudget lets one pod at a time go down for node maintenance. The pods run
as user {uid} with a read-only root file system (an emptyDir on /tmp).
"""

#: an image reference whose tag moves (or that has none) is refused: pods must run what was built
_MOVING_TAGS = ("latest", "main", "master", "stable")


def check_image(image: str) -> str:
    """``image`` if it names a pinned tag or a digest."""
    image = image.strip()
    if not image or any(c.isspace() for c in image):
        raise InvalidInput(
            "image must be an image reference such as registry/churn:1.4.2.", field="image"
        )
    if "@sha256:" in image:
        return image
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    if not tag or tag in _MOVING_TAGS:
        raise InvalidInput(
            f"image {image!r} has no pinned tag; name a version "
            "(churn:1.4.2) or a digest (churn@sha256:...), not :latest.",
            field="image",
        )
    return image


def _context_digest(out: Path) -> str:
    """A digest of the build context (model, wheel, requirements): the default image tag."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        digest.update(path.relative_to(out).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


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
    deployment_id: str | None = None,
    log_url: str | None = None,
    storage_env: dict[str, str] | None = None,
    service_account_annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Write the build context and manifests for ``version`` (files in ``model_folder``).

    ``wheel``: LabCycle's wheel to install (default: a serving wheel of this LabCycle,
    :func:`~labcycle.models.wheel.build_serving_wheel`). ``deployment_id`` / ``log_url``:
    where the pods write their prediction log (the hub's deployment and artifact store).
    ``storage_env``: the pods' storage settings and credentials (a Secret).

    Returns ``{"out", "files", "name", "image", "api_key" (None when a hash was given),
    "api_key_hash", "deployment_id", "log_url"}``.
    """
    for field, value, low, high in (
        ("workers", workers, 1, 64),
        ("port", port, 1, 65535),
        ("replicas", replicas, 1, 1000),
        ("max_replicas", max_replicas, 1, 1000),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(f"{field} must be an integer from {low} to {high}.", field=field)
    if max_replicas < replicas:
        raise InvalidInput("max_replicas must be at least replicas.", field="max_replicas")
    if version.get("trusted") and not trusted:
        raise Forbidden(
            f"{version.get('ref')} is a {version['flavor']}-flavor model that runs code when it "
            "loads; export it with --trusted (audited) if you trust it.",
            field="trusted",
        )
    if image is not None:
        image = check_image(image)
    for key in storage_env or {}:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise InvalidInput(f"{key!r} is not an environment variable name.", field="storage_env")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise InvalidInput(f"{out} exists and is not empty; choose a new folder.", field="out")
    if wheel is not None:
        wheel = Path(wheel)
        if not wheel.is_file() or wheel.suffix != ".whl" or not wheel.name.startswith("labcycle-"):
            raise InvalidInput(f"{wheel} is not a LabCycle wheel file.", field="wheel")
    ref = version.get("ref") or f"{version.get('model_name')}/{version.get('version')}"
    name = k8s_name(str(version.get("model_name") or "model"), f"-v{version.get('version') or 0}")
    api_key = None
    if api_key_hash is None:
        api_key = secrets.token_urlsafe(32)
        api_key_hash = hash_api_key(api_key)
    elif not re.fullmatch(r"sha256:[0-9a-f]{64}", api_key_hash.strip()):
        raise InvalidInput(
            "The API key hash must be 'sha256:<64 hex digits>'.", field="api_key_hash"
        )
    api_key_hash = api_key_hash.strip()
    requirements = pinned_requirements(version, extra_packages)
    (out / "k8s").mkdir(parents=True, exist_ok=True)
    shutil.copytree(model_folder, out / "model", ignore=shutil.ignore_patterns("__pycache__"))
    (out / "model" / "version.json").write_text(json.dumps(version, indent=2, default=str))
    if wheel is not None:
        shutil.copy2(wheel, out / wheel.name)
    else:
        from .wheel import build_serving_wheel

        wheel = build_serving_wheel(out)
    (out / "requirements.txt").write_text("\n".join(requirements) + "\n")
    python = ".".join(
        str((version.get("environment") or {}).get("python") or "3.11").split(".")[:2]
    )
    values = dict(
        ref=ref,
        flavor=version["flavor"],
        python=python,
        port=port,
        workers=workers,
        hash_file=HASH_FILE,
        hash_dir=HASH_DIR,
        model_dir=MODEL_DIR,
        uid=UID,
        key_hash=api_key_hash,
        labcycle=__version__,
        replicas=replicas,
        max_replicas=max_replicas,
        cpu_target=70,
        wheel=wheel.name,
        deployment_id=deployment_id or "(none: not registered)",
        log_url=log_url or "LABCYCLE_HOME inside the pod (lost with it)",
        trust_env=f" \\\n    LABCYCLE_TRUST_MODEL_DIR={MODEL_DIR}" if trusted else "",
    )
    (out / "Dockerfile").write_text(DOCKERFILE.format(**values))
    (out / "start.sh").write_text(START.format(**values))
    (out / "start.sh").chmod(0o755)
    image = image or f"{name}:{__version__}-{_context_digest(out)[:12]}"
    (out / "README.md").write_text(README.format(**values, image=image))
    import yaml

    objects = manifests(
        version,
        name=name,
        image=image,
        port=port,
        workers=workers,
        replicas=replicas,
        max_replicas=max_replicas,
        key_hash=api_key_hash,
        trusted=trusted,
        deployment_id=deployment_id,
        log_url=log_url,
        storage_env=storage_env,
        service_account_annotations=service_account_annotations,
    )
    for kind, obj in objects.items():
        (out / "k8s" / f"{kind}.yaml").write_text(yaml.safe_dump(obj, sort_keys=False))
    (out / "k8s" / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [
                    f"{kind}.yaml"
                    for kind in (
                        "serviceaccount",
                        "secret",
                        "storage-secret",
                        "deployment",
                        "service",
                        "hpa",
                        "pdb",
                    )
                ],
            },
            sort_keys=False,
        )
    )
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    return {
        "out": str(out),
        "files": files,
        "name": name,
        "image": image,
        "api_key": api_key,
        "api_key_hash": api_key_hash,
        "deployment_id": deployment_id,
        "log_url": log_url,
    }
