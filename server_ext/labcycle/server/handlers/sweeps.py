"""REST handlers of sweeps, schedules and reproduce."""

from __future__ import annotations

from functools import partial
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import LabCycleHandler
from ..schemas import sweeps as schemas


class SweepsHandler(LabCycleHandler):
    auth_resource = "labcycle:sweeps"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.query(schemas.ListSweepsQuery)
        await self.respond(
            partial(
                self.services.sweeps.list,
                status=q.status,
                max_results=q.max_results,
                page_token=q.page_token,
            )
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = await self.body(schemas.CreateSweep)
        await self.respond(
            partial(self.services.sweeps.create, actor=self.actor, **body.model_dump()),
            status=201,
            location=lambda sweep: self.api_url("sweeps", sweep["id"]),
        )


class SweepHandler(LabCycleHandler):
    auth_resource = "labcycle:sweeps"

    @web.authenticated
    @authorized
    async def get(self, sweep_id: str) -> None:
        await self.respond(partial(self.services.sweeps.get, sweep_id, with_runs=True))


class SweepCancelHandler(LabCycleHandler):
    auth_resource = "labcycle:sweeps"

    @web.authenticated
    @authorized
    async def post(self, sweep_id: str) -> None:
        await self.respond(partial(self.services.sweeps.cancel, sweep_id, actor=self.actor))


class SweepBestHandler(LabCycleHandler):
    auth_resource = "labcycle:sweeps"

    @web.authenticated
    @authorized
    async def get(self, sweep_id: str) -> None:
        q = self.query(schemas.BestQuery)
        await self.respond(partial(self.services.sweeps.best, sweep_id, q.metric, q.mode))


class SchedulesHandler(LabCycleHandler):
    auth_resource = "labcycle:schedules"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.query(schemas.ListSchedulesQuery)
        await self.respond(
            partial(
                self.services.schedules.list,
                kind=q.kind,
                max_results=q.max_results,
                page_token=q.page_token,
            )
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = await self.body(schemas.CreateSchedule)
        await self.respond(
            partial(self.services.schedules.create, actor=self.actor, **body.model_dump()),
            status=201,
            location=lambda schedule: self.api_url("schedules", schedule["id"]),
        )


class ScheduleHandler(LabCycleHandler):
    auth_resource = "labcycle:schedules"

    @web.authenticated
    @authorized
    async def get(self, schedule_id: str) -> None:
        schedules = self.services.schedules

        def detail() -> dict[str, Any]:
            return {**schedules.get(schedule_id), "history": schedules.history(schedule_id)}

        await self.respond(detail)

    @web.authenticated
    @authorized
    async def patch(self, schedule_id: str) -> None:
        body = await self.body(schemas.UpdateSchedule)
        await self.respond(
            partial(
                self.services.schedules.update,
                schedule_id,
                actor=self.actor,
                **body.model_dump(exclude_unset=True),
            )
        )

    @web.authenticated
    @authorized
    async def delete(self, schedule_id: str) -> None:
        await self.call(self.services.schedules.delete, schedule_id, actor=self.actor)
        self.set_status(204)
        self.finish()


class ReproduceHandler(LabCycleHandler):
    auth_resource = "labcycle:runs"

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        timeout_s = None
        if self.request.body and self.request.body.strip():
            timeout_s = (await self.body(schemas.ReproduceRun)).timeout_s
        reproduce, actor = self.services.reproduce, self.actor

        def start() -> dict[str, Any]:
            job = reproduce.reproduce(run_id, actor=actor, timeout_s=timeout_s)
            return {"original_run_id": run_id, "job": job}

        await self.respond(
            start, status=201, location=lambda started: self.api_url("jobs", started["job"]["id"])
        )


class ReproductionReportHandler(LabCycleHandler):
    auth_resource = "labcycle:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        q = self.query(schemas.ReportQuery)
        await self.respond(partial(self.services.reproduce.report, run_id, against=q.against))
