"""Fixtures shared by every LabCycle test suite.

Only what more than one suite needs lives here: a PostgreSQL server to create throwaway
databases on, a SQLite store migrated once (``sqlite_template``, copied by the suites
instead of migrating per test) and the live JupyterLab. Suite-specific fixtures belong in that suite's own ``conftest.py``.

PostgreSQL: ``LABCYCLE_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``)
names a server and a database to connect to for ``CREATE DATABASE``. Each test session
works in databases of its own (``labcycle_test_<random>``), dropped at the end, so
sessions (and pytest-xdist workers) never see each other's rows. When the server cannot
be reached, tests that need it are skipped with the reason, or fail under CI (``CI`` set),
where PostgreSQL is expected.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"

# jp_fetch, jp_serverapp... for the API suites; loaded once, here, as pytest requires.
pytest_plugins = ("pytest_jupyter.jupyter_server",)


class PostgresServer:
    """A reachable PostgreSQL server on which tests create and drop their own databases."""

    def __init__(self, url: str) -> None:
        url_obj = make_url(url)
        if url_obj.drivername in ("postgresql", "postgres"):
            url_obj = url_obj.set(drivername="postgresql+psycopg")
        self.admin_url: URL = url_obj
        self.admin = create_engine(url_obj, isolation_level="AUTOCOMMIT", pool_size=1)
        self._created: list[str] = []

    def check(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text("SELECT 1"))

    def create_database(self) -> str:
        """Create an empty database and return its URL (as a string, password included)."""
        name = f"labcycle_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            # A throwaway database needs no durability; commits no longer wait for fsync.
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        self._created.append(name)
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if name in self._created:
            self._created.remove(name)

    def close(self) -> None:
        with self.admin.connect() as conn:
            for name in self._created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._created.clear()
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server of ``LABCYCLE_TEST_PG_URL``; skips the test if it is unreachable."""
    url = os.environ.get("LABCYCLE_TEST_PG_URL") or DEFAULT_PG_URL
    server = PostgresServer(url)
    try:
        server.check()
    except Exception as exc:  # any failure to connect means "no server"
        server.admin.dispose()
        shown = server.admin_url.render_as_string(hide_password=True)
        reason = (
            f"PostgreSQL is not reachable at {shown} ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); start it or set "
            "LABCYCLE_TEST_PG_URL to run the postgres tests."
        )
        if os.environ.get("CI"):  # CI has a server: a missing one is a failure, not a skip
            pytest.fail(reason)
        pytest.skip(reason)
    yield server
    server.close()


@pytest.fixture(scope="session")
def pg_url(postgres_server: PostgresServer) -> str:
    """URL of an empty PostgreSQL database that lives for the whole test session."""
    return postgres_server.create_database()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the newest schema, to copy instead of migrating per test."""
    from labcycle.store import Store

    path = tmp_path_factory.mktemp("template") / "labcycle.db"
    store = Store(f"sqlite:///{path}")
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.dispose()
    return path


@pytest.fixture(scope="session")
def mlflow_python() -> str:
    """A Python that has the real MLflow client (``LABCYCLE_MLFLOW_PYTHON``; ``make test``
    builds one in ``bench/.work/mlflow-venv``: MLflow's pins clash with LabCycle's). Skips
    the test when none is named, except under CI, which must run them."""
    python = os.environ.get("LABCYCLE_MLFLOW_PYTHON", "")
    if python and Path(python).exists():
        return python
    reason = (
        f"no Python with MLflow at LABCYCLE_MLFLOW_PYTHON={python!r}; run the tests with "
        "`make test` (it builds bench/.work/mlflow-venv) or name one"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def live_jupyter(tmp_path_factory):
    """A real JupyterLab server with LabCycle, shared by the integration and browser tests."""
    from live_jupyter import LiveJupyter

    server = LiveJupyter(tmp_path_factory.mktemp("live-jupyter")).start()
    yield server
    server.stop()
    server.stop_model_servers()  # the suite's deployments must not outlive it


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Kill what the suite left running (a hung child, a forgotten server): the interpreter
    joins its children at exit, and CI must get the summary, not wait for its time limit."""
    import psutil

    from labcycle.client.jobs import stop_process_dispatcher

    stop_process_dispatcher()  # lc.submit's workers and kernels: atexit would stop them later
    left = {p: " ".join(_cmdline(p)) for p in psutil.Process().children(recursive=True)}
    left = {p: cmd for p, cmd in left.items() if "resource_tracker" not in cmd}
    for proc in left:
        proc.kill()
    psutil.wait_procs(list(left), timeout=10)
    if left:
        session.config.get_terminal_writer().line(
            f"killed {len(left)} process(es) the tests left running: "
            + "; ".join(cmd[:100] or str(p.pid) for p, cmd in left.items()),
            yellow=True,
        )


def _cmdline(proc) -> list[str]:
    import psutil

    try:
        return proc.cmdline()
    except psutil.Error:
        return []
