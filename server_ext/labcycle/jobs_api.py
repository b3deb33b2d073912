"""Notebook jobs from Python: ``lc.submit("train.ipynb", {"lr": 0.1}, wait=True)``.

In a kernel of a Jupyter server with LabCycle (``LABCYCLE_API_URL`` set), jobs go to the
server's queue over the REST API and its dispatcher runs them. Anywhere else they go to
the local store, and this process runs a dispatcher of its own (worker processes, never
threads running papermill) for the jobs it submitted.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from typing import Any

from .errors import InvalidInput

__all__ = ["Job", "get_job", "submit"]

FINAL = ("succeeded", "failed", "cancelled")
_lock = threading.Lock()
_dispatcher: Any = None


class Job:
    """A notebook job: ``.id``, ``.status``, ``.progress``, ``.run`` (once it has one),
    ``.wait()``, ``.cancel()``; ``.data`` is the job as the API returns it."""

    def __init__(self, data: dict[str, Any], backend: _Backend) -> None:
        self.data = data
        self._backend = backend

    id = property(lambda self: self.data["id"])
    run_id = property(lambda self: self.data.get("run_id"))
    error = property(lambda self: self.data.get("error"))

    @property
    def status(self) -> str:
        """The job's status, refreshed from the store unless it is final."""
        if self.data["status"] not in FINAL:
            self.refresh()
        return self.data["status"]

    @property
    def progress(self) -> tuple[int | None, int | None]:
        """``(cell, total)``: cell ``cell`` of ``total`` is running (or done)."""
        if self.data["status"] not in FINAL:
            self.refresh()
        progress = self.data.get("progress") or {}
        return progress.get("cell"), progress.get("total")

    @property
    def done(self) -> bool:
        return self.status in FINAL

    @property
    def run(self) -> Any:
        """The job's run (a :class:`labcycle.Run`), or None before it has one."""
        if not self.data.get("run_id"):
            self.refresh()
        if not self.data.get("run_id"):
            return None
        from .fluent import get_run

        return get_run(self.data["run_id"])

    def refresh(self) -> Job:
        self.data = self._backend.get(self.id)
        return self

    def wait(self, timeout: float | None = None) -> Job:
        """Block until the job is finished (or ``timeout`` seconds pass)."""
        self.data = self._backend.wait(self.id, timeout)
        return self

    def cancel(self) -> Job:
        """Cancel the job (a running job's kernel is stopped)."""
        self.data = self._backend.cancel(self.id)
        return self

    def __repr__(self) -> str:
        return f"<Job {self.data.get('name')!r} id={self.id} status={self.data['status']}>"


class _Backend:
    def submit(self, **fields: Any) -> dict[str, Any]:
        raise NotImplementedError

    def get(self, job_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def cancel(self, job_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def wait(self, job_id: str, timeout: float | None) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job["status"] in FINAL or (deadline is not None and time.monotonic() > deadline):
                return job
            time.sleep(0.25)


class _HttpBackend(_Backend):
    def __init__(self, transport: Any) -> None:
        self.transport = transport

    def submit(self, **fields: Any) -> dict[str, Any]:
        body = {k: v for k, v in fields.items() if v is not None}
        return self.transport._request("POST", "jobs", body=body)

    def get(self, job_id: str) -> dict[str, Any]:
        return self.transport._request("GET", f"jobs/{job_id}")

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self.transport._request("POST", f"jobs/{job_id}/cancel")


class _LocalBackend(_Backend):
    def __init__(self, services: Any, user: str) -> None:
        self.services = services
        self.user = user

    def submit(self, **fields: Any) -> dict[str, Any]:
        job = self.services.jobs.submit(actor=self.user, **fields)
        _local_dispatcher(self.services).add_jobs([job["id"]])
        return job

    def get(self, job_id: str) -> dict[str, Any]:
        return self.services.jobs.get(job_id)

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self.services.jobs.cancel(job_id, actor=self.user)

    def wait(self, job_id: str, timeout: float | None) -> dict[str, Any]:
        return self.services.jobs.wait(job_id, timeout)


def _local_dispatcher(services: Any, executor: str | None = None) -> Any:
    """This process's dispatcher, limited to the jobs it submitted; stopped at exit.
    ``executor`` (default: the configured one) replaces a dispatcher running elsewhere."""
    global _dispatcher
    with _lock:
        from .config import LabCycleConfig

        config = LabCycleConfig()
        executor = executor or config.executor
        if (_dispatcher is None or _dispatcher.services is not services
                or _dispatcher.executor_spec != executor):
            from .jobs.dispatcher import Dispatcher
            from .jobs.runner import kernel_store_env

            store, artifact_url = services.store.url, services.blobs.url
            if _dispatcher is not None:
                _dispatcher.stop()
            _dispatcher = Dispatcher(
                services, executor=executor, max_jobs=config.max_concurrent_jobs,
                db_url=store, artifact_url=artifact_url,
                kernel_env=kernel_store_env(db_url=store, artifact_url=artifact_url,
                                            storage_options=services.blobs.storage_options),
                job_ids=set(), stop_reason="the Python process stopped while the job ran",
            ).start()
            _stop_before_thread_pools()
        return _dispatcher


_hooked = False


def _stop_before_thread_pools() -> None:
    """Stop the dispatcher when the main thread ends, before the interpreter shuts its thread
    pools down: from the ``atexit`` hook, which runs after that, a Dask client's closing
    callbacks fail with "cannot schedule new futures after interpreter shutdown"."""
    global _hooked
    if _hooked:
        return
    import concurrent.futures.thread  # noqa: F401 - its pools' exit hook is registered first

    register = getattr(threading, "_register_atexit", None)  # run in reverse order
    if register is not None:
        with contextlib.suppress(RuntimeError):  # already shutting down: atexit does it
            register(_stop_dispatcher)
    _hooked = True


@atexit.register
def _stop_dispatcher() -> None:
    """Stop this process's dispatcher (its workers, its cluster client)."""
    global _dispatcher
    with _lock:
        dispatcher, _dispatcher = _dispatcher, None
    if dispatcher is not None:
        dispatcher.stop()


def _backend() -> _Backend:
    from .client.local import LocalTransport
    from .fluent import _state

    transport = _state.transport()
    if isinstance(transport, LocalTransport):
        return _LocalBackend(transport.services, transport.user)
    return _HttpBackend(transport)


def local_paths(notebook: str, cwd: str | os.PathLike | None,
                git_ref: str | None) -> tuple[str, str | None]:
    """``(notebook, cwd)`` as this process sees them, for a job that may run elsewhere:
    a relative notebook is under ``cwd`` (default: here); with ``git_ref`` it stays a path
    inside the repository, which is found from ``cwd``."""
    cwd = os.path.abspath(os.fspath(cwd)) if cwd is not None else None
    if git_ref:
        return notebook, cwd or os.getcwd()
    return os.path.abspath(os.path.join(cwd or os.getcwd(), notebook)), cwd


def submit(
    notebook: str | os.PathLike,
    parameters: dict[str, Any] | None = None,
    *,
    wait: bool = False,
    timeout: float | None = None,
    experiment: str | None = None,
    project: str | None = None,
    name: str | None = None,
    cwd: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float | None = None,
    retries: int = 0,
    resources: dict[str, Any] | None = None,
    git_ref: str | None = None,
    kernel_name: str | None = None,
) -> Job:
    """Run a notebook as a tracked job (papermill, a real kernel, its own run).

    Parameters
    ----------
    notebook : path
        The ``.ipynb`` to run (relative to the repository when ``git_ref`` is given).
    parameters : dict, optional
        Injected after the notebook's ``parameters`` cell as Python literals.
    wait : bool
        Block until the job is finished (``timeout`` seconds at most).
    timeout_s : float, optional
        Limit of the job's execution; its kernel is stopped when it is reached.
    env, cwd, retries, resources, git_ref, kernel_name, experiment, project, name
        See ``JobService.submit``.

    Returns
    -------
    Job
        ``job.wait().run.metrics`` once it is done.

    Examples
    --------
    >>> job = lc.submit("train.ipynb", {"lr": 0.1}, wait=True)
    >>> job.status, job.run.metrics["accuracy"]
    """
    notebook = os.fspath(notebook)
    if parameters is not None and not isinstance(parameters, dict):
        raise InvalidInput("parameters must be a dict of name → value.", field="parameters")
    notebook, cwd = local_paths(notebook, cwd, git_ref)
    backend = _backend()
    data = backend.submit(notebook=notebook, parameters=parameters, experiment=experiment,
                          project=project, name=name, cwd=cwd, env=env, timeout_s=timeout_s,
                          retries=retries, resources=resources, git_ref=git_ref,
                          kernel_name=kernel_name)
    job = Job(data, backend)
    if wait:
        job.wait(timeout)
    return job


def get_job(job_id: str) -> Job:
    """A job by id."""
    backend = _backend()
    return Job(backend.get(job_id), backend)
