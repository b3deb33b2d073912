"""Project roles: who may read, write and govern a project's entities (users & roles).

Rules
-----
- Roles per project: ``viewer`` < ``editor`` < ``owner``; the project's members are rows of
  ``project_members``.
- A project **without members is open**: every user the Jupyter server lets in acts as its
  owner (the single-user default, so nothing changes for a lone data scientist).
- Once a project has members, a user's role is their membership; a user who is not a member
  may still *read* (the hub is for finding each other's work: the Jupyter server's login is
  the perimeter), but writing needs ``editor`` and changing members or the project's policy
  needs ``owner``.
- The server owners (``c.LabCycle.owner`` on a Jupyter server, the OS user for the CLI) are
  owners of every project; under JupyterHub there are none, since every user has a server
  of their own on one shared hub.
- ``approver`` is not a role but a project setting (``settings.approvers``): users whose
  review decisions count besides the owners', and who may review without being editors.

Entities belong to projects through their links: an experiment by ``project_id``, a run by
its experiment, a model version by its run (or the project named in its lineage snapshot
when the run is gone), a registered model by the projects of its versions, a deployment by
its model, a monitor by its deployment, a job or sweep by the project it names. The REST
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
    Job,
    ModelVersion,
    Monitor,
    Project,
    ProjectMember,
    RegisteredModel,
    Run,
    Sweep,
)

ROLES = ("viewer", "editor", "owner")
RANK = {"viewer": 1, "editor": 2, "owner": 3}
P, PM, E, R = Project.__table__, ProjectMember.__table__, Experiment.__table__, Run.__table__
MV, RM = ModelVersion.__table__, RegisteredModel.__table__
D, MON = Deployment.__table__, Monitor.__table__
ENTITY_TYPES = ("project", "experiment", "run", "model", "model_version", "deployment",
                "monitor", "job", "sweep")


def version_project_ids(conn: Connection, version_ids: Any) -> Any:
    """A select of the project ids of model versions (by run, else by lineage project name)."""
    by_run = (select(E.c.project_id).select_from(MV)
              .join(R, R.c.id == MV.c.run_id).join(E, E.c.id == R.c.experiment_id)
              .where(MV.c.id.in_(version_ids)))
    by_name = (select(P.c.id).select_from(MV)
               .join(P, P.c.name == MV.c.lineage["project_name"].as_string())
               .where(MV.c.id.in_(version_ids), MV.c.run_id.is_(None)))
    return by_run.union(by_name)


class AccessService:
    """Roles and the projects of entities (module docstring: the rules)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        from ..client.local import local_user
        from ..config import hub_user

        #: always owners of every project (the server extension sets c.LabCycle.owner);
        #: nobody under JupyterHub, where users share one hub
        self.server_owners: set[str] = set() if hub_user() else {local_user()}

    # -- the projects of an entity ------------------------------------------------------------
    def project_ids(self, conn: Connection, entity_type: str, entity_id: Any) -> list[str]:
        """The ids of the projects ``(entity_type, entity_id)`` belongs to ([] if none/unknown)."""
        if not isinstance(entity_id, str) or not entity_id or len(entity_id) > 450:
            return []
        query: Any = None
        if entity_type == "project":
            query = select(P.c.id).where(or_(P.c.id == entity_id, P.c.name == entity_id))
        elif entity_type == "experiment":
            query = select(E.c.project_id).where(E.c.id == entity_id)
        elif entity_type == "run":
            query = select(E.c.project_id).join(R, R.c.experiment_id == E.c.id).where(R.c.id == entity_id)
        elif entity_type == "model_version":
            query = version_project_ids(conn, [entity_id])
        elif entity_type == "model":
            return self._model_projects(conn, entity_id)
        elif entity_type == "deployment":
            name = conn.execute(select(D.c.model_name).where(
                or_(D.c.id == entity_id, D.c.name == entity_id))).scalar()
            return self._model_projects(conn, name) if name else []
        elif entity_type == "monitor":
            dep = conn.execute(select(MON.c.deployment_id).where(
                or_(MON.c.id == entity_id, MON.c.name == entity_id))).scalar()
            return self.project_ids(conn, "deployment", dep) if dep else []
        elif entity_type in ("job", "sweep"):
            table = Job.__table__ if entity_type == "job" else Sweep.__table__
            name = conn.execute(select(table.c.project).where(table.c.id == entity_id)).scalar()
            return self.project_ids(conn, "project", name) if name else []
        if query is None:
            return []
        return sorted({row[0] for row in conn.execute(query) if row[0]})

    def _model_projects(self, conn: Connection, name: Any) -> list[str]:
        from .registry import normalise_name

        try:
            _, key = normalise_name(name)
        except Exception:  # a bad name belongs to no project (the service 400s)
            return []
        ids = select(MV.c.id).join(RM, RM.c.id == MV.c.model_id).where(RM.c.name_key == key)
        return sorted({row[0] for row in conn.execute(version_project_ids(conn, ids)) if row[0]})

    # -- roles --------------------------------------------------------------------------------
    def members(self, conn: Connection, project_id: str) -> dict[str, str]:
        return dict(conn.execute(select(PM.c.user, PM.c.role).where(PM.c.project_id == project_id)
                                 .order_by(PM.c.user)).all())

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
        listed = [u for u, r in members.items() if r == "owner"] + list(settings.get("approvers") or [])
        listed += sorted(self.server_owners)
        if not members:
            return ["any user (the project has no members)"]
        return list(dict.fromkeys(listed))

    def check(self, conn: Connection, project_ids: Iterable[str], user: str, needed: str,
              *, what: str = "do this") -> None:
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
                project=name, role_needed=needed, role=role, user=user,
            )

    def require(self, entities: Iterable[tuple[str, Any]], user: str, needed: str,
                *, what: str = "do this") -> None:
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
