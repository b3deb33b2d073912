"""Reading the audit log (writing happens inside each service's transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..store import Store
from ..store.models import AuditEvent
from .common import iso, next_token, page_bounds

AE = AuditEvent.__table__


class AuditService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def list(
        self,
        *,
        entity_type: str | None = None,
        entity_id: str | None = None,
        user: str | None = None,
        action: str | None = None,
        max_results: Any = None,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        limit, offset = page_bounds(max_results, page_token)
        query = select(AE)
        for column, value in ((AE.c.entity_type, entity_type), (AE.c.entity_id, entity_id),
                              (AE.c.user, user), (AE.c.action, action)):
            if value:
                query = query.where(column == value)
        with self.store.read() as conn:
            rows = conn.execute(
                query.order_by(AE.c.id.desc()).limit(limit + 1).offset(offset)
            ).all()
        return {
            "items": [
                {"id": r.id, "at": iso(r.at), "user": r.user, "action": r.action,
                 "entity_type": r.entity_type, "entity_id": r.entity_id, "details": r.details}
                for r in rows[:limit]
            ],
            "next_page_token": next_token(offset, limit, len(rows)),
        }
