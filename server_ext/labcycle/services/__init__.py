"""The service layer: every rule of LabCycle lives here; REST, CLI, magics and panel call it."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import LabCycleConfig
from ..store import ArtifactStore, Store
from .artifacts import ArtifactService
from .audit import AuditService
from .datasets import DatasetService
from .projects import ProjectService
from .tracking import TrackingService


@dataclass
class Services:
    """All services over one metadata store and one artifact store."""

    store: Store
    blobs: ArtifactStore
    projects: ProjectService
    tracking: TrackingService
    artifacts: ArtifactService
    datasets: DatasetService
    audit: AuditService

    @classmethod
    def open(cls, db_url: str, artifact_url: str, *, migrate: bool = True) -> Services:
        store = Store(db_url, migrate=migrate)
        blobs = ArtifactStore(artifact_url)
        projects = ProjectService(store)
        return cls(
            store=store,
            blobs=blobs,
            projects=projects,
            tracking=TrackingService(store, projects),
            artifacts=ArtifactService(store, blobs),
            datasets=DatasetService(store),
            audit=AuditService(store),
        )

    @classmethod
    def from_config(cls, config: LabCycleConfig | None = None) -> Services:
        config = config or LabCycleConfig()
        return cls.open(config.db_url, config.artifact_url)

    def close(self) -> None:
        self.store.dispose()


__all__ = ["Services"]
