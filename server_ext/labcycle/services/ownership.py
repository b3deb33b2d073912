"""Which project owns an entity: the one place that decides it (issue 10, item 4).

:func:`owners` gives, per entity type, a SQL selectable of ``(entity_id, project_id)``
pairs. Every other module asks it: :class:`~labcycle.services.access.AccessService`
(``project_ids`` for the write checks, :meth:`readable` for the read filter),
``ProjectService.entity_filter`` (a project's audit activity) and
:mod:`labcycle.services.entities` (the project shown with a reference).

The links:

- project → itself; experiment → ``project_id``; run → its experiment's project;
- model_version → its run's project, else the project named in its lineage snapshot
  (``lineage.project_name``) when it has no run;
- model → the projects of its versions (a model may span several);
- deployment → its model's projects (by the normalised model name);
- monitor → its deployment's projects;
- job, sweep, schedule → the project named in their ``project`` column
  (schedules: ``payload.project``); a job with a run also → that run's project;
- note → its ``project_id`` (the project of the entity it is attached to);
- dataset → none (datasets are shared between projects).

Entities with no pair belong to no project and are readable by everyone.

The read rule
-------------
A project with members is private: only its members (any role), its approvers
(``settings.approvers``, who review its versions) and the server owners read it and what
is in it. :func:`reader` is the user the current request reads as
(set by the REST handlers around each service call, :func:`reading_as`); ``None`` (the
local transport, CLI and scripts: a server owner) reads everything. :func:`hidden_projects`
is the list of private projects ``user`` is not a member of (one small query; empty for
server owners and when no project has members, so the filter is then a no-op), and
:func:`readable` turns it into a WHERE clause on an id column.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, false, literal, select, true, union

from ..store.models import (
    Deployment,
    Experiment,
    Job,
    ModelVersion,
    Monitor,
    Note,
    Project,
    ProjectMember,
    RegisteredModel,
    Run,
    Schedule,
    Sweep,
)

P, PM, E, R = Project.__table__, ProjectMember.__table__, Experiment.__table__, Run.__table__
MV, RM = ModelVersion.__table__, RegisteredModel.__table__
DEP, MON = Deployment.__table__, Monitor.__table__
J, SW, SCH = Job.__table__, Sweep.__table__, Schedule.__table__

#: entity types that can belong to a project
OWNED_TYPES = (
    "project",
    "experiment",
    "run",
    "model_version",
    "model",
    "deployment",
    "monitor",
    "job",
    "sweep",
    "schedule",
    "note",
)


def _versions() -> Any:
    by_run = (
        select(MV.c.id.label("entity_id"), E.c.project_id.label("project_id"))
        .select_from(MV)
        .join(R, R.c.id == MV.c.run_id)
        .join(E, E.c.id == R.c.experiment_id)
    )
    by_name = (
        select(MV.c.id.label("entity_id"), P.c.id.label("project_id"))
        .select_from(MV)
        .join(P, P.c.name == MV.c.lineage["project_name"].as_string())
        .where(MV.c.run_id.is_(None))
    )
    return union(by_run, by_name)


def owners(entity_type: str) -> Any:
    """A selectable with columns ``entity_id`` and ``project_id`` for ``entity_type``
    (a subquery; None for types that never belong to a project, e.g. dataset)."""
    q: Any
    if entity_type == "project":
        q = select(P.c.id.label("entity_id"), P.c.id.label("project_id"))
    elif entity_type == "experiment":
        q = select(E.c.id.label("entity_id"), E.c.project_id.label("project_id"))
    elif entity_type == "run":
        q = select(R.c.id.label("entity_id"), E.c.project_id.label("project_id")).join(
            E, E.c.id == R.c.experiment_id
        )
    elif entity_type == "model_version":
        q = _versions()
    elif entity_type == "model":
        v = _versions().subquery()
        q = select(MV.c.model_id.label("entity_id"), v.c.project_id).join(
            v, v.c.entity_id == MV.c.id
        )
    elif entity_type in ("deployment", "monitor"):
        m = owners("model")
        q = (
            select(DEP.c.id.label("entity_id"), m.c.project_id)
            .select_from(DEP)
            .join(RM, RM.c.name == DEP.c.model_name)
            .join(m, m.c.entity_id == RM.c.id)
        )
        if entity_type == "monitor":
            d = q.subquery()
            q = select(MON.c.id.label("entity_id"), d.c.project_id).join(
                d, d.c.entity_id == MON.c.deployment_id
            )
    elif entity_type == "job":
        by_name = select(J.c.id.label("entity_id"), P.c.id.label("project_id")).join(
            P, P.c.name == J.c.project
        )
        by_run = (
            select(J.c.id.label("entity_id"), E.c.project_id.label("project_id"))
            .select_from(J)
            .join(R, R.c.id == J.c.run_id)
            .join(E, E.c.id == R.c.experiment_id)
        )
        q = union(by_name, by_run)
    elif entity_type == "sweep":
        q = select(SW.c.id.label("entity_id"), P.c.id.label("project_id")).join(
            P, P.c.name == SW.c.project
        )
    elif entity_type == "schedule":
        q = select(SCH.c.id.label("entity_id"), P.c.id.label("project_id")).join(
            P, P.c.name == SCH.c.payload["project"].as_string()
        )
    elif entity_type == "note":
        N = Note.__table__
        q = select(N.c.id.label("entity_id"), N.c.project_id).where(N.c.project_id.is_not(None))
    else:
        return None
    return q.subquery()


def project_ids_of(conn: Connection, entity_type: str, entity_id: Any) -> list[str]:
    """The projects one entity belongs to (sorted; [] if none or unknown)."""
    o = owners(entity_type)
    if o is None or not isinstance(entity_id, str) or not entity_id:
        return []
    rows = conn.execute(select(o.c.project_id).where(o.c.entity_id == entity_id).distinct())
    return sorted({r[0] for r in rows if r[0]})


def project_map(conn: Connection, entity_type: str, ids: list[str]) -> dict[str, list[str]]:
    """entity id → its project ids, for a batch of ids of one type."""
    o = owners(entity_type)
    out: dict[str, list[str]] = {}
    if o is None or not ids:
        return out
    for i in range(0, len(ids), 500):
        rows = conn.execute(
            select(o.c.entity_id, o.c.project_id)
            .where(o.c.entity_id.in_(ids[i : i + 500]))
            .distinct()
        )
        for eid, pid in rows:
            if pid:
                out.setdefault(eid, []).append(pid)
    return {k: sorted(v) for k, v in out.items()}


def entity_ids_in(entity_type: str, project_ids: Any) -> Any:
    """A select of the ids of ``entity_type`` entities that belong to any of ``project_ids``
    (a list or a select of project ids)."""
    o = owners(entity_type)
    if o is None:
        return select(literal(None)).where(false())
    return select(o.c.entity_id).where(o.c.project_id.in_(project_ids))


# -- the reader ------------------------------------------------------------------------------
_READER: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "labcycle_reader", default=None
)
#: server owners (set by AccessService): they read everything
SERVER_OWNERS: set[str] = set()


def reader() -> str | None:
    """Who the current call reads as (None: a server owner / local caller, reads all)."""
    return _READER.get()


@contextmanager
def reading_as(user: str | None) -> Iterator[None]:
    token = _READER.set(user)
    try:
        yield
    finally:
        _READER.reset(token)


def hidden_projects(
    conn: Connection, user: str | None = None, *, owners_: set[str] | None = None
) -> list[str]:
    """The private projects (with members) ``user`` is not a member of; [] for server owners."""
    if user is None:
        user = reader()
    if user is None or user in (owners_ if owners_ is not None else SERVER_OWNERS):
        return []
    mine = select(PM.c.project_id).where(PM.c.user == user)
    hidden = [
        r[0]
        for r in conn.execute(
            select(PM.c.project_id).where(PM.c.project_id.not_in(mine)).distinct()
        )
    ]
    if hidden:  # the project's approvers (settings.approvers) read it too: they review it
        for pid, settings in conn.execute(select(P.c.id, P.c.settings).where(P.c.id.in_(hidden))):
            if isinstance(settings, dict) and user in (settings.get("approvers") or []):
                hidden.remove(pid)
    return sorted(hidden)


def readable(conn: Connection, entity_type: str, id_column: Any, user: str | None = None) -> Any:
    """A WHERE clause on ``id_column`` (ids of ``entity_type``): true for the entities
    ``user`` (default: :func:`reader`) may read. ``true()`` when nothing is hidden."""
    hidden = hidden_projects(conn, user)
    if not hidden:
        return true()
    return id_column.not_in(entity_ids_in(entity_type, hidden))


def can_read(conn: Connection, entity_type: str, entity_id: Any, user: str | None = None) -> bool:
    hidden = hidden_projects(conn, user)
    if not hidden:
        return True
    return not set(project_ids_of(conn, entity_type, entity_id)) & set(hidden)


def require_readable(conn: Connection, entity_type: str, entity_id: Any, message: str) -> None:
    """Raise NotFound(``message``) when the current reader may not read the entity: a
    private entity answers as if it did not exist (404, like GitHub), never 403."""
    if not can_read(conn, entity_type, entity_id):
        from ..errors import NotFound

        raise NotFound(message)


def readable_ref(
    conn: Connection, type_column: Any, id_column: Any, user: str | None = None
) -> Any:
    """A WHERE clause on polymorphic references ``(type_column, id_column)`` (audit events,
    search documents, notes, lineage edges): true for entities the reader may read."""
    hidden = hidden_projects(conn, user)
    if not hidden:
        return true()
    from sqlalchemy import and_, not_, or_

    return not_(
        or_(
            *(
                and_(type_column == kind, id_column.in_(entity_ids_in(kind, hidden)))
                for kind in OWNED_TYPES
            )
        )
    )
