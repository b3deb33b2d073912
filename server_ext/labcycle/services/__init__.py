"""The service layer: every rule of LabCycle lives here; REST, CLI, magics and panel call it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from ..config import LabCycleConfig
from ..store import ArtifactStore, Store
from .artifacts import ArtifactService
from .audit import AuditService
from .datasets import DatasetService
from .deployments import DeploymentService
from .jobs import JobService
from .projects import ProjectService
from .registry import RegistryService
from .tracking import TrackingService

if TYPE_CHECKING:  # built on first use, so importing the services stays cheap
    from .access import AccessService
    from .compare import CompareService
    from .entities import EntityService
    from .lineage import LineageService
    from .monitors import MonitorService
    from .notes import NoteService
    from .reproduce import ReproduceService
    from .reviews import ReviewService
    from .schedules import ScheduleService
    from .search import SearchService
    from .sweeps import SweepService


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
    jobs: JobService

    @classmethod
    def open(
        cls,
        db_url: str,
        artifact_url: str,
        *,
        migrate: bool = True,
        storage_options: dict | None = None,
    ) -> Services:
        """``storage_options``: fsspec options of the artifact store (default: env
        LABCYCLE_STORAGE_OPTIONS)."""
        blobs = ArtifactStore(artifact_url, storage_options)
        store = Store(db_url, migrate=migrate)
        projects = ProjectService(store)
        return cls(
            store=store,
            blobs=blobs,
            projects=projects,
            tracking=TrackingService(store, projects),
            artifacts=ArtifactService(store, blobs),
            datasets=DatasetService(store),
            audit=AuditService(store, projects),
            jobs=JobService(store),
        )

    @classmethod
    def from_config(cls, config: LabCycleConfig | None = None) -> Services:
        config = config or LabCycleConfig()
        return cls.open(config.db_url, config.artifact_url, storage_options=config.storage_options)

    # Sweeps, schedules and reproduce are built on first use from the services above.
    @cached_property
    def sweeps(self) -> SweepService:
        from .sweeps import SweepService

        return SweepService(self.store, self.jobs, self.tracking)

    @cached_property
    def schedules(self) -> ScheduleService:
        from . import monitors  # noqa: F401 - registers the "monitor" kind of schedule
        from .schedules import ScheduleService

        return ScheduleService(self.store, lambda: self)

    @cached_property
    def reproduce(self) -> ReproduceService:
        from .reproduce import ReproduceService

        return ReproduceService(self.store, self.tracking, self.artifacts, self.jobs)

    @cached_property
    def registry(self) -> RegistryService:
        """Registered models, versions and aliases."""
        return RegistryService(self.store, self.blobs)

    @cached_property
    def deployments(self) -> DeploymentService:
        """Model deployments and their prediction logs (serving)."""
        return DeploymentService(self)

    @cached_property
    def monitors(self) -> MonitorService:
        """Drift and performance monitors of deployments, their checks and alerts."""
        from .monitors import MonitorService

        return MonitorService(self)

    @cached_property
    def notes(self) -> NoteService:
        """Markdown notes and comments on any entity, mentions, cell anchors (hub)."""
        from .notes import NoteService

        return NoteService(self.store, self.blobs)

    @cached_property
    def search(self) -> SearchService:
        """Full-text search across the hub; the index: services/search_index.py."""
        from .search import SearchService

        return SearchService(self.store, self.blobs)

    @cached_property
    def entities(self) -> EntityService:
        """Entity references (type, id) → title, status, project, url (hub)."""
        from .entities import EntityService

        return EntityService(self.store)

    @cached_property
    def lineage(self) -> LineageService:
        """The lineage graph of any entity, from the recorded links (hub)."""
        from .lineage import LineageService

        return LineageService(self.store)

    @cached_property
    def compare(self) -> CompareService:
        """Run comparison (2–50 runs) and notebook snapshot diffs (hub)."""
        from .compare import CompareService

        return CompareService(self.store, self.artifacts)

    @cached_property
    def access(self) -> AccessService:
        """Project roles and the projects of entities (users and roles)."""
        return self.projects.access

    @cached_property
    def reviews(self) -> ReviewService:
        """Reviews of model versions, the approval policy and review bundles."""
        from .reviews import ReviewService

        return ReviewService(self)

    def close(self) -> None:
        if "monitors" in self.__dict__:  # deliver queued alerts before the store goes
            self.monitors.close()
        self.store.dispose()


__all__ = ["Services"]
