"""REST handlers of notebook jobs: submit, list, get, cancel."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import InvalidInput
from . import schemas_jobs
from .base import LabCycleHandler


def resolve_under_root(root: str, path: str, field: str) -> str:
    """A user's path (relative to the contents root, or absolute) as an absolute path that
    stays inside the root; anything else is a 400."""
    if "\x00" in path:
        raise InvalidInput(f"{field} may not contain NUL.", field=field)
    base = Path(root).resolve()
    candidate = Path(path)
    target = (candidate if candidate.is_absolute() else base / candidate).resolve()
    if target != base and base not in target.parents:
        raise InvalidInput(f"{field} {path!r} is outside the server's contents root.",
                           field=field)
    return str(target)


class JobsHandlerMixin(LabCycleHandler):
    auth_resource = "labcycle:jobs"

    @property
    def root_dir(self) -> str:
        root = self.settings.get("server_root_dir") or os.getcwd()
        return os.path.abspath(os.path.expanduser(root))


class JobsHandler(JobsHandlerMixin):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.query(schemas_jobs.ListJobsQuery)
        await self.respond(partial(self.services.jobs.list, status=q.status or None,
                                   sweep_id=q.sweep_id, schedule_id=q.schedule_id,
                                   max_results=q.max_results, page_token=q.page_token))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = await self.body(schemas_jobs.SubmitJob)
        fields: dict[str, Any] = body.model_dump()
        root = self.root_dir
        if fields["cwd"] is not None:
            fields["cwd"] = resolve_under_root(root, fields["cwd"], "cwd")
        if fields["git_ref"]:
            # The notebook is a path inside the repository; the repository is found from cwd.
            fields["cwd"] = fields["cwd"] or root
            if Path(fields["notebook"]).is_absolute():
                fields["notebook"] = resolve_under_root(root, fields["notebook"], "notebook")
            elif ".." in Path(fields["notebook"]).parts:
                raise InvalidInput("notebook may not contain '..'.", field="notebook")
        else:
            fields["notebook"] = resolve_under_root(root, fields["notebook"], "notebook")
        await self.respond(partial(self.services.jobs.submit, actor=self.actor, **fields),
                           status=201, location=lambda job: self.api_url("jobs", job["id"]))


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
