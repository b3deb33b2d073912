"""Fixtures of the sweeps, schedules and reproduce suite.

``services`` is the service layer over a fresh SQLite store (copied from a template
migrated once). A module that sets ``BOTH_BACKENDS = True`` runs each test that takes
``services`` twice: on SQLite and on PostgreSQL (one database for the session, emptied
before each test; skipped when no server is reachable). ``store_url`` is the database of
``services``, for tests that open more ``Services`` on it (a restarted or a second
server). ``home`` points the Python API at a fresh local store for tests that run real
kernels: jobs then run in this process's own worker pool, as in a script.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from labcycle.services import Services
from labcycle.store import Store
from labcycle.store.models import Base

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "services" in metafunc.fixturenames and getattr(metafunc.module, "BOTH_BACKENDS", False):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


def _use_home(home: Path, template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import labcycle.api.fluent as fluent

    home.mkdir()
    shutil.copyfile(template, home / "labcycle.db")
    monkeypatch.setenv("LABCYCLE_HOME", str(home))
    for name in (
        "LABCYCLE_API_URL",
        "LABCYCLE_API_TOKEN",
        "LABCYCLE_DB_URL",
        "LABCYCLE_ARTIFACT_URL",
        "LABCYCLE_RUN_ID",
        "JPY_SESSION_NAME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LABCYCLE_TRANSPORT", "local")
    monkeypatch.setenv("LABCYCLE_FLUSH_INTERVAL", "0.2")
    fluent._state.reset()
    return home


@pytest.fixture
def home(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """LABCYCLE_HOME for this test, with a migrated store; the Python API uses it."""
    import labcycle.api.fluent as fluent

    yield _use_home(tmp_path / "home", sqlite_template, monkeypatch)
    fluent._state.reset()


@pytest.fixture(scope="session")
def kernel_home(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Path]:
    """One store for the tests that run real kernels, so that they share this process's
    warm pool of job workers (at most 3 jobs at once) instead of starting one each."""
    import labcycle.api.fluent as fluent

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("LABCYCLE_MAX_JOBS", "3")
        yield _use_home(tmp_path_factory.mktemp("kernels") / "home", sqlite_template, monkeypatch)
        fluent._state.reset()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def sweeps_pg_url(pg_url: str) -> str:
    """The session's PostgreSQL database, migrated once."""
    Store(pg_url).dispose()
    return pg_url


@pytest.fixture
def store_url(backend: str, home: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{home / 'labcycle.db'}"
    url = request.getfixturevalue("sweeps_pg_url")
    store = Store(url, migrate=False)
    try:
        with store.engine.begin() as conn:  # children first
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
    finally:
        store.dispose()
    return url


@pytest.fixture
def services(store_url: str, home: Path) -> Iterator[Services]:
    svc = Services.open(store_url, str(home / "artifacts"), migrate=False)
    yield svc
    svc.close()


def write_notebook(path: Path, parameters: str, *cells: str) -> Path:
    """A notebook with a papermill ``parameters`` cell followed by ``cells``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def train_notebook(tmp_path: Path) -> Path:
    """Logs ``score = lr * depth`` and a constant; no set-up cell (the job's run is implicit)."""
    return write_notebook(
        tmp_path / "train.ipynb",
        "lr = 0.1\ndepth = 3",
        "import labcycle as lc\nlc.log_metric('score', lr * depth)\nlc.log_metric('const', 1.0)",
    )
