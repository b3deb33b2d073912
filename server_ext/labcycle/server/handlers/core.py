"""REST handlers: version, OpenAPI, projects, experiments, datasets and the audit log.

Runs live in :mod:`.handlers_runs`, artifacts in :mod:`.handlers_artifacts`.
"""

from __future__ import annotations

from functools import partial

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import LabCycleHandler
from ..schemas import core as schemas

OPENAPI_KEY = "labcycle_openapi"


class VersionHandler(LabCycleHandler):
    auth_resource = "labcycle:api"

    @web.authenticated
    @authorized
    def get(self) -> None:
        from ..._version import __version__

        self.write_json({"version": __version__, "api": "v1"})


class OpenAPIHandler(LabCycleHandler):
    auth_resource = "labcycle:api"

    @web.authenticated
    @authorized
    def get(self) -> None:
        self.write_json(self.settings[OPENAPI_KEY])


class ProjectsHandler(LabCycleHandler):
    auth_resource = "labcycle:projects"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        from ..schemas.hub import ListProjectsQuery

        q = self.query(ListProjectsQuery)
        await self.respond(
            partial(
                self.services.projects.list_projects,
                q.max_results,
                q.page_token,
                status=q.status,
                tag=q.tag,
                member=q.member,
            )
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = await self.body(schemas.CreateProject)
        await self.respond(
            partial(
                self.services.projects.create_project,
                body.name,
                actor=self.actor,
                description=body.description,
                tags=body.tags,
                git_url=body.git_url,
            ),
            status=201,
            location=lambda project: self.api_url("projects", project["id"]),
        )


class ProjectHandler(LabCycleHandler):
    auth_resource = "labcycle:projects"

    @web.authenticated
    @authorized
    async def get(self, project_id: str) -> None:
        await self.respond(partial(self.services.projects.get_project, project_id))

    @web.authenticated
    @authorized
    async def patch(self, project_id: str) -> None:
        from ..schemas.hub import UpdateProject

        body = await self.body(UpdateProject)
        given = body.model_dump(exclude_unset=True)
        await self.respond(
            partial(self.services.projects.update_project, project_id, actor=self.actor, **given)
        )


class ExperimentsHandler(LabCycleHandler):
    auth_resource = "labcycle:experiments"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.query(schemas.ListExperimentsQuery)
        await self.respond(
            partial(
                self.services.projects.list_experiments, q.project_id, q.max_results, q.page_token
            )
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = await self.body(schemas.CreateExperiment)
        await self.respond(
            partial(
                self.services.projects.create_experiment,
                body.name,
                actor=self.actor,
                project_id=body.project_id,
                project=body.project,
                description=body.description,
            ),
            status=201,
            location=lambda experiment: self.api_url("experiments", experiment["id"]),
        )


class ExperimentHandler(LabCycleHandler):
    auth_resource = "labcycle:experiments"

    @web.authenticated
    @authorized
    async def get(self, experiment_id: str) -> None:
        await self.respond(partial(self.services.projects.get_experiment, experiment_id))


class DatasetsHandler(LabCycleHandler):
    auth_resource = "labcycle:datasets"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.query(schemas.Query)
        await self.respond(partial(self.services.datasets.list, q.max_results, q.page_token))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """201 for a new dataset; 200 for the one registered already with this name and digest."""
        body = await self.body(schemas.RegisterDataset)
        dataset, created = await self.call(
            partial(
                self.services.datasets.ensure,
                actor=self.actor,
                name=body.name,
                digest=body.digest,
                schema=body.schema_,
                row_count=body.row_count,
                source=body.source,
                content_digest=body.content_digest,
            )
        )
        if created:
            self.set_header("Location", self.api_url("datasets", dataset["id"]))
            self.write_json(dataset, 201)
        else:
            self.write_json(dataset, 200)


class DatasetHandler(LabCycleHandler):
    auth_resource = "labcycle:datasets"

    @web.authenticated
    @authorized
    async def get(self, dataset_id: str) -> None:
        await self.respond(partial(self.services.datasets.get, dataset_id))


class AuditHandler(LabCycleHandler):
    auth_resource = "labcycle:audit"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.query(schemas.ListAuditQuery)
        await self.respond(
            partial(
                self.services.audit.list,
                entity_type=q.entity_type,
                entity_id=q.entity_id,
                user=q.user,
                action=q.action,
                project=q.project,
                since=q.since,
                until=q.until,
                max_results=q.max_results,
                page_token=q.page_token,
            )
        )
