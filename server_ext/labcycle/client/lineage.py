"""Lineage graphs, run comparisons and notebook diffs (``lc.lineage``, ``lc.compare_runs``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from .domain import HttpDomain, LocalDomain, decode_float, q


class LineageClient(ABC):
    @abstractmethod
    def graph(self, entity_type: str, entity_id: str, **options: Any) -> dict[str, Any]: ...

    @abstractmethod
    def compare_runs(
        self, run_ids: list[str], metric: str | None, keys: list[str] | None, max_points: int
    ) -> dict[str, Any]:
        """Non-finite values are floats, whichever way they came."""

    @abstractmethod
    def notebook_diff(self, run_a: str, run_b: str, **limits: Any) -> dict[str, Any]: ...


class LocalLineage(LocalDomain, LineageClient):
    def graph(self, entity_type: str, entity_id: str, **options: Any) -> dict[str, Any]:
        return self.services.lineage.graph(entity_type, entity_id, **options)

    def compare_runs(
        self, run_ids: list[str], metric: str | None, keys: list[str] | None, max_points: int
    ) -> dict[str, Any]:
        return self.services.compare.runs(run_ids, metric=metric, keys=keys, max_points=max_points)

    def notebook_diff(self, run_a: str, run_b: str, **limits: Any) -> dict[str, Any]:
        return self.services.compare.notebooks(run_a, run_b, **limits)


class HttpLineage(HttpDomain, LineageClient):
    def graph(self, entity_type: str, entity_id: str, **options: Any) -> dict[str, Any]:
        return self.request("GET", f"lineage/{q(entity_type)}/{q(entity_id)}", params=options)

    def compare_runs(
        self, run_ids: list[str], metric: str | None, keys: list[str] | None, max_points: int
    ) -> dict[str, Any]:
        params: list[tuple[str, Any]] = [("run_id", i) for i in run_ids]
        params += [("key", k) for k in keys or []]
        params += [("metric", metric)] if metric else []
        params.append(("max_points", max_points))
        out = self.request("GET", "compare/runs", params=params)
        for row in out["metrics"]["rows"]:
            row["values"] = {k: decode_float(v) for k, v in row["values"].items()}
        for series in out["histories"].values():
            for s in series.values():
                s["values"] = [decode_float(v) for v in s["values"]]
        for row in out["parallel"]["rows"]:
            row["metric"] = decode_float(row["metric"])
        return out

    def notebook_diff(self, run_a: str, run_b: str, **limits: Any) -> dict[str, Any]:
        return self.request(
            "GET", "compare/notebooks", params={"run_a": run_a, "run_b": run_b, **limits}
        )
