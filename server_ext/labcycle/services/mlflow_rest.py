"""The MLflow reader for a tracking server: its REST API (``/api/2.0/mlflow/...``), with
artifacts through the server's ``mlflow-artifacts`` proxy (or the artifact URI itself when
it is local or fsspec-readable)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import quote, urlparse

from ..errors import InvalidInput, NotFound
from .mlflow_sources import (
    MlflowExperiment,
    MlflowModel,
    MlflowRun,
    MlflowVersion,
    Point,
    _status,
    walk_uri,
)


class RestSource:
    """A tracking server's REST API; artifacts through its mlflow-artifacts proxy."""

    PAGE = 1000

    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0) -> None:
        import httpx

        self.location = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=self.location, headers=headers, timeout=timeout)
        try:
            self._get("/api/2.0/mlflow/experiments/search", max_results=1)
        except InvalidInput:
            self.http.close()
            raise

    def _check(self, response: Any, what: str) -> Any:
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text[:200])
            except ValueError:
                message = response.text[:200]
            if response.status_code == 404:
                raise NotFound(f"{what}: {message}")
            raise InvalidInput(
                f"The MLflow server at {self.location} answered "
                f"{response.status_code} for {what}: {message}",
                field="from",
            )
        return response

    def _get(self, route: str, **params: Any) -> dict[str, Any]:
        return self._call("GET", route, params=params)

    def _post(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", route, json=body)

    def _call(self, method: str, route: str, **kwargs: Any) -> dict[str, Any]:
        import httpx

        try:
            response = self.http.request(method, route, **kwargs)
        except httpx.HTTPError as exc:
            raise InvalidInput(
                f"Cannot reach the MLflow server at {self.location}: {exc}", field="from"
            ) from None
        return self._check(response, route).json()

    def experiments(self) -> list[MlflowExperiment]:
        found, token = [], None
        while True:
            body: dict[str, Any] = {"max_results": self.PAGE, "view_type": "ACTIVE_ONLY"}
            if token:
                body["page_token"] = token
            page = self._post("/api/2.0/mlflow/experiments/search", body)
            for e in page.get("experiments", []):
                found.append(
                    MlflowExperiment(
                        str(e["experiment_id"]),
                        e["name"],
                        {t["key"]: t.get("value", "") for t in e.get("tags", [])},
                    )
                )
            token = page.get("next_page_token")
            if not token:
                return sorted(found, key=lambda e: (len(e.id), e.id))

    def runs(self, experiment_id: str) -> list[MlflowRun]:
        found, token = [], None
        while True:
            body: dict[str, Any] = {
                "experiment_ids": [experiment_id],
                "max_results": self.PAGE,
                "run_view_type": "ACTIVE_ONLY",
                "order_by": ["attributes.start_time ASC"],
            }
            if token:
                body["page_token"] = token
            page = self._post("/api/2.0/mlflow/runs/search", body)
            for r in page.get("runs", []):
                info, data = r["info"], r.get("data", {})
                found.append(
                    MlflowRun(
                        info["run_id"],
                        experiment_id,
                        info.get("run_name"),
                        _status(info.get("status", "FINISHED")),
                        int(info["start_time"]) if info.get("start_time") else None,
                        int(info["end_time"]) if info.get("end_time") else None,
                        info.get("user_id"),
                        info.get("artifact_uri"),
                        params={p["key"]: p.get("value", "") for p in data.get("params", [])},
                        tags={t["key"]: t.get("value", "") for t in data.get("tags", [])},
                        metric_keys=sorted({m["key"] for m in data.get("metrics", [])}),
                    )
                )
            token = page.get("next_page_token")
            if not token:
                return found

    def metric_history(self, run: MlflowRun) -> list[Point]:
        points = []
        for key in run.metric_keys:
            token = None
            while True:
                params: dict[str, Any] = {"run_id": run.id, "metric_key": key, "max_results": 25000}
                if token:
                    params["page_token"] = token
                page = self._get("/api/2.0/mlflow/metrics/get-history", **params)
                for m in page.get("metrics", []):
                    value = m.get("value", 0.0)
                    points.append(
                        (key, _rest_float(value), int(m.get("step", 0)), int(m.get("timestamp", 0)))
                    )
                token = page.get("next_page_token")
                if not token:
                    break
        return points

    def _artifact_files(self, path: str) -> Iterator[str]:
        """Files under ``path`` in the mlflow-artifacts proxy, recursively."""
        listing = self._get("/api/2.0/mlflow-artifacts/artifacts", path=path)
        for item in sorted(listing.get("files", []), key=lambda f: f["path"]):
            child = f"{path}/{item['path']}" if path else item["path"]
            if item.get("is_dir"):
                yield from self._artifact_files(child)
            else:
                yield child

    def _walk_proxy(self, root: str) -> Iterator[tuple[str, BinaryIO]]:
        root = root.strip("/")
        for path in self._artifact_files(root):
            response = self._check(
                self.http.get(f"/api/2.0/mlflow-artifacts/artifacts/{quote(path)}"), path
            )
            yield path[len(root) + 1 :], io.BytesIO(response.content)

    def _walk(self, uri: str | None) -> Iterator[tuple[str, BinaryIO]]:
        if not uri:
            return
        if uri.startswith("mlflow-artifacts:"):
            parsed = urlparse(uri)
            yield from self._walk_proxy(parsed.path)
        else:
            yield from walk_uri(uri)

    def run_artifacts(self, run: MlflowRun) -> Iterator[tuple[str, BinaryIO]]:
        yield from self._walk(run.artifact_uri)

    def models(self) -> list[MlflowModel]:
        found, token = [], None
        while True:
            params: dict[str, Any] = {"max_results": self.PAGE}
            if token:
                params["page_token"] = token
            page = self._get("/api/2.0/mlflow/registered-models/search", **params)
            for m in page.get("registered_models", []):
                model = MlflowModel(
                    m["name"],
                    m.get("description"),
                    {t["key"]: t.get("value", "") for t in m.get("tags", [])},
                    {a["alias"]: int(a["version"]) for a in m.get("aliases", [])},
                )
                model.versions = self._versions(model.name)
                found.append(model)
            token = page.get("next_page_token")
            if not token:
                return found

    def _versions(self, name: str) -> list[MlflowVersion]:
        escaped = name.replace("'", "\\'")
        found, token = [], None
        while True:
            params: dict[str, Any] = {"filter": f"name='{escaped}'", "max_results": self.PAGE}
            if token:
                params["page_token"] = token
            page = self._get("/api/2.0/mlflow/model-versions/search", **params)
            for v in page.get("model_versions", []):
                found.append(
                    MlflowVersion(
                        int(v["version"]),
                        v.get("run_id"),
                        v.get("source"),
                        v.get("storage_location"),
                        v.get("description"),
                        {t["key"]: t.get("value", "") for t in v.get("tags", [])},
                    )
                )
            token = page.get("next_page_token")
            if not token:
                return sorted(found, key=lambda v: v.version)

    def version_files(
        self, model: MlflowModel, version: MlflowVersion
    ) -> Iterator[tuple[str, BinaryIO]]:
        location = version.storage_location
        if not location and version.source and version.source.startswith("models:/m-"):
            # an MLflow 3 logged model: its artifact URI is on the logged model
            model_id = version.source[len("models:/") :].split("/", 1)[0]
            logged = self._get(f"/api/2.0/mlflow/logged-models/{quote(model_id)}")
            location = logged.get("model", {}).get("info", {}).get("artifact_uri")
        yield from self._walk(location or version.source)

    def close(self) -> None:
        self.http.close()


def _rest_float(value: Any) -> float:
    if isinstance(value, str):  # "NaN", "Infinity" in MLflow's JSON
        return float(value.replace("Infinity", "inf"))
    return float(value)
