"""REST handlers of lineage (any entity's graph) and run comparison (runs, notebooks)."""

from __future__ import annotations

from functools import partial

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import LabCycleHandler
from ..schemas import lineage as schemas


class LineageHandler(LabCycleHandler):
    auth_resource = "labcycle:lineage"

    @web.authenticated
    @authorized
    async def get(self, entity_type: str, entity_id: str) -> None:
        q = self.query(schemas.LineageQuery)
        await self.respond(
            partial(
                self.services.lineage.graph,
                entity_type,
                entity_id,
                direction=q.direction,
                depth=q.depth,
                max_nodes=q.max_nodes,
            )
        )


class CompareRunsHandler(LabCycleHandler):
    auth_resource = "labcycle:runs"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.query(schemas.CompareRunsQuery)
        await self.respond(
            partial(
                self.services.compare.runs,
                q.run_id,
                metric=q.metric,
                keys=q.key or None,
                max_points=q.max_points,
            )
        )


class CompareNotebooksHandler(LabCycleHandler):
    auth_resource = "labcycle:runs"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.query(schemas.NotebookDiffQuery)
        await self.respond(
            partial(
                self.services.compare.notebooks,
                q.run_a,
                q.run_b,
                max_output_chars=q.max_output_chars,
                max_detailed_cells=q.max_detailed_cells,
            )
        )
