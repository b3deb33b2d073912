"""REST handlers of the hub: project members, activity, import of a folder,
reviews of model versions and their review bundle. Projects themselves and the audit log
are served by :mod:`.handlers` (``ProjectsHandler``, ``ProjectHandler``, ``AuditHandler``).
"""

from __future__ import annotations

from functools import partial
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import LabCycleHandler
from ..schemas import hub as schemas_hub
from .models import version_number


class ProjectMembersHandler(LabCycleHandler):
    auth_resource = "labcycle:projects"

    @web.authenticated
    @authorized
    async def get(self, project_id: str) -> None:
        await self.respond(partial(self.services.projects.list_members, project_id))


class ProjectMemberHandler(LabCycleHandler):
    auth_resource = "labcycle:projects"

    @web.authenticated
    @authorized
    async def get(self, project_id: str, user: str) -> None:
        await self.respond(partial(self.services.projects.get_member, project_id, user))

    @web.authenticated
    @authorized
    async def put(self, project_id: str, user: str) -> None:
        body = await self.body(schemas_hub.SetMember)
        await self.respond(
            partial(
                self.services.projects.set_member, project_id, user, body.role, actor=self.actor
            )
        )

    @web.authenticated
    @authorized
    async def delete(self, project_id: str, user: str) -> None:
        await self.call(self.services.projects.remove_member, project_id, user, actor=self.actor)
        self.set_status(204)
        self.finish()


class ProjectActivityHandler(LabCycleHandler):
    auth_resource = "labcycle:projects"

    @web.authenticated
    @authorized
    async def get(self, project_id: str) -> None:
        q = self.query(schemas_hub.ActivityQuery)
        await self.respond(
            partial(self.services.projects.activity, project_id, q.max_results, q.page_token)
        )


class ProjectImportHandler(LabCycleHandler):
    """Import a folder under the server's contents root: 201 new project, 200 updated."""

    auth_resource = "labcycle:projects"

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = await self.body(schemas_hub.ImportProject)
        root = getattr(self.serverapp, "root_dir", "") or self.settings.get("server_root_dir", "")
        result = await self.call(
            self.services.projects.import_folder,
            body.path,
            root=root,
            actor=self.actor,
            name=body.name,
        )
        if result["created"]:
            self.set_header("Location", self.api_url("projects", result["project"]["id"]))
        self.write_json(result, 201 if result["created"] else 200)


class ReviewsHandler(LabCycleHandler):
    auth_resource = "labcycle:reviews"

    @web.authenticated
    @authorized
    async def get(self, name: str, version: str) -> None:
        await self.respond(
            partial(self.services.reviews.list_reviews, name, version_number(version))
        )

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str) -> None:
        body = await self.body(schemas_hub.CreateReview)
        await self.respond(
            partial(
                self.services.reviews.add_review,
                name,
                version_number(version),
                decision=body.decision,
                comment=body.comment,
                actor=self.actor,
            ),
            status=201,
        )


class ReviewBundleHandler(LabCycleHandler):
    """The review bundle as a self-contained HTML download."""

    auth_resource = "labcycle:reviews"

    @web.authenticated
    @authorized
    async def get(self, name: str, version: str) -> None:
        number = version_number(version)
        html = await self.call(self.services.reviews.bundle, name, number)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:100] or "model"
        self.set_header(
            "Content-Disposition",
            f'attachment; filename="{safe}-v{number}-review.html"; '
            f"filename*=UTF-8''{quote(safe)}-v{number}-review.html",
        )
        # served from the Jupyter origin: no script may run even if opened inline
        self.set_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
        )
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(html.encode(), set_content_type="text/html; charset=utf-8")
