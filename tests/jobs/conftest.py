"""Fixtures of the jobs suite: a real store, real kernels, one warm dispatcher for the session.

Kernels cost seconds each, so the suite shares what it can: one SQLite store and one
local dispatcher (two warm worker processes) for the session, and the jobs that several
tests look at are submitted together at the start (``batch``), so they run while other
tests are set up. The session dispatcher only claims the jobs a test hands it
(``dispatcher.add_jobs``): tests of the queue's own rules can leave jobs in the store
untouched.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from labcycle.jobs.dispatcher import Dispatcher
from labcycle.jobs.runner import kernel_store_env
from labcycle.services import Services
from labcycle.store import Store

pytestmark = pytest.mark.kernel


def write_notebook(path: Path, *cells: str, parameters: str | None = None) -> Path:
    """A small Python notebook; ``parameters`` becomes the cell tagged ``parameters``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.extend(nbformat.v4.new_code_cell(src) for src in cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def stdout_of(notebook: dict, index: int) -> str:
    texts = [
        o.get("text", "")
        for o in notebook["cells"][index].get("outputs", [])
        if o.get("output_type") == "stream"
    ]
    return "".join(t if isinstance(t, str) else "".join(t) for t in texts)


@pytest.fixture(scope="session")
def jobs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jobs")


@pytest.fixture(scope="session")
def store_urls(jobs_root: Path) -> tuple[str, str]:
    db_url = f"sqlite:///{jobs_root / 'home' / 'labcycle.db'}"
    Store(db_url).dispose()
    return db_url, str(jobs_root / "home" / "artifacts")


@pytest.fixture(scope="session")
def services(store_urls: tuple[str, str]) -> Iterator[Services]:
    svc = Services.open(*store_urls)
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def dispatcher(services: Services, store_urls: tuple[str, str]) -> Iterator[Dispatcher]:
    db_url, artifact_url = store_urls
    d = Dispatcher(
        services,
        executor="local",
        max_jobs=2,
        db_url=db_url,
        artifact_url=artifact_url,
        kernel_env=kernel_store_env(db_url=db_url, artifact_url=artifact_url),
        job_ids=set(),
        poll_interval=0.2,
    )
    d.warm()
    d.start()
    yield d
    d.stop()


def submit(services: Services, dispatcher: Dispatcher, **fields: Any) -> dict[str, Any]:
    job = services.jobs.submit(actor="tester", **fields)
    dispatcher.add_jobs([job["id"]])
    return job


HOSTILE = {
    "quote": "'; import os; os.system('touch {marker}') #",
    "triple": '"""\nimport os\nos.system("touch {marker}")\n"""',
    "lines": "first line\nsecond 'line'\r\n\\n not a newline\t\"end\" é ☃ \u2028 {{x}}",
}


@pytest.fixture(scope="session")
def marker(jobs_root: Path) -> Path:
    return jobs_root / f"pwned-{uuid.uuid4().hex}"


@pytest.fixture(scope="session")
def batch(services: Services, dispatcher: Dispatcher, jobs_root: Path, marker: Path) -> dict:
    """The jobs several tests look at, submitted at once so that they run concurrently."""
    nbs = jobs_root / "notebooks"
    work = jobs_root / "work"
    work.mkdir()
    hostile = {k: v.format(marker=marker) for k, v in HOSTILE.items()}
    happy = write_notebook(
        nbs / "happy.ipynb",
        "import json, os, pathlib\nimport labcycle as lc\n"
        "lc.log_metric('n2', n * 2)\nlc.log_metric('n2', n * 3)\n"
        "seen = {'quote': quote, 'triple': triple, 'lines': lines, 'items': items,\n"
        "        'cwd': os.getcwd(), 'env': os.environ.get('JOB_COLOR'),\n"
        "        'run': lc.active_run().id, 'env_run': os.environ['LABCYCLE_RUN_ID']}\n"
        "pathlib.Path('seen.json').write_text(json.dumps(seen))\n"
        "print(json.dumps(seen))",
        parameters="quote = ''\ntriple = ''\nlines = ''\nn = 0\nitems = []",
    )
    failing = write_notebook(
        nbs / "failing.ipynb",
        "x = 1\nprint('before the error')",
        "raise ValueError('boom at cell one')",
        "print('never printed')",
    )
    slow = write_notebook(nbs / "slow.ipynb", "import time\ntime.sleep(120)")
    cancel = write_notebook(
        nbs / "cancel.ipynb",
        "import os, pathlib, time\npathlib.Path('kernel.pid').write_text(str(os.getpid()))",
        "time.sleep(120)",
    )
    jobs = {
        "happy": submit(
            services,
            dispatcher,
            notebook=str(happy),
            experiment="jobs-tests",
            parameters={**hostile, "n": 21, "items": [1, "two", {"3": None}]},
            cwd=str(work),
            env={"JOB_COLOR": "blue", "MY_API_TOKEN": "s3cret"},
        ),
        "failing": submit(services, dispatcher, notebook=str(failing), experiment="jobs-tests"),
        "timeout": submit(
            services, dispatcher, notebook=str(slow), timeout_s=4, experiment="jobs-tests"
        ),
        "cancel": submit(
            services, dispatcher, notebook=str(cancel), cwd=str(work), experiment="jobs-tests"
        ),
    }
    return {"jobs": jobs, "hostile": hostile, "work": work}


def read_executed(services: Services, run_id: str) -> dict:
    return json.loads(services.artifacts.read_artifact(run_id, "executed.ipynb"))
