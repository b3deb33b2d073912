"""Helpers shared by the unit tests (not fixtures: those live in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from labcycle.store.models import Base

# Every test that takes a database runs once per backend.
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
# Tables whose rows a run owns (deleted with it); tables that only point at a run (jobs,
# model versions: ON DELETE SET NULL) outlive it.
RUN_TABLES = [
    t
    for t in Base.metadata.sorted_tables
    if "run_id" in t.c and any(fk.ondelete == "CASCADE" for fk in t.c.run_id.foreign_keys)
]


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def rows_for_run(services: Any, run_id: str) -> dict[str, int]:
    """How many rows each run-owned table holds for ``run_id``."""
    from sqlalchemy import func, select

    with services.store.read() as conn:
        return {
            table.name: conn.execute(
                select(func.count()).select_from(table).where(table.c.run_id == run_id)
            ).scalar()
            for table in RUN_TABLES
        }
