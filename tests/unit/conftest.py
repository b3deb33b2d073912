"""Fixtures of the unit suite: the service layer over a real SQLite file and a real PostgreSQL.

Every test that takes ``services`` runs twice, once per backend. Each backend has one
database for the session (SQLite: a copy of ``sqlite_template``, tests/conftest.py;
PostgreSQL: a fresh database), emptied before each test. Migrations themselves are tested from scratch in
``test_store.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from labcycle.services import Services
from labcycle.store import Store
from labcycle.store.models import Base

from ._support import BACKENDS, sqlite_url


def _empty_tables(store: Store) -> None:
    # DELETE, children first: much cheaper than TRUNCATE on tables this small.
    with store.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(scope="session", params=BACKENDS)
def shared_services(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    """One Services per backend for the whole session: engines, pools and compiled
    statements are reused, which makes a test several times cheaper than opening anew."""
    root = tmp_path_factory.mktemp(f"services-{request.param}")
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), root / "labcycle.db")
        url = sqlite_url(root / "labcycle.db")
    else:
        url = request.getfixturevalue("pg_url")
    svc = Services.open(url, str(root / "artifacts"))
    yield svc
    svc.close()


@pytest.fixture
def services(shared_services: Services) -> Services:
    """The service layer over an empty database and an empty artifact store.

    Runs once per backend. The instance is shared and emptied before each test, so a test
    must not close it.
    """
    _empty_tables(shared_services.store)
    root = Path(shared_services.blobs.root)
    shutil.rmtree(root)
    (root / "blobs" / "sha256").mkdir(parents=True)
    return shared_services


@pytest.fixture
def artifact_root(services: Services) -> Path:
    """The folder of the ``services`` artifact store."""
    return Path(services.blobs.root)


@pytest.fixture
def run(services: Services) -> dict:
    """A fresh running run in the default project."""
    return services.tracking.create_run(actor="alice", experiment="exp")
