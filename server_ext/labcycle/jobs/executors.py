"""Executors: where a claimed job runs. A registry (name → class) chosen by configuration.

``c.LabCycle.executor`` / ``LABCYCLE_EXECUTOR``:

- ``local`` (default): :class:`LocalExecutor`, a small pool of warm worker processes on
  this machine (spawned, never forked from the server; papermill and the store are
  imported once per worker, so a job pays only for its kernel). Each worker starts the
  kernel of its next job while the current one runs (a fresh kernel per job, never
  reused; see :class:`~labcycle.jobs.engine.SpareKernels`), and a reader thread tells the
  dispatcher the moment a worker reports a finished job;
- ``dask://host:port``: :class:`DaskExecutor`, a Dask distributed cluster. Each job is a
  task that runs ``python -m labcycle.jobs.runner JOB_ID`` in a fresh subprocess on a
  worker, with the job's resource hints as Dask worker resources (``cpus`` → ``CPU``,
  ``memory`` → ``MEMORY`` in bytes, ``gpus`` → ``GPU``). The task carries the notebook
  and its local modules (:mod:`labcycle.jobs.bundle`), the store's URLs, the storage
  options and cloud credential variables (:func:`~labcycle.jobs.runner.job_process_env`),
  so workers need no shared disk; they need LabCycle installed and to reach the store
  (PostgreSQL, or a SQLite file they can open, and the artifact URL). A job the cluster
  holds but no worker has started is ``queued``. A job at a ``git_ref`` is checked out
  on the worker, which therefore needs the repository at the same path.

Other executors: subclass :class:`Executor` and call :func:`register_executor`
(``register_executor("k8s", K8sExecutor)``, then ``LABCYCLE_EXECUTOR=k8s://...``).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Unavailable

log = logging.getLogger(__name__)

EXECUTORS: dict[str, type[Executor]] = {}


def register_executor(name: str, cls: type[Executor]) -> None:
    """Make ``cls`` the executor for specs ``name`` / ``name://...``."""
    EXECUTORS[name] = cls


@dataclass
class Finished:
    """A job the executor is done with; ``lost`` when its worker died without a verdict."""

    job_id: str
    status: str | None
    lost: str | None = None


@dataclass
class StoreSpec:
    """Where workers find the store, and what they tell kernels."""

    db_url: str
    artifact_url: str
    kernel_env: dict[str, str]
    #: fsspec options of the artifact store, forwarded to cluster workers (None: the env's)
    storage_options: dict[str, Any] | None = None


class ExecutorUnavailable(Unavailable):
    """The executor cannot take jobs now (its cluster does not answer)."""


class Executor:
    """Runs claimed jobs somewhere; the dispatcher polls it for finished ones."""

    name = "executor"
    #: the status of a claimed job until its worker starts it (``queued``: it may wait)
    claim_status = "running"

    def __init__(self, spec: str, store: StoreSpec, max_jobs: int) -> None:
        self.spec = spec
        self.store = store
        self.max_jobs = max_jobs
        #: called (from any thread) when a job may have finished: the dispatcher wakes up
        self.on_event: Any = None

    def _notify(self) -> None:
        callback = self.on_event
        if callback is not None:
            with contextlib.suppress(Exception):
                callback()

    def start(self) -> None:  # optional hook
        """Prepare (connect, warm up)."""

    def submit(self, job: dict[str, Any]) -> None:
        raise NotImplementedError

    def poll(self) -> list[Finished]:
        raise NotImplementedError

    def active(self) -> int:
        raise NotImplementedError

    def kill(self, job_id: str) -> bool:
        """Stop a job's worker the hard way (its own watchdog did not); True if done."""
        return False

    def shutdown(self) -> None:  # optional hook
        """Stop workers."""


# -- local: a pool of warm worker processes -------------------------------------------------------
#: how long a worker keeps an unused spare kernel
SPARE_IDLE_S = 60.0


def _worker_main(
    conn: Any,
    db_url: str,
    artifact_url: str,
    kernel_env: dict[str, str],
    prestart: bool = True,
    storage_options: dict | None = None,
) -> None:
    """A pooled worker: import once, then run job ids received on ``conn`` one at a time."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is for the parent
    from ..services import Services
    from .engine import SpareKernels
    from .runner import run_job, warm_up

    services = Services.open(db_url, artifact_url, migrate=False, storage_options=storage_options)
    spares = SpareKernels(idle_s=SPARE_IDLE_S) if prestart else None
    warm_up()
    try:
        conn.send(("ready", None))
        while True:
            try:
                while not conn.poll(1.0):
                    if spares is not None and spares.idle_too_long():
                        spares.discard()
                job_id = conn.recv()
            except (EOFError, OSError):  # the parent went away
                return
            if job_id is None:
                return
            try:
                status = run_job(services, job_id, kernel_env, spares)
            except BaseException as exc:  # report, never die silently
                status = None
                log.exception("LabCycle worker: job %s: %s", job_id, exc)
            try:
                conn.send(("done", (job_id, status)))
            except (EOFError, OSError):
                return
    finally:
        if spares is not None:
            spares.discard()
        services.close()


class _Worker:
    def __init__(self, ctx: Any, store: StoreSpec, prestart: bool = True) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_worker_main,
            args=(
                child,
                store.db_url,
                store.artifact_url,
                store.kernel_env,
                prestart,
                store.storage_options,
            ),
            name="labcycle-job-worker",
            daemon=True,
        )
        self.process.start()
        child.close()
        self.job_id: str | None = None
        self.ready = False

    @property
    def pid(self) -> int | None:
        return self.process.pid


class LocalExecutor(Executor):
    """``local``: ``max_jobs`` warm worker processes on this machine."""

    name = "local"

    #: start each job's successor kernel ahead (``False``: every job starts its own)
    prestart_kernels = True

    def __init__(self, spec: str, store: StoreSpec, max_jobs: int) -> None:
        super().__init__(spec, store, max_jobs)
        # spawn, not fork: the server has threads (Tornado, SQLAlchemy pools).
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._backlog: list[Finished] = []
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._closing = threading.Event()
        self._rouse_r, self._rouse_w = multiprocessing.Pipe(duplex=False)

    def start(self) -> None:
        """Workers are spawned on demand (a CLI running one job needs one) and then stay
        warm; :meth:`prestart` spawns the whole pool now."""

    def _spawn(self) -> _Worker:
        worker = _Worker(self._ctx, self.store, self.prestart_kernels)
        self._workers.append(worker)
        if self._reader is None:
            self._reader = threading.Thread(
                target=self._read, name="labcycle-pool-reader", daemon=True
            )
            self._reader.start()
        else:
            with contextlib.suppress(OSError, ValueError):
                self._rouse_w.send(None)  # the reader waits on the new worker too
        return worker

    def _read(self) -> None:
        """Block on the workers' pipes; collect their messages as they come and wake the
        dispatcher (no polling delay between a job's end and the next claim)."""
        from multiprocessing.connection import wait

        while not self._closing.is_set():
            with self._lock:
                conns = [w.conn for w in self._workers if not w.conn.closed]
            try:
                ready = wait([*conns, self._rouse_r], timeout=1.0)
            except (OSError, ValueError):
                ready = []
            if self._closing.is_set():
                return
            if self._rouse_r in ready:
                with contextlib.suppress(OSError, EOFError):
                    while self._rouse_r.poll():
                        self._rouse_r.recv()
            if any(c is not self._rouse_r for c in ready):
                with self._lock:
                    before = len(self._backlog)
                    self._collect()
                    finished = len(self._backlog) > before
                if finished:
                    self._notify()
                else:  # a worker's start-up message, or a dead worker not yet reaped
                    self._closing.wait(0.02)

    def prestart(self) -> None:
        with self._lock:
            while len(self._workers) < self.max_jobs:
                self._spawn()

    def wait_ready(self, timeout: float = 120) -> None:
        """Block until every spawned worker has warmed up (benchmarks, tests)."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                self._collect()
            if all(w.ready for w in self._workers):
                return
            time.sleep(0.05)

    def _idle_worker(self) -> _Worker:
        for worker in self._workers:
            if worker.job_id is None and worker.process.is_alive():
                return worker
        return self._spawn()

    def submit(self, job: dict[str, Any]) -> None:
        with self._lock:
            worker = self._idle_worker()
            worker.job_id = job["id"]
            worker.conn.send(job["id"])

    def poll(self) -> list[Finished]:
        with self._lock:
            self._collect()
            finished, self._backlog = self._backlog, []
        return finished

    def _collect(self) -> None:
        finished = self._backlog
        for worker in list(self._workers):
            try:
                while worker.conn.poll():
                    kind, payload = worker.conn.recv()
                    if kind == "ready":
                        worker.ready = True
                    elif kind == "done":
                        job_id, status = payload
                        worker.job_id = None
                        finished.append(Finished(job_id, status))
            except (EOFError, OSError):
                pass
            if not worker.process.is_alive():
                if worker.job_id is not None:
                    finished.append(
                        Finished(worker.job_id, None, lost="the job's worker process died")
                    )
                self._workers.remove(worker)
                worker.conn.close()

    def active(self) -> int:
        return sum(1 for w in self._workers if w.job_id is not None)

    def kill(self, job_id: str) -> bool:
        with self._lock:
            for worker in self._workers:
                if worker.job_id == job_id:
                    _kill_tree(worker.pid)
                    return True
        return False

    def shutdown(self) -> None:
        self._closing.set()
        with contextlib.suppress(OSError, ValueError):
            self._rouse_w.send(None)
        if self._reader is not None:
            self._reader.join(timeout=5)
            self._reader = None
        with self._lock:
            for worker in self._workers:
                if worker.job_id is not None:
                    _kill_tree(worker.pid)
                else:
                    with contextlib.suppress(OSError, ValueError):
                        worker.conn.send(None)
            for worker in self._workers:
                worker.process.join(timeout=5)
                if worker.process.is_alive():
                    _kill_tree(worker.pid)
                    worker.process.join(timeout=2)
                worker.conn.close()
            self._workers.clear()


def _kill_tree(pid: int | None) -> None:
    """Kill a process and its descendants (kernels lead their own process groups)."""
    if not pid:
        return
    import signal

    import psutil

    try:
        parent = psutil.Process(pid)
        children = parent.children(recursive=True)
    except psutil.NoSuchProcess:
        return
    for proc in [*children, parent]:
        with contextlib.suppress(
            psutil.NoSuchProcess, ProcessLookupError, PermissionError, OSError
        ):
            os.killpg(proc.pid, signal.SIGKILL) if proc.pid != pid and _leads_group(
                proc.pid
            ) else proc.kill()


def _leads_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except OSError:
        return False


# -- Dask distributed ----------------------------------------------------------------------------
DASK_RESOURCES = {"cpus": "CPU", "memory": "MEMORY", "gpus": "GPU"}


def dask_resources(hints: dict[str, float] | None) -> dict[str, float] | None:
    """The job's hints as Dask worker resources (``{"gpus": 1}`` → ``{"GPU": 1}``)."""
    out = {DASK_RESOURCES[k]: v for k, v in (hints or {}).items() if k in DASK_RESOURCES and v}
    return out or None


def run_job_subprocess(
    job_id: str, env: dict[str, str], bundle: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The Dask task: run one job in a fresh subprocess on the worker; returns its outcome.

    ``bundle`` (the notebook and its local modules) is unpacked into a temporary folder,
    the kernel's working directory, removed afterwards.
    """
    import shutil
    import socket
    import subprocess
    import tempfile

    full_env = {**os.environ, **env}
    try:  # which worker ran the job, for the run's tags
        from distributed import get_worker

        worker = get_worker()
        full_env["LABCYCLE_WORKER_NAME"] = str(worker.name)
        full_env["LABCYCLE_WORKER_ADDRESS"] = str(worker.address)
    except (ImportError, ValueError):
        pass
    command = [sys.executable, "-m", "labcycle.jobs.runner", job_id]
    scratch = Path(tempfile.mkdtemp(prefix="labcycle-task-"))
    try:
        if bundle is not None:
            from .bundle import unpack

            unpack(bundle, scratch / "job")
            command += ["--bundle", str(scratch / "job")]
        done = subprocess.run(
            command, env=full_env, cwd=scratch, capture_output=True, text=True, check=False
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    status = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else None
    return {
        "job_id": job_id,
        "status": status,
        "returncode": done.returncode,
        "host": socket.gethostname(),
        "stderr": done.stderr[-4000:],
    }


class DaskExecutor(Executor):
    """``dask://host:port``: jobs as tasks on a Dask distributed cluster."""

    name = "dask"
    claim_status = "queued"

    def __init__(self, spec: str, store: StoreSpec, max_jobs: int) -> None:
        super().__init__(spec, store, max_jobs)
        self.address = "tcp://" + spec.split("://", 1)[1] if "://" in spec else spec
        self.client: Any = None
        self._futures: dict[str, Any] = {}
        self._lock = threading.Lock()

    @staticmethod
    def connect_timeout() -> float:
        """Seconds to reach the scheduler (env ``LABCYCLE_DASK_CONNECT_TIMEOUT``, default 10)."""
        try:
            return max(0.5, float(os.environ.get("LABCYCLE_DASK_CONNECT_TIMEOUT") or 10))
        except ValueError:
            return 10.0

    def start(self) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ExecutorUnavailable(
                f"The executor {self.spec} needs Dask distributed in this environment: "
                "pip install distributed.",
                field="executor",
            ) from None
        timeout = self.connect_timeout()
        try:
            self.client = Client(self.address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ExecutorUnavailable(
                f"Could not reach the Dask scheduler at {self.address} within {timeout:g} s "
                f"({type(exc).__name__}: {exc}). Start it (`dask scheduler`) or point the "
                "executor (--executor, c.LabCycle.executor or LABCYCLE_EXECUTOR) at a running "
                "one.",
                field="executor",
            ) from None

    def submit(self, job: dict[str, Any]) -> None:
        from .bundle import pack
        from .runner import job_paths, job_process_env

        bundle = None
        if not job.get("git_ref"):
            from ..provenance.environment import git_info

            notebook, cwd = job_paths(job)
            bundle = pack(notebook, cwd, git_info(notebook) or None)
        env = job_process_env(
            db_url=self.store.db_url,
            artifact_url=self.store.artifact_url,
            kernel_env=self.store.kernel_env,
            storage_options=self.store.storage_options,
        )
        future = self.client.submit(
            run_job_subprocess,
            job["id"],
            env,
            bundle,
            key=f"labcycle-job-{job['id']}-{job['attempt']}",
            resources=dask_resources(job.get("resources")),
            pure=False,
            retries=0,
        )
        future.add_done_callback(self._task_done)
        with self._lock:
            self._futures[job["id"]] = future

    def _task_done(self, _future: Any) -> None:
        if self.client is not None:  # not while closing: the client's threads are stopping
            self._notify()

    def poll(self) -> list[Finished]:
        finished = []
        with self._lock:
            for job_id, future in list(self._futures.items()):
                if not future.done():
                    continue
                del self._futures[job_id]
                try:
                    result = future.result(timeout=5)
                    finished.append(Finished(job_id, result.get("status")))
                except Exception as exc:  # the worker died, the task was lost
                    finished.append(Finished(job_id, None, lost=f"the Dask task failed: {exc}"))
        return finished

    def active(self) -> int:
        return len(self._futures)

    def kill(self, job_id: str) -> bool:
        with self._lock:
            future = self._futures.get(job_id)
        if future is None:
            return False
        future.cancel()
        return True

    def shutdown(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        with self._lock:
            futures, self._futures = list(self._futures.values()), {}
        if futures:  # jobs still held by the cluster stop with the dispatcher
            with contextlib.suppress(Exception):
                client.cancel(futures)
        with contextlib.suppress(Exception):
            client.close(timeout=10)


register_executor("local", LocalExecutor)
register_executor("dask", DaskExecutor)
register_executor("tcp", DaskExecutor)


def make_executor(spec: str, store: StoreSpec, max_jobs: int) -> Executor:
    """The executor for a configuration value such as ``local`` or ``dask://host:8786``."""
    from ..errors import InvalidInput

    spec = (spec or "local").strip()
    scheme = spec.split("://", 1)[0] if "://" in spec else spec
    cls = EXECUTORS.get(scheme)
    if cls is None:
        raise InvalidInput(
            f"Unknown executor {spec!r}: use one of "
            f"{', '.join(sorted(EXECUTORS))} (e.g. 'local', 'dask://host:8786').",
            field="executor",
        )
    return cls(spec, store, max_jobs)
