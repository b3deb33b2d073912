"""Runs and what they log: params, metric points, tags; and run search."""

from __future__ import annotations

import contextlib
import math
import operator
from collections import defaultdict
from collections.abc import Sequence
from itertools import islice, repeat
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, or_, select, update

from ..errors import Conflict, InvalidInput, NotFound
from ..store import Store
from ..store.models import (
    Artifact,
    CellExecution,
    Dataset,
    Experiment,
    LatestMetric,
    Metric,
    Param,
    Project,
    Run,
    RunInput,
    Tag,
)
from .common import (
    INT64_MAX,
    INT64_MIN,
    audit,
    insert_on_conflict,
    iso,
    new_id,
    next_token,
    now_ms,
    page_bounds,
    param_value,
    to_float,
    to_int,
    validate_id,
    validate_key,
    validate_name,
)
from .ownership import readable
from .projects import ProjectService
from .query import RunQueryCompiler, parse_filter, parse_order_by

R, PA, M, LM, T = (
    Run.__table__,
    Param.__table__,
    Metric.__table__,
    LatestMetric.__table__,
    Tag.__table__,
)
E, P = Experiment.__table__, Project.__table__
STATUSES = ("running", "finished", "failed", "killed")
FINAL_STATUSES = ("finished", "failed", "killed")
# The run columns a search result shows (``_run_summary``): search leaves out the wide
# ones (git diff, packages JSON), which it would otherwise read and decode for every row.
SUMMARY_COLUMNS = (
    "id",
    "experiment_id",
    "parent_run_id",
    "name",
    "status",
    "user",
    "source",
    "start_time",
    "end_time",
    "notebook_path",
)
MAX_BATCH = 100_000
# built once: on the hot path (one MLflow log_metric request per point) building it cost
# as much as running it
_RUN_STATUS = select(R.c.id, R.c.status).where(R.c.id == bindparam("run_id"))


def _nan_to_null(value: float) -> float | None:
    return None if math.isnan(value) else value


#: metric points as columns: keys, steps, values (None for NaN), timestamps
Points = tuple[Sequence[str], Sequence[int], Sequence[float | None], Sequence[int]]
NO_POINTS: Points = ((), (), (), ())


def _clean_point_tuples(metrics: list) -> Points | None:
    """The flusher's batches, checked at C speed instead of point by point.

    Applies when every item is a ``(key, value, step, timestamp)`` tuple of exactly str,
    float, int, int (what ``lc.log_metric`` buffers) with 64-bit steps and timestamps and
    valid keys; gives the same points as the general path in ``_clean_metrics``. Returns
    None for anything else, which then takes the general path and its error messages.
    """
    if not metrics or set(map(type, metrics)) != {tuple} or set(map(len, metrics)) != {4}:
        return None
    keys, values, steps, stamps = zip(*metrics, strict=True)
    if (
        set(map(type, keys)) != {str}
        or set(map(type, values)) != {float}
        or set(map(type, steps)) != {int}
        or set(map(type, stamps)) != {int}
    ):
        return None
    if (
        min(steps) < INT64_MIN
        or max(steps) > INT64_MAX
        or min(stamps) < INT64_MIN
        or max(stamps) > INT64_MAX
    ):
        return None
    for key in set(keys):
        try:
            validate_key(key, "key")
        except InvalidInput:
            return None
    if any(map(math.isnan, values)):
        values = tuple(None if v != v else v for v in values)  # NaN is stored as NULL
    return keys, steps, values, stamps


def _null_to_nan(value: float | None) -> float:
    return math.nan if value is None else value


class TrackingService:
    """Everything a run records while it runs, and finding runs again."""

    def __init__(self, store: Store, projects: ProjectService) -> None:
        self.store = store
        self.projects = projects
        self.query = RunQueryCompiler(R, PA, LM, T)

    # -- runs ---------------------------------------------------------------------------
    def create_run(
        self,
        *,
        actor: str,
        experiment_id: str | None = None,
        experiment: str | None = None,
        project: str | None = None,
        name: str | None = None,
        parent_run_id: str | None = None,
        source: str = "script",
        notebook_path: str | None = None,
        kernel: str | None = None,
        start_time: int | None = None,
        git: dict | None = None,
        python_version: str | None = None,
        packages: dict | None = None,
        tags: dict | None = None,
    ) -> dict[str, Any]:
        if source not in ("notebook", "script", "job"):
            raise InvalidInput("source must be 'notebook', 'script' or 'job'.", field="source")
        git = git or {}
        if not isinstance(git, dict):
            raise InvalidInput("git must be an object.", field="git")
        if packages is not None and not isinstance(packages, dict):
            raise InvalidInput("packages must be an object of name → version.", field="packages")
        run_id = new_id()
        now = now_ms()
        with self.store.write() as conn:
            if experiment_id:
                validate_id(experiment_id, "experiment_id")
                if not conn.execute(select(E.c.id).where(E.c.id == experiment_id)).first():
                    raise NotFound(
                        f"No experiment with id {experiment_id!r}.", field="experiment_id"
                    )
            else:
                experiment_id = self.projects.ensure_experiment(
                    conn, experiment or "Default", project, actor
                )
            if parent_run_id:
                self._require_run(conn, validate_id(parent_run_id, "parent_run_id"))
            conn.execute(
                insert(R).values(
                    id=run_id,
                    experiment_id=experiment_id,
                    parent_run_id=parent_run_id,
                    name=validate_name(name, "name", 250) if name else f"run-{run_id[:8]}",
                    status="running",
                    user=actor,
                    source=source,
                    start_time=to_int(start_time, "start_time", now),
                    notebook_path=notebook_path,
                    kernel=kernel,
                    git_remote=git.get("remote"),
                    git_commit=git.get("commit"),
                    git_branch=git.get("branch"),
                    git_dirty=git.get("dirty"),
                    git_diff=git.get("diff"),
                    python_version=python_version,
                    packages=packages,
                    created_at=now,
                    updated_at=now,
                )
            )
            if tags:
                self._set_tags(conn, run_id, tags)
            audit(
                conn,
                actor,
                "run.create",
                "run",
                run_id,
                {"experiment_id": experiment_id, "name": name, "source": source},
            )
        return self.get_run(run_id)

    def _require_run(self, conn: Connection, run_id: str, *, writable: bool = False) -> Any:
        row = conn.execute(_RUN_STATUS, {"run_id": run_id}).first()
        if row is None:
            raise NotFound(f"No run with id {run_id!r}.", field="run_id")
        return row

    def require_run(self, run_id: str) -> None:
        """NotFound unless run ``run_id`` exists (one indexed lookup, nothing read)."""
        validate_id(run_id, "run_id")
        with self.store.read() as conn:
            self._require_run(conn, run_id)

    def get_run(self, run_id: str) -> dict[str, Any]:
        validate_id(run_id, "run_id")
        with self.store.read() as conn:
            row = conn.execute(
                select(R, E.c.name.label("experiment_name"), P.c.name.label("project_name"))
                .join(E, E.c.id == R.c.experiment_id)
                .join(P, P.c.id == E.c.project_id)
                .where(R.c.id == run_id, readable(conn, "run", R.c.id))
            ).first()
            if row is None:
                raise NotFound(f"No run with id {run_id!r}.")
            run = self._run_summary(row, *self._values_for(conn, [run_id]))
            ds, ri = Dataset.__table__, RunInput.__table__
            datasets = conn.execute(
                select(ds, ri.c.context)
                .join(ri, ri.c.dataset_id == ds.c.id)
                .where(ri.c.run_id == run_id)
            ).all()
            artifact_count = conn.execute(
                select(func.count())
                .select_from(Artifact.__table__)
                .where(Artifact.run_id == run_id)
            ).scalar()
            cell_count = conn.execute(
                select(func.count())
                .select_from(CellExecution.__table__)
                .where(CellExecution.run_id == run_id)
            ).scalar()
            # the local modules captured at run end (provenance/code.py)
            code_files = (
                conn.execute(
                    select(Artifact.path)
                    .where(Artifact.run_id == run_id, Artifact.path.like("code/%"))
                    .order_by(Artifact.path)
                )
                .scalars()
                .all()
            )
        from .datasets import dataset_dict  # local import: datasets imports this module's peers

        run.update(
            experiment_name=row.experiment_name,
            project_name=row.project_name,
            kernel=row.kernel,
            git={
                "remote": row.git_remote,
                "commit": row.git_commit,
                "branch": row.git_branch,
                "dirty": row.git_dirty,
                "diff": row.git_diff,
            },
            python_version=row.python_version,
            packages=row.packages or {},
            out_of_order=row.out_of_order,
            datasets=[{"dataset": dataset_dict(d), "context": d.context} for d in datasets],
            metric_keys=sorted(run["metrics"]),
            artifact_count=artifact_count,
            cell_count=cell_count,
            code_files=list(code_files),
        )
        return run

    def _values_for(self, conn: Connection, run_ids: list[str]) -> tuple[dict, dict, dict]:
        params: dict[str, dict] = defaultdict(dict)
        metrics: dict[str, dict] = defaultdict(dict)
        tags: dict[str, dict] = defaultdict(dict)
        # Chunk the IN lists: SQLite caps the number of bound parameters.
        for start in range(0, len(run_ids), 900):
            chunk = run_ids[start : start + 900]
            for run_id, key, value in conn.execute(
                select(PA.c.run_id, PA.c.key, PA.c.value).where(PA.c.run_id.in_(chunk))
            ).all():  # one fetchall, not a fetchone per row (a search page has ~20 per run)
                params[run_id][key] = value
            for run_id, key, value in conn.execute(
                select(LM.c.run_id, LM.c.key, LM.c.value).where(LM.c.run_id.in_(chunk))
            ).all():  # one fetchall, not a fetchone per row (a search page has ~20 per run)
                metrics[run_id][key] = _null_to_nan(value)
            for run_id, key, value in conn.execute(
                select(T.c.run_id, T.c.key, T.c.value).where(T.c.run_id.in_(chunk))
            ).all():  # one fetchall, not a fetchone per row (a search page has ~20 per run)
                tags[run_id][key] = value
        return params, metrics, tags

    @staticmethod
    def _run_summary(row: Any, params: dict, metrics: dict, tags: dict) -> dict[str, Any]:
        end = row.end_time
        return {
            "id": row.id,
            "experiment_id": row.experiment_id,
            "parent_run_id": row.parent_run_id,
            "name": row.name,
            "status": row.status,
            "user": row.user,
            "source": row.source,
            "start_time": iso(row.start_time),
            "end_time": iso(end),
            "duration_s": ((end if end is not None else now_ms()) - row.start_time) / 1000,
            "notebook_path": row.notebook_path,
            "params": params.get(row.id, {}),
            "metrics": metrics.get(row.id, {}),
            "tags": tags.get(row.id, {}),
        }

    def update_run(
        self,
        run_id: str,
        *,
        actor: str,
        status: str | None = None,
        end_time: int | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        validate_id(run_id, "run_id")
        values: dict[str, Any] = {}
        if status is not None:
            if status not in STATUSES:
                raise InvalidInput(f"status must be one of {', '.join(STATUSES)}.", field="status")
            values["status"] = status
            if status in FINAL_STATUSES:
                values["end_time"] = to_int(end_time, "end_time", now_ms())
        elif end_time is not None:
            values["end_time"] = to_int(end_time, "end_time")
        if name is not None:
            values["name"] = validate_name(name, "name", 250)
        with self.store.write() as conn:
            before = conn.execute(
                select(R.c.status, R.c.name, R.c.end_time, R.c.start_time).where(R.c.id == run_id)
            ).first()
            if before is None:
                raise NotFound(f"No run with id {run_id!r}.")
            if end_time is not None and values["end_time"] < before.start_time:
                raise InvalidInput(
                    f"end_time {iso(values['end_time'])} is before the run's start_time "
                    f"{iso(before.start_time)}; give an end_time at or after the start.",
                    field="end_time",
                )
            if values:
                values["updated_at"] = now_ms()
                conn.execute(update(R).where(R.c.id == run_id).values(**values))
                audit(
                    conn,
                    actor,
                    "run.update",
                    "run",
                    run_id,
                    {
                        "before": {
                            k: getattr(before, k)
                            for k in ("status", "name", "end_time")
                            if k in values
                        },
                        "after": {k: v for k, v in values.items() if k != "updated_at"},
                    },
                )
        return self.get_run(run_id)

    def delete_run(self, run_id: str, *, actor: str) -> None:
        validate_id(run_id, "run_id")
        with self.store.write() as conn:
            row = conn.execute(select(R.c.name, R.c.experiment_id).where(R.c.id == run_id)).first()
            if row is None:
                raise NotFound(f"No run with id {run_id!r}.")
            # Children first: SQLite needs foreign keys on for ON DELETE, and PostgreSQL is explicit.
            for table in (
                PA,
                M,
                LM,
                T,
                Artifact.__table__,
                CellExecution.__table__,
                RunInput.__table__,
            ):
                conn.execute(delete(table).where(table.c.run_id == run_id))
            conn.execute(update(R).where(R.c.parent_run_id == run_id).values(parent_run_id=None))
            conn.execute(delete(R).where(R.c.id == run_id))
            audit(
                conn,
                actor,
                "run.delete",
                "run",
                run_id,
                {"name": row.name, "experiment_id": row.experiment_id},
            )

    # -- params, metrics, tags ------------------------------------------------------------
    def log_batch(
        self,
        run_id: str,
        *,
        actor: str,
        params: dict | None = None,
        metrics: list | None = None,
        tags: dict | None = None,
    ) -> dict[str, int]:
        """Params, metric points and tags of one run in one transaction."""
        validate_id(run_id, "run_id")
        clean_params = self._clean_params(params or {})
        points = self._clean_metrics(metrics or [])
        if tags is not None and not isinstance(tags, dict):
            raise InvalidInput("tags must be an object of key → value.", field="tags")
        with self.store.write() as conn:
            self._require_run(conn, run_id)
            if clean_params:
                self._insert_params(conn, run_id, clean_params)
            if points[0]:
                self._insert_metrics(conn, run_id, points)
            if tags:
                self._set_tags(conn, run_id, tags)
            details: dict[str, Any] = {}
            if clean_params:
                details["params"] = sorted(clean_params)
            if points[0]:
                details["metrics"] = sorted(set(points[0]))
                details["points"] = len(points[0])
            if tags:
                details["tags"] = sorted(tags)
            if details:
                audit(conn, actor, "run.log", "run", run_id, details)
        return {"params": len(clean_params), "metrics": len(points[0]), "tags": len(tags or {})}

    def log_params(self, run_id: str, params: dict, *, actor: str) -> int:
        return self.log_batch(run_id, actor=actor, params=params)["params"]

    def log_metrics(self, run_id: str, metrics: list, *, actor: str) -> int:
        return self.log_batch(run_id, actor=actor, metrics=metrics)["metrics"]

    def set_tags(self, run_id: str, tags: dict, *, actor: str) -> int:
        return self.log_batch(run_id, actor=actor, tags=tags)["tags"]

    @staticmethod
    def _clean_params(params: dict) -> dict[str, str]:
        if not isinstance(params, dict):
            raise InvalidInput("params must be an object of key → value.", field="params")
        return {
            validate_key(k, f"params.{k}" if isinstance(k, str) else "params"): param_value(
                v, f"params.{k}"
            )
            for k, v in params.items()
        }

    @staticmethod
    def _clean_metrics(metrics: list) -> Points:
        if not isinstance(metrics, list):
            raise InvalidInput(
                "metrics must be a list of {key, value, step, timestamp}.", field="metrics"
            )
        if len(metrics) > MAX_BATCH:
            raise InvalidInput(f"At most {MAX_BATCH} metric points per batch.", field="metrics")
        fast = _clean_point_tuples(metrics)
        if fast is not None:
            return fast
        now = now_ms()
        points: list[tuple[str, int, float | None, int]] = []
        append = points.append
        keys: set[str] = set()  # keys validated already in this batch
        # The hot path of bulk ingest (a batch has up to MAX_BATCH points): values of the
        # exact expected types skip the general converters, and error field names are only
        # formatted when there is an error. The result is the same as the general path.
        for i, item in enumerate(metrics):
            kind = type(item)
            if (kind is tuple or kind is list) and len(item) == 4:
                key, value, step, ts = item
            elif isinstance(item, dict):
                key, value, step, ts = (
                    item.get("key"),
                    item.get("value"),
                    item.get("step"),
                    item.get("timestamp"),
                )
                if "value" not in item:
                    raise InvalidInput(
                        f"metrics[{i}].value is missing.", field=f"metrics[{i}].value"
                    )
            elif isinstance(item, (tuple, list)) and 2 <= len(item) <= 4:
                key, value, step, ts = (*item, None, None)[:4]
            else:
                raise InvalidInput(
                    f"metrics[{i}] must be an object with key and value.", field=f"metrics[{i}]"
                )
            if type(key) is not str or key not in keys:
                key = validate_key(key, f"metrics[{i}].key")
                keys.add(key)
            if type(value) is not float:
                value = to_float(value, f"metrics[{i}].value")
            # Out-of-range ints go through to_int too, which refuses them (64-bit columns).
            if type(step) is not int or not INT64_MIN <= step <= INT64_MAX:
                step = to_int(step, f"metrics[{i}].step", 0)
            if type(ts) is not int or not INT64_MIN <= ts <= INT64_MAX:
                ts = to_int(ts, f"metrics[{i}].timestamp", now)
            append((key, step, None if value != value else value, ts))  # NaN is stored as NULL
        if not points:
            return NO_POINTS
        keys_, steps, values, stamps = zip(*points, strict=True)
        return keys_, steps, values, stamps

    def _insert_params(self, conn: Connection, run_id: str, params: dict[str, str]) -> None:
        def check(stored: dict[str, str]) -> None:
            for key, value in params.items():
                if key in stored and stored[key] != value:
                    raise Conflict(
                        f"Param {key!r} of run {run_id} is {stored[key]!r} already; params are "
                        f"immutable, so it cannot become {value!r}. Log a new run, or use a metric or tag.",
                        field=f"params.{key}",
                    )

        def stored_values() -> dict[str, str]:
            return dict(
                conn.execute(
                    select(PA.c.key, PA.c.value).where(
                        PA.c.run_id == run_id, PA.c.key.in_(list(params))
                    )
                ).all()
            )

        existing = stored_values()
        check(existing)
        new = [
            {"run_id": run_id, "key": k, "value": v}
            for k, v in sorted(params.items())
            if k not in existing
        ]
        if new:
            # Another writer may store the same keys meanwhile (PostgreSQL): skip those rows,
            # then compare with what is stored now.
            conn.execute(
                insert_on_conflict(conn, PA).on_conflict_do_nothing(
                    index_elements=["run_id", "key"]
                ),
                new,
            )
            check(stored_values())

    def _insert_metrics(self, conn: Connection, run_id: str, points: Points) -> None:
        server_time = now_ms()
        keys, steps, values, stamps = points
        n = len(keys)
        le = operator.le
        if all(map(le, steps, islice(steps, 1, None))) and all(
            map(le, stamps, islice(stamps, 1, None))
        ):
            # steps and timestamps never decrease in this batch (the usual training loop), so
            # each key's last point is its newest; a later one wins a tie, as below.
            last = dict(zip(keys, range(n), strict=True))  # no tuple per point: the hot path
            newest = {k: (steps[i], stamps[i], values[i]) for k, i in last.items()}
        else:
            newest = {}
            for key, step, value, ts in zip(keys, steps, values, stamps, strict=True):
                best = newest.get(key)
                # (step, ts) >= best's, written out: no tuple per point on the hot path
                if best is None or step > best[0] or (step == best[0] and ts >= best[1]):
                    newest[key] = (step, ts, value)
        # The hot path of bulk ingest: one executemany on the driver's cursor, fed by a zip
        # (it reuses its row tuple once the driver has bound it: no list of rows).
        rows = zip(
            repeat(run_id, n), keys, steps, values, stamps, repeat(server_time, n), strict=True
        )
        with contextlib.closing(conn.connection.cursor()) as cursor:
            cursor.executemany(
                "INSERT INTO metrics (run_id, key, step, value, timestamp, server_time) "
                "VALUES (?, ?, ?, ?, ?, ?)"
                if self.store.is_sqlite
                else "INSERT INTO metrics (run_id, key, step, value, timestamp, server_time) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                # sqlite3 and psycopg take any iterable of rows; SQLAlchemy's DBAPI protocol
                # says Sequence
                rows,  # type: ignore[arg-type]
            )
        # One atomic upsert: a read-then-write would let concurrent writers of the same run
        # collide on the primary key or overwrite a newer point (PostgreSQL). Sorted keys
        # take row locks in the same order in every transaction.
        conn.execute(
            self._latest_upsert(conn),
            [
                {"run_id": run_id, "key": key, "step": step, "value": value, "timestamp": ts}
                for key, (step, ts, value) in sorted(newest.items())
            ],
        )

    def _latest_upsert(self, conn: Connection) -> Any:
        """The ``latest_metrics`` upsert, built once per dialect: building it (its
        ``excluded`` columns, the WHERE) cost more than running it for a one-point batch,
        which is what every MLflow ``log_metric`` request is."""
        cache = self.__dict__.setdefault("_upserts", {})
        stmt = cache.get(conn.dialect.name)
        if stmt is None:
            base = insert_on_conflict(conn, LM)
            excluded = base.excluded
            stmt = cache[conn.dialect.name] = base.on_conflict_do_update(
                index_elements=["run_id", "key"],
                set_={
                    "step": excluded.step,
                    "value": excluded.value,
                    "timestamp": excluded.timestamp,
                },
                where=or_(
                    excluded.step > LM.c.step,
                    and_(excluded.step == LM.c.step, excluded.timestamp >= LM.c.timestamp),
                ),
            )
        return stmt

    def _set_tags(self, conn: Connection, run_id: str, tags: dict) -> None:
        clean = {
            validate_key(k, f"tags.{k}" if isinstance(k, str) else "tags"): param_value(
                v, f"tags.{k}"
            )
            for k, v in tags.items()
        }
        if not clean:
            return
        stmt = insert_on_conflict(conn, T)  # atomic: concurrent writers of a tag do not collide
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["run_id", "key"], set_={"value": stmt.excluded.value}
            ),
            [{"run_id": run_id, "key": k, "value": v} for k, v in sorted(clean.items())],
        )

    def metric_history(self, run_id: str, key: str) -> dict[str, Any]:
        validate_id(run_id, "run_id")
        validate_key(key, "key")
        with self.store.read() as conn:
            self._require_run(conn, run_id)
            rows = conn.execute(
                select(M.c.step, M.c.value, M.c.timestamp, M.c.server_time)
                .where(M.c.run_id == run_id, M.c.key == key)
                .order_by(M.c.step, M.c.timestamp, M.c.id)
            ).all()
        if not rows:
            raise NotFound(f"Run {run_id} has no metric {key!r}.")
        return {
            "key": key,
            "points": [
                {
                    "step": r.step,
                    "value": _null_to_nan(r.value),
                    "timestamp": r.timestamp,
                    "server_time": r.server_time,
                }
                for r in rows
            ],
        }

    # -- search -------------------------------------------------------------------------
    def search_runs(
        self,
        *,
        experiment_ids: list[str] | None = None,
        filter: str | None = None,  # the name users know from MLflow
        order_by: list[str] | str | None = None,
        max_results: Any = None,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        limit, offset = page_bounds(max_results, page_token)
        where = self.query.where(parse_filter(filter))
        orders = parse_order_by(order_by)
        query = select(*(R.c[name] for name in SUMMARY_COLUMNS))
        if experiment_ids:
            query = query.where(
                R.c.experiment_id.in_([validate_id(e, "experiment_id") for e in experiment_ids])
            )
        if where is not None:
            query = query.where(where)
        clauses: list[Any] = []  # ORDER BY terms: columns and their desc()/nulls_last()
        for order in orders:
            column = self.query.order_column(order)
            clauses.append((column.desc() if order.descending else column.asc()).nulls_last())
        clauses += [R.c.start_time.desc(), R.c.id]
        query = query.order_by(*clauses).limit(limit + 1).offset(offset)
        with self.store.read() as conn:
            rows = conn.execute(query.where(readable(conn, "run", R.c.id))).all()
            page = rows[:limit]
            values = self._values_for(conn, [r.id for r in page])
        return {
            "items": [self._run_summary(r, *values) for r in page],
            "next_page_token": next_token(offset, limit, len(rows)),
        }
