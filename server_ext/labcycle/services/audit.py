"""Reading the audit log (writing happens inside each service's transaction).

:meth:`AuditService.list` browses it: by who (``user``), what (``action``: an action or a
dotted prefix, ``model`` finds ``model.alias.set``), which entity (``entity_type``,
``entity_id``), which project (the project's own events and those of everything that
belongs to it, see :meth:`ProjectService.activity`) and when (``since``/``until``: ISO-8601
or epoch milliseconds), newest first, with the details (before/after) as recorded.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from ..errors import InvalidInput
from ..store import Store
from ..store.models import AuditEvent
from .common import iso, next_token, page_bounds, time_ms
from .ownership import readable_ref

AE = AuditEvent.__table__


def event_dict(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "at": iso(r.at),
        "user": r.user,
        "action": r.action,
        "entity_type": r.entity_type,
        "entity_id": r.entity_id,
        "details": r.details,
    }


class AuditService:
    def __init__(self, store: Store, projects: Any = None) -> None:
        self.store = store
        self.projects = projects

    def list(
        self,
        *,
        entity_type: str | None = None,
        entity_id: str | None = None,
        user: str | None = None,
        action: str | None = None,
        project: str | None = None,
        since: Any = None,
        until: Any = None,
        max_results: Any = None,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        limit, offset = page_bounds(max_results, page_token)
        start, end = time_ms(since, "since"), time_ms(until, "until")
        if start is not None and end is not None and end < start:
            raise InvalidInput("until is before since.", field="until")
        query = select(AE)
        for column, value in (
            (AE.c.entity_type, entity_type),
            (AE.c.entity_id, entity_id),
            (AE.c.user, user),
        ):
            if value:
                query = query.where(column == value)
        if action:
            action = action.rstrip(".")
            query = query.where(
                or_(AE.c.action == action, AE.c.action.startswith(action + ".", autoescape=True))
            )
        if start is not None:
            query = query.where(AE.c.at >= start)
        if end is not None:
            query = query.where(AE.c.at < end)
        with self.store.read() as conn:
            if project:
                if self.projects is None:
                    raise InvalidInput(
                        "Filtering by project needs the project service.", field="project"
                    )
                row = self.projects._project_row(conn, project)
                query = query.where(self.projects.entity_filter(conn, row.id, row.name))
            query = query.where(readable_ref(conn, AE.c.entity_type, AE.c.entity_id))
            rows = conn.execute(
                query.order_by(AE.c.id.desc()).limit(limit + 1).offset(offset)
            ).all()
        return {
            "items": [event_dict(r) for r in rows[:limit]],
            "next_page_token": next_token(offset, limit, len(rows)),
        }
