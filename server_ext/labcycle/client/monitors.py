"""Monitors, their checks and alerts (``lc.monitor``, ``lc.get_monitor``...)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from .domain import HttpDomain, LocalDomain, q


def _path(ref: str, *rest: str) -> str:
    return "/".join(["monitors", q(ref), *rest])


class MonitorsClient(ABC):
    @abstractmethod
    def create(self, **fields: Any) -> dict[str, Any]: ...

    @abstractmethod
    def get(self, ref: str) -> dict[str, Any]: ...

    @abstractmethod
    def monitors(self, deployment: str | None, max_results: int) -> list[dict[str, Any]]: ...

    @abstractmethod
    def update(self, ref: str, changes: dict[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    def delete(self, ref: str) -> None: ...

    @abstractmethod
    def run_check(self, ref: str) -> dict[str, Any]: ...

    @abstractmethod
    def checks(self, ref: str, full: bool, max_results: int) -> list[dict[str, Any]]: ...

    @abstractmethod
    def check(self, ref: str, check_id: str) -> dict[str, Any]: ...

    @abstractmethod
    def alerts(self, ref: str, max_results: int) -> list[dict[str, Any]]: ...

    @abstractmethod
    def performance(self, ref: str, freq: str) -> dict[str, Any]: ...


class LocalMonitors(LocalDomain, MonitorsClient):
    def create(self, **fields: Any) -> dict[str, Any]:
        return self.services.monitors.create(actor=self.user, **fields)

    def get(self, ref: str) -> dict[str, Any]:
        return self.services.monitors.get(ref)

    def monitors(self, deployment: str | None, max_results: int) -> list[dict[str, Any]]:
        return self.services.monitors.list(deployment=deployment, max_results=max_results)["items"]

    def update(self, ref: str, changes: dict[str, Any]) -> dict[str, Any]:
        return self.services.monitors.update(ref, actor=self.user, **changes)

    def delete(self, ref: str) -> None:
        self.services.monitors.delete(ref, actor=self.user)

    def run_check(self, ref: str) -> dict[str, Any]:
        return self.services.monitors.run_check(ref, actor=self.user)

    def checks(self, ref: str, full: bool, max_results: int) -> list[dict[str, Any]]:
        return self.services.monitors.checks(ref, full=full, max_results=max_results)["items"]

    def check(self, ref: str, check_id: str) -> dict[str, Any]:
        return self.services.monitors.check(ref, check_id)

    def alerts(self, ref: str, max_results: int) -> list[dict[str, Any]]:
        return self.services.monitors.alerts(ref, max_results=max_results)["items"]

    def performance(self, ref: str, freq: str) -> dict[str, Any]:
        return self.services.monitors.performance_history(ref, freq=freq)


class HttpMonitors(HttpDomain, MonitorsClient):
    def create(self, **fields: Any) -> dict[str, Any]:
        return self.request("POST", "monitors", body=fields)

    def get(self, ref: str) -> dict[str, Any]:
        return self.request("GET", _path(ref))

    def monitors(self, deployment: str | None, max_results: int) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"max_results": max_results}
        if deployment:
            params["deployment"] = deployment
        return self.request("GET", "monitors", params=params)["items"]

    def update(self, ref: str, changes: dict[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", _path(ref), body=changes)

    def delete(self, ref: str) -> None:
        self.request("DELETE", _path(ref))

    def run_check(self, ref: str) -> dict[str, Any]:
        return self.request("POST", _path(ref, "checks"))

    def checks(self, ref: str, full: bool, max_results: int) -> list[dict[str, Any]]:
        return self.request(
            "GET",
            _path(ref, "checks"),
            params={"full": str(full).lower(), "max_results": max_results},
        )["items"]

    def check(self, ref: str, check_id: str) -> dict[str, Any]:
        return self.request("GET", _path(ref, "checks", q(check_id)))

    def alerts(self, ref: str, max_results: int) -> list[dict[str, Any]]:
        return self.request("GET", _path(ref, "alerts"), params={"max_results": max_results})[
            "items"
        ]

    def performance(self, ref: str, freq: str) -> dict[str, Any]:
        return self.request("GET", _path(ref, "performance"), params={"freq": freq})
