"""Project roles: who may read, write and govern a project's entities (users & roles).

Rules
-----
- Roles per project: ``viewer`` < ``editor`` < ``owner``; the project's members are rows of
  ``project_members``.
- A project **without members is open**: every user the Jupyter server lets in acts as its
  owner (the single-user default, so nothing changes for a lone data scientist).
- Once a project has members, a user's role is their membership and the project is
  **private**: a user who is not a member cannot see it or anything in it (listings, search,
  lineage, audit... filter it out in SQL; a GET of one of its entities is a 404, as if it
  did not exist: :mod:`.ownership`); members of any role read, writing needs ``editor`` and
  changing members or the project's policy needs ``owner``.
- The server owners (``c.LabCycle.owner`` on a Jupyter server, the OS user for the CLI) are
  owners of every project; under JupyterHub there are none, since every user has a server
  of their own on one shared hub.
- ``approver`` is not a role but a project setting (``settings.approvers``): users whose
  review decisions count besides the owners', and who may review without being editors.

Entities belong to projects through their links, decided in one place,
:func:`labcycle.services.ownership.owners` (an experiment by ``project_id``, a run by its
experiment, a model version by its run or the project named in its lineage snapshot, a
registered model by the projects of its versions, a deployment by its model, a monitor by
its deployment, a job or sweep by the project it names). The REST
authorizer (:mod:`labcycle.server.auth`) asks :meth:`AccessService.require` before a write.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, or_, select

from ..errors import Forbidden
from ..store import Store
from ..store.models import (
    Deployment,
    Experiment,
    ModelVersion,
    Monitor,
    Project,
    ProjectMember,
    RegisteredModel,
    Run,
)
from . import ownership

ROLES = ("viewer", "editor", "owner")
RANK = {"viewer": 1, "editor": 2, "owner": 3}
P, PM, E, R = Project.__table__, ProjectMember.__table__, Experiment.__table__, Run.__table__
MV, RM = ModelVersion.__table__, RegisteredModel.__table__
D, MON = Deployment.__table__, Monitor.__table__
ENTITY_TYPES = (
    "project",
    "experiment",
    "run",
    "model",
    "model_version",
    "deployment",
    "monitor",
    "job",
    "sweep",
)


def version_project_ids(conn: Connection, version_ids: Any) -> Any:
    """A select of the project ids of model versions (see :mod:`.ownership`)."""
    o = ownership.owners("model_version")
    return select(o.c.project_id).where(o.c.entity_id.in_(version_ids))


class AccessService:
    """Roles and the projects of entities (module docstring: the rules)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        from ..config import hub_user, local_user

        self.server_owners = set() if hub_user() else {local_user()}

    @property
    def server_owners(self) -> set[str]:
        """Always owners of every project (the server extension sets c.LabCycle.owner);
        nobody under JupyterHub, where users share one hub. They read everything."""
        return self._server_owners

    @server_owners.setter
    def server_owners(self, users: set[str]) -> None:
        self._server_owners = set(users)
        ownership.SERVER_OWNERS = self._server_owners

    # -- the projects of an entity (one place: :mod:`.ownership`) ----------------------------
    def project_ids(self, conn: Connection, entity_type: str, entity_id: Any) -> list[str]:
        """The ids of the projects ``(entity_type, entity_id)`` belongs to ([] if none/unknown)."""
        if not isinstance(entity_id, str) or not entity_id or len(entity_id) > 450:
            return []
        if entity_type == "project":
            pid = conn.execute(
                select(P.c.id).where(or_(P.c.id == entity_id, P.c.name == entity_id))
            ).scalar()
            return [pid] if pid else []
        if entity_type == "model":
            from .registry import normalise_name

            try:
                _, key = normalise_name(entity_id)
            except Exception:  # noqa: BLE001 - a bad name belongs to no project (the service 400s)
                return []
            model_id = conn.execute(select(RM.c.id).where(RM.c.name_key == key)).scalar()
            return ownership.project_ids_of(conn, "model", model_id) if model_id else []
        if entity_type in ("deployment", "monitor"):
            table = D if entity_type == "deployment" else MON
            entity_id = conn.execute(
                select(table.c.id).where(or_(table.c.id == entity_id, table.c.name == entity_id))
            ).scalar()
            if not entity_id:
                return []
        return ownership.project_ids_of(conn, entity_type, entity_id)

    # -- reads --------------------------------------------------------------------------------
    def hidden_projects(self, conn: Connection, user: str | None = None) -> list[str]:
        """Private projects ``user`` (default: the current reader) may not read."""
        return ownership.hidden_projects(conn, user, owners_=self.server_owners)

    def require_read(self, entities: Iterable[tuple[str, Any]], user: str) -> None:
        """NotFound (404, as if absent) unless ``user`` may read every ``(type, id)``."""
        if user in self.server_owners:
            return
        with self.store.read() as conn:
            hidden = set(self.hidden_projects(conn, user))
            if not hidden:
                return
            for entity_type, entity_id in entities:
                if hidden & set(self.project_ids(conn, entity_type, entity_id)):
                    from ..errors import NotFound

                    raise NotFound(f"No {entity_type} {entity_id!r}.")

    def readable_clause(
        self, conn: Connection, entity_type: str, id_column: Any, user: str | None = None
    ) -> Any:
        return ownership.readable(conn, entity_type, id_column, user)

    # -- roles --------------------------------------------------------------------------------
    def members(self, conn: Connection, project_id: str) -> dict[str, str]:
        return dict(
            conn.execute(
                select(PM.c.user, PM.c.role)
                .where(PM.c.project_id == project_id)
                .order_by(PM.c.user)
            ).all()
        )

    def role_in(self, conn: Connection, project_id: str, user: str) -> str | None:
        """The user's effective role: owner for server owners and in open projects."""
        if user in self.server_owners:
            return "owner"
        members = self.members(conn, project_id)
        if not members:
            return "owner"
        return members.get(user)

    def is_approver(self, conn: Connection, project_id: str, user: str) -> bool:
        settings = conn.execute(select(P.c.settings).where(P.c.id == project_id)).scalar() or {}
        return user in (settings.get("approvers") or [])

    def approvers(self, conn: Connection, project_id: str) -> list[str]:
        """Who can approve: the owners among the members and the listed approvers (or, in an
        open project, anyone: reported as ["any user (the project has no members)"])."""
        members = self.members(conn, project_id)
        settings = conn.execute(select(P.c.settings).where(P.c.id == project_id)).scalar() or {}
        listed = [u for u, r in members.items() if r == "owner"] + list(
            settings.get("approvers") or []
        )
        listed += sorted(self.server_owners)
        if not members:
            return ["any user (the project has no members)"]
        return list(dict.fromkeys(listed))

    def check(
        self,
        conn: Connection,
        project_ids: Iterable[str],
        user: str,
        needed: str,
        *,
        what: str = "do this",
    ) -> None:
        """Raise Forbidden unless ``user`` has at least ``needed`` in every project."""
        for project_id in dict.fromkeys(project_ids):
            role = self.role_in(conn, project_id, user)
            if role is not None and RANK[role] >= RANK[needed]:
                continue
            name = conn.execute(select(P.c.name).where(P.c.id == project_id)).scalar() or project_id
            owners = [u for u, r in self.members(conn, project_id).items() if r == "owner"]
            has = f"your role is {role}" if role else "you are not a member"
            raise Forbidden(
                f"You ({user}) cannot {what}: it needs the {needed} role in project {name!r} and "
                f"{has}. Ask an owner of the project ({', '.join(owners) or 'the server owner'}) "
                f"to add you: labcycle projects members {name} --set {user}={needed}.",
                project=name,
                role_needed=needed,
                role=role,
                user=user,
            )

    def require(
        self, entities: Iterable[tuple[str, Any]], user: str, needed: str, *, what: str = "do this"
    ) -> None:
        """Check ``user`` has ``needed`` in every project of every ``(type, id)`` entity."""
        if user in self.server_owners:  # owners of everything: no query on the hot paths
            return
        with self.store.read() as conn:
            ids: list[str] = []
            for entity_type, entity_id in entities:
                ids += self.project_ids(conn, entity_type, entity_id)
            self.check(conn, ids, user, needed, what=what)

    def role(self, project_id: str, user: str) -> str | None:
        with self.store.read() as conn:
            return self.role_in(conn, project_id, user)
