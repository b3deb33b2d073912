"""One interface, two transports.

``LocalTransport`` calls the services on the store named by the configuration (scripts,
tests, papermill jobs); ``HttpTransport`` calls the REST API of a Jupyter server with the
LabCycle extension. Kernels started by such a server find ``LABCYCLE_API_URL`` and
``LABCYCLE_API_TOKEN`` in their environment and use HTTP without any set-up.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .hub import HubClient
    from .jobs import JobsClient
    from .lineage import LineageClient
    from .monitors import MonitorsClient
    from .serving import ServingClient
    from .sweeps import SweepsClient


class Transport(ABC):
    """What the Python API needs from a store. Methods mirror the services one to one."""

    #: the user recorded on runs (HTTP: the server decides from its identity provider)
    user: str | None = None
    #: the other domains of ``lc.*``, each over this transport (client/domain.py)
    hub: HubClient
    lineage: LineageClient
    serving: ServingClient
    monitors: MonitorsClient
    sweeps: SweepsClient
    jobs: JobsClient

    @abstractmethod
    def create_run(self, **fields: Any) -> dict[str, Any]: ...

    @abstractmethod
    def update_run(self, run_id: str, **fields: Any) -> dict[str, Any]: ...

    @abstractmethod
    def get_run(self, run_id: str) -> dict[str, Any]: ...

    @abstractmethod
    def log_batch(
        self,
        run_id: str,
        *,
        params: dict | None = None,
        metrics: list | None = None,
        tags: dict | None = None,
    ) -> None: ...

    @abstractmethod
    def log_cells(self, run_id: str, cells: list[dict]) -> None: ...

    @abstractmethod
    def search_runs(self, **query: Any) -> dict[str, Any]: ...

    @abstractmethod
    def metric_history(self, run_id: str, key: str) -> dict[str, Any]: ...

    @abstractmethod
    def upload_artifact(self, run_id: str, path: str, local_file: Path) -> dict[str, Any]: ...

    @abstractmethod
    def list_artifacts(self, run_id: str) -> list[dict[str, Any]]: ...

    @abstractmethod
    def download_artifact(self, run_id: str, path: str) -> bytes: ...

    @abstractmethod
    def attach_notebook(self, run_id: str, notebook_path: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def register_dataset(self, **fields: Any) -> dict[str, Any]: ...

    @abstractmethod
    def link_input(self, run_id: str, dataset_id: str, context: str) -> None: ...

    @abstractmethod
    def list_experiments(self) -> list[dict[str, Any]]: ...

    # -- model registry ------------------------------------------------------
    @abstractmethod
    def create_model_version(self, name: str, **fields: Any) -> dict[str, Any]: ...

    @abstractmethod
    def get_model(self, name: str) -> dict[str, Any]: ...

    @abstractmethod
    def list_models(self, **query: Any) -> dict[str, Any]: ...

    @abstractmethod
    def list_model_versions(self, name: str, **query: Any) -> dict[str, Any]: ...

    @abstractmethod
    def get_model_version(self, name: str, version: int) -> dict[str, Any]: ...

    @abstractmethod
    def update_model_version(self, name: str, version: int, **fields: Any) -> dict[str, Any]: ...

    @abstractmethod
    def set_model_alias(self, name: str, alias: str, version: int) -> dict[str, Any]: ...

    @abstractmethod
    def delete_model_alias(self, name: str, alias: str) -> None: ...

    @abstractmethod
    def record_trusted_load(self, version: dict[str, Any]) -> None: ...

    def resolve_model(self, ref: Any) -> dict[str, Any]:
        """The version dict named by ``name@alias``, ``name/3`` or ``name`` (latest)."""
        from ..errors import NotFound
        from ..services.registry import parse_ref

        if isinstance(ref, dict):
            return self.get_model_version(ref["model_name"], ref["version"])
        name, alias, number = parse_ref(ref)
        if number is None:
            model = self.get_model(name)
            number = model["aliases"].get(alias) if alias else model["latest_version"]
            if number is None:
                raise NotFound(
                    f"Model {model['name']!r} has "
                    + (f"no alias {alias!r}." if alias else "no versions yet.")
                )
        return self.get_model_version(name, number)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
