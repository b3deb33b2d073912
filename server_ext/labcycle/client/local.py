"""Direct access to the store, through the same services the REST API calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import LabCycleConfig, local_user
from ..services import Services
from .hub import LocalHub
from .jobs import LocalJobs
from .lineage import LocalLineage
from .monitors import LocalMonitors
from .serving import LocalServing
from .sweeps import LocalSweeps
from .transport import Transport


class LocalTransport(Transport):
    def __init__(self, services: Services, user: str | None = None) -> None:
        self.services = services
        self.user: str = user or local_user()
        self.hub = LocalHub(services, self.user)
        self.lineage = LocalLineage(services, self.user)
        self.serving = LocalServing(services, self.user)
        self.monitors = LocalMonitors(services, self.user)
        self.sweeps = LocalSweeps(services, self.user)
        self.jobs = LocalJobs(services, self.user)

    @classmethod
    def from_config(cls, config: LabCycleConfig | None = None) -> LocalTransport:
        return cls(Services.from_config(config))

    def create_run(self, **fields: Any) -> dict[str, Any]:
        return self.services.tracking.create_run(actor=self.user, **fields)

    def update_run(self, run_id: str, **fields: Any) -> dict[str, Any]:
        return self.services.tracking.update_run(run_id, actor=self.user, **fields)

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self.services.tracking.get_run(run_id)

    def log_batch(self, run_id, *, params=None, metrics=None, tags=None) -> None:
        self.services.tracking.log_batch(
            run_id, actor=self.user, params=params, metrics=metrics, tags=tags
        )

    def log_cells(self, run_id: str, cells: list[dict]) -> None:
        self.services.artifacts.log_cells(run_id, cells, actor=self.user)

    def search_runs(self, **query: Any) -> dict[str, Any]:
        return self.services.tracking.search_runs(**query)

    def metric_history(self, run_id: str, key: str) -> dict[str, Any]:
        return self.services.tracking.metric_history(run_id, key)

    def upload_artifact(self, run_id: str, path: str, local_file: Path) -> dict[str, Any]:
        return self.services.artifacts.log_file(run_id, path, str(local_file), actor=self.user)

    def list_artifacts(self, run_id: str) -> list[dict[str, Any]]:
        return self.services.artifacts.list_artifacts(run_id)

    def download_artifact(self, run_id: str, path: str) -> bytes:
        return self.services.artifacts.read_artifact(run_id, path)

    def attach_notebook(self, run_id: str, notebook_path: str) -> dict[str, Any] | None:
        # No server: the file on disk is the saved notebook.
        path = Path(notebook_path)
        if not path.is_file():
            return None
        return self.services.artifacts.attach_notebook(run_id, path.read_bytes(), actor=self.user)

    def register_dataset(self, **fields: Any) -> dict[str, Any]:
        return self.services.datasets.register(actor=self.user, **fields)

    def link_input(self, run_id: str, dataset_id: str, context: str) -> None:
        self.services.datasets.link_input(run_id, dataset_id, actor=self.user, context=context)

    def list_experiments(self) -> list[dict[str, Any]]:
        return self.services.projects.list_experiments(max_results=1000)["items"]

    # -- model registry ------------------------------------------------------
    def create_model_version(self, name: str, **fields: Any) -> dict[str, Any]:
        return self.services.registry.create_version(name, actor=self.user, **fields)

    def get_model(self, name: str) -> dict[str, Any]:
        return self.services.registry.get_model(name)

    def list_models(self, **query: Any) -> dict[str, Any]:
        return self.services.registry.list_models(**query)

    def list_model_versions(self, name: str, **query: Any) -> dict[str, Any]:
        return self.services.registry.list_versions(name, **query)

    def get_model_version(self, name: str, version: int) -> dict[str, Any]:
        return self.services.registry.get_version(name, version)

    def update_model_version(self, name: str, version: int, **fields: Any) -> dict[str, Any]:
        return self.services.registry.update_version(name, version, actor=self.user, **fields)

    def set_model_alias(self, name: str, alias: str, version: int) -> dict[str, Any]:
        return self.services.registry.set_alias(name, alias, version, actor=self.user)

    def delete_model_alias(self, name: str, alias: str) -> None:
        self.services.registry.delete_alias(name, alias, actor=self.user)

    def record_trusted_load(self, version: dict[str, Any]) -> None:
        self.services.registry.record_trusted_load(version["id"], actor=self.user)

    def resolve_model(self, ref: Any) -> dict[str, Any]:
        return self.services.registry.resolve(ref)

    def close(self) -> None:
        self.services.close()
