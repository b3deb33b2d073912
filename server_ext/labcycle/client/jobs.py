"""Notebook jobs (``lc.submit``, ``lc.get_job``), and the dispatcher of a process without a
server.

Over the REST API the server's queue and dispatcher run the jobs. Over the local store this
process runs a dispatcher of its own (worker processes, never threads running papermill),
limited to the jobs it submitted, and stopped when the process ends.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from abc import ABC, abstractmethod
from typing import Any

from .domain import HttpDomain, LocalDomain, q

FINAL = ("succeeded", "failed", "cancelled")
_lock = threading.Lock()
_dispatcher: Any = None
_hooked = False


def process_dispatcher(services: Any, executor: str | None = None) -> Any:
    """This process's dispatcher, limited to the jobs it submitted; stopped at exit.
    ``executor`` (default: the configured one) replaces a dispatcher running elsewhere."""
    global _dispatcher
    with _lock:
        from ..config import LabCycleConfig

        config = LabCycleConfig()
        executor = executor or config.executor
        if (
            _dispatcher is None
            or _dispatcher.services is not services
            or _dispatcher.executor_spec != executor
        ):
            from ..jobs.dispatcher import Dispatcher
            from ..jobs.runner import kernel_store_env

            store, artifact_url = services.store.url, services.blobs.url
            if _dispatcher is not None:
                _dispatcher.stop()
            _dispatcher = Dispatcher(
                services,
                executor=executor,
                max_jobs=config.max_concurrent_jobs,
                db_url=store,
                artifact_url=artifact_url,
                kernel_env=kernel_store_env(
                    db_url=store,
                    artifact_url=artifact_url,
                    storage_options=services.blobs.storage_options,
                ),
                job_ids=set(),
                stop_reason="the Python process stopped while the job ran",
            ).start()
            _stop_before_thread_pools()
        return _dispatcher


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
            register(stop_process_dispatcher)
    _hooked = True


@atexit.register
def stop_process_dispatcher() -> None:
    """Stop this process's dispatcher (its workers, its cluster client)."""
    global _dispatcher
    with _lock:
        dispatcher, _dispatcher = _dispatcher, None
    if dispatcher is not None:
        dispatcher.stop()


class JobsClient(ABC):
    @abstractmethod
    def submit(self, **fields: Any) -> dict[str, Any]: ...

    @abstractmethod
    def get(self, job_id: str) -> dict[str, Any]: ...

    @abstractmethod
    def cancel(self, job_id: str) -> dict[str, Any]: ...

    def wait(self, job_id: str, timeout: float | None) -> dict[str, Any]:
        """The job once it is finished, or as it is after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job["status"] in FINAL or (deadline is not None and time.monotonic() > deadline):
                return job
            time.sleep(0.25)


class LocalJobs(LocalDomain, JobsClient):
    def submit(self, **fields: Any) -> dict[str, Any]:
        job = self.services.jobs.submit(actor=self.user, **fields)
        process_dispatcher(self.services).add_jobs([job["id"]])  # no server: this process
        return job

    def get(self, job_id: str) -> dict[str, Any]:
        return self.services.jobs.get(job_id)

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self.services.jobs.cancel(job_id, actor=self.user)

    def wait(self, job_id: str, timeout: float | None) -> dict[str, Any]:
        return self.services.jobs.wait(job_id, timeout)


class HttpJobs(HttpDomain, JobsClient):
    def submit(self, **fields: Any) -> dict[str, Any]:
        return self.request("POST", "jobs", body={k: v for k, v in fields.items() if v is not None})

    def get(self, job_id: str) -> dict[str, Any]:
        return self.request("GET", f"jobs/{q(job_id)}")

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self.request("POST", f"jobs/{q(job_id)}/cancel")
