"""Engine, transactions and migrations of the metadata store."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from ..errors import SchemaError, Unavailable

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works; it only has to be the same for every LabCycle process.
_PG_MIGRATION_LOCK = 0x1A_BC_7C1E
#: Called with the connection at the end of every ``Store.write()`` transaction, just
#: before it commits (the search index updates the documents of what was written, see
#: services/search_index.py). Hooks keep per-transaction state in
#: ``conn.info[PENDING_KEY]``, which is cleared after every write transaction.
BEFORE_COMMIT: list[Callable[[Connection], None]] = []
#: Called by ``services.common.audit`` for every write it records, in the writer's
#: transaction: ``hook(conn, action, entity_type, entity_id, details)`` (the search index
#: marks what changed; no query there).
ON_AUDIT: list[Callable[..., None]] = []
PENDING_KEY = "labcycle_pending"
# Set on every SQLite connection. SQLite's default page cache is 2 MiB, less than the
# indexes that run search and bulk ingest walk: a store with 10,000 runs spent half of a
# search re-reading pages. The cache grows only as pages are read, up to 64 MiB.
# Checkpoints (WAL pages copied into the database, with an fsync) run every 10,000 WAL
# pages (~40 MiB) instead of 1,000: a flushed batch of 10,000 metric points writes ~500
# pages, and checkpointing every other batch doubled the commit time of bulk logging.
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "busy_timeout=60000",
    "foreign_keys=ON",
    "synchronous=NORMAL",
    "cache_size=-65536",
    "temp_store=MEMORY",
    "wal_autocheckpoint=10000",
)


def normalise_url(url: str) -> str:
    """Prefer psycopg 3 for PostgreSQL URLs that do not name a driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _missing_driver(url: str, exc: ImportError) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in (
        "psycopg",
        "psycopg2",
    ):
        return (
            "A postgresql:// database URL needs psycopg, which is not installed: "
            "pip install 'labcycle[postgres]'."
        )
    return (
        f"The database URL's driver ({parsed.drivername}) is not installed: "
        f"{getattr(exc, 'name', None) or exc}."
    )


class Store:
    """A SQLAlchemy engine set up for LabCycle, with read and write transactions.

    SQLite gets WAL, a 60 s busy timeout and foreign keys; writes start with
    ``BEGIN IMMEDIATE`` so that two writers queue on the lock instead of failing when
    one upgrades a read transaction.
    """

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = normalise_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        self.engine = self._create_engine()
        self._write_lock = threading.Lock()
        if migrate:
            self.migrate()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def _create_engine(self) -> Engine:
        if not self.is_sqlite:
            try:
                return create_engine(self.url, pool_pre_ping=True, pool_size=10, max_overflow=20)
            except ImportError as exc:  # the database driver is missing
                raise Unavailable(_missing_driver(self.url, exc)) from None
        database = make_url(self.url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(self.url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # LabCycle issues BEGIN itself (below)
            cur = dbapi_conn.cursor()
            for pragma in SQLITE_PRAGMAS:
                cur.execute(f"PRAGMA {pragma}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            write = conn.get_execution_options().get("labcycle_write")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        # In-process writers queue on a lock: cheaper than spinning on SQLite's busy handler.
        lock = self._write_lock if self.is_sqlite else contextlib.nullcontext()
        with lock, self.engine.connect() as conn:
            conn = conn.execution_options(labcycle_write=True)
            try:
                with conn.begin():
                    yield conn
                    for hook in BEFORE_COMMIT:
                        hook(conn)
            finally:  # a failed transaction leaves no scratch state on the pooled connection
                conn.info.pop(PENDING_KEY, None)

    # -- migrations ---------------------------------------------------------------------
    def _alembic_config(self, conn: Connection) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        return cfg

    def schema_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def migrate(self) -> None:
        """Bring the schema to the newest revision; one process migrates, the others wait."""
        with self._migration_lock() as conn:
            cfg = self._alembic_config(conn)
            script = ScriptDirectory.from_config(cfg)
            current = MigrationContext.configure(conn).get_current_heads()
            known = {rev.revision for rev in script.walk_revisions()}
            unknown = [rev for rev in current if rev not in known]
            if unknown:
                raise SchemaError(
                    f"The LabCycle database at {self.engine.url.render_as_string(hide_password=True)} "
                    f"has schema revision {unknown[0]}, which is newer than this version of "
                    f"LabCycle knows (newest known: {script.get_current_head()}). Upgrade LabCycle "
                    "(pip install -U labcycle) or point LABCYCLE_DB_URL at another database.",
                    revision=unknown[0],
                )
            if set(current) == set(script.get_heads()):
                return
            log.info("Migrating the LabCycle store from %s to %s", current, script.get_heads())
            command.upgrade(cfg, "heads")
            if conn.in_transaction():
                conn.commit()

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[Connection]:
        if self.is_sqlite:
            database = make_url(self.url).database
            if not database or database == ":memory:":
                with self.engine.connect() as conn:
                    yield conn
                return
            with open(f"{database}.migrate-lock", "a+b") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    with self.engine.connect() as conn:
                        yield conn
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({_PG_MIGRATION_LOCK})")
            conn.commit()
            try:
                yield conn
            finally:
                if conn.in_transaction():
                    conn.rollback()
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_PG_MIGRATION_LOCK})")
                conn.commit()

    def dispose(self) -> None:
        self.engine.dispose()
