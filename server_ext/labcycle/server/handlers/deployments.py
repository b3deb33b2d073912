"""REST handlers of deployments: create, list, change, stop, predictions and feedback.

Process control is the supervisor's (``settings["labcycle_supervisor"]``): after a change
the handler asks it to reconcile that deployment at once, in a worker thread, instead of
waiting for its next round.

Every deployment in a reply carries ``curl_example``, ``try_url`` (this server's "try it"
page for it) and the last minute's ``request_rate`` / ``latency_ms`` read from its
processes (:meth:`DeploymentService.live`; None when a process does not answer).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import LabCycleHandler
from ..schemas import deployments as schemas

SUPERVISOR_KEY = "labcycle_supervisor"


class _DeploymentsBase(LabCycleHandler):
    auth_resource = "labcycle:deployments"

    def _reconcile(self, deployment: dict[str, Any]) -> dict[str, Any]:
        supervisor = self.settings.get(SUPERVISOR_KEY)
        if supervisor is None:
            return deployment
        extra = {k: deployment[k] for k in ("api_key",) if k in deployment}
        return {**supervisor.reconcile_one(deployment["id"]), **extra}

    def _live(self, result: Any) -> Any:
        """A deployment or a list reply, with what :meth:`DeploymentService.live` adds."""
        base = f"{self.request.protocol}://{self.request.host}{self.base_url}"
        live = self.services.deployments.live
        if isinstance(result, dict) and "items" in result:
            return {**result, "items": live(result["items"], base_url=base)}
        return live(result, base_url=base)


class DeploymentsHandler(_DeploymentsBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.query(schemas.ListDeploymentsQuery)
        await self.respond(
            lambda: self._live(
                self.services.deployments.list(
                    max_results=q.max_results,
                    page_token=q.page_token,
                    include_stopped=q.include_stopped,
                )
            )
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = await self.body(schemas.CreateDeployment)

        def create() -> dict[str, Any]:
            d = self.services.deployments.create(
                body.model,
                actor=self.actor,
                name=body.name,
                workers=body.workers,
                host=body.host,
                port=body.port,
                traffic=body.traffic,
                batching=body.batching.model_dump() if body.batching else None,
                capture=body.capture,
                trusted=body.trusted,
            )
            return self._live(self._reconcile(d))

        await self.respond(
            create, status=201, location=lambda d: self.api_url("deployments", d["id"])
        )


class DeploymentHandler(_DeploymentsBase):
    @web.authenticated
    @authorized
    async def get(self, deployment_id: str) -> None:
        await self.respond(lambda: self._live(self.services.deployments.get(deployment_id)))

    @web.authenticated
    @authorized
    async def patch(self, deployment_id: str) -> None:
        body = await self.body(schemas.UpdateDeployment)
        fields = body.model_fields_set

        def change() -> dict[str, Any]:
            changes: dict[str, Any] = {}
            if "traffic" in fields:
                changes["traffic"] = body.traffic
            if body.workers is not None:
                changes["workers"] = body.workers
            if body.model is not None:
                changes["model_ref"] = body.model
            if body.batching is not None:
                changes["batching"] = body.batching.model_dump()
            d = self.services.deployments.change(
                deployment_id,
                actor=self.actor,
                desired=body.desired,
                trusted=body.trusted,
                **changes,
            )
            return self._live(self._reconcile(d))

        await self.respond(change)

    @web.authenticated
    @authorized
    async def delete(self, deployment_id: str) -> None:
        def stop() -> dict[str, Any]:
            return self._live(
                self._reconcile(self.services.deployments.stop(deployment_id, actor=self.actor))
            )

        await self.respond(stop)


class PredictionsHandler(_DeploymentsBase):
    @web.authenticated
    @authorized
    async def get(self, deployment_id: str) -> None:
        q = self.query(schemas.ListPredictionsQuery)
        since: Any = q.since
        if since is not None and since.isdigit():
            since = int(since)
        await self.respond(
            partial(
                self.services.deployments.predictions,
                deployment_id,
                max_results=q.max_results,
                page_token=q.page_token,
                since=since,
            )
        )


class FeedbackHandler(_DeploymentsBase):
    @web.authenticated
    @authorized
    async def post(self, deployment_id: str) -> None:
        body = await self.body(schemas.GroundTruth)
        await self.respond(
            partial(
                self.services.deployments.log_ground_truth,
                deployment_id,
                body.prediction_id,
                body.value,
                actor=self.actor,
            ),
            status=201,
        )
