"""Compare 2–50 runs side by side, and diff two runs' notebook snapshots.

:meth:`CompareService.runs` returns, for the runs in the order given:

- ``runs``: one summary per run (name, status, user, experiment, project, times);
- ``params`` / ``metrics`` / ``tags`` / ``attributes``: tables of rows
  ``{"key", "values": {run_id: value or None}, "differs"}``; ``differing`` and ``constant``
  list the keys of each kind (a key missing from some runs differs). Metrics are each run's
  latest value; NaN equals NaN here. ``attributes`` are user, status, source, experiment,
  project, notebook, git commit/branch/dirty, Python version and kernel;
- ``packages``: the installed packages whose versions differ (``{"name", "values"}``),
  and how many are the same in every run;
- ``histories``: ``{key: {run_id: {"steps", "values", "points", "downsampled"}}}`` for
  overlaid curves. A series longer than ``max_points`` (≤ 1,000) is **downsampled by
  min/max buckets**: the first and last points are kept, the points between are cut into
  ``(max_points - 2) // 2`` buckets of consecutive points (equal counts, in step order),
  and each bucket keeps its minimum and its maximum (in step order) — so a spike, even a
  single point, always survives, and ±inf counts as an extreme. NaN points are kept only
  for a bucket that holds nothing else. ``points`` is the stored count. A series longer
  than ``max_points`` is bucketed by the database (window functions, same result as
  :func:`downsample`), so only the kept points leave it;
- ``parallel``: parallel-coordinates data: one dimension per param that differs (all
  params if none differs), numeric when every present value parses as a finite number,
  else categorical (``categories`` sorted, each value encoded as its index), plus the
  chosen ``metric`` (default: the first metric key, alphabetically, that every run has);
  ``rows`` hold each run's encoded values (None when a run lacks the param).

Input: ``run_ids`` (2–50 distinct ids; InvalidInput names ``run_ids`` or ``run_ids[i]``,
NotFound names the unknown ids), ``metric`` (must be logged by at least one run),
``keys`` (metric keys whose histories to return; default all, at most 50),
``max_points`` (2–1,000, default 1,000).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, func, select, text

from ..errors import InvalidInput, NotFound
from ..store import Store
from ..store.models import Experiment, LatestMetric, Metric, Param, Project, Run, Tag
from .common import iso, validate_key
from .ownership import readable

MIN_RUNS, MAX_RUNS = 2, 50
MAX_POINTS = 1000
MAX_HISTORY_KEYS = 50

R, E, P = Run.__table__, Experiment.__table__, Project.__table__
PA, LM, M, T = Param.__table__, LatestMetric.__table__, Metric.__table__, Tag.__table__


# -- downsampling ---------------------------------------------------------------------------
def _is_nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def downsample(
    points: list[tuple[int, float]], max_points: int = MAX_POINTS
) -> list[tuple[int, float]]:
    """At most ``max_points`` of ``points`` (``(step, value)`` in step order), keeping the
    first, the last, and the minimum and maximum of each bucket (see the module docstring)."""
    n = len(points)
    if n <= max_points:
        return list(points)
    if max_points < 2:
        raise ValueError("max_points must be at least 2")
    buckets = (max_points - 2) // 2  # 0 when max_points < 4: the first and last points only
    keep = {0, n - 1}
    inner = n - 2
    values = [p[1] for p in points]
    has_nan = any(v != v for v in values)  # NaN is the one value != itself
    for b in range(buckets):  # point 1 + x is in bucket (x * buckets) // inner, as in SQL
        start = 1 + -(-(b * inner) // buckets)
        end = 1 + -(-((b + 1) * inner) // buckets)
        if end <= start:
            continue
        if has_nan:
            window: Sequence[int] = [i for i in range(start, end) if values[i] == values[i]]
            if not window:
                keep.add(start)  # an all-NaN bucket: one NaN marks the gap
                continue
        else:
            window = range(start, end)
        keep.add(min(window, key=values.__getitem__))
        keep.add(max(window, key=values.__getitem__))
    return [points[i] for i in sorted(keep)]


#: :func:`downsample` in SQL (SQLite ≥ 3.25 and PostgreSQL window functions): the same
#: buckets, the same minimum and maximum (the first of equal values), NULL (NaN) only for
#: a bucket of nothing else. The first and last points get buckets of their own.
_SQL_DOWNSAMPLE = text("""
WITH pts AS (
    SELECT step, value, ROW_NUMBER() OVER (ORDER BY step, timestamp, id) - 1 AS rn
    FROM metrics WHERE run_id = :run_id AND key = :key
), bucketed AS (
    SELECT step, value, rn,
           CASE WHEN rn = 0 THEN -1 WHEN rn = :last THEN -2
                ELSE ((rn - 1) * :buckets) / :inner END AS bucket
    FROM pts
), ranked AS (
    SELECT step, value, rn, bucket,
           ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY
               CASE WHEN value IS NULL THEN 1 ELSE 0 END, value, rn) AS lo,
           ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY
               CASE WHEN value IS NULL THEN 1 ELSE 0 END, value DESC, rn) AS hi
    FROM bucketed
)
SELECT step, value FROM ranked WHERE (lo = 1 OR hi = 1) AND (bucket < 0 OR :buckets > 0)
ORDER BY rn
""")


# -- validation -----------------------------------------------------------------------------
def validate_run_ids(run_ids: Any, field: str = "run_ids") -> list[str]:
    if isinstance(run_ids, (str, bytes)) or not isinstance(run_ids, Iterable):
        raise InvalidInput(
            f"{field} must be a list of {MIN_RUNS} to {MAX_RUNS} run ids.", field=field
        )
    ids = list(run_ids)
    if not MIN_RUNS <= len(ids) <= MAX_RUNS:
        raise InvalidInput(
            f"{field} must name {MIN_RUNS} to {MAX_RUNS} runs to compare; got {len(ids)}.",
            field=field,
            count=len(ids),
        )
    seen: dict[str, int] = {}
    for i, run_id in enumerate(ids):
        name = f"{field}[{i}]"
        if (
            not isinstance(run_id, str)
            or not run_id.strip()
            or len(run_id) > 64
            or any(ord(ch) < 32 for ch in run_id)
        ):
            raise InvalidInput(
                f"{name} must be a run id (a string of at most 64 characters).", field=name
            )
        if run_id in seen:
            raise InvalidInput(
                f"{name} repeats run {run_id!r} (also {field}[{seen[run_id]}]); "
                "list each run once.",
                field=name,
            )
        seen[run_id] = i
    return ids


def _bounded(value: Any, field: str, low: int, high: int, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be an integer from {low} to {high}.", field=field)
    try:
        number = int(value)
        if isinstance(value, float) and not value.is_integer():
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{field} must be an integer from {low} to {high}.", field=field
        ) from None
    if not low <= number <= high:
        raise InvalidInput(f"{field} must be from {low} to {high}, got {number}.", field=field)
    return number


# -- tables ---------------------------------------------------------------------------------
def _norm(value: Any) -> Any:
    return ("NaN",) if isinstance(value, float) and math.isnan(value) else value


def _same(values: list[Any]) -> bool:
    first = _norm(values[0])
    return all(_norm(v) == first and type(v) is type(values[0]) for v in values[1:])


def _table(run_ids: list[str], by_run: dict[str, dict[str, Any]]) -> dict[str, Any]:
    keys = sorted({k for values in by_run.values() for k in values})
    rows: list[dict[str, Any]] = []
    differing: list[str] = []
    constant: list[str] = []
    for key in keys:
        values = [by_run.get(r, {}).get(key) for r in run_ids]
        differs = not _same(values)
        rows.append(
            {"key": key, "values": dict(zip(run_ids, values, strict=True)), "differs": differs}
        )
        (differing if differs else constant).append(key)
    return {"keys": keys, "rows": rows, "differing": differing, "constant": constant}


def _number(text: Any) -> float | None:
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        value = float(text)
    elif isinstance(text, str):
        try:
            value = float(text.strip())
        except ValueError:
            return None
    else:
        return None
    return value if math.isfinite(value) else None


def _parallel(
    run_ids: list[str],
    params: dict[str, dict[str, str]],
    table: dict[str, Any],
    metrics: dict[str, dict[str, float]],
    metric: str | None,
) -> dict[str, Any]:
    keys = table["differing"] or table["keys"]
    dimensions = []
    encoded: dict[str, dict[str, Any]] = {r: {} for r in run_ids}
    for key in keys:
        values = {r: params[r].get(key) for r in run_ids}
        present = [v for v in values.values() if v is not None]
        numbers = [n for n in map(_number, present) if n is not None]
        if present and len(numbers) == len(present):
            dimensions.append(
                {"key": key, "kind": "numeric", "min": min(numbers), "max": max(numbers)}
            )
            for r, v in values.items():
                encoded[r][key] = None if v is None else _number(v)
        else:
            categories = sorted(set(present))
            index = {c: i for i, c in enumerate(categories)}
            dimensions.append({"key": key, "kind": "categorical", "categories": categories})
            for r, v in values.items():
                encoded[r][key] = None if v is None else index[v]
    rows: list[dict[str, Any]] = [
        {
            "run_id": r,
            "values": encoded[r],
            "metric": metrics.get(r, {}).get(metric) if metric else None,
        }
        for r in run_ids
    ]
    metric_values = [
        row["metric"]
        for row in rows
        if row["metric"] is not None and not _is_nan(row["metric"]) and math.isfinite(row["metric"])
    ]
    return {
        "metric": metric,
        "metric_range": [min(metric_values), max(metric_values)] if metric_values else None,
        "dimensions": dimensions,
        "rows": rows,
    }


class CompareService:
    def __init__(self, store: Store, artifacts: Any = None) -> None:
        self.store = store
        self.artifacts = artifacts

    # -- runs -------------------------------------------------------------------------------
    def runs(
        self, run_ids: Any, *, metric: Any = None, keys: Any = None, max_points: Any = None
    ) -> dict[str, Any]:
        ids = validate_run_ids(run_ids)
        metric = None if metric is None or metric == "" else validate_key(metric, "metric")
        if keys is not None:
            if isinstance(keys, str) or not isinstance(keys, Iterable):
                raise InvalidInput("keys must be a list of metric keys.", field="keys")
            keys = [validate_key(k, f"keys[{i}]") for i, k in enumerate(keys)]
            if len(keys) > MAX_HISTORY_KEYS:
                raise InvalidInput(
                    f"keys may list at most {MAX_HISTORY_KEYS} metric keys.", field="keys"
                )
        max_points = _bounded(max_points, "max_points", 2, MAX_POINTS, MAX_POINTS)
        with self.store.read() as conn:
            rows = {
                r.id: r
                for r in conn.execute(
                    select(R, E.c.name.label("experiment_name"), P.c.name.label("project_name"))
                    .join(E, E.c.id == R.c.experiment_id)
                    .join(P, P.c.id == E.c.project_id)
                    .where(R.c.id.in_(ids), readable(conn, "run", R.c.id))
                ).all()
            }
            missing = [r for r in ids if r not in rows]
            if missing:
                raise NotFound(
                    f"No run with id {missing[0]!r}"
                    + (f" (and {len(missing) - 1} more unknown ids)" if len(missing) > 1 else "")
                    + "; check run_ids.",
                    field="run_ids",
                    missing=missing,
                )
            params: dict[str, dict[str, Any]] = {r: {} for r in ids}
            latest: dict[str, dict[str, Any]] = {r: {} for r in ids}
            tags: dict[str, dict[str, Any]] = {r: {} for r in ids}
            for run_id, key, value in conn.execute(
                select(PA.c.run_id, PA.c.key, PA.c.value).where(PA.c.run_id.in_(ids))
            ):
                params[run_id][key] = value
            for run_id, key, value in conn.execute(
                select(LM.c.run_id, LM.c.key, LM.c.value).where(LM.c.run_id.in_(ids))
            ):
                latest[run_id][key] = math.nan if value is None else value
            for run_id, key, value in conn.execute(
                select(T.c.run_id, T.c.key, T.c.value).where(T.c.run_id.in_(ids))
            ):
                tags[run_id][key] = value
            metric_keys = sorted({k for values in latest.values() for k in values})
            if metric is not None and metric not in metric_keys:
                shown = ", ".join(metric_keys[:20]) or "none"
                raise InvalidInput(
                    f"metric {metric!r} is not logged by any of these runs; they log: {shown}.",
                    field="metric",
                )
            if metric is None:
                metric = next(
                    (k for k in metric_keys if all(k in latest[r] for r in ids)),
                    metric_keys[0] if metric_keys else None,
                )
            wanted = keys if keys is not None else metric_keys[:MAX_HISTORY_KEYS]
            histories = self._histories(conn, ids, wanted, max_points)
        param_table = _table(ids, params)
        parallel = _parallel(ids, params, param_table, latest, metric)
        attributes = {
            r: {
                "user": row.user,
                "status": row.status,
                "source": row.source,
                "experiment": row.experiment_name,
                "project": row.project_name,
                "notebook_path": row.notebook_path,
                "git_commit": row.git_commit,
                "git_branch": row.git_branch,
                "git_dirty": row.git_dirty,
                "python_version": row.python_version,
                "kernel": row.kernel,
            }
            for r, row in rows.items()
        }
        return {
            "run_ids": ids,
            "runs": [self._summary(rows[r]) for r in ids],
            "params": param_table,
            "metrics": _table(ids, latest),
            "tags": _table(ids, tags),
            "attributes": _table(ids, attributes),
            "packages": self._packages(ids, {r: rows[r].packages or {} for r in ids}),
            "histories": histories,
            "history_keys_truncated": keys is None and len(metric_keys) > MAX_HISTORY_KEYS,
            "max_points": max_points,
            "parallel": parallel,
        }

    @staticmethod
    def _summary(row: Any) -> dict[str, Any]:
        return {
            "id": row.id,
            "name": row.name,
            "status": row.status,
            "user": row.user,
            "experiment_id": row.experiment_id,
            "experiment": row.experiment_name,
            "project": row.project_name,
            "start_time": iso(row.start_time),
            "end_time": iso(row.end_time),
            "duration_s": None if row.end_time is None else (row.end_time - row.start_time) / 1000,
        }

    @staticmethod
    def _packages(ids: list[str], packages: dict[str, dict]) -> dict[str, Any]:
        names = sorted({n for p in packages.values() if isinstance(p, dict) for n in p})
        differing, same = [], 0
        for name in names:
            values = [packages[r].get(name) if isinstance(packages[r], dict) else None for r in ids]
            if all(v == values[0] for v in values):
                same += 1
            else:
                differing.append({"name": name, "values": dict(zip(ids, values, strict=True))})
        return {"differing": differing, "same": same}

    @staticmethod
    def _histories(
        conn: Connection, ids: list[str], keys: list[str], max_points: int
    ) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        if not keys:
            return out
        counts = {
            (r, k): n
            for r, k, n in conn.execute(
                select(M.c.run_id, M.c.key, func.count())
                .where(M.c.run_id.in_(ids), M.c.key.in_(keys))
                .group_by(M.c.run_id, M.c.key)
            )
        }
        for key in keys:
            series: dict[str, Any] = {}
            for run_id in ids:
                n = counts.get((run_id, key), 0)
                if not n:
                    continue
                if n <= max_points:
                    rows = conn.execute(
                        select(M.c.step, M.c.value)
                        .where(M.c.run_id == run_id, M.c.key == key)
                        .order_by(M.c.step, M.c.timestamp, M.c.id)
                    ).all()
                else:  # long series are bucketed by the database: only the kept rows travel
                    rows = conn.execute(
                        _SQL_DOWNSAMPLE,
                        {
                            "run_id": run_id,
                            "key": key,
                            "last": n - 1,
                            "inner": n - 2,
                            "buckets": (max_points - 2) // 2,
                        },
                    ).all()
                series[run_id] = {
                    "steps": [r[0] for r in rows],
                    "values": [math.nan if r[1] is None else r[1] for r in rows],
                    "points": n,
                    "downsampled": len(rows) < n,
                }
            out[key] = series
        return out

    # -- notebooks --------------------------------------------------------------------------
    def notebooks(self, run_a: Any, run_b: Any, **limits: Any) -> dict[str, Any]:
        """The cell-by-cell diff of two runs' notebook snapshots (see :mod:`.nbdiff`)."""
        from .nbdiff import MAX_SNAPSHOT_BYTES, diff_notebooks, parse_notebook
        from .reproduce import snapshot_path

        sides = []
        for field, run_id in (("run_a", run_a), ("run_b", run_b)):
            if not isinstance(run_id, str) or not run_id.strip() or len(run_id) > 64:
                raise InvalidInput(f"{field} must be a run id.", field=field)
            with self.store.read() as conn:
                row = conn.execute(
                    select(R.c.id, R.c.name).where(R.c.id == run_id, readable(conn, "run", R.c.id))
                ).first()
            if row is None:
                raise NotFound(f"No run with id {run_id!r} ({field}).", field=field)
            listed = {a["path"]: a for a in self.artifacts.list_artifacts(run_id)}
            path = snapshot_path(listed)
            if path is None:
                raise NotFound(
                    f"Run {run_id} ({field}) has no notebook snapshot (executed.ipynb "
                    "or notebook.ipynb): only notebook runs and jobs have one.",
                    field=field,
                )
            if listed[path]["size"] > MAX_SNAPSHOT_BYTES:
                raise InvalidInput(
                    f"The snapshot of {field} is {listed[path]['size']:,} bytes; notebooks over "
                    f"{MAX_SNAPSHOT_BYTES:,} bytes are not diffed.",
                    field=field,
                )
            notebook = parse_notebook(self.artifacts.read_artifact(run_id, path), field)
            sides.append(({"id": row.id, "name": row.name, "snapshot": path}, notebook))
        result = diff_notebooks(sides[0][1], sides[1][1], **limits)
        result["run_a"], result["run_b"] = sides[0][0], sides[1][0]
        return result


__all__ = ["CompareService", "downsample", "validate_run_ids"]
