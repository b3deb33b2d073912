"""REST handlers of monitors: create, list, change, delete, run a check, history, alerts."""

from __future__ import annotations

from functools import partial
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import LabCycleHandler
from ..schemas import monitors as schemas


class _MonitorsBase(LabCycleHandler):
    auth_resource = "labcycle:monitors"


class MonitorsHandler(_MonitorsBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.query(schemas.ListMonitorsQuery)
        await self.respond(
            partial(
                self.services.monitors.list,
                deployment=q.deployment,
                max_results=q.max_results,
                page_token=q.page_token,
            )
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = await self.body(schemas.CreateMonitor)
        await self.respond(
            partial(self.services.monitors.create, actor=self.actor, **body.model_dump()),
            status=201,
            location=lambda m: self.api_url("monitors", m["id"]),
        )


class MonitorHandler(_MonitorsBase):
    @web.authenticated
    @authorized
    async def get(self, monitor_id: str) -> None:
        await self.respond(partial(self.services.monitors.get, monitor_id))

    @web.authenticated
    @authorized
    async def patch(self, monitor_id: str) -> None:
        body = await self.body(schemas.UpdateMonitor)
        fields: dict[str, Any] = {k: getattr(body, k) for k in body.model_fields_set}
        if not fields:
            from ...errors import InvalidInput

            raise InvalidInput(
                "Nothing to change: give window, features, thresholds, channels, "
                "cooldown_s, cron, timezone or paused.",
                field="body",
            )
        await self.respond(
            partial(self.services.monitors.update, monitor_id, actor=self.actor, **fields)
        )

    @web.authenticated
    @authorized
    async def delete(self, monitor_id: str) -> None:
        await self.call(self.services.monitors.delete, monitor_id, actor=self.actor)
        self.set_status(204)
        self.finish()


class MonitorChecksHandler(_MonitorsBase):
    @web.authenticated
    @authorized
    async def get(self, monitor_id: str) -> None:
        q = self.query(schemas.ListChecksQuery)
        await self.respond(
            partial(
                self.services.monitors.checks,
                monitor_id,
                full=q.full,
                max_results=q.max_results,
                page_token=q.page_token,
            )
        )

    @web.authenticated
    @authorized
    async def post(self, monitor_id: str) -> None:
        """Run a check now (in a worker thread; a check of 100k rows takes about a second)."""
        await self.respond(
            partial(
                self.services.monitors.run_check, monitor_id, actor=self.actor, trigger="manual"
            ),
            status=201,
        )


class MonitorCheckHandler(_MonitorsBase):
    @web.authenticated
    @authorized
    async def get(self, monitor_id: str, check_id: str) -> None:
        await self.respond(partial(self.services.monitors.check, monitor_id, check_id))


class MonitorAlertsHandler(_MonitorsBase):
    @web.authenticated
    @authorized
    async def get(self, monitor_id: str) -> None:
        q = self.query(schemas.Query)
        await self.respond(
            partial(
                self.services.monitors.alerts,
                monitor_id,
                max_results=q.max_results,
                page_token=q.page_token,
            )
        )


class MonitorPerformanceHandler(_MonitorsBase):
    @web.authenticated
    @authorized
    async def get(self, monitor_id: str) -> None:
        q = self.query(schemas.PerformanceQuery)
        await self.respond(
            partial(self.services.monitors.performance_history, monitor_id, freq=q.freq)
        )
