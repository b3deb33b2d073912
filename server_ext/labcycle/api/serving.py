"""The Python API of serving: ``lc.deploy``, ``lc.log_ground_truth``, ``lc.get_deployment``.

Through the same transport as tracking: in a kernel of a Jupyter server with LabCycle the
calls go to the REST API (the server's supervisor starts the processes); elsewhere they
use the local store, and this process starts the server process itself (it runs in its
own session and outlives the caller; a Jupyter server started later adopts it).
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from ..client.serving import SETTLED
from ..errors import LabCycleError
from ..services.deployments import curl_example, example_row
from .fluent import current_transport

__all__ = [
    "Deployment",
    "curl_example",
    "deploy",
    "example_row",
    "get_deployment",
    "list_deployments",
    "log_ground_truth",
]


class Deployment:
    """A deployed model: ``.url``, ``.status``, ``.predict(df)``, ``.stop()``, ``.curl_example``,
    ``.try_url`` (the "try it" page, when a Jupyter server is known), and the last minute's
    ``.request_rate`` (req/s) and ``.latency_ms`` (p50; ``.stats`` has p99 and counters),
    as of the last :meth:`refresh`.

    ``.api_key`` is set only on the object :func:`deploy` returned, when a key was made
    (a deployment bound to a non-loopback address); it is not stored anywhere.
    """

    def __init__(self, data: dict[str, Any], api_key: str | None = None) -> None:
        self.data = data
        self.api_key = api_key or data.get("api_key")
        self._client: httpx.Client | None = None

    @property
    def _http(self) -> httpx.Client:
        if self._client is None:  # made on first use: refresh() builds throwaway objects
            self._client = httpx.Client(timeout=60, trust_env=False)
        return self._client

    id = property(lambda self: self.data["id"])
    name = property(lambda self: self.data["name"])
    url = property(lambda self: self.data["url"])
    model_ref = property(lambda self: self.data["model_ref"])
    traffic = property(lambda self: self.data.get("traffic"))

    @property
    def status(self) -> str:
        self.refresh()
        return self.data["status"]

    def refresh(self) -> Deployment:
        self.data = {
            **get_deployment(self.id).data,
            **({"api_key": self.api_key} if self.api_key else {}),
        }
        return self

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def schema(self) -> dict[str, Any]:
        return self._http.get(self.url.rstrip("/") + "/schema", headers=self._headers()).json()

    try_url = property(lambda self: self.data.get("try_url"))
    request_rate = property(lambda self: self.data.get("request_rate"))
    latency_ms = property(lambda self: self.data.get("latency_ms"))
    stats = property(lambda self: self.data.get("stats"))

    def _repr_html_(self) -> str:
        import html

        d = self.data
        link = (
            f' · <a href="{html.escape(d["try_url"])}" target="_blank">try it</a>'
            if d.get("try_url")
            else ""
        )
        return (
            f"<b>{html.escape(d['name'])}</b> ({html.escape(d['status'])}) "
            f'<a href="{html.escape(d["url"])}" target="_blank">{html.escape(d["url"])}</a>'
            f"{link}<pre>{html.escape(self.curl_example)}</pre>"
        )

    @property
    def curl_example(self) -> str:
        if self.data.get("curl_example"):
            return self.data["curl_example"]
        try:
            signature = self.schema().get("signature")
        except (httpx.HTTPError, ValueError):
            signature = None
        return curl_example(self.url, signature, bool(self.data.get("api_key_required")))

    def predict(self, data: Any, *, full: bool = False, capture: bool = True) -> Any:
        """Predictions for a DataFrame (or a list of records); ``full=True`` returns the whole
        response (prediction ids, probabilities, version). ``capture=False`` keeps the call
        out of the prediction log (explorations that monitors must not take for traffic)."""
        if hasattr(data, "to_json"):
            content = data.to_json(orient="split", index=False, double_precision=15)
        else:
            content = json.dumps(data)
        r = self._http.post(
            self.url.rstrip("/") + "/predict",
            content=content,
            headers={
                "Content-Type": "application/json",
                **self._headers(),
                **({} if capture else {"X-LabCycle-Capture": "off"}),
            },
        )
        body = r.json()
        if r.status_code >= 400:
            err = body.get("error", {})
            raise LabCycleError(
                f"The deployment answered {r.status_code}: {err.get('message')}",
                **(err.get("details") or {}),
            )
        if full:
            return body
        import numpy as np

        return np.asarray(body["predictions"])

    def wait_ready(self, timeout: float = 60) -> Deployment:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status in SETTLED:
                break
            time.sleep(0.2)
        return self

    def set_traffic(self, traffic: dict[Any, float] | None) -> Deployment:
        self.data = _update(
            self.id, traffic={str(k): v for k, v in traffic.items()} if traffic else None
        ).data
        return self

    def scale(self, workers: int) -> Deployment:
        self.data = _update(self.id, workers=workers).data
        return self

    def stop(self) -> Deployment:
        self.data = current_transport().serving.stop(self.id) or self.data
        return self.refresh()

    def __repr__(self) -> str:
        return f"<Deployment {self.name!r} {self.url} status={self.data['status']}>"


def _update(ref: str, **changes: Any) -> Deployment:
    return Deployment(current_transport().serving.update(ref, changes))


def deploy(
    model: str,
    name: str | None = None,
    workers: int = 1,
    host: str = "127.0.0.1",
    port: int | None = None,
    traffic: dict[Any, float] | None = None,
    *,
    batching: dict[str, Any] | None = None,
    capture: bool = True,
    trusted: bool = False,
    wait: float = 60.0,
) -> Deployment:
    """Serve a registered model over HTTP.

    Parameters
    ----------
    model : str
        ``"churn@champion"`` (follows the alias when it moves), ``"churn/3"`` or ``"churn"``.
    name : str, optional
        The deployment's name (default: from the model reference).
    workers : int
        Server processes behind the port.
    host, port : str, int
        Where to listen; ``127.0.0.1`` and a free port by default. Any other address gets a
        generated API key, returned once as ``.api_key``.
    traffic : dict, optional
        A split between versions by percentage, e.g. ``{3: 90, 4: 10}``.
    batching : dict, optional
        ``{"enabled": True, "max_batch_rows": 256, "max_wait_us": 2000}``.
    trusted : bool
        You trust the deployed versions: required for pickle, joblib and python models,
        which run their author's code when loaded (the version's own ``trusted`` flag is its
        author's decision, not yours). Recorded in the audit log.
    wait : float
        Seconds to wait for the deployment to be ready (0: do not wait).

    Returns
    -------
    Deployment
    """
    return Deployment(
        current_transport().serving.deploy(
            model,
            wait,
            name=name,
            workers=workers,
            host=host,
            port=port,
            traffic={str(k): v for k, v in traffic.items()} if traffic else None,
            batching=batching,
            capture=capture,
            trusted=trusted,
        )
    )


def get_deployment(ref: str) -> Deployment:
    return Deployment(current_transport().serving.get(ref))


def list_deployments() -> list[Deployment]:
    return [Deployment(d) for d in current_transport().serving.deployments(1000)]


def log_ground_truth(deployment: str | Deployment, prediction_id: str, value: Any) -> None:
    """Record the true outcome of a prediction (by the id ``/predict`` returned)."""
    ref = deployment.id if isinstance(deployment, Deployment) else deployment
    current_transport().serving.log_ground_truth(ref, prediction_id, value)
