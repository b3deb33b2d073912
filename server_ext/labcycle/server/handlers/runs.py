"""REST handlers of runs and what they record: params, metrics, tags, cells, notebook, inputs."""

from __future__ import annotations

from functools import partial
from typing import Any

import nbformat
from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import LabCycleHandler
from ..schemas import core as schemas


class RunsHandler(LabCycleHandler):
    auth_resource = "labcycle:runs"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.query(schemas.ListRunsQuery)
        await self.respond(
            partial(
                self.services.tracking.search_runs,
                experiment_ids=q.experiment_id or None,
                filter=q.filter,
                order_by=q.order_by,
                max_results=q.max_results,
                page_token=q.page_token,
            )
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = await self.body(schemas.CreateRun)
        fields = body.model_dump(exclude={"git"})
        git = body.git.model_dump() if body.git is not None else None
        await self.respond(
            partial(self.services.tracking.create_run, actor=self.actor, git=git, **fields),
            status=201,
            location=lambda run: self.api_url("runs", run["id"]),
        )


class RunHandler(LabCycleHandler):
    auth_resource = "labcycle:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        await self.respond(partial(self.services.tracking.get_run, run_id))

    @web.authenticated
    @authorized
    async def patch(self, run_id: str) -> None:
        body = await self.body(schemas.UpdateRun)
        await self.respond(
            partial(
                self.services.tracking.update_run,
                run_id,
                actor=self.actor,
                status=body.status,
                end_time=body.end_time,
                name=body.name,
            )
        )

    @web.authenticated
    @authorized
    async def delete(self, run_id: str) -> None:
        await self.call(self.services.tracking.delete_run, run_id, actor=self.actor)
        self.set_status(204)
        self.finish()


class ParamsHandler(LabCycleHandler):
    auth_resource = "labcycle:runs"

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        body = await self.body(schemas.LogParams)
        actor = self.actor
        await self.respond(
            lambda: {"logged": self.services.tracking.log_params(run_id, body.params, actor=actor)}
        )


class MetricsHandler(LabCycleHandler):
    auth_resource = "labcycle:runs"

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        body = await self.body(schemas.LogMetrics)
        actor = self.actor

        def log() -> dict[str, Any]:
            points = [point.model_dump() for point in body.metrics]
            return {"logged": self.services.tracking.log_metrics(run_id, points, actor=actor)}

        await self.respond(log)


class MetricHistoryHandler(LabCycleHandler):
    auth_resource = "labcycle:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id: str, key: str) -> None:
        await self.respond(partial(self.services.tracking.metric_history, run_id, key))


class TagsHandler(LabCycleHandler):
    auth_resource = "labcycle:runs"

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        body = await self.body(schemas.SetTags)
        actor = self.actor
        await self.respond(
            lambda: {"logged": self.services.tracking.set_tags(run_id, body.tags, actor=actor)}
        )


class CellsHandler(LabCycleHandler):
    auth_resource = "labcycle:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        await self.respond(lambda: {"items": self.services.artifacts.list_cells(run_id)})

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        body = await self.body(schemas.LogCells)
        actor = self.actor

        def log() -> dict[str, Any]:
            cells = [cell.model_dump() for cell in body.cells]
            return {"logged": self.services.artifacts.log_cells(run_id, cells, actor=actor)}

        await self.respond(log)


class NotebookHandler(LabCycleHandler):
    """Snapshot a notebook, read through the server's contents manager, into the run."""

    auth_resource = "labcycle:runs"

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        body = await self.body(schemas.AttachNotebook)
        await self.call(self.services.tracking.get_run, run_id)  # 404 before reading the file
        # The contents manager confines paths to its root and raises 404 for missing files.
        model = await ensure_async(
            self.contents_manager.get(body.path, content=True, type="notebook")
        )
        actor = self.actor

        def attach() -> dict[str, Any]:
            content = nbformat.writes(model["content"]).encode("utf-8")
            return self.services.artifacts.attach_notebook(run_id, content, actor=actor)

        await self.respond(
            attach,
            status=201,
            location=lambda artifact: self.api_url("runs", run_id, "artifacts", artifact["path"]),
        )


class InputsHandler(LabCycleHandler):
    auth_resource = "labcycle:runs"

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        body = await self.body(schemas.LinkInput)
        await self.respond(
            partial(
                self.services.datasets.link_input,
                run_id,
                body.dataset_id,
                actor=self.actor,
                context=body.context,
            )
        )
