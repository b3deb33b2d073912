"""Schedules: work of a registered kind fired on a cron expression.

A schedule is ``kind`` + ``cron`` + ``timezone`` + ``payload`` + ``paused``, with
``next_run_at`` and ``last_run_at`` persisted in the store. Kinds are plugins::

    register_schedule_kind("job", fire_job, validate=validate_job_payload)

``fire(services, schedule) -> dict`` does the work (the "job" kind submits a notebook
job with ``schedule_id``) and returns a small result that is kept as ``last_result``.
Monitoring checks register their own kind later and share the same scheduler.

Restart safety and several servers: :meth:`ScheduleService.claim_due` moves a due
schedule's ``next_run_at`` to its next occurrence *after now* with a compare-and-set
``UPDATE ... WHERE next_run_at = <the value read>``; only the process whose update hit
the row fires it, so two servers never fire one occurrence twice, and a server that was
down for hours fires a missed schedule once, not once per missed occurrence.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter
from sqlalchemy import delete, insert, select, update

from ..errors import InvalidInput, NotFound
from ..store import Store
from ..store.models import Schedule
from .common import (
    audit,
    iso,
    new_id,
    next_token,
    now_ms,
    page_bounds,
    validate_id,
    validate_name,
)
from .ownership import readable

if TYPE_CHECKING:
    from . import Services

log = logging.getLogger(__name__)
S = Schedule.__table__


@dataclass(frozen=True)
class ScheduleKind:
    name: str
    fire: Callable[[Services, dict[str, Any]], dict[str, Any] | None]
    validate: Callable[[dict[str, Any], Services], dict[str, Any]] | None = None


SCHEDULE_KINDS: dict[str, ScheduleKind] = {}


def register_schedule_kind(
    name: str,
    fire: Callable[[Services, dict[str, Any]], dict[str, Any] | None],
    *,
    validate: Callable[[dict[str, Any], Services], dict[str, Any]] | None = None,
) -> None:
    """Make ``kind=name`` schedulable.

    Parameters
    ----------
    name : str
        The kind, as stored on schedules (``"job"``, ``"monitor"``...).
    fire : callable
        ``fire(services, schedule_dict)``, called once per claimed occurrence in the
        scheduler's process; returns a JSON-able dict kept as ``last_result``
        (e.g. ``{"job_id": ...}``). An exception is recorded as ``last_error``.
    validate : callable, optional
        ``validate(payload, services) -> payload``; raises :class:`InvalidInput` for a bad
        payload when a schedule is created or changed.
    """
    SCHEDULE_KINDS[name] = ScheduleKind(name, fire, validate)


# -- cron -----------------------------------------------------------------------------
def validate_timezone(tz: Any) -> str:
    if tz is None or tz == "":
        return "UTC"
    if not isinstance(tz, str):
        raise InvalidInput(
            "timezone must be an IANA name such as 'UTC' or 'Europe/Paris'.", field="timezone"
        )
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"timezone {tz!r} is not a known IANA time zone (e.g. 'UTC', 'Europe/Paris').",
            field="timezone",
        ) from None
    return tz


def validate_cron(cron: Any) -> str:
    if not isinstance(cron, str) or not cron.strip():
        raise InvalidInput(
            "cron must be a cron expression such as '0 3 * * *' (03:00 daily).", field="cron"
        )
    cron = " ".join(cron.split())
    if len(cron.split()) not in (5, 6) or not croniter.is_valid(cron):
        raise InvalidInput(
            f"cron {cron!r} is not a valid cron expression: give 5 fields 'minute hour "
            "day-of-month month day-of-week', e.g. '*/15 * * * *' or '0 3 * * 1-5'.",
            field="cron",
        )
    return cron


def next_fire(cron: str, tz: str, after_ms: int) -> int:
    """The first occurrence of ``cron`` in zone ``tz`` strictly after ``after_ms`` (ms epoch)."""
    zone = ZoneInfo(tz)
    start = datetime.fromtimestamp(after_ms / 1000, tz=timezone.utc).astimezone(zone)
    try:
        nxt = croniter(cron, start).get_next(datetime)
    except (CroniterBadCronError, CroniterBadDateError, CroniterError) as exc:
        raise InvalidInput(f"cron {cron!r} has no next occurrence: {exc}", field="cron") from None
    return int(nxt.timestamp() * 1000)


def schedule_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "cron": row.cron,
        "timezone": row.timezone,
        "payload": row.payload or {},
        "paused": bool(row.paused),
        "next_run_at": None if row.paused else iso(row.next_run_at),
        "last_run_at": iso(row.last_run_at),
        "last_status": row.last_status,
        "last_result": row.last_result,
        "last_error": row.last_error,
        "fire_count": row.fire_count,
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


class ScheduleService:
    """CRUD of schedules, and the claim-and-fire step the scheduler loop calls."""

    def __init__(self, store: Store, services_ref: Callable[[], Services]) -> None:
        self.store = store
        self._services = services_ref

    @staticmethod
    def _kind(kind: Any) -> ScheduleKind:
        if not isinstance(kind, str) or kind not in SCHEDULE_KINDS:
            raise InvalidInput(
                f"kind {kind!r} is not a registered schedule kind; known: "
                f"{', '.join(sorted(SCHEDULE_KINDS)) or 'none'}.",
                field="kind",
            )
        return SCHEDULE_KINDS[kind]

    def _payload(self, kind: ScheduleKind, payload: Any) -> dict[str, Any]:
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise InvalidInput("payload must be an object.", field="payload")
        return kind.validate(payload, self._services()) if kind.validate else payload

    def create(
        self,
        *,
        actor: str,
        kind: str,
        cron: str,
        payload: dict | None = None,
        timezone: str | None = None,
        name: str | None = None,
        paused: bool = False,
        now: int | None = None,
    ) -> dict[str, Any]:
        spec = self._kind(kind)
        cron = validate_cron(cron)
        tz = validate_timezone(timezone)
        clean = self._payload(spec, payload)
        if not isinstance(paused, bool):
            raise InvalidInput("paused must be true or false.", field="paused")
        now = now_ms() if now is None else now
        schedule_id = new_id()
        if name is None:
            name = (
                f"{kind}: {clean.get('notebook', '')}".strip(": ") or f"schedule-{schedule_id[:8]}"
            )
        values = dict(
            id=schedule_id,
            name=validate_name(name, "name", 250),
            kind=kind,
            cron=cron,
            timezone=tz,
            payload=clean,
            paused=paused,
            next_run_at=next_fire(cron, tz, now),
            last_run_at=None,
            last_status=None,
            last_result=None,
            last_error=None,
            fire_count=0,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        with self.store.write() as conn:
            conn.execute(insert(S).values(**values))
            audit(
                conn,
                actor,
                "schedule.create",
                "schedule",
                schedule_id,
                {"kind": kind, "cron": cron, "timezone": tz, "name": values["name"]},
            )
        return self.get(schedule_id)

    def get(self, schedule_id: str) -> dict[str, Any]:
        validate_id(schedule_id, "schedule_id")
        with self.store.read() as conn:
            row = conn.execute(
                select(S).where(S.c.id == schedule_id, readable(conn, "schedule", S.c.id))
            ).first()
        if row is None:
            raise NotFound(f"No schedule with id {schedule_id!r}.")
        return schedule_dict(row)

    def list(
        self, *, kind: str | None = None, max_results: Any = None, page_token: str | None = None
    ) -> dict[str, Any]:
        limit, offset = page_bounds(max_results, page_token)
        query = select(S)
        if kind:
            query = query.where(S.c.kind == kind)
        query = query.order_by(S.c.created_at.desc(), S.c.id).limit(limit + 1).offset(offset)
        with self.store.read() as conn:
            rows = conn.execute(query.where(readable(conn, "schedule", S.c.id))).all()
        return {
            "items": [schedule_dict(r) for r in rows[:limit]],
            "next_page_token": next_token(offset, limit, len(rows)),
        }

    def update(
        self,
        schedule_id: str,
        *,
        actor: str,
        paused: bool | None = None,
        cron: str | None = None,
        timezone: str | None = None,
        payload: dict | None = None,
        name: str | None = None,
        now: int | None = None,
    ) -> dict[str, Any]:
        """Pause, resume, or change the cron/zone/payload/name; ``next_run_at`` follows."""
        validate_id(schedule_id, "schedule_id")
        if paused is not None and not isinstance(paused, bool):
            raise InvalidInput("paused must be true or false.", field="paused")
        now = now_ms() if now is None else now
        with self.store.write() as conn:
            row = conn.execute(select(S).where(S.c.id == schedule_id)).first()
            if row is None:
                raise NotFound(f"No schedule with id {schedule_id!r}.")
            values: dict[str, Any] = {}
            if cron is not None:
                values["cron"] = validate_cron(cron)
            if timezone is not None:
                values["timezone"] = validate_timezone(timezone)
            if payload is not None:
                values["payload"] = self._payload(self._kind(row.kind), payload)
            if name is not None:
                values["name"] = validate_name(name, "name", 250)
            if paused is not None:
                values["paused"] = paused
            if not values:
                raise InvalidInput(
                    "Give at least one of paused, cron, timezone, payload, name.", field="body"
                )
            # A resumed or re-timed schedule starts from now: occurrences missed while it
            # was paused are skipped, not caught up.
            if "cron" in values or "timezone" in values or (paused is False and row.paused):
                values["next_run_at"] = next_fire(
                    values.get("cron", row.cron), values.get("timezone", row.timezone), now
                )
            values["updated_at"] = now
            conn.execute(update(S).where(S.c.id == schedule_id).values(**values))
            audit(
                conn,
                actor,
                "schedule.update",
                "schedule",
                schedule_id,
                {
                    "before": {
                        k: getattr(row, k) for k in values if k not in ("updated_at", "next_run_at")
                    },
                    "after": {
                        k: v for k, v in values.items() if k not in ("updated_at", "next_run_at")
                    },
                },
            )
        return self.get(schedule_id)

    def pause(self, schedule_id: str, *, actor: str) -> dict[str, Any]:
        return self.update(schedule_id, actor=actor, paused=True)

    def resume(self, schedule_id: str, *, actor: str) -> dict[str, Any]:
        return self.update(schedule_id, actor=actor, paused=False)

    def delete(self, schedule_id: str, *, actor: str) -> None:
        validate_id(schedule_id, "schedule_id")
        with self.store.write() as conn:
            row = conn.execute(select(S.c.name, S.c.kind).where(S.c.id == schedule_id)).first()
            if row is None:
                raise NotFound(f"No schedule with id {schedule_id!r}.")
            conn.execute(delete(S).where(S.c.id == schedule_id))
            audit(
                conn,
                actor,
                "schedule.delete",
                "schedule",
                schedule_id,
                {"name": row.name, "kind": row.kind},
            )

    def history(self, schedule_id: str, max_results: Any = None) -> builtins.list[dict[str, Any]]:
        """The jobs this schedule submitted, newest first (kind "job")."""
        self.get(schedule_id)
        jobs = self._services().jobs.list(schedule_id=schedule_id)
        items = jobs["items"] if isinstance(jobs, dict) else list(jobs)
        limit = 100 if max_results is None else int(max_results)
        return items[:limit]

    # -- the scheduler's step ---------------------------------------------------------------
    def claim_due(self, now: int | None = None) -> builtins.list[dict[str, Any]]:
        """Claim every due, unpaused schedule for this process (compare-and-set)."""
        now = now_ms() if now is None else now
        with self.store.read() as conn:
            rows = conn.execute(
                select(S)
                .where(S.c.paused.is_(False), S.c.next_run_at.is_not(None), S.c.next_run_at <= now)
                .order_by(S.c.next_run_at)
            ).all()
        claimed = []
        for row in rows:
            try:
                following = next_fire(row.cron, row.timezone, now)
            except InvalidInput:
                following = None
            with self.store.write() as conn:
                hit = conn.execute(
                    update(S)
                    .where(
                        S.c.id == row.id, S.c.next_run_at == row.next_run_at, S.c.paused.is_(False)
                    )
                    .values(
                        next_run_at=following,
                        last_run_at=now,
                        last_status="firing",
                        fire_count=S.c.fire_count + 1,
                        updated_at=now,
                    )
                ).rowcount
            if hit == 1:
                claimed.append({**schedule_dict(row), "occurrence": iso(row.next_run_at)})
        return claimed

    def fire(self, schedule: dict[str, Any]) -> dict[str, Any]:
        """Do one claimed occurrence's work and record how it went."""
        status, result, error = "ok", None, None
        try:
            kind = self._kind(schedule["kind"])
            result = kind.fire(self._services(), schedule) or {}
        except Exception as exc:  # one failing schedule must not stop the others
            log.warning(
                "LabCycle: schedule %s (%s) failed: %s", schedule["id"], schedule["name"], exc
            )
            status, error = "error", f"{type(exc).__name__}: {exc}"[:4000]
        with self.store.write() as conn:
            conn.execute(
                update(S)
                .where(S.c.id == schedule["id"])
                .values(last_status=status, last_result=result, last_error=error)
            )
            audit(
                conn,
                schedule["created_by"],
                "schedule.fire",
                "schedule",
                schedule["id"],
                {
                    "occurrence": schedule.get("occurrence"),
                    "status": status,
                    "result": result,
                    "error": error,
                },
            )
        return {"schedule_id": schedule["id"], "status": status, "result": result, "error": error}

    def run_due(self, now: int | None = None) -> builtins.list[dict[str, Any]]:
        """Claim and fire every due schedule; what the scheduler loop calls each tick."""
        return [self.fire(s) for s in self.claim_due(now)]


# -- the "job" kind ----------------------------------------------------------------------
_JOB_FIELDS = {
    "notebook",
    "parameters",
    "experiment",
    "project",
    "name",
    "cwd",
    "env",
    "timeout_s",
    "retries",
    "resources",
    "git_ref",
    "kernel_name",
}


def validate_job_payload(payload: dict[str, Any], services: Services) -> dict[str, Any]:
    """The payload of a job schedule, its paths resolved inside the contents root and its
    notebook checked now (the job service's own check), so a bad one is a 400 today rather
    than a failed job at 03:00."""
    unknown = sorted(set(payload) - _JOB_FIELDS)
    if unknown:
        raise InvalidInput(
            f"payload.{unknown[0]} is not a field of a job schedule; known: "
            f"{', '.join(sorted(_JOB_FIELDS))}.",
            field=f"payload.{unknown[0]}",
        )
    notebook = payload.get("notebook")
    if not isinstance(notebook, str) or not notebook.strip():
        raise InvalidInput(
            "payload.notebook must name the notebook to run.", field="payload.notebook"
        )
    parameters = payload.get("parameters")
    if parameters is not None:
        from .sweep_space import expand_trials

        expand_trials([parameters], field="payload.parameters")
    cwd, git_ref = payload.get("cwd"), payload.get("git_ref")
    for field, value in (("cwd", cwd), ("git_ref", git_ref)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InvalidInput(
                f"payload.{field} must be a non-empty string.", field=f"payload.{field}"
            )
    clean = dict(payload)
    clean["notebook"], resolved_cwd = services.jobs.check_paths(
        notebook.strip(), cwd, git_ref, prefix="payload."
    )
    if resolved_cwd is not None:
        clean["cwd"] = resolved_cwd
    return clean


def fire_job(services: Services, schedule: dict[str, Any]) -> dict[str, Any]:
    payload = dict(schedule["payload"])
    payload.setdefault("name", schedule["name"])
    job = services.jobs.submit(actor=schedule["created_by"], schedule_id=schedule["id"], **payload)
    return {"job_id": job["id"]}


register_schedule_kind("job", fire_job, validate=validate_job_payload)
