"""Sweeps: one notebook run over a parameter space, as many jobs, compared as one table.

A sweep row holds the expanded trials (see :mod:`.sweep_space`) and how many of them
have become jobs (``submitted``). Jobs are submitted incrementally by :meth:`advance`:
at most ``parallel`` of a sweep's jobs are unfinished at any time (the job queue's global
limit applies on top), so a 200-run sweep never puts 200 kernels in flight. ``advance``
is called by the scheduler loop of the server extension and by anyone waiting for the
sweep (``lc.sweep(...).wait()``, ``labcycle sweep``); it is safe to call from several
processes at once: the slots are claimed with a compare-and-set on ``submitted``, and a
job counts against ``parallel`` from the moment its slot is claimed until it finishes.
Slots whose claimer died before submitting their jobs are found once every trial is
claimed, and resubmitted only after :data:`LOST_SLOT_GRACE_MS` (the claimer may still be
submitting) by one process (a compare-and-set on ``updated_at``).

Lineage: each job carries ``sweep_id`` and, once it runs, the ``run_id`` of its run, so
sweep → jobs → runs is one query (:meth:`runs`); the job runner also tags each run
``labcycle.sweep_id``, so ``lc.search_runs("tags.`labcycle.sweep_id` = '…'")`` finds them. A sweep has no
parent run of its own: it is not an execution, and a parent run that never logs anything
would only clutter the runs table.
"""

from __future__ import annotations

import builtins
import contextlib
import math
import os
from typing import Any

from sqlalchemy import func, insert, select, update

from ..errors import Conflict, InvalidInput, LabCycleError, NotFound
from ..store import Store
from ..store.models import Job, Run, Sweep
from .common import (
    audit,
    iso,
    new_id,
    next_token,
    now_ms,
    page_bounds,
    to_int,
    validate_id,
    validate_name,
)
from .jobs import FINAL_STATUSES, JobService, validate_parameters
from .ownership import readable
from .sweep_space import expand
from .tracking import TrackingService

SW, J, R = Sweep.__table__, Job.__table__, Run.__table__
#: how long claimed slots may stay without their jobs before they count as lost (the
#: claimer died between claiming and submitting)
LOST_SLOT_GRACE_MS = 60_000
JOB_OPTIONS = ("cwd", "env", "timeout_s", "retries", "resources", "git_ref", "kernel_name")
MAX_PARALLEL = 256
SWEEP_TAG = "labcycle.sweep_id"  # set on every run by the job runner


def trial_name(sweep_name: str, index: int) -> str:
    return f"{sweep_name[:230]}#{index}"


def trial_index(job_name: str) -> int | None:
    _, sep, tail = job_name.rpartition("#")
    return int(tail) if sep and tail.isdigit() else None


class SweepService:
    def __init__(self, store: Store, jobs: JobService, tracking: TrackingService) -> None:
        self.store = store
        self.jobs = jobs
        self.tracking = tracking

    # -- create ------------------------------------------------------------------------------
    def create(
        self,
        *,
        actor: str,
        notebook: str,
        grid: dict | None = None,
        random: dict | None = None,  # the name users know
        trials: list | None = None,
        n_trials: int | None = None,
        seed: int | None = None,
        parameters: dict | None = None,
        parallel: int = 2,
        name: str | None = None,
        experiment: str | None = None,
        project: str | None = None,
        cwd: str | None = None,
        env: dict | None = None,
        timeout_s: float | None = None,
        retries: int = 0,
        resources: dict | None = None,
        git_ref: str | None = None,
        kernel_name: str | None = None,
        start: bool = True,
    ) -> dict[str, Any]:
        """Expand the spec, store the sweep and submit its first ``parallel`` jobs.

        Parameters
        ----------
        grid, random, trials, n_trials, seed
            The parameter space (:func:`.sweep_space.expand`).
        parameters : dict, optional
            Fixed parameters given to every trial (a trial's own values win).
        parallel : int
            At most this many of the sweep's jobs are pending or running at once.
        """
        if not isinstance(notebook, str) or not notebook.strip().endswith(".ipynb"):
            raise InvalidInput("notebook must be the path of a .ipynb file.", field="notebook")
        notebook = notebook.strip()
        spec_trials = expand(grid=grid, random=random, trials=trials, n_trials=n_trials, seed=seed)
        base = validate_parameters(parameters)
        expanded = []
        for i, trial in enumerate(spec_trials):
            try:
                expanded.append(validate_parameters({**base, **trial}))
            except InvalidInput as exc:
                raise InvalidInput(f"trial {i}: {exc.message}", **exc.details) from None
        parallel = to_int(parallel, "parallel", 2)
        if not 1 <= parallel <= MAX_PARALLEL:
            raise InvalidInput(f"parallel must be between 1 and {MAX_PARALLEL}.", field="parallel")
        options = {
            "cwd": cwd,
            "env": env,
            "timeout_s": timeout_s,
            "retries": retries,
            "resources": resources,
            "git_ref": git_ref,
            "kernel_name": kernel_name,
        }
        self._check_options(options)
        notebook, options["cwd"] = self.jobs.check_paths(notebook, cwd, git_ref)
        sweep_id = new_id()
        stem = os.path.basename(notebook)[: -len(".ipynb")] or "notebook"
        name = validate_name(name, "name", 200) if name else f"{stem[:180]}-sweep-{sweep_id[:6]}"
        now = now_ms()
        spec = {
            "grid": grid,
            "random": random,
            "trials": trials if trials is not None else None,
            "n_trials": n_trials,
            "seed": seed,
            "parameters": base,
        }
        with self.store.write() as conn:
            conn.execute(
                insert(SW).values(
                    id=sweep_id,
                    name=name,
                    notebook=notebook,
                    experiment=validate_name(experiment, "experiment") if experiment else None,
                    project=validate_name(project, "project") if project else None,
                    spec=spec,
                    trials=expanded,
                    job_options={k: v for k, v in options.items() if v is not None},
                    n_trials=len(expanded),
                    submitted=0,
                    parallel=parallel,
                    status="running",
                    error=None,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                    ended_at=None,
                )
            )
            audit(
                conn,
                actor,
                "sweep.create",
                "sweep",
                sweep_id,
                {
                    "name": name,
                    "notebook": notebook,
                    "n_trials": len(expanded),
                    "parallel": parallel,
                },
            )
        if start:
            self.advance(sweep_id)
        return self.get(sweep_id)

    @staticmethod
    def _check_options(options: dict[str, Any]) -> None:
        """Fail at creation, not at the 57th submission: the job service's own checks."""
        from . import jobs as jobs_module

        if options["env"] is not None:
            jobs_module._clean_env(options["env"])
        if options["resources"] is not None:
            jobs_module._clean_resources(options["resources"])
        if options["timeout_s"] is not None:
            t = options["timeout_s"]
            if (
                isinstance(t, bool)
                or not isinstance(t, (int, float))
                or not math.isfinite(t)
                or t <= 0
            ):
                raise InvalidInput(
                    "timeout_s must be a positive number of seconds.", field="timeout_s"
                )
        retries = to_int(options["retries"], "retries", 0)
        if not 0 <= retries <= 100:
            raise InvalidInput("retries must be between 0 and 100.", field="retries")
        for field in ("cwd", "git_ref", "kernel_name"):
            value = options[field]
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise InvalidInput(f"{field} must be a non-empty string.", field=field)

    # -- dispatch ----------------------------------------------------------------------------
    def _job_counts(self, conn: Any, sweep_id: str) -> dict[str, int]:
        rows = conn.execute(
            select(J.c.status, func.count()).where(J.c.sweep_id == sweep_id).group_by(J.c.status)
        ).all()
        return {status: int(n) for status, n in rows}

    def advance(self, sweep_id: str, *, actor: str | None = None) -> int:
        """Submit jobs into the sweep's free slots; mark it finished when all are done.

        Returns how many jobs were submitted. Safe to call concurrently (module docstring).
        """
        validate_id(sweep_id, "sweep_id")
        with self.store.read() as conn:
            row = conn.execute(select(SW).where(SW.c.id == sweep_id)).first()
            if row is None:
                raise NotFound(f"No sweep with id {sweep_id!r}.")
            if row.status != "running":
                return 0
            counts = self._job_counts(conn, sweep_id)
        final = sum(counts.get(s, 0) for s in FINAL_STATUSES)
        in_flight = row.submitted - final  # claimed slots whose jobs have not finished
        free = min(row.parallel - in_flight, row.n_trials - row.submitted)
        if free <= 0:
            if row.submitted >= row.n_trials and final >= row.n_trials:
                self._finish(sweep_id, counts)
            elif (
                row.submitted >= row.n_trials
                and sum(counts.values()) < row.n_trials
                and now_ms() - (row.updated_at or 0) > LOST_SLOT_GRACE_MS
            ):
                self._resubmit_lost(row)
            return 0
        now = now_ms()
        with self.store.write() as conn:
            claimed = conn.execute(
                update(SW)
                .where(
                    SW.c.id == sweep_id, SW.c.submitted == row.submitted, SW.c.status == "running"
                )
                .values(submitted=row.submitted + free, updated_at=now)
            ).rowcount
        if claimed != 1:
            return 0  # another process claimed these slots first
        for index in range(row.submitted, row.submitted + free):
            try:
                self._submit(row, index, actor)
            except LabCycleError as exc:  # e.g. the notebook was deleted: stop, say why
                self._stop(sweep_id, f"trial {index} could not be submitted: {exc.message}")
                return index - row.submitted
        return free

    def _stop(self, sweep_id: str, error: str) -> None:
        now = now_ms()
        with self.store.write() as conn:
            done = conn.execute(
                update(SW)
                .where(SW.c.id == sweep_id, SW.c.status == "running")
                .values(status="cancelled", error=error[:4000], ended_at=now, updated_at=now)
            ).rowcount
            if done:
                owner = conn.execute(
                    select(SW.c.created_by).where(SW.c.id == sweep_id)
                ).scalar_one()
                audit(conn, owner, "sweep.stop", "sweep", sweep_id, {"error": error})

    def _submit(self, row: Any, index: int, actor: str | None) -> dict[str, Any]:
        options = dict(row.job_options or {})
        return self.jobs.submit(
            actor=actor or row.created_by,
            notebook=row.notebook,
            parameters=row.trials[index],
            experiment=row.experiment,
            project=row.project,
            name=trial_name(row.name, index),
            sweep_id=row.id,
            **{k: options[k] for k in JOB_OPTIONS if k in options},
        )

    def _resubmit_lost(self, row: Any) -> None:
        """Slots claimed by a process that died before submitting: submit those trials
        (once: the process that moves ``updated_at`` on does it)."""
        with self.store.write() as conn:
            taken = conn.execute(
                update(SW)
                .where(
                    SW.c.id == row.id, SW.c.updated_at == row.updated_at, SW.c.status == "running"
                )
                .values(updated_at=now_ms())
            ).rowcount
        if taken != 1:
            return
        with self.store.read() as conn:
            names = conn.execute(select(J.c.name).where(J.c.sweep_id == row.id)).scalars().all()
        have = {trial_index(n) for n in names}
        for index in range(row.n_trials):
            if index not in have:
                self._submit(row, index, None)

    def _finish(self, sweep_id: str, counts: dict[str, int]) -> None:
        now = now_ms()
        with self.store.write() as conn:
            done = conn.execute(
                update(SW)
                .where(SW.c.id == sweep_id, SW.c.status == "running")
                .values(status="finished", ended_at=now, updated_at=now)
            ).rowcount
            if done:
                owner = conn.execute(
                    select(SW.c.created_by).where(SW.c.id == sweep_id)
                ).scalar_one()
                audit(conn, owner, "sweep.finish", "sweep", sweep_id, {"jobs": counts})

    def advance_all(self) -> int:
        """``advance`` every running sweep; the scheduler loop calls this each tick."""
        with self.store.read() as conn:
            ids = conn.execute(select(SW.c.id).where(SW.c.status == "running")).scalars().all()
        submitted = 0
        for sweep_id in ids:
            try:
                submitted += self.advance(sweep_id)
            except NotFound:
                continue
        return submitted

    def cancel(self, sweep_id: str, *, actor: str) -> dict[str, Any]:
        """Stop submitting and cancel the sweep's pending and running jobs."""
        validate_id(sweep_id, "sweep_id")
        now = now_ms()
        with self.store.write() as conn:
            row = conn.execute(select(SW.c.status).where(SW.c.id == sweep_id)).first()
            if row is None:
                raise NotFound(f"No sweep with id {sweep_id!r}.")
            if row.status != "running":
                raise Conflict(f"Sweep {sweep_id} is {row.status} already.", status=row.status)
            conn.execute(
                update(SW)
                .where(SW.c.id == sweep_id)
                .values(status="cancelled", ended_at=now, updated_at=now)
            )
            audit(conn, actor, "sweep.cancel", "sweep", sweep_id, None)
            job_ids = self._unfinished_job_ids(conn, sweep_id)
        for job_id in job_ids:
            with contextlib.suppress(Conflict):  # finished meanwhile
                self.jobs.cancel(job_id, actor=actor)
        return self.get(sweep_id)

    @staticmethod
    def _unfinished_job_ids(conn: Any, sweep_id: str) -> list[str]:
        return list(
            conn.execute(
                select(J.c.id).where(
                    J.c.sweep_id == sweep_id, J.c.status.in_(("pending", "queued", "running"))
                )
            ).scalars()
        )

    # -- read --------------------------------------------------------------------------------
    def unfinished_job_ids(self, sweep_id: str) -> list[str]:
        """The sweep's trials that are waiting or running (a process without a server
        hands them to its own workers)."""
        with self.store.read() as conn:
            return self._unfinished_job_ids(conn, sweep_id)

    def _summary(self, row: Any, counts: dict[str, int]) -> dict[str, Any]:
        progress = {
            "total": row.n_trials,
            "not_submitted": max(0, row.n_trials - row.submitted),
            "pending": counts.get("pending", 0),
            "queued": counts.get("queued", 0),
            "running": counts.get("running", 0),
            "succeeded": counts.get("succeeded", 0),
            "failed": counts.get("failed", 0),
            "cancelled": counts.get("cancelled", 0),
        }
        progress["done"] = progress["succeeded"] + progress["failed"] + progress["cancelled"]
        if row.status == "running":
            status = "running"
        elif row.status == "cancelled":
            status = "cancelled"
        else:
            status = "succeeded" if progress["succeeded"] == row.n_trials else "failed"
        return {
            "id": row.id,
            "name": row.name,
            "notebook": row.notebook,
            "experiment": row.experiment,
            "project": row.project,
            "status": status,
            "parallel": row.parallel,
            "n_trials": row.n_trials,
            "spec": row.spec or {},
            "progress": progress,
            "error": row.error,
            "created_by": row.created_by,
            "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at),
            "ended_at": iso(row.ended_at),
        }

    def get(self, sweep_id: str, *, with_runs: bool = False) -> dict[str, Any]:
        validate_id(sweep_id, "sweep_id")
        with self.store.read() as conn:
            row = conn.execute(
                select(SW).where(SW.c.id == sweep_id, readable(conn, "sweep", SW.c.id))
            ).first()
            if row is None:
                raise NotFound(f"No sweep with id {sweep_id!r}.")
            summary = self._summary(row, self._job_counts(conn, sweep_id))
        if with_runs:
            summary["runs"] = self.runs(sweep_id)
        return summary

    def list(
        self, *, status: str | None = None, max_results: Any = None, page_token: str | None = None
    ) -> dict[str, Any]:
        limit, offset = page_bounds(max_results, page_token)
        query = select(SW)
        if status:
            if status not in ("running", "finished", "cancelled"):
                raise InvalidInput("status must be running, finished or cancelled.", field="status")
            query = query.where(SW.c.status == status)
        query = query.order_by(SW.c.created_at.desc(), SW.c.id).limit(limit + 1).offset(offset)
        with self.store.read() as conn:
            rows = conn.execute(query.where(readable(conn, "sweep", SW.c.id))).all()
            page = rows[:limit]
            counts: dict[str, dict[str, int]] = {r.id: {} for r in page}
            if page:
                for sweep_id, status_, n in conn.execute(
                    select(J.c.sweep_id, J.c.status, func.count())
                    .where(J.c.sweep_id.in_(list(counts)))
                    .group_by(J.c.sweep_id, J.c.status)
                ):
                    counts[sweep_id][status_] = int(n)
        return {
            "items": [self._summary(r, counts[r.id]) for r in page],
            "next_page_token": next_token(offset, limit, len(rows)),
        }

    def runs(self, sweep_id: str) -> builtins.list[dict[str, Any]]:
        """One row per trial: its parameters, job, run, run status and latest metrics."""
        validate_id(sweep_id, "sweep_id")
        with self.store.read() as conn:
            row = conn.execute(
                select(SW.c.trials, SW.c.n_trials).where(SW.c.id == sweep_id)
            ).first()
            if row is None:
                raise NotFound(f"No sweep with id {sweep_id!r}.")
            jobs = conn.execute(
                select(
                    J.c.id,
                    J.c.name,
                    J.c.status,
                    J.c.run_id,
                    J.c.error,
                    J.c.created_at,
                    J.c.started_at,
                    J.c.ended_at,
                )
                .where(J.c.sweep_id == sweep_id)
                .order_by(J.c.created_at, J.c.id)
            ).all()
            run_ids = [j.run_id for j in jobs if j.run_id]
            runs: dict[str, Any] = {}
            for start in range(0, len(run_ids), 900):
                chunk = run_ids[start : start + 900]
                for r in conn.execute(
                    select(R.c.id, R.c.status, R.c.name).where(R.c.id.in_(chunk))
                ):
                    runs[r.id] = r
            _, metrics, _ = self.tracking._values_for(conn, run_ids)
        by_index: dict[int, Any] = {}
        for job in jobs:
            index = trial_index(job.name)
            if index is not None:
                by_index[index] = job  # a re-submitted trial: the newest job wins
        out = []
        for index in range(row.n_trials):
            trial_job = by_index.get(index)
            run = runs.get(trial_job.run_id) if trial_job is not None and trial_job.run_id else None
            duration = None
            if trial_job is not None and trial_job.started_at and trial_job.ended_at:
                duration = (trial_job.ended_at - trial_job.started_at) / 1000
            out.append(
                {
                    "trial": index,
                    "parameters": row.trials[index],
                    "job_id": trial_job.id if trial_job is not None else None,
                    "status": trial_job.status if trial_job is not None else "not_submitted",
                    "run_id": run.id if run is not None else None,
                    "run_status": run.status if run is not None else None,
                    "metrics": metrics.get(run.id, {}) if run is not None else {},
                    "error": trial_job.error if trial_job is not None else None,
                    "duration_s": duration,
                }
            )
        return out

    def best(self, sweep_id: str, metric: str, mode: str = "max") -> dict[str, Any]:
        """The trial whose run has the highest (``max``) or lowest (``min``) ``metric``."""
        if mode not in ("max", "min"):
            raise InvalidInput("mode must be 'max' or 'min'.", field="mode")
        if not isinstance(metric, str) or not metric:
            raise InvalidInput("metric must be a metric key.", field="metric")
        scored = [
            r
            for r in self.runs(sweep_id)
            if isinstance(r["metrics"].get(metric), (int, float))
            and not math.isnan(r["metrics"][metric])
        ]
        if not scored:
            raise NotFound(
                f"No run of sweep {sweep_id} has logged metric {metric!r} yet.", field="metric"
            )
        pick = max if mode == "max" else min
        return pick(scored, key=lambda r: r["metrics"][metric])
