"""The metadata store: migrations (fresh, repeated, concurrent, too new) and SQLite settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from processes import race_processes
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from labcycle.errors import SchemaError
from labcycle.services import Services
from labcycle.store import Store
from labcycle.store import db as store_db
from labcycle.store.models import Base, include_in_autogenerate

from ._support import BACKENDS, sqlite_url

HEADS = set(ScriptDirectory(str(store_db.MIGRATIONS)).get_heads())
TABLES = set(Base.metadata.tables)


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database nobody has touched yet (the SQLite file does not even exist)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "nested" / "dir" / "labcycle.db")
        return
    # Dropped with the others at the end of the session: DROP DATABASE is slow.
    yield request.getfixturevalue("postgres_server").create_database()


def _versions(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]


def _assert_schema_at_head(store: Store) -> None:
    assert sorted(_versions(store)) == sorted(HEADS)
    names = set(inspect(store.engine).get_table_names())
    assert names >= TABLES, f"missing tables: {TABLES - names}"


def test_fresh_database_is_migrated_once(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first = Store(fresh_url)
    _assert_schema_at_head(first)
    assert first.schema_revision() in HEADS
    with first.write() as conn:
        conn.execute(
            text(
                "INSERT INTO projects (id, name, description, created_by, created_at, updated_at) "
                "VALUES ('p1', 'kept', '', 'alice', 1, 1)"
            )
        )
    first.dispose()

    def no_upgrade(*_args, **_kwargs):
        raise AssertionError("a second Store must not run migrations")

    monkeypatch.setattr(store_db.command, "upgrade", no_upgrade)
    second = Store(fresh_url)
    try:
        _assert_schema_at_head(second)
        with second.read() as conn:
            assert conn.execute(text("SELECT name FROM projects")).scalars().all() == ["kept"]
    finally:
        second.dispose()


def _open_store(url: str, barrier, results) -> None:  # runs in a child process
    try:
        barrier.wait(timeout=30)
        store = Store(url)
        results.put(("ok", store.schema_revision()))
        store.dispose()
    except BaseException as exc:  # report everything to the parent
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_two_processes_migrating_a_fresh_database_together(fresh_url: str) -> None:
    outcomes = race_processes(_open_store, [(fresh_url,), (fresh_url,)], timeout=60)
    assert [status for status, _ in outcomes] == ["ok", "ok"], outcomes
    assert {revision for _, revision in outcomes} <= HEADS
    store = Store(fresh_url, migrate=False)
    try:
        _assert_schema_at_head(store)  # exactly one alembic_version row per head
    finally:
        store.dispose()


def test_database_newer_than_the_code_is_refused(fresh_url: str) -> None:
    store = Store(fresh_url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.dispose()
    with pytest.raises(SchemaError) as info:
        Store(fresh_url)
    message = info.value.message
    assert "upgrade" in message.lower()
    assert "9999" in message
    assert info.value.details["revision"] == "9999"
    # The refusal changed nothing: the stamp is still the newer revision.
    untouched = Store(fresh_url, migrate=False)
    try:
        assert _versions(untouched) == ["9999"]
    finally:
        untouched.dispose()


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    store = Store(sqlite_url(tmp_path / "labcycle.db"))
    try:
        for open_tx in (store.read, store.write):
            with open_tx() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar().lower() == "wal"
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 30_000
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        # Foreign keys are not only on but enforced.
        with pytest.raises(IntegrityError), store.write() as conn:
            conn.execute(
                text("INSERT INTO params (run_id, key, value) VALUES ('no-such-run', 'k', 'v')")
            )
    finally:
        store.dispose()


def test_sqlite_write_transactions_take_the_lock_up_front(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: a second writer cannot start while the first holds the write lock."""
    url = sqlite_url(tmp_path / "labcycle.db")
    store = Store(url)
    other = Store(url, migrate=False)
    try:
        with store.write(), other.engine.connect() as raw:
            raw.connection.driver_connection.execute("PRAGMA busy_timeout=0")
            with (
                pytest.raises(Exception, match="locked"),
                raw.execution_options(labcycle_write=True).begin(),
            ):
                pass
    finally:
        other.dispose()
        store.dispose()


def test_models_and_migrations_agree(services: Services) -> None:
    """What the migrations build is what the models declare (alembic autogenerate sees no diff)."""
    with services.store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_in_autogenerate}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_from_the_first_revision_keeps_metric_values(tmp_path: Path) -> None:
    """0002 rebuilds the SQLite metric tables: every stored value and link survives."""
    url = sqlite_url(tmp_path / "labcycle.db")
    old = Store(url, migrate=False)
    with old.engine.connect() as conn:
        cfg = old._alembic_config(conn)
        command.upgrade(cfg, "0001")
        conn.commit()
    values = [0.0, 3.0, -2.5, 1e300, None]
    with old.write() as conn:
        conn.execute(text("INSERT INTO projects VALUES ('p', 'p', '', 'a', 1, 1)"))
        conn.execute(text("INSERT INTO experiments VALUES ('e', 'p', 'e', '', 'a', 1, 1)"))
        conn.execute(
            text(
                "INSERT INTO runs (id, experiment_id, name, status, user, source, start_time, "
                "created_at, updated_at) VALUES ('r', 'e', 'r', 'running', 'a', 'script', 1, 1, 1)"
            )
        )
        for step, value in enumerate(values):
            conn.execute(
                text(
                    "INSERT INTO metrics (run_id, key, step, value, timestamp, server_time) "
                    "VALUES ('r', 'm', :step, :value, 1, 1)"
                ),
                {"step": step, "value": value},
            )
        conn.execute(text("INSERT INTO latest_metrics VALUES ('r', 'm', 4, 3.0, 1)"))
    old.dispose()

    store = Store(url)
    try:
        assert _versions(store) == sorted(HEADS)
        with store.read() as conn:
            rows = conn.execute(
                text("SELECT value, typeof(value) FROM metrics ORDER BY step")
            ).all()
            assert [r[0] for r in rows] == values
            assert [r[1] for r in rows] == ["real"] * 4 + ["null"]
            assert conn.execute(text("SELECT value FROM latest_metrics")).scalar() == 3.0
        with store.write() as conn:  # the foreign key still cascades
            conn.execute(text("DELETE FROM runs WHERE id = 'r'"))
        with store.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM metrics")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM latest_metrics")).scalar() == 0
    finally:
        store.dispose()
