"""Deployments (``lc.deploy``, ``lc.get_deployment``...).

Over the REST API the server's supervisor starts and stops the model servers; over the local
store this process does (a server process runs in its own session and outlives the caller; a
Jupyter server started later adopts it).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any

from .domain import HttpDomain, LocalDomain, q

#: the states a new deployment settles in
SETTLED = ("ready", "failed", "stopped")


class ServingClient(ABC):
    @abstractmethod
    def deploy(self, model: str, wait: float, **fields: Any) -> dict[str, Any]:
        """The new deployment once it settled (at most ``wait`` seconds); its ``api_key``
        (when one was made) only in this answer."""

    @abstractmethod
    def get(self, ref: str) -> dict[str, Any]: ...

    @abstractmethod
    def deployments(self, max_results: int) -> list[dict[str, Any]]: ...

    @abstractmethod
    def update(self, ref: str, changes: dict[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    def stop(self, ref: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def log_ground_truth(self, ref: str, prediction_id: str, value: Any) -> None: ...

    @abstractmethod
    def predictions(self, ref: str, max_results: int) -> list[dict[str, Any]]: ...


class LocalServing(LocalDomain, ServingClient):
    def _supervisor(self) -> Any:
        from ..serving.supervisor import Supervisor

        return Supervisor(self.services)

    def _live(self, d: Any) -> Any:
        from ..services.deployments import jupyter_base_url

        return self.services.deployments.live(d, base_url=jupyter_base_url())

    def deploy(self, model: str, wait: float, **fields: Any) -> dict[str, Any]:
        data = self.services.deployments.create(model, actor=self.user, **fields)
        state = self._live(self._supervisor().ensure(data["id"], wait=wait))
        return {**state, "api_key": data["api_key"]} if data.get("api_key") else state

    def get(self, ref: str) -> dict[str, Any]:
        return self._live(self.services.deployments.get(ref))

    def deployments(self, max_results: int) -> list[dict[str, Any]]:
        return self._live(self.services.deployments.list(max_results=max_results)["items"])

    def update(self, ref: str, changes: dict[str, Any]) -> dict[str, Any]:
        data = self.services.deployments.change(ref, actor=self.user, **changes)
        return self._supervisor().reconcile_one(data["id"])

    def stop(self, ref: str) -> dict[str, Any] | None:
        self.services.deployments.stop(ref, actor=self.user)
        return self._supervisor().reconcile_one(ref)

    def log_ground_truth(self, ref: str, prediction_id: str, value: Any) -> None:
        self.services.deployments.log_ground_truth(ref, prediction_id, value, actor=self.user)

    def predictions(self, ref: str, max_results: int) -> list[dict[str, Any]]:
        return self.services.deployments.predictions(ref, max_results=max_results)["items"]


class HttpServing(HttpDomain, ServingClient):
    def deploy(self, model: str, wait: float, **fields: Any) -> dict[str, Any]:
        body = {k: v for k, v in {"model": model, **fields}.items() if v is not None}
        data = self.request("POST", "deployments", body=body)
        key, deadline = data.get("api_key"), time.monotonic() + wait
        while data["status"] not in SETTLED and time.monotonic() < deadline:
            time.sleep(0.2)  # the server's supervisor starts it
            data = self.get(data["id"])
        return {**data, "api_key": key} if key else data

    def get(self, ref: str) -> dict[str, Any]:
        return self.request("GET", f"deployments/{q(ref)}")

    def deployments(self, max_results: int) -> list[dict[str, Any]]:
        return self.request("GET", "deployments", params={"max_results": max_results})["items"]

    def update(self, ref: str, changes: dict[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", f"deployments/{q(ref)}", body=changes)

    def stop(self, ref: str) -> dict[str, Any] | None:
        return self.request("DELETE", f"deployments/{q(ref)}")

    def log_ground_truth(self, ref: str, prediction_id: str, value: Any) -> None:
        self.request(
            "POST",
            f"deployments/{q(ref)}/feedback",
            body={"prediction_id": prediction_id, "value": value},
        )

    def predictions(self, ref: str, max_results: int) -> list[dict[str, Any]]:
        return self.request(
            "GET", f"deployments/{q(ref)}/predictions", params={"max_results": max_results}
        )["items"]
