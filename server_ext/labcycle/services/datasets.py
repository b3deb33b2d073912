"""Datasets: content fingerprints, schemas and row counts, linked to runs as inputs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidInput, NotFound
from ..store import Store
from ..store.models import Dataset, Run, RunInput
from .common import (
    audit,
    insert_on_conflict,
    iso,
    new_id,
    next_token,
    now_ms,
    page_bounds,
    to_int,
    validate_id,
    validate_name,
)

D, RI, R = Dataset.__table__, RunInput.__table__, Run.__table__


def dataset_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "digest": row.digest,
        "schema": row.schema or {},
        "row_count": row.row_count,
        "source": row.source,
        "content_digest": row.content_digest,
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
    }


class DatasetService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def register(self, **fields: Any) -> dict[str, Any]:
        """The dataset with this name and fingerprint; registered if it is new."""
        return self.ensure(**fields)[0]

    def ensure(
        self,
        *,
        actor: str,
        name: str,
        digest: str,
        schema: dict | None = None,
        row_count: int | None = None,
        source: str | None = None,
        content_digest: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """``(dataset, created)``: the dataset with this name and fingerprint, and whether
        this call registered it (two writers at once: exactly one did)."""
        name = validate_name(name, "name", 250)
        if not isinstance(digest, str) or not digest or len(digest) > 80:
            raise InvalidInput("digest must be a fingerprint string.", field="digest")
        if schema is not None and not isinstance(schema, dict):
            raise InvalidInput("schema must be an object of column → dtype.", field="schema")
        created = False
        with self.store.write() as conn:
            row = conn.execute(select(D).where(D.c.name == name, D.c.digest == digest)).first()
            if row is None:
                dataset_id = new_id()
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(D).values(
                                id=dataset_id,
                                name=name,
                                digest=digest,
                                schema=schema or {},
                                row_count=None
                                if row_count is None
                                else to_int(row_count, "row_count"),
                                source=source,
                                content_digest=content_digest,
                                created_by=actor,
                                created_at=now_ms(),
                            )
                        )
                        audit(
                            conn,
                            actor,
                            "dataset.create",
                            "dataset",
                            dataset_id,
                            {"name": name, "digest": digest},
                        )
                    created = True
                except IntegrityError:  # registered meanwhile by another writer
                    pass
                row = conn.execute(select(D).where(D.c.name == name, D.c.digest == digest)).one()
        return dataset_dict(row), created

    def link_input(
        self, run_id: str, dataset_id: str, *, actor: str, context: str = "input"
    ) -> dict:
        validate_id(run_id, "run_id")
        validate_id(dataset_id, "dataset_id")
        context = validate_name(context or "input", "context", 64)
        with self.store.write() as conn:
            if not conn.execute(select(R.c.id).where(R.c.id == run_id)).first():
                raise NotFound(f"No run with id {run_id!r}.", field="run_id")
            if not conn.execute(select(D.c.id).where(D.c.id == dataset_id)).first():
                raise NotFound(f"No dataset with id {dataset_id!r}.", field="dataset_id")
            # Atomic: two writers linking the same dataset at once must not collide (PostgreSQL).
            inserted = conn.execute(
                insert_on_conflict(conn, RI)
                .values(run_id=run_id, dataset_id=dataset_id, context=context)
                .on_conflict_do_nothing(index_elements=["run_id", "dataset_id"])
                .returning(RI.c.run_id)
            ).first()
            if inserted is not None:
                audit(
                    conn,
                    actor,
                    "run.input",
                    "run",
                    run_id,
                    {"dataset_id": dataset_id, "context": context},
                )
        return {"run_id": run_id, "dataset_id": dataset_id, "context": context}

    def get(self, dataset_id: str) -> dict[str, Any]:
        validate_id(dataset_id, "dataset_id")
        with self.store.read() as conn:
            row = conn.execute(select(D).where(D.c.id == dataset_id)).first()
        if row is None:
            raise NotFound(f"No dataset with id {dataset_id!r}.")
        return dataset_dict(row)

    def list(self, max_results: Any = None, page_token: str | None = None) -> dict:
        limit, offset = page_bounds(max_results, page_token)
        with self.store.read() as conn:
            rows = conn.execute(
                select(D).order_by(D.c.created_at.desc(), D.c.id).limit(limit + 1).offset(offset)
            ).all()
        return {
            "items": [dataset_dict(r) for r in rows[:limit]],
            "next_page_token": next_token(offset, limit, len(rows)),
        }
