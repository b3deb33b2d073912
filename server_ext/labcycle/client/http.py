"""The REST API of a Jupyter server with the LabCycle extension, as a Transport."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from ..errors import Conflict, Forbidden, InvalidInput, LabCycleError, NotFound
from .domain import decode_float
from .hub import HttpHub
from .jobs import HttpJobs
from .lineage import HttpLineage
from .monitors import HttpMonitors
from .serving import HttpServing
from .sweeps import HttpSweeps
from .transport import Transport

_ERRORS = {400: InvalidInput, 403: Forbidden, 404: NotFound, 409: Conflict}


def encode_floats(value: Any) -> Any:
    """JSON has no NaN or infinities: send them as the strings the API understands."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: encode_floats(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_floats(v) for v in value]
    return value


def _decode_metrics(run: dict[str, Any]) -> dict[str, Any]:
    metrics = run.get("metrics")
    if isinstance(metrics, dict):
        run["metrics"] = {k: decode_float(v) for k, v in metrics.items()}
    return run


class HttpTransport(Transport):
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/") + "/labcycle/api/v1/"
        headers = {"Authorization": f"token {token}"} if token else {}
        self.http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, trust_env=False
        )
        self.user = None
        self.hub = HttpHub(self._request)
        self.lineage = HttpLineage(self._request)
        self.serving = HttpServing(self._request)
        self.monitors = HttpMonitors(self._request)
        self.sweeps = HttpSweeps(self._request)
        self.jobs = HttpJobs(self._request)

    def _request(self, method: str, path: str, *, body: Any = None, **kwargs: Any) -> Any:
        if body is not None:
            kwargs["content"] = json.dumps(encode_floats(body), allow_nan=False)
            kwargs.setdefault("headers", {})["Content-Type"] = "application/json"
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise self._error(response)
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    @staticmethod
    def _error(response: httpx.Response) -> LabCycleError:
        try:
            error = response.json()["error"]
            message, details = error.get("message", ""), error.get("details") or {}
        except (ValueError, KeyError, TypeError):
            message, details = response.text[:500], {}
        cls = _ERRORS.get(response.status_code, LabCycleError)
        return cls(f"LabCycle server answered {response.status_code}: {message}", **details)

    @staticmethod
    def _id(value: str) -> str:
        return quote(value, safe="")

    def create_run(self, **fields: Any) -> dict[str, Any]:
        return _decode_metrics(self._request("POST", "runs", body=fields))

    def update_run(self, run_id: str, **fields: Any) -> dict[str, Any]:
        return _decode_metrics(self._request("PATCH", f"runs/{self._id(run_id)}", body=fields))

    def get_run(self, run_id: str) -> dict[str, Any]:
        return _decode_metrics(self._request("GET", f"runs/{self._id(run_id)}"))

    def log_batch(self, run_id, *, params=None, metrics=None, tags=None) -> None:
        run = self._id(run_id)
        if params:
            self._request("POST", f"runs/{run}/params", body={"params": params})
        if metrics:
            self._request(
                "POST",
                f"runs/{run}/metrics",
                body={
                    "metrics": [
                        {"key": k, "value": v, "step": s, "timestamp": t} for k, v, s, t in metrics
                    ]
                    if isinstance(metrics[0], tuple)
                    else metrics
                },
            )
        if tags:
            self._request("POST", f"runs/{run}/tags", body={"tags": tags})

    def log_cells(self, run_id: str, cells: list[dict]) -> None:
        self._request("POST", f"runs/{self._id(run_id)}/cells", body={"cells": cells})

    def search_runs(self, **query: Any) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if query.get("experiment_ids"):
            params["experiment_id"] = ",".join(query["experiment_ids"])
        for name in ("filter", "max_results", "page_token"):
            if query.get(name) is not None:
                params[name] = query[name]
        order_by = query.get("order_by")
        if order_by:
            params["order_by"] = order_by if isinstance(order_by, str) else ",".join(order_by)
        result = self._request("GET", "runs", params=params)
        result["items"] = [_decode_metrics(r) for r in result["items"]]
        return result

    def metric_history(self, run_id: str, key: str) -> dict[str, Any]:
        result = self._request("GET", f"runs/{self._id(run_id)}/metrics/{self._id(key)}")
        for point in result["points"]:
            point["value"] = decode_float(point["value"])
        return result

    def upload_artifact(self, run_id: str, path: str, local_file: Path) -> dict[str, Any]:
        with open(local_file, "rb") as fh:
            return self._request(
                "PUT",
                f"runs/{self._id(run_id)}/artifacts/{quote(path)}",
                content=fh,
                headers={"Content-Type": "application/octet-stream"},
            )

    def list_artifacts(self, run_id: str) -> list[dict[str, Any]]:
        return self._request("GET", f"runs/{self._id(run_id)}/artifacts")["items"]

    def download_artifact(self, run_id: str, path: str) -> bytes:
        response = self.http.get(f"runs/{self._id(run_id)}/artifacts/{quote(path)}")
        if response.status_code >= 400:
            raise self._error(response)
        return response.content

    def attach_notebook(self, run_id: str, notebook_path: str) -> dict[str, Any] | None:
        # The server reads the notebook as it saved it, through its contents manager.
        root = os.environ.get("LABCYCLE_SERVER_ROOT")
        path = notebook_path
        if root and os.path.isabs(notebook_path):
            path = os.path.relpath(notebook_path, root)
            if path.startswith(".."):
                return None
        return self._request(
            "POST", f"runs/{self._id(run_id)}/notebook", body={"path": path.replace(os.sep, "/")}
        )

    def register_dataset(self, **fields: Any) -> dict[str, Any]:
        return self._request("POST", "datasets", body=fields)

    def link_input(self, run_id: str, dataset_id: str, context: str) -> None:
        self._request(
            "POST",
            f"runs/{self._id(run_id)}/inputs",
            body={"dataset_id": dataset_id, "context": context},
        )

    def list_experiments(self) -> list[dict[str, Any]]:
        return self._request("GET", "experiments", params={"max_results": 1000})["items"]

    # -- model registry ------------------------------------------------------
    def _model(self, name: str, *parts: Any) -> str:
        return "/".join(["models", self._id(name), *(self._id(str(p)) for p in parts)])

    def create_model_version(self, name: str, **fields: Any) -> dict[str, Any]:
        return self._request("POST", self._model(name, "versions"), body=fields)

    def get_model(self, name: str) -> dict[str, Any]:
        return self._request("GET", self._model(name))

    def list_models(self, **query: Any) -> dict[str, Any]:
        params = {k: v for k, v in query.items() if v is not None}
        return self._request("GET", "models", params=params)

    def list_model_versions(self, name: str, **query: Any) -> dict[str, Any]:
        params = {k: v for k, v in query.items() if v is not None}
        return self._request("GET", self._model(name, "versions"), params=params)

    def get_model_version(self, name: str, version: int) -> dict[str, Any]:
        return self._request("GET", self._model(name, "versions", version))

    def update_model_version(self, name: str, version: int, **fields: Any) -> dict[str, Any]:
        return self._request("PATCH", self._model(name, "versions", version), body=fields)

    def set_model_alias(self, name: str, alias: str, version: int) -> dict[str, Any]:
        return self._request("PUT", self._model(name, "aliases", alias), body={"version": version})

    def delete_model_alias(self, name: str, alias: str) -> None:
        self._request("DELETE", self._model(name, "aliases", alias))

    def record_trusted_load(self, version: dict[str, Any]) -> None:
        self._request(
            "POST",
            self._model(version["model_name"], "versions", version["version"], "trusted-loads"),
            body={"purpose": "load"},
        )

    def close(self) -> None:
        self.http.close()
