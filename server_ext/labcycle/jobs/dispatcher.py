"""The dispatcher: claims pending jobs from the store and hands them to an executor.

The server extension owns one (started with the server, stopped with it); the CLI and the
Python API run the same class in-process, limited to the jobs they submitted. The loop
runs in a thread of its owner, but does no notebook work itself: it only claims rows (an
atomic UPDATE, so two dispatchers never run one job), hands ids to the executor within
the concurrency limit, and reacts when a worker dies. Workers record every status.

Restart safety: on start, running jobs whose worker is gone (pid dead on this host, or no
heartbeat from another host) are marked failed with the reason "the Jupyter server stopped
while the job ran", or re-queued when they have retries left. On stop, the jobs this
dispatcher was running are treated the same way (their workers stop with it).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

from ..services import Services
from ..services.jobs import ACTIVE_STATUSES, SERVER_STOPPED
from .executors import Executor, ExecutorUnavailable, StoreSpec, make_executor

log = logging.getLogger(__name__)

#: how long a running job may ignore a cancellation before its worker is killed
CANCEL_GRACE_S = 10.0
#: how often the dispatcher checks the store for cancellations its workers ignore
CANCEL_CHECK_S = 1.0


class Dispatcher:
    """Claims pending jobs and runs them on an executor, at most ``max_jobs`` at a time.

    Parameters
    ----------
    services : Services
        The store (jobs are read and claimed through ``services.jobs``).
    executor : str
        ``local`` or ``dask://host:port`` (see :mod:`labcycle.jobs.executors`).
    max_jobs : int
        Concurrency limit.
    kernel_env : dict
        What kernels are told about the store (see ``runner.kernel_store_env``).
    job_ids : set, optional
        Only claim these jobs (the CLI and the Python API run their own jobs only).
    owner : str, optional
        Only claim jobs this user submitted: on JupyterHub every user's server shares the
        queue, and a job must run in its owner's server (as its owner's Unix user).
    poll_interval : float
        Seconds between rounds when nothing happens; submits and finished jobs wake the
        loop at once.
    prestart_kernels : bool
        Local pool: each worker starts its next job's (fresh) kernel while a job runs.
    """

    def __init__(
        self,
        services: Services,
        *,
        executor: str = "local",
        max_jobs: int = 2,
        db_url: str,
        artifact_url: str,
        kernel_env: dict[str, str],
        job_ids: set[str] | None = None,
        poll_interval: float = 0.5,
        stop_reason: str = SERVER_STOPPED,
        prestart_kernels: bool = True,
        owner: str | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        self.services = services
        self.owner = owner
        self.max_jobs = max(1, int(max_jobs))
        self.executor_spec = executor or "local"
        # workers open the artifact store with these options (default: this one's)
        self.store_spec = StoreSpec(
            db_url,
            artifact_url,
            kernel_env,
            storage_options or getattr(getattr(services, "blobs", None), "storage_options", None),
        )
        self.executor: Executor | None = None
        self.job_ids = job_ids
        self.poll_interval = poll_interval
        self.prestart_kernels = prestart_kernels
        self.stop_reason = stop_reason
        self.host = socket.gethostname()
        self.id = f"{self.host}|{os.getpid()}|{uuid.uuid4().hex[:8]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cancel_seen: dict[str, float] = {}
        self._cancel_checked = 0.0
        self._lock = threading.Lock()
        services.jobs.listeners.append(self.wake)

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> Dispatcher:
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="labcycle-dispatcher", daemon=True)
        self._thread.start()
        return self

    def recover(self) -> list[str]:
        """Mark jobs of dead servers/workers failed (or re-queue them)."""
        try:
            changed = self.services.jobs.recover(host=self.host)
        except Exception:  # recovery must not stop the server from starting
            log.exception("LabCycle: could not recover jobs left running")
            return []
        if changed:
            log.warning(
                "LabCycle: %d job(s) were left running by a stopped server: %s",
                len(changed),
                ", ".join(changed),
            )
        return changed

    def _ensure_executor(self) -> Executor:
        if self.executor is None:
            executor = make_executor(self.executor_spec, self.store_spec, self.max_jobs)
            executor.on_event = self._executor_event
            if hasattr(executor, "prestart_kernels"):
                executor.prestart_kernels = self.prestart_kernels
            executor.start()
            self.executor = executor
        return self.executor

    def warm(self, wait: bool = False) -> None:
        """Start the executor and its workers now instead of on the first job."""
        with self._lock:
            executor = self._ensure_executor()
            prestart = getattr(executor, "prestart", None)
            if prestart is not None:
                prestart()
        if wait and hasattr(executor, "wait_ready"):
            with self._lock:
                executor.wait_ready()

    def wake(self, *_: Any) -> None:
        self._wake.set()

    def _executor_event(self) -> None:
        """A worker finished a job (its status is in the store already): claim the next one
        now, and wake this process's waiters."""
        self._wake.set()
        self.services.jobs.notify_changed()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            running = self.services.jobs.running_ids(self.id)
            if self.executor is not None:
                self.executor.shutdown()
                self.executor = None
            for job_id in running:
                try:
                    self.services.jobs.requeue_or_fail(job_id, self.stop_reason)
                except Exception:
                    log.exception("LabCycle: could not record job %s as stopped", job_id)
        if self.wake in self.services.jobs.listeners:
            self.services.jobs.listeners.remove(self.wake)

    # -- the loop ---------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # keep dispatching; say what went wrong
                log.exception("LabCycle dispatcher error")
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def tick(self) -> int:
        """One round: collect finished jobs, enforce cancellations, claim new ones."""
        with self._lock:
            if self._stop.is_set():
                return 0
            jobs = self.services.jobs
            executor = self.executor
            if executor is not None:
                for done in executor.poll():
                    self._cancel_seen.pop(done.job_id, None)
                    if done.lost:
                        jobs.requeue_or_fail(done.job_id, done.lost)
                    elif done.status is None or jobs.get(done.job_id)["status"] in ACTIVE_STATUSES:
                        jobs.requeue_or_fail(
                            done.job_id, "the job's worker stopped without recording a result"
                        )
                self._enforce_cancellations(executor)
                active = executor.active()
            else:
                active = 0
            free = self.max_jobs - active
            if free <= 0:
                return 0
            ids = None if self.job_ids is None else list(self.job_ids)
            if ids is not None and not ids:
                return 0
            if executor is None and not jobs.pending_count(ids, self.owner):
                return 0
            try:
                executor = self._ensure_executor()
            except ExecutorUnavailable as exc:
                return self._fail_waiting(ids, exc.message)
            claimed = jobs.claim(
                self.id,
                self.executor_spec,
                job_ids=ids,
                limit=free,
                pid=os.getpid(),
                host=self.host,
                created_by=self.owner,
                status=getattr(executor, "claim_status", "running"),
            )
            for job in claimed:
                try:
                    executor.submit(job)
                except Exception as exc:
                    log.exception("LabCycle: could not hand job %s to the executor", job["id"])
                    jobs.requeue_or_fail(job["id"], f"the executor refused the job: {exc}")
            return len(claimed)

    def _fail_waiting(self, ids: list[str] | None, message: str) -> int:
        """The executor cannot be reached: the pending jobs fail with its message instead of
        waiting for it forever (a later job tries to reach it again)."""
        log.error("LabCycle: %s", message)
        jobs = self.services.jobs
        claimed = jobs.claim(
            self.id, self.executor_spec, job_ids=ids, limit=1000, pid=os.getpid(), host=self.host
        )
        for job in claimed:
            jobs.finish(
                job["id"],
                "failed",
                error=message,
                error_detail={"reason": "executor_unavailable", "message": message},
                actor=job["created_by"],
            )
        return 0

    def _enforce_cancellations(self, executor: Executor) -> None:
        now = time.monotonic()
        if now - self._cancel_checked < CANCEL_CHECK_S:
            return  # workers stop cancelled kernels themselves; this is the fallback
        self._cancel_checked = now
        for job_id in self.services.jobs.running_ids(self.id):
            if not self.services.jobs.cancel_requested(job_id):
                continue
            first = self._cancel_seen.setdefault(job_id, now)
            if now - first > CANCEL_GRACE_S and executor.kill(job_id):
                log.warning(
                    "LabCycle: job %s ignored its cancellation; its worker was killed", job_id
                )
                self._cancel_seen.pop(job_id, None)

    # -- in-process use (CLI, Python API) -----------------------------------------------------
    def add_jobs(self, job_ids: list[str]) -> None:
        if self.job_ids is None:
            return
        self.job_ids.update(job_ids)
        self.wake()

    def run_until_done(
        self, job_ids: list[str], *, timeout: float | None = None, on_tick: Any = None
    ) -> None:
        """Dispatch in this thread until the jobs are finished (for the CLI)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self.recover()
        try:
            while self.services.jobs.unfinished(job_ids):
                self.tick()
                if on_tick is not None:
                    on_tick()
                if deadline is not None and time.monotonic() > deadline:
                    return
                self._wake.wait(0.2)
                self._wake.clear()
            self.tick()
        finally:
            if on_tick is not None:
                on_tick()


def dispatcher_from_config(
    services: Services,
    config: Any,
    *,
    api_url: str | None = None,
    api_token: str | None = None,
    job_ids: set[str] | None = None,
    stop_reason: str = SERVER_STOPPED,
    cls: type[Dispatcher] | None = None,
    executor: str | None = None,
) -> Dispatcher:
    """A dispatcher configured from a :class:`~labcycle.config.LabCycleConfig` (``executor``
    overrides its executor); under JupyterHub it runs its own user's jobs only."""
    from ..config import hub_user
    from .runner import kernel_store_env

    storage_options = getattr(config, "storage_options", None) or None
    kernel_env = kernel_store_env(
        db_url=config.db_url,
        artifact_url=config.artifact_url,
        home=config.home,
        api_url=api_url,
        api_token=api_token,
        storage_options=storage_options,
    )
    return (cls or Dispatcher)(
        services,
        executor=executor or config.executor,
        max_jobs=config.max_concurrent_jobs,
        db_url=config.db_url,
        artifact_url=config.artifact_url,
        kernel_env=kernel_env,
        job_ids=job_ids,
        stop_reason=stop_reason,
        owner=hub_user(),
        storage_options=storage_options,
    )
