"""Deployments: models served over HTTP by ``labcycle serve`` processes.

The row is the record of what should run (``model_ref``, ``traffic``, ``workers``,
``desired``) and of what runs (``status``, ``pids``, ``serving``). Process control lives
in :mod:`labcycle.serving.supervisor`; the serving processes read their target from here
(:meth:`DeploymentService.target`) once a second and report back (:meth:`report`), which
is how alias moves and traffic changes reach them without a restart.

API keys: a deployment bound to anything but loopback (127.0.0.1, localhost, ::1) gets a
generated key, returned once by :meth:`create` (``api_key``) and stored only as
``sha256:<hex>``: the key is 256 random bits, so a plain SHA-256 cannot be brute-forced
and costs a microsecond per request to check (compared in constant time).
"""

from __future__ import annotations

import builtins
import hashlib
import json
import math
import os
import re
import secrets
import shlex
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select, update

from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..serving.keys import hash_api_key
from ..store.models import Deployment
from .common import (
    audit,
    load_by_ref,
    new_id,
    next_token,
    now_ms,
    page_bounds,
    to_int,
    validate_name,
)
from .ownership import readable

T = Deployment.__table__
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DEFAULT_BATCHING = {"enabled": True, "max_batch_rows": 256, "max_wait_us": 2000}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
STATUSES = ("starting", "ready", "failed", "stopped", "exported")
#: ``desired`` of a deployment that runs elsewhere (a Kubernetes export): never started here
EXTERNAL = "external"


def stats_token(stored_hash: str) -> str:
    """What the supervisor sends to a keyed deployment's ``GET /stats`` (header
    ``X-LabCycle-Stats``): derived from the stored key hash, so neither side needs the key,
    and it opens nothing but ``/stats``."""
    return hashlib.sha256(f"labcycle-stats:{stored_hash}".encode()).hexdigest()


def check_stats_token(token: str | None, stored_hash: str | None) -> bool:
    import hmac

    if not token or not stored_hash:
        return False
    # bytes: compare_digest refuses non-ASCII str, and a header can hold any latin-1 text
    return hmac.compare_digest(token.encode("utf-8", "replace"), stats_token(stored_hash).encode())


def is_loopback(host: str) -> bool:
    return host in LOOPBACK


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "localhost") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def model_name_of(ref: str) -> str:
    for sep in ("@", "/"):
        if sep in ref:
            return ref.split(sep, 1)[0]
    return ref


def example_row(signature: dict[str, Any] | None) -> dict[str, Any]:
    """One plausible input row from a signature (middle of the training range, first
    category), for the ``curl`` example and the panel."""
    row: dict[str, Any] = {}
    for col in (signature or {}).get("inputs") or []:
        dtype = str(col.get("dtype") or "").lower()
        if col.get("categories"):
            row[col["name"]] = col["categories"][0]
        elif dtype.startswith("float"):
            lo, hi = col.get("min"), col.get("max")
            row[col["name"]] = round((lo + hi) / 2, 4) if lo is not None and hi is not None else 0.0
        elif dtype.startswith(("int", "uint")):
            row[col["name"]] = int(col.get("min") or 0)
        elif dtype.startswith("bool"):
            row[col["name"]] = False
        else:
            row[col["name"]] = ""
    return row


def curl_example(url: str, signature: dict[str, Any] | None, api_key_required: bool = False) -> str:
    """A ``curl`` command that calls the deployment's ``/predict`` with one example row."""
    body = json.dumps([example_row(signature)])
    auth = " -H 'Authorization: Bearer $LABCYCLE_API_KEY'" if api_key_required else ""
    return (
        f"curl -s -X POST {url.rstrip('/')}/predict -H 'Content-Type: application/json'"
        f"{auth} -d {shlex.quote(body)}"
    )


def jupyter_base_url() -> str | None:
    """The Jupyter server this process belongs to (``LABCYCLE_API_URL``, set for kernels and
    terminals by the server extension), for ``try_url`` outside a REST request."""
    url = os.environ.get("LABCYCLE_API_URL")
    return url.rstrip("/") + "/" if url else None


def try_url(base_url: str | None, d: dict[str, Any]) -> str | None:
    """The deployment's "try it" page: Voila renders ``voila_apps/predict.ipynb`` (route
    ``labcycle/apps/predict`` of the Jupyter server) for the deployment's URL."""
    if not base_url:
        return None
    from .common import app_url

    return app_url(base_url, "predict", deployment_url=d["url"])


def fetch_stats(
    d: dict[str, Any], api_key_hash: str | None, timeout: float = 0.5
) -> dict[str, Any] | None:
    """``GET /stats`` of a deployment's process (request rate, latency over the last
    minute); None when it does not answer in ``timeout`` seconds or is not this one."""
    import httpx

    from ..serving.supervisor import base_url

    headers = {"X-LabCycle-Stats": stats_token(api_key_hash)} if api_key_hash else {}
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as http:
            reply = http.get(base_url(d) + "/stats", headers=headers)
        data = reply.json() if reply.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("deployment_id") != d["id"]:
        return None
    return data


def _row(d: Deployment, *, secret: bool = False) -> dict[str, Any]:
    data = {
        "id": d.id,
        "name": d.name,
        "model_ref": d.model_ref,
        "model_name": d.model_name,
        "traffic": d.traffic,
        "host": d.host,
        "port": d.port,
        "workers": d.workers,
        "batching": d.batching,
        "capture": d.capture,
        "desired": d.desired,
        "status": d.status,
        "pids": d.pids or [],
        "url": d.url,
        "api_key_required": bool(d.api_key_hash),
        "trusted_versions": d.trusted_versions or [],
        "error": d.error,
        "serving": d.serving or {},
        "restarts": d.restarts,
        "created_by": d.created_by,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
        "started_at": d.started_at,
    }
    if secret:
        data["api_key_hash"] = d.api_key_hash
    return data


def needs_trust(version: dict[str, Any]) -> bool:
    """Whether loading the version runs code (registry: logged with trusted=True because its
    flavor, or its skops types, require it)."""
    return bool(version.get("trusted"))


def gate_trust(
    deployment: dict[str, Any], versions: list[tuple[dict, float]]
) -> tuple[list[tuple[dict, float]], str | None]:
    """The versions a serving process may load, each marked with the deployer's trust
    (``deployer_trusted``), and why any was held back."""
    allowed, held = [], None
    trusted = set(deployment.get("trusted_versions") or [])
    for version, pct in versions:
        if needs_trust(version) and version.get("id") not in trusted:
            held = held or (
                f"{version.get('model_name')} version {version.get('version')} needs the "
                f"deployer's trust ({version.get('flavor')}): PATCH the deployment with "
                "trusted=true to serve it."
            )
            continue
        allowed.append(({**version, "deployer_trusted": needs_trust(version)}, pct))
    return allowed, held


def validate_traffic(traffic: Any) -> dict[str, float] | None:
    if traffic is None:
        return None
    if not isinstance(traffic, dict) or not traffic:
        raise InvalidInput(
            'traffic must be an object of version → percentage, e.g. {"3": 90, "4": 10}.',
            field="traffic",
        )
    out: dict[str, float] = {}
    for key, pct in traffic.items():
        version = str(key)
        if not version.isdigit():
            raise InvalidInput(
                f"traffic key {version!r} must be a version number.", field=f"traffic.{version}"
            )
        if (
            isinstance(pct, bool)
            or not isinstance(pct, (int, float))
            or not math.isfinite(pct)
            or pct < 0
            or pct > 100
        ):
            raise InvalidInput(
                f"traffic.{version} must be a percentage between 0 and 100.",
                field=f"traffic.{version}",
            )
        out[str(int(version))] = float(pct)
    if abs(sum(out.values()) - 100) > 1e-6:
        raise InvalidInput(
            f"traffic percentages must add up to 100, not {sum(out.values()):g}.", field="traffic"
        )
    return out


def validate_batching(batching: Any) -> dict[str, Any]:
    if batching is None:
        return dict(DEFAULT_BATCHING)
    if not isinstance(batching, dict):
        raise InvalidInput("batching must be an object.", field="batching")
    unknown = set(batching) - set(DEFAULT_BATCHING)
    if unknown:
        raise InvalidInput(
            f"batching.{sorted(unknown)[0]} is not a known option "
            "(enabled, max_batch_rows, max_wait_us).",
            field=f"batching.{sorted(unknown)[0]}",
        )
    out = {**DEFAULT_BATCHING, **batching}
    if not isinstance(out["enabled"], bool):
        raise InvalidInput("batching.enabled must be true or false.", field="batching.enabled")
    out["max_batch_rows"] = to_int(out["max_batch_rows"], "batching.max_batch_rows")
    out["max_wait_us"] = to_int(out["max_wait_us"], "batching.max_wait_us")
    if not 1 <= out["max_batch_rows"] <= 100_000:
        raise InvalidInput(
            "batching.max_batch_rows must be between 1 and 100000.", field="batching.max_batch_rows"
        )
    if not 0 <= out["max_wait_us"] <= 1_000_000:
        raise InvalidInput(
            "batching.max_wait_us must be between 0 and 1000000.", field="batching.max_wait_us"
        )
    return out


def validate_workers(workers: Any) -> int:
    workers = to_int(workers, "workers")
    if not 1 <= workers <= 32:
        raise InvalidInput("workers must be between 1 and 32.", field="workers")
    return workers


class DeploymentService:
    def __init__(self, services: Any) -> None:
        self.services = services

    @property
    def store(self):
        return self.services.store

    @property
    def registry(self):
        registry = getattr(self.services, "registry", None)
        if registry is None:
            raise NotFound("The model registry is not available in this installation.")
        return registry

    # -- reading -----------------------------------------------------------------------------
    def _load(self, conn, ref: str) -> Deployment:
        return load_by_ref(conn, T, ref, "deployment")

    def get(self, ref: str, *, secret: bool = False) -> dict[str, Any]:
        with self.store.read() as conn:
            return _row(self._load(conn, ref), secret=secret)

    def list(
        self,
        *,
        max_results: Any = None,
        page_token: str | None = None,
        include_stopped: bool = True,
    ) -> dict[str, Any]:
        limit, offset = page_bounds(max_results, page_token)
        query = select(T).order_by(T.c.created_at.desc(), T.c.id)
        if not include_stopped:
            query = query.where(Deployment.desired != "stopped")
        with self.store.read() as conn:
            query = query.where(readable(conn, "deployment", T.c.id))
            rows = conn.execute(query.limit(limit + 1).offset(offset)).all()
        return {
            "items": [_row(r) for r in rows[:limit]],
            "next_page_token": next_token(offset, limit, len(rows)),
        }

    def live(
        self, items: Any, *, base_url: str | None = None, stats: bool = True, timeout: float = 0.5
    ) -> Any:
        """Add what a user needs to call the deployment(s) now: ``curl_example``,
        ``try_url`` (when ``base_url``, the Jupyter server's, is known) and, from each
        running process's ``GET /stats`` (read in parallel, ``timeout`` seconds at most),
        ``request_rate`` (req/s), ``latency_ms`` (p50) and ``latency_p99_ms`` over the last
        minute, and ``stats`` (the whole answer). A process that does not answer gives
        None values, never an error. Takes and returns one deployment or a list."""
        one = isinstance(items, dict)
        ds = [items] if one else list(items)
        signatures: dict[tuple, Any] = {}
        for d in ds:
            key = (d["model_ref"], json.dumps(d.get("traffic"), sort_keys=True))
            if key not in signatures:
                try:
                    signatures[key] = self.resolve_versions(d["model_ref"], d.get("traffic"))[0][
                        0
                    ].get("signature")
                except Exception:  # only for the example
                    signatures[key] = None
            d["curl_example"] = curl_example(
                d["url"], signatures[key], bool(d.get("api_key_required"))
            )
            d["try_url"] = try_url(base_url, d)
            d.update(stats=None, request_rate=None, latency_ms=None, latency_p99_ms=None)
        probe = [
            d
            for d in ds
            if stats
            and d.get("desired") == "running"
            and d.get("pids")
            and d.get("status") in ("ready", "starting")
        ]
        if probe:
            with self.store.read() as conn:
                hashes = dict(
                    conn.execute(
                        select(T.c.id, T.c.api_key_hash).where(T.c.id.in_([d["id"] for d in probe]))
                    ).all()
                )
            with ThreadPoolExecutor(min(8, len(probe))) as pool:
                answers = list(
                    pool.map(lambda d: fetch_stats(d, hashes.get(d["id"]), timeout), probe)
                )
            for d, answer in zip(probe, answers, strict=True):
                if answer is None:
                    continue
                latency = answer.get("latency_ms") or {}
                d.update(
                    stats=answer,
                    request_rate=answer.get("request_rate"),
                    latency_ms=latency.get("p50"),
                    latency_p99_ms=latency.get("p99"),
                )
        return ds[0] if one else ds

    def running(self) -> builtins.list[dict[str, Any]]:
        """Every deployment that should run, with its key hash (for the supervisor)."""
        with self.store.read() as conn:
            rows = conn.execute(select(T).where(T.c.desired == "running")).all()
            return [_row(r, secret=True) for r in rows]

    # -- versions ------------------------------------------------------------------------------
    def resolve_versions(
        self, model_ref: str, traffic: dict[str, float] | None
    ) -> builtins.list[tuple[dict, float]]:
        """``[(version dict, percentage)]`` that ``model_ref`` and ``traffic`` point at now."""
        if not traffic:
            return [(self.registry.resolve(model_ref), 100.0)]
        name = model_name_of(model_ref)
        return [(self.registry.resolve(f"{name}/{v}"), pct) for v, pct in traffic.items()]

    def target(self, deployment_id: str) -> dict[str, Any]:
        """What a serving process should serve: called by it once a second."""
        d = self.get(deployment_id)
        versions, error = [], None
        try:
            versions = [
                (v, pct)
                for v, pct in self.resolve_versions(d["model_ref"], d["traffic"])
                if pct > 0
            ]
        except Exception as exc:  # reported, the old versions keep serving
            error = getattr(exc, "message", None) or str(exc)
        reviews = getattr(self.services, "reviews", None)
        if versions and reviews is not None:  # unapproved versions are held back
            versions, held = reviews.gate_target(d, versions)
            error = error or held
        if versions:
            versions, untrusted = gate_trust(d, versions)
            error = error or untrusted
        return {"deployment": d, "versions": versions, "error": error}

    def _trust(
        self,
        conn: Any,
        *,
        actor: str,
        deployment: str,
        versions: builtins.list[tuple[dict, float]],
        trusted: Any,
        already: builtins.list[str],
    ) -> builtins.list[str]:
        """The ids the deployer trusts after this change; a 400 when a version needs trust
        that is not given. Each new trust decision is audited (``model.load.trusted``)."""
        if not isinstance(trusted, bool):
            raise InvalidInput("trusted must be true or false.", field="trusted")
        needing = [v for v, pct in versions if pct > 0 and needs_trust(v)]
        new = [v for v in needing if v["id"] not in already]
        if new and not trusted:
            v = new[0]
            raise Forbidden(
                f"{v.get('model_name')} version {v.get('version')} is a {v.get('flavor')} model: "
                "loading it runs its author's code. Deploy it with trusted=true (recorded in the "
                "audit log under your name) if you trust it, or register a skops version.",
                field="trusted",
                version=v.get("version"),
            )
        for v in new:
            audit(
                conn,
                actor,
                "model.load.trusted",
                "model_version",
                v["id"],
                {
                    "model": v.get("model_name"),
                    "version": v.get("version"),
                    "flavor": v.get("flavor"),
                    "purpose": "deploy",
                    "deployment": deployment,
                },
            )
        return list(already) + [v["id"] for v in new]

    def _require_approved(self, versions: builtins.list[tuple[dict, float]]) -> None:
        """409 if a version's project requires approval and the version has none."""
        reviews = getattr(self.services, "reviews", None)
        if reviews is not None:
            reviews.require_deployable([v for v, pct in versions if pct > 0])

    # -- writing -------------------------------------------------------------------------------
    def create(
        self,
        model_ref: str,
        *,
        actor: str,
        name: str | None = None,
        workers: Any = 1,
        host: str = "127.0.0.1",
        port: Any = None,
        traffic: Any = None,
        batching: Any = None,
        capture: bool = True,
        api_key: bool | None = None,
        trusted: Any = False,
    ) -> dict[str, Any]:
        """Deploy ``model_ref``. A version that runs code when loaded (pickle, joblib, python
        flavors) is served only with ``trusted=True``: the deployer's own decision, audited."""
        if not isinstance(model_ref, str) or not model_ref.strip():
            raise InvalidInput(
                "model must be a model reference such as 'churn@champion' or 'churn/3'.",
                field="model",
            )
        model_ref = model_ref.strip()
        versions = self.resolve_versions(model_ref, validate_traffic(traffic))  # fails early
        self._require_approved(versions)  # a project's approval policy
        model_name = versions[0][0].get("model_name") or model_name_of(model_ref)
        if name is None:
            name = re.sub(r"[^A-Za-z0-9._-]+", "-", model_ref).strip("-")[:80] or "model"
            base, n = name, 2
            while self._name_taken(name):
                name, n = f"{base}-{n}", n + 1
        name = validate_name(name, "name", 100)
        if not _NAME.match(name):
            raise InvalidInput(
                "name may use letters, digits, '.', '_' and '-' (it appears in URLs and paths).",
                field="name",
            )
        if (
            not isinstance(host, str)
            or not host
            or len(host) > 100
            or any(c in host for c in "/ \\@")
        ):
            raise InvalidInput("host must be an IP address or host name to bind.", field="host")
        workers = validate_workers(workers)
        port = (
            free_port(host if host != "localhost" else "127.0.0.1")
            if port in (None, 0)
            else to_int(port, "port")
        )
        if not 1 <= port <= 65535:
            raise InvalidInput("port must be between 1 and 65535.", field="port")
        key = None
        if api_key or (api_key is None and not is_loopback(host)):
            key = secrets.token_urlsafe(32)
        if api_key is False and not is_loopback(host):
            raise InvalidInput(
                f"A deployment bound to {host} (not loopback) requires an API key.", field="api_key"
            )
        now = now_ms()
        row = {
            "id": new_id(),
            "name": name,
            "model_ref": model_ref,
            "model_name": model_name,
            "traffic": validate_traffic(traffic),
            "host": host,
            "port": port,
            "workers": workers,
            "batching": validate_batching(batching),
            "capture": bool(capture),
            "desired": "running",
            "status": "starting",
            "pids": [],
            "url": url_for(host, port),
            "api_key_hash": hash_api_key(key) if key else None,
            "error": None,
            "serving": {},
            "restarts": 0,
            "created_by": actor,
            "created_at": now,
            "updated_at": now,
            "started_at": None,
        }
        with self.store.write() as conn:
            if conn.execute(select(Deployment.id).where(Deployment.name == name)).first():
                raise Conflict(
                    f"A deployment named {name!r} exists; pick another name or stop and delete it.",
                    field="name",
                )
            taken = conn.execute(
                select(Deployment.name).where(
                    Deployment.port == port, Deployment.desired == "running"
                )
            ).first()
            if taken:
                raise Conflict(f"Port {port} is used by deployment {taken[0]!r}.", field="port")
            row["trusted_versions"] = (
                self._trust(
                    conn,
                    actor=actor,
                    deployment=name,
                    versions=versions,
                    trusted=trusted,
                    already=[],
                )
                or None
            )
            conn.execute(Deployment.__table__.insert().values(**row))
            audit(
                conn,
                actor,
                "create",
                "deployment",
                row["id"],
                {k: row[k] for k in ("name", "model_ref", "traffic", "host", "port", "workers")},
            )
        out = self.get(row["id"])
        if key:
            out["api_key"] = key  # shown once, never stored
        return out

    def export(
        self,
        ref: str,
        out: Any,
        *,
        actor: str,
        trusted: bool = False,
        storage_env: dict[str, str] | None = None,
        register: bool = True,
        **options: Any,
    ) -> dict[str, Any]:
        """Write a container build context and Kubernetes manifests serving ``ref`` into
        ``out`` (:func:`labcycle.models.export.export`, which takes ``options``), and register
        it as a deployment (``desired`` external, status ``exported``; nothing runs here):
        the pods write their prediction log under its id into this hub's artifact store,
        where the hub lists its predictions and monitors watch it.

        ``storage_env``: variables the pods get from a Secret (storage options,
        credentials); ``LABCYCLE_STORAGE_OPTIONS`` of this process is added unless given.
        """
        from pathlib import Path

        from ..config import STORAGE_OPTIONS_ENV as STORAGE_OPTIONS_VAR
        from ..models import materialize
        from ..models.export import export

        version = self.registry.resolve(ref)
        self._require_approved([(version, 100.0)])
        if trusted and version["trusted"]:
            self.registry.record_trusted_load(version["id"], actor=actor, purpose="export")
        env = dict(storage_env or {})
        if os.environ.get(STORAGE_OPTIONS_VAR) and STORAGE_OPTIONS_VAR not in env:
            env[STORAGE_OPTIONS_VAR] = os.environ[STORAGE_OPTIONS_VAR]
        folder = materialize(version, lambda f: self.services.blobs.read_bytes(f["digest"]))
        deployment_id = new_id() if register else None
        log_url = self.services.blobs.url if register else None
        result = export(
            version,
            folder,
            Path(out),
            trusted=trusted,
            deployment_id=deployment_id,
            log_url=log_url,
            storage_env=env,
            **options,
        )
        result["log_url_is_local"] = bool(log_url) and "://" not in (log_url or "")
        if not register:
            return result
        assert deployment_id is not None  # made above when registering
        base = validate_name(f"{result['name']}-k8s", "name", 90)
        name, n = base, 2
        while self._name_taken(name):
            name, n = f"{base}-{n}", n + 1
        now = now_ms()
        row = {
            "id": deployment_id,
            "name": name,
            "model_ref": version["ref"],
            "model_name": version["model_name"],
            "traffic": None,
            "host": "kubernetes",
            "port": options.get("port", 8080),
            "workers": validate_workers(options.get("workers", 1)),
            "batching": validate_batching(None),
            "capture": True,
            "desired": EXTERNAL,
            "status": "exported",
            "pids": [],
            "url": f"http://{result['name']}",
            "api_key_hash": result["api_key_hash"],
            "error": None,
            "serving": {
                "exported": {
                    "image": result["image"],
                    "log_url": log_url,
                    "version_id": version["id"],
                    "out": result["out"],
                }
            },
            "restarts": 0,
            "created_by": actor,
            "created_at": now,
            "updated_at": now,
            "started_at": None,
        }
        with self.store.write() as conn:
            conn.execute(Deployment.__table__.insert().values(**row))
            audit(
                conn,
                actor,
                "export",
                "deployment",
                deployment_id,
                {
                    "name": name,
                    "model_ref": version["ref"],
                    "image": result["image"],
                    "log_url": log_url,
                },
            )
        result["deployment"] = self.get(deployment_id)
        return result

    @staticmethod
    def _refuse_external(row: Deployment, action: str) -> None:
        if row.desired == EXTERNAL:
            raise Conflict(
                f"Deployment {row.name!r} was exported to Kubernetes and runs there; "
                f"{action} it with kubectl, not here.",
                field="desired",
            )

    def _name_taken(self, name: str) -> bool:
        with self.store.read() as conn:
            return (
                conn.execute(select(Deployment.id).where(Deployment.name == name)).first()
                is not None
            )

    def update(
        self,
        ref: str,
        *,
        actor: str,
        traffic: Any = ...,
        workers: Any = None,
        model_ref: str | None = None,
        batching: Any = None,
        trusted: Any = False,
    ) -> dict[str, Any]:
        """Change the split, the model reference, the workers or batching (``...`` = unchanged;
        ``traffic=None`` goes back to the model reference alone). ``trusted=True`` trusts the
        versions the deployment serves after the change (needed for pickle, joblib, python)."""
        changes: dict[str, Any] = {}
        targeted = None
        with self.store.read() as conn:
            loaded = self._load(conn, ref)
            self._refuse_external(loaded, "change")
            current = _row(loaded)
        if model_ref is not None:
            if not isinstance(model_ref, str) or not model_ref.strip():
                raise InvalidInput("model must be a model reference.", field="model")
            changes["model_ref"] = model_ref.strip()
        if traffic is not ...:
            changes["traffic"] = validate_traffic(traffic)
        if "traffic" in changes or "model_ref" in changes:
            # another model is allowed: the processes load it like a new version
            new_ref = changes.get("model_ref", current["model_ref"])
            targeted = self.resolve_versions(new_ref, changes.get("traffic", current["traffic"]))
            self._require_approved(targeted)
        elif trusted is True:  # trust what it serves now (an alias moved to such a version)
            targeted = self.resolve_versions(current["model_ref"], current["traffic"])
        if workers is not None:
            changes["workers"] = validate_workers(workers)
        if batching is not None:
            changes["batching"] = validate_batching(batching)
        if not changes and trusted is not True:
            raise InvalidInput(
                "Nothing to change: give traffic, workers, model, batching or trusted.",
                field="body",
            )
        with self.store.write() as conn:
            row = self._load(conn, ref)
            if targeted is not None:
                kept = self._trust(
                    conn,
                    actor=actor,
                    deployment=row.name,
                    versions=targeted,
                    trusted=trusted,
                    already=list(row.trusted_versions or []),
                )
                if kept != list(row.trusted_versions or []):
                    changes["trusted_versions"] = kept
            if changes:  # (trusted=true for versions trusted already changes nothing)
                before = {k: getattr(row, k) for k in changes}
                conn.execute(
                    update(Deployment)
                    .where(Deployment.id == row.id)
                    .values(**changes, updated_at=now_ms())
                )
                audit(
                    conn,
                    actor,
                    "update",
                    "deployment",
                    row.id,
                    {"before": before, "after": changes},
                )
        return self.get(row.id)

    def stop(self, ref: str, *, actor: str) -> dict[str, Any]:
        with self.store.write() as conn:
            row = self._load(conn, ref)
            self._refuse_external(row, "stop")
            conn.execute(
                update(Deployment)
                .where(Deployment.id == row.id)
                .values(desired="stopped", updated_at=now_ms())
            )
            audit(conn, actor, "stop", "deployment", row.id, None)
        return self.get(row.id)

    def change(
        self,
        ref: str,
        *,
        actor: str,
        desired: str | None = None,
        trusted: Any = False,
        **changes: Any,
    ) -> dict[str, Any]:
        """One request's changes: those of :meth:`update` (``traffic``, ``workers``,
        ``model_ref``, ``batching``, ``trusted``), then ``desired`` (running or stopped)."""
        d = None
        if changes or trusted is True:
            d = self.update(ref, actor=actor, trusted=trusted, **changes)
        if desired == "running":
            d = self.start(ref, actor=actor)
        elif desired == "stopped":
            d = self.stop(ref, actor=actor)
        elif desired is not None:
            raise InvalidInput("desired must be running or stopped.", field="desired")
        if d is None:
            raise InvalidInput(
                "Nothing to change: give traffic, workers, model, batching, trusted or desired.",
                field="body",
            )
        return d

    def start(self, ref: str, *, actor: str) -> dict[str, Any]:
        with self.store.write() as conn:
            row = self._load(conn, ref)
            self._refuse_external(row, "start")
            conn.execute(
                update(Deployment)
                .where(Deployment.id == row.id)
                .values(desired="running", status="starting", error=None, updated_at=now_ms())
            )
            audit(conn, actor, "start", "deployment", row.id, None)
        return self.get(row.id)

    def set_runtime(self, deployment_id: str, **values: Any) -> None:
        """Process state from the supervisor (status, pids, error, started_at, restarts)."""
        allowed = {"status", "pids", "error", "started_at", "restarts"}
        values = {k: v for k, v in values.items() if k in allowed}
        if values.get("status") not in (None, *STATUSES):
            raise InvalidInput(f"Unknown status {values['status']!r}.", field="status")
        with self.store.write() as conn:
            conn.execute(
                update(Deployment)
                .where(Deployment.id == deployment_id)
                .values(**values, updated_at=now_ms())
            )

    def report(self, deployment_id: str, serving: dict[str, Any]) -> None:
        """What a serving process has loaded (called by the process on every change)."""
        with self.store.write() as conn:
            conn.execute(
                update(Deployment)
                .where(Deployment.id == deployment_id)
                .values(serving=serving, updated_at=now_ms())
            )

    # -- prediction log ----------------------------------------------------------------------
    def log_ground_truth(
        self, ref: str, prediction_id: Any, value: Any, *, actor: str
    ) -> dict[str, Any]:
        from ..serving.capture import feedback_table, partition_dir, write_table

        d = self.get(ref)
        items = _feedback_items(prediction_id, value)
        now = now_ms()
        blobs = self.services.blobs
        write_table(
            blobs.fs,
            partition_dir(blobs.root, "feedback", d["id"], now),
            feedback_table([(pid, v, now, actor) for pid, v in items], d["id"]),
        )
        return {"logged": len(items)}

    def predictions(
        self, ref: str, *, max_results: Any = None, page_token: str | None = None, since: Any = None
    ) -> dict[str, Any]:
        """The newest captured predictions first, joined with their ground truth. Reads
        only the partitions, columns and feedback the page needs (:mod:`..serving.logs`)."""
        from ..serving.logs import parse_since, read_predictions_page

        d = self.get(ref)
        limit, offset = page_bounds(max_results, page_token)
        try:
            parse_since(since)
        except (ValueError, TypeError):
            raise InvalidInput(
                "since must be an ISO-8601 time or epoch milliseconds.", field="since"
            ) from None
        records, more = read_predictions_page(
            d["id"], offset=offset, limit=limit, since=since, services=self.services
        )
        items = [_prediction_item(rec) for rec in records]
        return {"items": items, "next_page_token": next_token(offset, limit, limit + more)}


def _feedback_items(prediction_id: Any, value: Any) -> list[tuple[str, Any]]:
    if not isinstance(prediction_id, str) or not re.fullmatch(r"[0-9a-f]{32}", prediction_id):
        raise InvalidInput(
            "prediction_id must be a prediction id as returned by /predict (32 hex characters).",
            field="prediction_id",
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput("value must be a finite number, a string or a boolean.", field="value")
    if value is None or isinstance(value, (list, dict)):
        raise InvalidInput("value must be a number, a string or a boolean.", field="value")
    return [(prediction_id, value)]


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        value = value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _prediction_item(rec: dict[str, Any]) -> dict[str, Any]:
    from ..serving.capture import INPUT_PREFIX

    inputs = {
        k[len(INPUT_PREFIX) :]: _jsonable(v) for k, v in rec.items() if k.startswith(INPUT_PREFIX)
    }
    gt = rec.get("ground_truth")
    return {
        "prediction_id": rec["prediction_id"],
        "request_id": rec.get("request_id"),
        "ts": _jsonable(rec["ts"]),
        "model_version": _jsonable(rec.get("model_version")),
        "version_id": rec.get("version_id"),
        "latency_ms": _jsonable(rec.get("latency_ms")),
        "prediction": _jsonable(rec.get("prediction")),
        "probability": _jsonable(rec.get("probability")),
        "inputs": inputs,
        "ground_truth": None if gt is None or (isinstance(gt, float) and math.isnan(gt)) else gt,
    }
