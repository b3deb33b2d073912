"""Notebook jobs: the persisted job queue.

A job asks for a notebook to be executed with papermill as a tracked run. Its row in the
``jobs`` table is the record of everything about it: status (``pending`` → [``queued``] →
``running`` → ``succeeded`` / ``failed`` / ``cancelled``; ``queued`` while a cluster executor
holds the job but no worker has started it), cell progress, the run it produced, the
worker that ran it. The queue is the table: a dispatcher (``labcycle.jobs.dispatcher``)
claims pending rows atomically and hands them to an executor; workers write progress and
results back here, from any process or machine that reaches the store.
"""

from __future__ import annotations

import builtins
import keyword
import math
import os
import re
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select, update

from ..errors import Conflict, InvalidInput, NotFound
from ..store import Store
from ..store.models import Job
from .common import (
    audit,
    insert_on_conflict,
    iso,
    new_id,
    next_token,
    now_ms,
    page_bounds,
    to_float,
    to_int,
    validate_id,
    validate_name,
)
from .ownership import readable
from .paths import job_paths

J = Job.__table__
STATUSES = ("pending", "queued", "running", "succeeded", "failed", "cancelled")
FINAL_STATUSES = ("succeeded", "failed", "cancelled")
#: claimed by a dispatcher and not finished: waiting in the executor, or executing
ACTIVE_STATUSES = ("queued", "running")
SECRET_KEY = re.compile(r"TOKEN|SECRET|PASSWORD|KEY", re.IGNORECASE)
MASK = "***"
RESOURCE_KEYS = ("cpus", "memory", "gpus")
MAX_PARAM_DEPTH = 20
SERVER_STOPPED = "the Jupyter server stopped while the job ran"
#: a running job whose worker has not written for this long is considered dead when its
#: worker cannot be checked directly (another host)
STALE_AFTER_MS = 120_000

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def validate_parameters(parameters: Any) -> dict[str, Any]:
    """Parameters are injected as Python literals: identifier names, JSON-like values.

    Raises
    ------
    InvalidInput
        naming the parameter (``details.field`` = ``parameters.<name>``).
    """
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise InvalidInput("parameters must be an object of name → value.", field="parameters")
    clean: dict[str, Any] = {}
    for name, value in parameters.items():
        field = f"parameters.{name}"
        if (
            not isinstance(name, str)
            or not name.isidentifier()
            or keyword.iskeyword(name)
            or not name.isascii()
        ):
            raise InvalidInput(
                f"Parameter name {name!r} is not a Python identifier: use letters, digits and "
                "'_', not starting with a digit, and not a keyword.",
                field=field,
            )
        clean[name] = _literal(value, field, 0)
    return clean


def _literal(value: Any, field: str, depth: int) -> Any:
    if depth > MAX_PARAM_DEPTH:
        raise InvalidInput(f"{field} is nested too deeply.", field=field)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_literal(v, f"{field}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"{field} has a non-string key {key!r}.", field=field)
            out[key] = _literal(item, f"{field}.{key}", depth + 1)
        return out
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and not isinstance(value, (bytes, bytearray)):
        try:
            return _literal(item(), field, depth)
        except (TypeError, ValueError):
            pass
    raise InvalidInput(
        f"{field} must be a string, number, boolean, null, list or object, "
        f"not {type(value).__name__}.",
        field=field,
    )


def _clean_env(env: Any) -> dict[str, str] | None:
    if env is None:
        return None
    if not isinstance(env, dict):
        raise InvalidInput("env must be an object of NAME → value.", field="env")
    out = {}
    for name, value in env.items():
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise InvalidInput(
                f"Environment variable name {name!r} is not valid: use letters, digits and '_'.",
                field=f"env.{name}",
            )
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InvalidInput(f"env.{name} must be a string.", field=f"env.{name}")
        value = str(value)
        if "\x00" in value:
            raise InvalidInput(f"env.{name} may not contain NUL.", field=f"env.{name}")
        out[name] = value
    return out


def mask_env(env: dict[str, str] | None) -> dict[str, str]:
    """Values of secret-looking keys (``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``, ``*KEY*``) hidden."""
    return {k: (MASK if SECRET_KEY.search(k) else v) for k, v in (env or {}).items()}


def _clean_resources(resources: Any) -> dict[str, float] | None:
    if resources is None:
        return None
    if not isinstance(resources, dict):
        raise InvalidInput(
            'resources must be an object like {"cpus": 2, "memory": "4GB", "gpus": 1}.',
            field="resources",
        )
    out: dict[str, float] = {}
    for key, value in resources.items():
        field = f"resources.{key}"
        if key not in RESOURCE_KEYS:
            raise InvalidInput(
                f"Unknown resource {key!r}: use {', '.join(RESOURCE_KEYS)}.", field=field
            )
        if key == "memory" and isinstance(value, str):
            value = parse_memory(value, field)
        number = to_float(value, field)
        if not math.isfinite(number) or number < 0:
            raise InvalidInput(f"{field} must be a non-negative number.", field=field)
        out[key] = number
    return out


_UNITS = {
    "": 1,
    "b": 1,
    "k": 1e3,
    "kb": 1e3,
    "m": 1e6,
    "mb": 1e6,
    "g": 1e9,
    "gb": 1e9,
    "t": 1e12,
    "tb": 1e12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_memory(text: str, field: str = "resources.memory") -> float:
    """``"4GB"``, ``"512 MiB"``, ``"1e9"`` → bytes."""
    match = re.fullmatch(r"\s*([0-9.]+(?:e[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise InvalidInput(
            f"{field} {text!r} is not a size such as '4GB' or '512MiB'.", field=field
        )
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def job_dict(row: Any) -> dict[str, Any]:
    """A job as the API shows it (env values of secret-looking keys masked)."""
    return {
        "id": row.id,
        "name": row.name,
        "status": row.status,
        "notebook": row.notebook,
        "parameters": row.parameters or {},
        "experiment": row.experiment,
        "project": row.project,
        "cwd": row.cwd,
        "env": mask_env(row.env),
        "timeout_s": row.timeout_s,
        "retries": row.retries,
        "attempt": row.attempt,
        "resources": row.resources or {},
        "git_ref": row.git_ref,
        "kernel_name": row.kernel_name,
        "sweep_id": row.sweep_id,
        "schedule_id": row.schedule_id,
        "reproduces_run_id": row.reproduces_run_id,
        "run_id": row.run_id,
        "executor": row.executor,
        "worker_pid": row.worker_pid,
        "worker_host": row.worker_host,
        "progress": {"cell": row.progress_cell, "total": row.progress_total},
        "cancel_requested": bool(row.cancel_requested),
        "error": row.error,
        "error_detail": row.error_detail,
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "started_at": iso(row.started_at),
        "ended_at": iso(row.ended_at),
    }


def pid_alive(pid: int | None, started_ms: int | None = None) -> bool:
    """Whether ``pid`` is a live process on this machine that existed when the job started."""
    if not pid:
        return False
    try:
        import psutil

        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        # A reused pid belongs to a process created after the job's worker died.
        return not (started_ms and proc.create_time() * 1000 > started_ms + 1000)
    except Exception:  # NoSuchProcess, AccessDenied (alive but not ours)...
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return False


class JobService:
    """Submit, list, cancel and wait for notebook jobs; the dispatcher's claim and report calls."""

    def __init__(self, store: Store) -> None:
        self.store = store
        #: called with the job id after each submit (an in-process dispatcher wakes up)
        self.listeners: list = []
        # wait() sleeps on this; finish() here and an in-process dispatcher (when its
        # executor reports a finished job) wake it, so waiting costs no store polling
        self._changed = threading.Condition()
        self._generation = 0
        #: the Jupyter server's contents root (set by the server extension): notebooks and
        #: working folders of jobs, sweeps and schedules stay inside it (:mod:`.paths`)
        self.contents_root: str | None = None

    def check_paths(
        self, notebook: str, cwd: str | None, git_ref: str | None, prefix: str = ""
    ) -> tuple[str, str | None]:
        """The notebook and cwd a job would run with, inside the contents root, the notebook
        valid (:func:`.paths.job_paths`); a 400 naming the field otherwise."""
        return job_paths(self.contents_root, notebook, cwd, git_ref, prefix)

    def notify_changed(self) -> None:
        """Tell this process's :meth:`wait` callers that some job may have finished."""
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    def change_token(self) -> int:
        """A token for :meth:`wait_for_change`: take it before reading the store."""
        with self._changed:
            return self._generation

    def wait_for_change(self, token: int, timeout: float) -> bool:
        """Sleep until this process learns of a finished job after ``token`` was taken, or
        ``timeout`` seconds pass; True when woken by a change."""
        with self._changed:
            if self._generation == token:
                self._changed.wait(timeout)
            return self._generation != token

    # -- the public interface ---------------------------------------------------------------
    def submit(
        self,
        *,
        actor: str,
        notebook: str,
        parameters: dict | None = None,
        experiment: str | None = None,
        project: str | None = None,
        name: str | None = None,
        cwd: str | None = None,
        env: dict | None = None,
        timeout_s: float | None = None,
        retries: int = 0,
        resources: dict | None = None,
        git_ref: str | None = None,
        sweep_id: str | None = None,
        schedule_id: str | None = None,
        reproduces_run_id: str | None = None,
        kernel_name: str | None = None,
        internal: bool = False,
    ) -> dict[str, Any]:
        """Queue a notebook job; returns the job (status ``pending``).

        Parameters
        ----------
        notebook : str
            Path of the notebook: under the contents root when there is one (relative paths
            start at the root), else absolute or relative to ``cwd``; relative to the
            repository root when ``git_ref`` is given. It must be a valid notebook.
        internal : bool
            True only for a notebook the services wrote themselves (reproduce's snapshot,
            outside the contents root); its paths are not confined to the root.
        parameters : dict, optional
            Injected after the ``parameters`` cell as Python literals.
        timeout_s : float, optional
            The whole execution's limit; the kernel is stopped when it is reached.
        retries : int
            How many more times to run the job when it fails because its worker died.
        resources : dict, optional
            Hints ``cpus``, ``memory`` (bytes or ``"4GB"``), ``gpus`` for the executor.
        git_ref : str, optional
            Run the notebook as committed at this ref, in a temporary git worktree.
        """
        if not isinstance(notebook, str) or not notebook.strip() or "\x00" in notebook:
            raise InvalidInput("notebook must be the path of a .ipynb file.", field="notebook")
        notebook = notebook.strip()
        if not notebook.endswith(".ipynb"):
            raise InvalidInput(f"notebook {notebook!r} is not a .ipynb file.", field="notebook")
        clean_params = validate_parameters(parameters)
        if cwd is not None and (not isinstance(cwd, str) or not cwd or "\x00" in cwd):
            raise InvalidInput("cwd must be a folder path.", field="cwd")
        if git_ref is not None and not isinstance(git_ref, str):
            raise InvalidInput("git_ref must be a git ref such as 'main'.", field="git_ref")
        notebook, cwd = job_paths(None if internal else self.contents_root, notebook, cwd, git_ref)
        if timeout_s is not None:
            timeout_s = to_float(timeout_s, "timeout_s")
            if not math.isfinite(timeout_s) or timeout_s <= 0:
                raise InvalidInput(
                    "timeout_s must be a positive number of seconds.", field="timeout_s"
                )
        retries = to_int(retries, "retries", 0)
        if not 0 <= retries <= 100:
            raise InvalidInput("retries must be between 0 and 100.", field="retries")
        if git_ref is not None:
            git_ref = validate_name(git_ref, "git_ref", 250)
            if git_ref.startswith("-"):
                raise InvalidInput("git_ref may not start with '-'.", field="git_ref")
        for field, value in (
            ("sweep_id", sweep_id),
            ("schedule_id", schedule_id),
            ("reproduces_run_id", reproduces_run_id),
        ):
            if value is not None:
                validate_id(value, field)
        job_id = new_id()
        now = now_ms()
        values = dict(
            id=job_id,
            name=validate_name(name, "name", 250) if name else _default_name(notebook, job_id),
            status="pending",
            notebook=notebook,
            parameters=clean_params,
            experiment=validate_name(experiment, "experiment") if experiment else None,
            project=validate_name(project, "project") if project else None,
            cwd=cwd,
            env=_clean_env(env),
            timeout_s=timeout_s,
            retries=retries,
            attempt=0,
            resources=_clean_resources(resources),
            git_ref=git_ref,
            kernel_name=validate_name(kernel_name, "kernel_name") if kernel_name else None,
            sweep_id=sweep_id,
            schedule_id=schedule_id,
            reproduces_run_id=reproduces_run_id,
            cancel_requested=False,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        with self.store.write() as conn:
            conn.execute(insert_on_conflict(conn, J).values(**values))
            audit(
                conn,
                actor,
                "job.submit",
                "job",
                job_id,
                {
                    "notebook": notebook,
                    "parameters": clean_params,
                    "sweep_id": sweep_id,
                    "schedule_id": schedule_id,
                    "git_ref": git_ref,
                },
            )
        job = self.get(job_id)  # as submitted: a woken dispatcher may start it at once
        for listener in list(self.listeners):
            listener(job_id)
        return job

    def get(self, job_id: str) -> dict[str, Any]:
        validate_id(job_id, "job_id")
        with self.store.read() as conn:
            row = conn.execute(
                select(J).where(J.c.id == job_id, readable(conn, "job", J.c.id))
            ).first()
        if row is None:
            raise NotFound(f"No job with id {job_id!r}.", field="job_id")
        return job_dict(row)

    def list(  # the interface other services code against
        self,
        status: str | Sequence[str] | None = None,
        sweep_id: str | None = None,
        schedule_id: str | None = None,
        max_results: Any = None,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """Jobs, newest first: ``{"items": [...], "next_page_token": ...}``."""
        limit, offset = page_bounds(max_results, page_token)
        query = select(J)
        if status:
            wanted = [status] if isinstance(status, str) else list(status)
            wanted = [s.strip() for item in wanted for s in item.split(",") if s.strip()]
            for s in wanted:
                if s not in STATUSES:
                    raise InvalidInput(
                        f"status must be one of {', '.join(STATUSES)}.", field="status"
                    )
            query = query.where(J.c.status.in_(wanted))
        if sweep_id:
            query = query.where(J.c.sweep_id == sweep_id)
        if schedule_id:
            query = query.where(J.c.schedule_id == schedule_id)
        query = query.order_by(J.c.created_at.desc(), J.c.id.desc()).limit(limit + 1).offset(offset)
        with self.store.read() as conn:
            rows = conn.execute(query.where(readable(conn, "job", J.c.id))).all()
        return {
            "items": [job_dict(r) for r in rows[:limit]],
            "next_page_token": next_token(offset, limit, len(rows)),
        }

    def cancel(self, job_id: str, *, actor: str) -> dict[str, Any]:
        """Cancel a job: a pending one at once, a running one by asking its worker to stop
        the kernel (the worker then records ``cancelled``). A finished job is a 409."""
        validate_id(job_id, "job_id")
        now = now_ms()
        with self.store.write() as conn:
            row = conn.execute(select(J.c.status).where(J.c.id == job_id)).first()
            if row is None:
                raise NotFound(f"No job with id {job_id!r}.", field="job_id")
            if row.status in FINAL_STATUSES:
                raise Conflict(
                    f"Job {job_id} is {row.status} already; only pending, queued or "
                    "running jobs can be cancelled.",
                    status=row.status,
                )
            if row.status == "pending":
                conn.execute(
                    update(J)
                    .where(J.c.id == job_id)
                    .values(
                        status="cancelled",
                        cancel_requested=True,
                        ended_at=now,
                        updated_at=now,
                        error="cancelled before it started",
                    )
                )
            else:
                conn.execute(
                    update(J).where(J.c.id == job_id).values(cancel_requested=True, updated_at=now)
                )
            audit(conn, actor, "job.cancel", "job", job_id, {"status_before": row.status})
        return self.get(job_id)

    def wait(self, job_id: str, timeout: float | None = None, poll: float = 0.2) -> dict[str, Any]:
        """Block until the job is finished (or ``timeout`` seconds pass); returns the job.

        Wakes as soon as this process learns of a finished job (a dispatcher running here
        heard from its executor, or :meth:`finish` ran here); the store is re-read every
        ``poll`` seconds anyway, for jobs other processes run.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._changed:
                generation = self._generation
            job = self.get(job_id)
            if job["status"] in FINAL_STATUSES:
                return job
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return job
            sleep = poll if deadline is None else min(poll, deadline - now)
            with self._changed:
                if self._generation == generation:
                    self._changed.wait(sleep)

    # -- for the dispatcher and the workers ---------------------------------------------------
    def claim(
        self,
        dispatcher_id: str,
        executor: str,
        *,
        job_ids: builtins.list[str] | None = None,
        limit: int = 1,
        pid: int | None = None,
        host: str | None = None,
        created_by: str | None = None,
        status: str = "running",
    ) -> builtins.list[dict[str, Any]]:
        """Atomically move up to ``limit`` pending jobs to ``status`` for this dispatcher:
        ``running`` (a local worker starts it now) or ``queued`` (a cluster executor holds it
        until a worker :meth:`start` s it); only ``created_by``'s jobs when given (a hub
        user's server runs theirs alone).

        The UPDATE re-checks ``status = 'pending'``, so of two dispatchers racing for one
        job exactly one sees its row updated (SQLite: BEGIN IMMEDIATE serialises writers;
        PostgreSQL: the row lock makes the loser re-evaluate the condition).
        """
        claimed: list[str] = []
        now = now_ms()
        with self.store.write() as conn:
            query = self._pending(job_ids, created_by)
            if job_ids is not None and not job_ids:
                return []
            candidates = (
                conn.execute(query.order_by(J.c.created_at, J.c.id).limit(limit * 4))
                .scalars()
                .all()
            )
            for job_id in candidates:
                if len(claimed) >= limit:
                    break
                done = conn.execute(
                    update(J)
                    .where(and_(J.c.id == job_id, J.c.status == "pending"))
                    .values(
                        status=status,
                        claimed_by=dispatcher_id,
                        executor=executor,
                        attempt=J.c.attempt + 1,
                        started_at=now,
                        updated_at=now,
                        ended_at=None,
                        progress_cell=None,
                        progress_total=None,
                        error=None,
                        error_detail=None,
                        cancel_requested=False,
                        # the claimer's pid until the worker writes its own
                        worker_pid=pid or os.getpid(),
                        worker_host=host or socket.gethostname(),
                    )
                )
                if done.rowcount == 1:
                    claimed.append(job_id)
        return [self.get(job_id) for job_id in claimed]

    def start(self, job_id: str) -> str:
        """A worker begins a ``queued`` job: it becomes ``running`` (its start time is now).
        Returns the job's status afterwards (a job cancelled meanwhile stays cancelled)."""
        now = now_ms()
        with self.store.write() as conn:
            conn.execute(
                update(J)
                .where(and_(J.c.id == job_id, J.c.status == "queued"))
                .values(status="running", started_at=now, updated_at=now)
            )
            status = conn.execute(select(J.c.status).where(J.c.id == job_id)).scalar()
        if status is None:
            raise NotFound(f"No job with id {job_id!r}.", field="job_id")
        return status

    def get_raw(self, job_id: str) -> dict[str, Any]:
        """The job with its env unmasked: only for the worker that runs it."""
        with self.store.read() as conn:
            row = conn.execute(select(J).where(J.c.id == job_id)).first()
        if row is None:
            raise NotFound(f"No job with id {job_id!r}.", field="job_id")
        job = job_dict(row)
        job["env"] = dict(row.env or {})
        return job

    def report(self, job_id: str, **values: Any) -> None:
        """A worker's write: pid/host, run id, progress (no audit: high-frequency)."""
        values["updated_at"] = now_ms()
        with self.store.write() as conn:
            conn.execute(update(J).where(J.c.id == job_id).values(**values))

    def cancel_requested(self, job_id: str) -> bool:
        with self.store.read() as conn:
            return bool(conn.execute(select(J.c.cancel_requested).where(J.c.id == job_id)).scalar())

    def finish(
        self,
        job_id: str,
        status: str,
        *,
        error: str | None = None,
        error_detail: dict | None = None,
        actor: str = "labcycle",
        run_id: str | None = None,
        run_status: str | None = None,
        progress: tuple[int, int] | None = None,
    ) -> dict[str, Any]:
        """Record a job's end (only if it is still queued or running: a finished job stays finished),
        and with it the end of its run (``run_status``) in the same transaction."""
        if status not in FINAL_STATUSES:
            raise InvalidInput(
                f"status must be one of {', '.join(FINAL_STATUSES)}.", field="status"
            )
        now = now_ms()
        values: dict[str, Any] = dict(
            status=status, error=error, error_detail=error_detail, ended_at=now, updated_at=now
        )
        if progress is not None:
            values.update(progress_cell=progress[0], progress_total=progress[1])
        with self.store.write() as conn:
            done = conn.execute(
                update(J)
                .where(and_(J.c.id == job_id, J.c.status.in_(ACTIVE_STATUSES)))
                .values(**values)
            )
            if done.rowcount:
                audit(
                    conn, actor, f"job.{status}", "job", job_id, {"error": error} if error else None
                )
            if run_id and run_status:
                from ..store.models import Run

                R = Run.__table__
                before = conn.execute(select(R.c.status).where(R.c.id == run_id)).scalar()
                conn.execute(
                    update(R)
                    .where(R.c.id == run_id)
                    .values(status=run_status, end_time=now, updated_at=now)
                )
                audit(
                    conn,
                    actor,
                    "run.update",
                    "run",
                    run_id,
                    {
                        "before": {"status": before},
                        "after": {"status": run_status, "end_time": now},
                    },
                )
        self.notify_changed()
        return self.get(job_id)

    def requeue_or_fail(self, job_id: str, reason: str, *, actor: str = "labcycle") -> str:
        """A queued or running job whose worker died: back to pending when it has retries left, else
        failed with ``reason``. Returns the new status."""
        now = now_ms()
        with self.store.write() as conn:
            row = conn.execute(
                select(
                    J.c.status, J.c.attempt, J.c.retries, J.c.run_id, J.c.cancel_requested
                ).where(J.c.id == job_id)
            ).first()
            if row is None or row.status not in ACTIVE_STATUSES:
                return row.status if row else "missing"
            if row.cancel_requested:
                new_status, values = "cancelled", {"error": "cancelled", "ended_at": now}
            elif row.attempt <= row.retries:
                new_status, values = (
                    "pending",
                    {
                        "error": f"attempt {row.attempt}: {reason}",
                        "claimed_by": None,
                        "worker_pid": None,
                    },
                )
            else:
                new_status, values = (
                    "failed",
                    {
                        "error": reason,
                        "ended_at": now,
                        "error_detail": {"reason": "worker_lost", "message": reason},
                    },
                )
            conn.execute(
                update(J)
                .where(and_(J.c.id == job_id, J.c.status.in_(ACTIVE_STATUSES)))
                .values(status=new_status, updated_at=now, **values)
            )
            audit(
                conn,
                actor,
                f"job.{'requeue' if new_status == 'pending' else new_status}",
                "job",
                job_id,
                {"reason": reason},
            )
        if row.run_id:  # this attempt's run ends either way; a retry makes a new run
            from ..store.models import Run

            with self.store.write() as conn:
                conn.execute(
                    update(Run.__table__)
                    .where(
                        and_(Run.__table__.c.id == row.run_id, Run.__table__.c.status == "running")
                    )
                    .values(
                        status="killed" if new_status == "cancelled" else "failed",
                        end_time=now,
                        updated_at=now,
                    )
                )
        return new_status

    def recover(
        self,
        *,
        host: str | None = None,
        actor: str = "labcycle",
        reason: str = SERVER_STOPPED,
        only_dispatcher_prefix: str | None = None,
    ) -> builtins.list[str]:
        """Jobs left ``running`` by a dead server/worker: failed with ``reason`` or re-queued.

        A job is dead when its worker ran on this host and its pid is gone (or it never
        got a pid), or when it ran elsewhere and has written nothing for a while.
        """
        host = host or socket.gethostname()
        with self.store.read() as conn:
            rows = conn.execute(
                select(
                    J.c.id,
                    J.c.worker_pid,
                    J.c.worker_host,
                    J.c.claimed_by,
                    J.c.started_at,
                    J.c.updated_at,
                ).where(J.c.status.in_(ACTIVE_STATUSES))
            ).all()
        changed = []
        stale = now_ms() - STALE_AFTER_MS
        for row in rows:
            if only_dispatcher_prefix and not (row.claimed_by or "").startswith(
                only_dispatcher_prefix
            ):
                continue
            worker_host = row.worker_host or (row.claimed_by or "").split("|")[0]
            if worker_host == host:
                dead = not pid_alive(row.worker_pid, row.started_at)
            else:
                dead = (row.updated_at or 0) < stale
            if dead:
                self.requeue_or_fail(row.id, reason, actor=actor)
                changed.append(row.id)
        return changed

    def running_ids(self, dispatcher_id: str) -> builtins.list[str]:
        with self.store.read() as conn:
            return list(
                conn.execute(
                    select(J.c.id).where(
                        and_(J.c.status.in_(ACTIVE_STATUSES), J.c.claimed_by == dispatcher_id)
                    )
                ).scalars()
            )

    @staticmethod
    def _pending(job_ids: builtins.list[str] | None, created_by: str | None) -> Any:
        query = select(J.c.id).where(J.c.status == "pending")
        if job_ids is not None:
            query = query.where(J.c.id.in_(job_ids))
        if created_by is not None:
            query = query.where(J.c.created_by == created_by)
        return query

    def pending_count(
        self, job_ids: builtins.list[str] | None = None, created_by: str | None = None
    ) -> int:
        from sqlalchemy import func

        query = select(func.count()).select_from(self._pending(job_ids, created_by).subquery())
        with self.store.read() as conn:
            return int(conn.execute(query).scalar() or 0)

    def unfinished(self, job_ids: builtins.list[str]) -> builtins.list[str]:
        with self.store.read() as conn:
            return list(
                conn.execute(
                    select(J.c.id).where(
                        and_(
                            J.c.id.in_(job_ids),
                            or_(J.c.status == "pending", J.c.status.in_(ACTIVE_STATUSES)),
                        )
                    )
                ).scalars()
            )


def _default_name(notebook: str, job_id: str) -> str:
    stem = os.path.basename(notebook)[: -len(".ipynb")] or "notebook"
    return f"{stem[:200]}-{job_id[:8]}"
