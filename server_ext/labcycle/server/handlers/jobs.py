"""REST handlers of notebook jobs: submit, list, get, cancel."""

from __future__ import annotations

from functools import partial
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import LabCycleHandler
from ..schemas import jobs as schemas_jobs


class JobsHandlerMixin(LabCycleHandler):
    auth_resource = "labcycle:jobs"


class JobsHandler(JobsHandlerMixin):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.query(schemas_jobs.ListJobsQuery)
        await self.respond(
            partial(
                self.services.jobs.list,
                status=q.status or None,
                sweep_id=q.sweep_id,
                schedule_id=q.schedule_id,
                max_results=q.max_results,
                page_token=q.page_token,
            )
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = await self.body(schemas_jobs.SubmitJob)
        fields: dict[str, Any] = body.model_dump()  # paths: checked by the job service
        await self.respond(
            partial(self.services.jobs.submit, actor=self.actor, **fields),
            status=201,
            location=lambda job: self.api_url("jobs", job["id"]),
        )


class JobHandler(JobsHandlerMixin):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        await self.respond(partial(self.services.jobs.get, job_id))


class JobCancelHandler(JobsHandlerMixin):
    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        await self.respond(partial(self.services.jobs.cancel, job_id, actor=self.actor))
