"""Monitors: drift, data quality and performance checks of a deployment, with alerts.

A monitor compares *current* data (a window of a deployment's captured predictions, or a
logged dataset) with *reference* data (by default the training dataset logged with the
deployed model version) every time it runs: on its cron schedule (the shared scheduler,
kind ``"monitor"``) or on demand. Each check stores every statistic it computed, so the
history can be charted and audited; the monitor keeps its health (the last check's
status) and the alert state that makes a persisting problem alert once and its end send
one recovery notice.

The statistics live in :mod:`labcycle.monitoring` (drift, quality, performance); the
alert rules and delivery in :mod:`labcycle.monitoring.alerts`. This module only decides
which data to compare and records what came out.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update

from ..errors import Conflict, InvalidInput, LabCycleError, NotFound
from ..store.models import AlertEvent, Dataset, Monitor, MonitorCheck
from .common import (
    audit,
    iso,
    load_by_ref,
    new_id,
    next_token,
    now_ms,
    page_bounds,
    to_float,
    to_int,
    validate_name,
)
from .ownership import readable
from .schedules import register_schedule_kind

if TYPE_CHECKING:
    import pandas as pd

    from . import Services

log = logging.getLogger(__name__)
M, C, A, D = Monitor.__table__, MonitorCheck.__table__, AlertEvent.__table__, Dataset.__table__

#: What a new monitor uses unless told otherwise (shown in the panel's form).
DEFAULT_WINDOW = {"last_n": 1000}
DEFAULT_THRESHOLDS: dict[str, Any] = {
    "drift_share": 0.5,  # the dataset drifts when at least this share of columns drift
    "method": None,  # None: KS / chi-squared (≤ 1,000 reference rows) or distances
    "threshold": None,  # None: p < 0.05 for tests, 0.1 for distances
    "performance_drop": 0.05,  # a metric more than 5 points below its training value
    "columns": {},  # per feature: {"age": {"method": "psi", "threshold": 0.2}}
}
DEFAULT_COOLDOWN_S = 3600
MIN_ROWS = 10  # fewer current rows than this: no verdict ("no_data")
MAX_WINDOW_ROWS = 1_000_000
_LAST = re.compile(r"^(\d{1,4})([hdw])$")
_UNIT_MS = {"h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
PROBLEMS = ("drift", "degraded")


# -- validation ---------------------------------------------------------------------------
def validate_window(window: Any) -> dict[str, Any]:
    """``{"last_n": 1000}`` (the newest N predictions) or ``{"last": "1d"}`` (h, d or w)."""
    if window is None:
        return dict(DEFAULT_WINDOW)
    if not isinstance(window, dict) or len(window) != 1 or not set(window) <= {"last_n", "last"}:
        raise InvalidInput(
            'window must be {"last_n": N} (the newest N predictions) or '
            '{"last": "1d"} (a period in hours, days or weeks: "6h", "1d", "1w").',
            field="window",
        )
    if "last_n" in window:
        n = to_int(window["last_n"], "window.last_n")
        if not MIN_ROWS <= n <= MAX_WINDOW_ROWS:
            raise InvalidInput(
                f"window.last_n must be between {MIN_ROWS} and {MAX_WINDOW_ROWS:,}.",
                field="window.last_n",
            )
        return {"last_n": n}
    last = window["last"]
    if not isinstance(last, str) or not _LAST.match(last.strip()):
        raise InvalidInput(
            'window.last must be a number and a unit, e.g. "6h", "1d" or "1w".', field="window.last"
        )
    return {"last": last.strip()}


def validate_thresholds(thresholds: Any) -> dict[str, Any]:
    from ..monitoring import drift

    if thresholds is None:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULT_THRESHOLDS.items()}
    if not isinstance(thresholds, dict):
        raise InvalidInput(
            'thresholds must be an object, e.g. {"drift_share": 0.5}.', field="thresholds"
        )
    unknown = sorted(set(thresholds) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise InvalidInput(
            f"thresholds.{unknown[0]} is not a threshold; known: {', '.join(DEFAULT_THRESHOLDS)}.",
            field=f"thresholds.{unknown[0]}",
        )
    out = validate_thresholds(None)
    methods = set(drift.METHODS)

    def method_of(value: Any, field: str) -> str | None:
        if value is None:
            return None
        if value not in methods:
            raise InvalidInput(f"{field} must be one of {', '.join(sorted(methods))}.", field=field)
        return value

    def positive(value: Any, field: str, upper: float | None = None) -> float | None:
        if value is None:
            return None
        number = to_float(value, field)
        if not (number > 0 and math.isfinite(number)) or (upper is not None and number > upper):
            bound = f" and at most {upper}" if upper is not None else ""
            raise InvalidInput(f"{field} must be a number above 0{bound}.", field=field)
        return number

    if "drift_share" in thresholds:
        out["drift_share"] = positive(thresholds["drift_share"], "thresholds.drift_share", 1.0)
    if "performance_drop" in thresholds:
        out["performance_drop"] = positive(
            thresholds["performance_drop"], "thresholds.performance_drop", 1.0
        )
    out["method"] = method_of(thresholds.get("method"), "thresholds.method")
    out["threshold"] = positive(thresholds.get("threshold"), "thresholds.threshold")
    columns = thresholds.get("columns") or {}
    if not isinstance(columns, dict):
        raise InvalidInput(
            'thresholds.columns must map a feature to {"method", "threshold"}.',
            field="thresholds.columns",
        )
    for name, spec in columns.items():
        field = f"thresholds.columns.{name}"
        if not isinstance(spec, dict) or not set(spec) <= {"method", "threshold"}:
            raise InvalidInput(
                f'{field} must be {{"method"?: ..., "threshold"?: ...}}.', field=field
            )
        out["columns"][str(name)] = {
            "method": method_of(spec.get("method"), f"{field}.method"),
            "threshold": positive(spec.get("threshold"), f"{field}.threshold"),
        }
    return out


def validate_features(features: Any) -> list[str] | None:
    if features is None:
        return None
    if (
        not isinstance(features, list)
        or not features
        or len(features) > 1000
        or not all(isinstance(f, str) and f and len(f) <= 250 for f in features)
    ):
        raise InvalidInput(
            "features must be a non-empty list of column names (or null: all "
            "the model's input columns).",
            field="features",
        )
    return list(dict.fromkeys(features))


def _window_since(window: dict[str, Any], now: int) -> int | None:
    if "last" not in window:
        return None
    match = _LAST.match(window["last"])
    assert match is not None  # validate_window accepted it
    amount, unit = match.groups()
    return now - int(amount) * _UNIT_MS[unit]


def monitor_dict(row: Any) -> dict[str, Any]:
    from ..monitoring.alerts import redact_channels

    return {
        "id": row.id,
        "name": row.name,
        "deployment_id": row.deployment_id,
        "reference_dataset_id": row.reference_dataset_id,
        "current_dataset_id": row.current_dataset_id,
        "target": row.target,
        "window": row.window,
        "features": row.features,
        "thresholds": row.thresholds,
        "channels": redact_channels(row.channels or []),
        "cooldown_s": row.cooldown_s,
        "schedule_id": row.schedule_id,
        "health": row.health,
        "alerting": (row.alert_state or {}).get("status") == "alerting",
        "last_check_id": row.last_check_id,
        "last_checked_at": iso(row.last_checked_at),
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def check_dict(row: Any, *, full: bool = True) -> dict[str, Any]:
    out = {
        "id": row.id,
        "monitor_id": row.monitor_id,
        "trigger": row.trigger,
        "status": row.status,
        "dataset_drift": row.dataset_drift,
        "share_drifted": row.share_drifted,
        "current_rows": row.current_rows,
        "summary": row.summary,
        "error": row.error,
        "created_by": row.created_by,
        "started_at": iso(row.started_at),
        "finished_at": iso(row.finished_at),
    }
    if full:
        out["result"] = row.result or {}
    else:  # the timeline: per-feature scores without histograms
        columns = ((row.result or {}).get("drift") or {}).get("columns") or {}
        out["columns"] = {
            name: {"score": c.get("score"), "drifted": c.get("drifted")}
            for name, c in columns.items()
        }
    return out


def alert_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "monitor_id": row.monitor_id,
        "check_id": row.check_id,
        "event": row.event,
        "channel": row.channel,
        "status": row.status,
        "attempts": row.attempts,
        "error": row.error,
        "summary": row.summary,
        "created_at": iso(row.created_at),
        "sent_at": iso(row.sent_at),
    }


class MonitorService:
    """Create monitors, run their checks, keep their history and send their alerts."""

    def __init__(self, services: Services) -> None:
        from ..config import LabCycleConfig

        config = LabCycleConfig()
        self.services = services
        #: where the monitoring apps are served, for links in alerts (the server sets it)
        self.app_base_url: str | None = config.public_url or None
        #: hosts, patterns and CIDRs webhooks may reach besides public addresses
        self.webhook_allow: list[str] = list(config.webhook_allow)
        self._delivery = None

    @property
    def store(self):
        return self.services.store

    # -- reading -------------------------------------------------------------------------------
    def _load(self, conn: Any, ref: Any) -> Any:
        return load_by_ref(conn, M, ref, "monitor")

    def get(self, ref: str) -> dict[str, Any]:
        with self.store.read() as conn:
            row = self._load(conn, ref)
            out = monitor_dict(row)
            out["latest_check"] = self._latest(conn, row.last_check_id)
        out["schedule"] = self._schedule(row.schedule_id)
        return out

    def list(
        self,
        *,
        deployment: str | None = None,
        max_results: Any = None,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        limit, offset = page_bounds(max_results, page_token)
        query = select(M).order_by(M.c.created_at.desc(), M.c.id)
        if deployment:
            query = query.where(
                M.c.deployment_id == self.services.deployments.get(deployment)["id"]
            )
        with self.store.read() as conn:
            query = query.where(readable(conn, "monitor", M.c.id))
            rows = conn.execute(query.limit(limit + 1).offset(offset)).all()
            items = []
            for row in rows[:limit]:
                item = monitor_dict(row)
                item["latest_check"] = self._latest(conn, row.last_check_id)
                items.append(item)
        for item, row in zip(items, rows, strict=False):
            item["schedule"] = self._schedule(row.schedule_id)
        return {"items": items, "next_page_token": next_token(offset, limit, len(rows))}

    def _latest(self, conn: Any, check_id: str | None) -> dict[str, Any] | None:
        if not check_id:
            return None
        row = conn.execute(select(C).where(C.c.id == check_id)).one_or_none()
        return None if row is None else check_dict(row, full=False)

    def _schedule(self, schedule_id: str | None) -> dict[str, Any] | None:
        if not schedule_id:
            return None
        try:
            s = self.services.schedules.get(schedule_id)
        except NotFound:
            return None
        return {
            k: s.get(k)
            for k in (
                "id",
                "cron",
                "timezone",
                "paused",
                "next_run_at",
                "last_run_at",
                "last_status",
            )
        }

    def checks(
        self,
        ref: str,
        *,
        max_results: Any = None,
        page_token: str | None = None,
        full: bool = False,
    ) -> dict[str, Any]:
        """The monitor's checks, newest first (``full``: with every statistic)."""
        limit, offset = page_bounds(max_results, page_token)
        with self.store.read() as conn:
            monitor_id = self._load(conn, ref).id
            rows = conn.execute(
                select(C)
                .where(C.c.monitor_id == monitor_id)
                .order_by(C.c.started_at.desc(), C.c.id)
                .limit(limit + 1)
                .offset(offset)
            ).all()
        return {
            "items": [check_dict(r, full=full) for r in rows[:limit]],
            "next_page_token": next_token(offset, limit, len(rows)),
        }

    def check(self, ref: str, check_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            monitor_id = self._load(conn, ref).id
            row = conn.execute(
                select(C).where(C.c.id == check_id, C.c.monitor_id == monitor_id)
            ).one_or_none()
        if row is None:
            raise NotFound(f"Monitor {ref!r} has no check {check_id!r}.", field="check_id")
        return check_dict(row)

    def alerts(
        self, ref: str | None = None, *, max_results: Any = None, page_token: str | None = None
    ) -> dict[str, Any]:
        """The alert log (of one monitor, or of all), newest first."""
        limit, offset = page_bounds(max_results, page_token)
        query = select(A).order_by(A.c.created_at.desc(), A.c.id)
        with self.store.read() as conn:
            if ref is not None:
                query = query.where(A.c.monitor_id == self._load(conn, ref).id)
            rows = conn.execute(query.limit(limit + 1).offset(offset)).all()
        return {
            "items": [alert_dict(r) for r in rows[:limit]],
            "next_page_token": next_token(offset, limit, len(rows)),
        }

    # -- writing -------------------------------------------------------------------------------
    def create(
        self,
        *,
        actor: str,
        name: str | None = None,
        deployment: str | None = None,
        reference_dataset: str | None = None,
        current_dataset: str | None = None,
        target: str | None = None,
        window: Any = None,
        features: Any = None,
        thresholds: Any = None,
        channels: Any = None,
        cooldown_s: Any = None,
        cron: str | None = None,
        timezone: str | None = None,
    ) -> dict[str, Any]:
        """A monitor on ``deployment`` (its captured traffic) or on ``current_dataset``."""
        from ..monitoring.alerts import validate_channels

        if bool(deployment) == bool(current_dataset):
            raise InvalidInput(
                "Give either deployment (to watch its traffic) or current_dataset "
                "(to compare two logged datasets), not both.",
                field="deployment",
            )
        dep = self.services.deployments.get(deployment) if deployment else None
        if reference_dataset:
            reference_id = self._dataset_with_content(reference_dataset, "reference_dataset")["id"]
        elif dep is not None:
            reference_id = self._training_dataset(dep)
        else:
            raise InvalidInput(
                "reference_dataset is needed to compare two datasets.", field="reference_dataset"
            )
        current_id = (
            self._dataset_with_content(current_dataset, "current_dataset")["id"]
            if current_dataset
            else None
        )
        if target is not None and (not isinstance(target, str) or not 0 < len(target) <= 250):
            raise InvalidInput(
                "target must name the reference data's label column.", field="target"
            )
        default_name = dep["name"] if dep else f"datasets-{(current_id or '')[:8]}"
        name = validate_name(name or f"{default_name}-monitor", "name")
        values: dict[str, Any] = {
            "window": validate_window(window),
            "features": validate_features(features),
            "thresholds": validate_thresholds(thresholds),
            "channels": validate_channels(channels or [], allow=self.webhook_allow),
            "cooldown_s": DEFAULT_COOLDOWN_S
            if cooldown_s is None
            else to_int(cooldown_s, "cooldown_s"),
        }
        if not 0 <= values["cooldown_s"] <= 30 * 86400:
            raise InvalidInput(
                "cooldown_s must be between 0 and 2,592,000 (30 days).", field="cooldown_s"
            )
        monitor_id, now = new_id(), now_ms()
        with self.store.write() as conn:
            if conn.execute(select(M.c.id).where(M.c.name == name)).first():
                raise Conflict(
                    f"A monitor named {name!r} exists; choose another name.", field="name"
                )
            conn.execute(
                insert(M).values(
                    id=monitor_id,
                    name=name,
                    deployment_id=dep["id"] if dep else None,
                    reference_dataset_id=reference_id,
                    current_dataset_id=current_id,
                    target=target,
                    alert_state=None,
                    health="unknown",
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
            )
            audit(
                conn,
                actor,
                "monitor.create",
                "monitor",
                monitor_id,
                {
                    "name": name,
                    "deployment_id": dep["id"] if dep else None,
                    "reference_dataset_id": reference_id,
                    "window": values["window"],
                },
            )
        if cron:
            try:
                self._set_schedule(monitor_id, name, cron, timezone, actor)
            except LabCycleError:
                with self.store.write() as conn:  # a bad cron: no half-made monitor
                    conn.execute(delete(M).where(M.c.id == monitor_id))
                raise
        return self.get(monitor_id)

    def _set_schedule(
        self, monitor_id: str, name: str, cron: str, timezone: str | None, actor: str
    ) -> None:
        schedule = self.services.schedules.create(
            actor=actor,
            kind="monitor",
            cron=cron,
            timezone=timezone,
            payload={"monitor_id": monitor_id},
            name=f"monitor {name}",
        )
        with self.store.write() as conn:
            conn.execute(
                update(M)
                .where(M.c.id == monitor_id)
                .values(schedule_id=schedule["id"], updated_at=now_ms())
            )

    def update(
        self,
        ref: str,
        *,
        actor: str,
        window: Any = ...,
        features: Any = ...,
        thresholds: Any = ...,
        channels: Any = ...,
        cooldown_s: Any = ...,
        cron: Any = ...,
        timezone: Any = None,
        paused: bool | None = None,
    ) -> dict[str, Any]:
        """Change settings; ``cron=None`` removes the schedule; ``paused`` pauses it."""
        from ..monitoring.alerts import validate_channels

        values: dict[str, Any] = {}
        if window is not ...:
            values["window"] = validate_window(window)
        if features is not ...:
            values["features"] = validate_features(features)
        if thresholds is not ...:
            values["thresholds"] = validate_thresholds(thresholds)
        if channels is not ...:
            with self.store.read() as conn:  # "secret_set": true keeps the stored secret
                previous = self._load(conn, ref).channels
            values["channels"] = validate_channels(
                channels or [], allow=self.webhook_allow, previous=previous
            )
        if cooldown_s is not ...:
            values["cooldown_s"] = to_int(cooldown_s, "cooldown_s")
        with self.store.read() as conn:
            row = self._load(conn, ref)
        schedules = self.services.schedules
        if cron is not ...:
            if row.schedule_id:
                if cron:
                    schedules.update(row.schedule_id, actor=actor, cron=cron, timezone=timezone)
                else:
                    schedules.delete(row.schedule_id, actor=actor)
                    values["schedule_id"] = None
            elif cron:
                self._set_schedule(row.id, row.name, cron, timezone, actor)
        if paused is not None:
            schedule_id = values.get("schedule_id", self._load_fresh(row.id).schedule_id)
            if not schedule_id:
                raise InvalidInput(
                    "This monitor has no schedule to pause or resume; give it a cron first.",
                    field="paused",
                )
            (schedules.pause if paused else schedules.resume)(schedule_id, actor=actor)
        if values:
            with self.store.write() as conn:
                conn.execute(
                    update(M).where(M.c.id == row.id).values(updated_at=now_ms(), **values)
                )
                changed = {k: v for k, v in values.items() if k != "channels"}
                if "channels" in values:
                    changed["channels"] = len(values["channels"])
                audit(conn, actor, "monitor.update", "monitor", row.id, changed)
        return self.get(row.id)

    def _load_fresh(self, monitor_id: str) -> Any:
        with self.store.read() as conn:
            return self._load(conn, monitor_id)

    def delete(self, ref: str, *, actor: str) -> None:
        with self.store.read() as conn:
            row = self._load(conn, ref)
        if row.schedule_id:
            with contextlib.suppress(NotFound):  # deleted on its own already
                self.services.schedules.delete(row.schedule_id, actor=actor)
        with self.store.write() as conn:
            conn.execute(delete(M).where(M.c.id == row.id))
            audit(conn, actor, "monitor.delete", "monitor", row.id, {"name": row.name})

    # -- data ----------------------------------------------------------------------------------
    def _dataset_with_content(self, ref: str, field: str) -> dict[str, Any]:
        with self.store.read() as conn:
            row = conn.execute(select(D).where(D.c.id == ref)).one_or_none()
            if row is None:  # by name: the newest dataset of that name
                row = conn.execute(
                    select(D).where(D.c.name == ref).order_by(D.c.created_at.desc())
                ).first()
        if row is None:
            raise NotFound(f"No dataset {ref!r}.", field=field)
        if not row.content_digest:
            raise InvalidInput(
                f"Dataset {row.name!r} was logged without its content, so it "
                "cannot be compared; log it with lc.log_dataset(df) (content is "
                "kept by default).",
                field=field,
            )
        return {"id": row.id, "name": row.name}

    def _training_dataset(self, dep: dict[str, Any]) -> str:
        """The dataset the deployed version was trained on (its run's input with content)."""
        version = self.services.registry.resolve(dep["model_ref"])
        ids = [
            d["id"]
            for d in (version.get("lineage") or {}).get("datasets") or []
            if d.get("context") in (None, "training", "train", "input")
        ]
        with self.store.read() as conn:
            rows = (
                conn.execute(
                    select(D.c.id).where(D.c.id.in_(ids), D.c.content_digest.is_not(None))
                ).all()
                if ids
                else []
            )
        if not rows:
            raise InvalidInput(
                f"Model {version['ref']} has no training dataset with stored content: give "
                "reference_dataset (a dataset logged with lc.log_dataset(df)), or log the "
                "training data with lc.log_dataset in the run that logs the model.",
                field="reference_dataset",
            )
        return rows[0].id

    def _read_dataset(self, dataset_id: str | None, field: str) -> pd.DataFrame:
        if not dataset_id:
            raise InvalidInput(f"The monitor's {field} was deleted; set another one.", field=field)
        with self.store.read() as conn:
            digest = conn.execute(select(D.c.content_digest).where(D.c.id == dataset_id)).scalar()
        if not digest:
            raise InvalidInput(f"The monitor's {field} has no stored content.", field=field)
        import pandas as pd

        return pd.read_parquet(io.BytesIO(self.services.blobs.read_bytes(digest)))

    def current_data(self, row: Any, now: int, window: dict | None = None) -> pd.DataFrame:
        """The window of captured predictions: ``input.<col>`` columns renamed to ``<col>``.

        ``window`` overrides the monitor's (``{}``: every captured prediction)."""
        from ..serving.capture import INPUT_PREFIX
        from ..serving.logs import read_predictions

        if row.current_dataset_id:
            return self._read_dataset(row.current_dataset_id, "current_dataset")
        window = row.window if window is None else window
        since = _window_since(window, now)
        frame = read_predictions(row.deployment_id, since=since, services=self.services)
        if len(frame):  # a check dated in the past sees only what had arrived by then
            import pandas as pd

            frame = frame[frame["ts"] <= pd.Timestamp(now, unit="ms", tz="UTC")]
        if "last_n" in window and len(frame) > window["last_n"]:
            frame = frame.sort_values("ts", kind="stable").iloc[-window["last_n"] :]
        return frame.rename(
            columns={c: c[len(INPUT_PREFIX) :] for c in frame.columns if c.startswith(INPUT_PREFIX)}
        ).reset_index(drop=True)

    def _version(self, row: Any, current: pd.DataFrame) -> dict[str, Any] | None:
        """The model version that served most of the window (for features, task, metrics)."""
        if not row.deployment_id:
            return None
        if "version_id" in current and current["version_id"].notna().any():
            version_id = Counter(current["version_id"].dropna()).most_common(1)[0][0]
            try:
                return self.services.registry.get_version_by_id(version_id)
            except NotFound:
                pass
        dep = self.services.deployments.get(row.deployment_id)
        try:
            return self.services.registry.resolve(dep["model_ref"])
        except LabCycleError:
            return None

    # -- checks --------------------------------------------------------------------------------
    def run_check(
        self, ref: str, *, actor: str, trigger: str = "manual", now: int | None = None
    ) -> dict[str, Any]:
        """Compute drift, data quality and performance now; store and alert on the result."""
        with self.store.read() as conn:
            row = self._load(conn, ref)
        started = now_ms() if now is None else now
        try:
            result = self._evaluate(row, started)
            status, error = result.pop("status"), None
        except LabCycleError as exc:
            result, status, error = {}, "error", exc.message
        except Exception as exc:  # a broken check is recorded, not raised
            log.exception("LabCycle: check of monitor %s failed", row.id)
            result, status, error = {}, "error", f"{type(exc).__name__}: {exc}"
        drift = result.get("drift") or {}
        summary = error or result.pop("summary", "")
        check_id = new_id()
        with self.store.write() as conn:
            conn.execute(
                insert(C).values(
                    id=check_id,
                    monitor_id=row.id,
                    trigger=trigger,
                    status=status,
                    dataset_drift=drift.get("dataset_drift"),
                    share_drifted=drift.get("share_drifted"),
                    current_rows=result.get("current_rows"),
                    summary=summary[:4000],
                    result=result,
                    error=error,
                    created_by=actor,
                    started_at=started,
                    finished_at=now_ms(),
                )
            )
            fresh = self._load(conn, row.id)  # the state another check may have moved
            decision = self._decide(fresh, status, result, started)
            conn.execute(
                update(M)
                .where(M.c.id == row.id)
                .values(
                    health=status,
                    last_check_id=check_id,
                    last_checked_at=started,
                    alert_state=decision.state if decision else fresh.alert_state,
                )
            )
            audit(
                conn,
                actor,
                "monitor.check",
                "monitor",
                row.id,
                {
                    "check_id": check_id,
                    "trigger": trigger,
                    "status": status,
                    "alert": decision.action if decision else None,
                },
            )
        check = self.check(row.id, check_id)
        if decision is not None and decision.action in ("fire", "recover", "remind"):
            self._send(fresh, check, decision.action)
        return check

    def _evaluate(self, row: Any, now: int) -> dict[str, Any]:
        from ..monitoring.drift import compute_drift
        from ..monitoring.quality import data_quality, prediction_drift

        reference = self._read_dataset(row.reference_dataset_id, "reference_dataset")
        current = self.current_data(row, now)
        version = self._version(row, current)
        signature = (version or {}).get("signature") or {}
        inputs = [c["name"] for c in signature.get("inputs") or []]
        features = (
            row.features
            or inputs
            or [c for c in reference.columns if c in current.columns and c != row.target]
        )
        out: dict[str, Any] = {
            "current_rows": len(current),
            "reference_rows": len(reference),
            "features": features,
            "model_version": version["ref"] if version else None,
        }
        if len(current) < MIN_ROWS:
            out["status"] = "no_data"
            out["summary"] = (
                f"{len(current)} current rows (fewer than {MIN_ROWS}): no verdict "
                "yet; the window fills as predictions arrive."
            )
            return out
        out["quality"] = data_quality(reference, current, columns=features)
        usable = [f for f in features if f in reference.columns and f in current.columns]
        if not usable:
            raise InvalidInput(
                "The reference and current data share none of the monitored "
                f"features ({', '.join(features[:10])}).",
                field="features",
            )
        t = row.thresholds or {}
        per_col = t.get("columns") or {}
        methods = {c: s["method"] for c, s in per_col.items() if s.get("method")}
        limits = {c: s["threshold"] for c, s in per_col.items() if s.get("threshold")}
        if t.get("method"):
            methods["*"] = t["method"]
        if t.get("threshold"):
            limits["*"] = t["threshold"]
        out["drift"] = compute_drift(
            reference[usable],
            current[usable],
            methods=methods or None,
            thresholds=limits or None,
            drift_share=t.get("drift_share") or 0.5,
        ).to_dict()
        if row.target and row.target in reference.columns and "prediction" in current.columns:
            out["prediction_drift"] = prediction_drift(reference[row.target], current["prediction"])
        out["performance"] = self._performance(current, version, t)
        degraded = bool((out["performance"] or {}).get("drops"))
        drifted = bool(out["drift"].get("dataset_drift")) or bool(
            (out.get("prediction_drift") or {}).get("drifted")
        )
        out["status"] = "degraded" if degraded else "drift" if drifted else "ok"
        out["summary"] = _summary(out)
        return out

    def _performance(
        self, current: pd.DataFrame, version: dict | None, thresholds: dict
    ) -> dict[str, Any] | None:
        from ..monitoring.performance import compare_to_reference, performance

        if "ground_truth" not in current or "prediction" not in current:
            return None
        labelled = current[current["ground_truth"].notna()]
        if len(labelled) < MIN_ROWS:
            return {
                "labelled_rows": len(labelled),
                "metrics": None,
                "drops": [],
                "note": f"{len(labelled)} predictions have ground truth (fewer than "
                f"{MIN_ROWS}): no performance verdict yet.",
            }
        classes = None
        for output in ((version or {}).get("signature") or {}).get("outputs") or []:
            classes = classes or output.get("classes")
        task = "classification" if classes else None
        scores = None
        if "probability" in labelled and labelled["probability"].notna().all():
            scores = labelled["probability"].tolist()
        metrics = performance(
            labelled["ground_truth"].tolist(),
            labelled["prediction"].tolist(),
            y_score=scores,
            task=task,
        )
        comparison = compare_to_reference(
            metrics,
            (version or {}).get("metrics") or {},
            max_drop=thresholds.get("performance_drop") or 0.05,
        )
        return {"labelled_rows": len(labelled), "metrics": metrics, **comparison}

    def performance_history(self, ref: str, *, freq: str = "1D") -> dict[str, Any]:
        """Performance per time window over all captured predictions with ground truth."""
        from ..monitoring.performance import performance_over_time

        if not isinstance(freq, str) or not re.fullmatch(r"\d{1,3}(h|D|W)", freq):
            raise InvalidInput(
                'freq must be a number and a unit: "1h", "1D" or "1W".', field="freq"
            )
        with self.store.read() as conn:
            row = self._load(conn, ref)
        if not row.deployment_id:
            raise InvalidInput(
                "Performance needs a deployment's predictions and ground truth; "
                "this monitor compares datasets.",
                field="monitor",
            )
        frame = self.current_data(row, now_ms(), window={})
        labelled = frame[frame["ground_truth"].notna()] if "ground_truth" in frame else frame[:0]
        version = self._version(row, frame)
        windows = (
            performance_over_time(
                labelled.rename(columns={"ground_truth": "y_true", "prediction": "y_pred"}),
                freq=freq,
                time_col="ts",
            )
            if len(labelled)
            else []
        )
        return {
            "monitor_id": row.id,
            "freq": freq,
            "labelled_rows": len(labelled),
            "reference": (version or {}).get("metrics") or {},
            "windows": windows,
        }

    # -- alerts --------------------------------------------------------------------------------
    def _decide(self, row: Any, status: str, result: dict[str, Any], now: int) -> Any:
        from ..monitoring.alerts import decide

        if status in ("no_data", "error"):
            return None  # no verdict: neither a problem nor a recovery
        drifted = sorted(
            c
            for c, v in ((result.get("drift") or {}).get("columns") or {}).items()
            if v.get("drifted")
        )
        drops = sorted(
            d.get("metric", "") for d in (result.get("performance") or {}).get("drops") or []
        )
        fingerprint = f"{status}:{','.join(drifted)}:{','.join(drops)}"
        return decide(
            row.alert_state,
            problem=status in PROBLEMS,
            fingerprint=fingerprint,
            now_ms=now,
            cooldown_s=row.cooldown_s,
        )

    @property
    def delivery(self):
        """The background sender of alerts (one per process, started on first use)."""
        if self._delivery is None:
            from ..monitoring.channels import AlertDelivery, SmtpSettings

            self._delivery = AlertDelivery(
                smtp=SmtpSettings.from_env(),
                on_result=self._record_delivery,
                allow=self.webhook_allow,
            )
        return self._delivery

    def app_url(self, monitor_id: str) -> str | None:
        if not self.app_base_url:
            return None
        from .common import app_url  # {base}/labcycle/apps/drift?monitor=<id>

        return app_url(self.app_base_url, "drift", monitor=monitor_id)

    def _send(self, row: Any, check: dict[str, Any], action: str) -> None:
        from ..monitoring.alerts import build_message

        if not row.channels:
            self._record_delivery(
                {
                    "monitor_id": row.id,
                    "check_id": check["id"],
                    "event": action,
                    "channel": {"type": "none"},
                    "status": "skipped",
                    "attempts": 0,
                    "error": "the monitor has no alert channel",
                }
            )
            return
        message = build_message(
            monitor=monitor_dict(row), check=check, action=action, app_url=self.app_url(row.id)
        )
        self.delivery.send(row.channels, message)

    def _record_delivery(self, record: dict[str, Any]) -> None:
        """Write one delivery outcome to the alert log (called by the delivery thread)."""
        try:
            with self.store.write() as conn:
                monitor_id = record.get("monitor_id")
                if not conn.execute(select(M.c.id).where(M.c.id == monitor_id)).first():
                    return  # the monitor was deleted meanwhile
                check_id = record.get("check_id")
                if check_id and not conn.execute(select(C.c.id).where(C.c.id == check_id)).first():
                    check_id = None
                conn.execute(
                    insert(A).values(
                        id=new_id(),
                        monitor_id=monitor_id,
                        check_id=check_id,
                        event=str(record.get("event") or "")[:32],
                        channel=record.get("channel") or {},
                        status=str(record.get("status") or "")[:16],
                        attempts=int(record.get("attempts") or 0),
                        error=record.get("error"),
                        summary=str(record.get("summary") or "")[:4000],
                        created_at=now_ms(),
                        sent_at=record.get("sent_at"),
                    )
                )
        except Exception:  # the log must not kill the delivery thread
            log.exception("LabCycle: could not record an alert delivery")

    def close(self, timeout: float = 10.0) -> None:
        if self._delivery is not None:
            self._delivery.close(timeout)
            self._delivery = None


def _summary(out: dict[str, Any]) -> str:
    parts = []
    drift = out.get("drift") or {}
    if drift:
        drifted = [c for c, v in (drift.get("columns") or {}).items() if v.get("drifted")]
        parts.append(
            f"{len(drifted)} of {drift.get('n_columns')} features drifted"
            + (f" ({', '.join(drifted[:5])}{'…' if len(drifted) > 5 else ''})" if drifted else "")
            + ("; dataset drift" if drift.get("dataset_drift") else "")
        )
    if (out.get("prediction_drift") or {}).get("drifted"):
        parts.append("predictions drifted")
    for drop in (out.get("performance") or {}).get("drops") or []:
        parts.append(
            f"{drop.get('metric')} {drop.get('current'):.3g} vs "
            f"{drop.get('reference'):.3g} at training"
        )
    issues = (out.get("quality") or {}).get("issues") or []
    if issues:
        parts.append(f"{len(issues)} data quality issue{'s' if len(issues) != 1 else ''}")
    return f"{out['current_rows']:,} rows: " + ("; ".join(parts) or "no drift")


# -- the "monitor" kind of schedule ---------------------------------------------------------
def validate_monitor_payload(payload: dict[str, Any], services: Any = None) -> dict[str, Any]:
    if set(payload) != {"monitor_id"} or not isinstance(payload["monitor_id"], str):
        raise InvalidInput('payload must be {"monitor_id": ...}.', field="payload")
    return dict(payload)


def fire_monitor(services: Services, schedule: dict[str, Any]) -> dict[str, Any]:
    check = services.monitors.run_check(
        schedule["payload"]["monitor_id"], actor=schedule["created_by"], trigger="schedule"
    )
    return {"check_id": check["id"], "status": check["status"]}


register_schedule_kind("monitor", fire_monitor, validate=validate_monitor_payload)
