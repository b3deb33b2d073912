"""Reproduce a run, and say what differs between any two runs.

:meth:`ReproduceService.reproduce` re-executes a run's notebook snapshot (the job's
``executed.ipynb``, else the saved ``notebook.ipynb``) with the same parameters as a new
job whose run is linked to the original (``reproduces_run_id`` on the job, the tag
``labcycle.reproduces_run_id`` on the run). :func:`compare_runs` is the report: Python
version, packages added/removed/changed, input dataset fingerprints, git commit, params,
and every metric with its absolute and relative change. It works for any two runs.
"""

from __future__ import annotations

import ast
import contextlib
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..errors import InvalidInput, NotFound
from ..store import Store
from ..store.artifacts import validate_artifact_path
from ..store.models import Job
from .artifacts import NOTEBOOK_ARTIFACT, ArtifactService
from .common import validate_id
from .jobs import FINAL_STATUSES, JobService
from .tracking import TrackingService

J = Job.__table__
EXECUTED_ARTIFACT = "executed.ipynb"
REPRODUCES_TAG = "labcycle.reproduces_run_id"
#: a run's notebook snapshots, preferred first (a job's executed copy, else the saved one)
SNAPSHOT_ARTIFACTS = (EXECUTED_ARTIFACT, NOTEBOOK_ARTIFACT)
CODE_PREFIX = "code/"
#: metric values closer than this (relative) count as unchanged (float noise of a re-run)
REL_TOLERANCE = 1e-9


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def metric_change(a: Any, b: Any) -> dict[str, Any]:
    """Absolute and relative change from ``a`` (original) to ``b`` (reproduction)."""
    x, y = _number(a), _number(b)
    if x is None or y is None:
        return {"abs_change": None, "rel_change": None, "changed": a != b}
    if math.isnan(x) and math.isnan(y):
        return {"abs_change": 0.0, "rel_change": 0.0, "changed": False}
    if x == y:  # also equal infinities
        return {"abs_change": 0.0, "rel_change": 0.0, "changed": False}
    diff = y - x
    rel = diff / abs(x) if x not in (0.0,) and math.isfinite(x) else None
    changed = not (math.isfinite(diff) and abs(diff) <= REL_TOLERANCE * max(abs(x), abs(y)))
    return {"abs_change": diff, "rel_change": rel, "changed": changed}


def compare_runs(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """What differs between two run details (``tracking.get_run`` dicts); ``a`` is the baseline."""
    pa, pb = a.get("packages") or {}, b.get("packages") or {}
    packages: dict[str, Any] = {
        "added": {k: pb[k] for k in sorted(set(pb) - set(pa))},
        "removed": {k: pa[k] for k in sorted(set(pa) - set(pb))},
        "changed": {
            k: {"a": pa[k], "b": pb[k]} for k in sorted(set(pa) & set(pb)) if pa[k] != pb[k]
        },
        "unchanged": sum(1 for k in set(pa) & set(pb) if pa[k] == pb[k]),
    }
    packages["differs"] = bool(packages["added"] or packages["removed"] or packages["changed"])

    def inputs(run: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
        return {(d["dataset"]["name"], d["context"]): d["dataset"] for d in run.get("datasets", [])}

    da, db = inputs(a), inputs(b)
    datasets: list[dict[str, Any]] = []
    for key in sorted(set(da) | set(db)):
        x, y = da.get(key), db.get(key)
        datasets.append(
            {
                "name": key[0],
                "context": key[1],
                "a": x["digest"] if x else None,
                "b": y["digest"] if y else None,
                "rows_a": x["row_count"] if x else None,
                "rows_b": y["row_count"] if y else None,
                "changed": (x or {}).get("digest") != (y or {}).get("digest"),
            }
        )
    ga, gb = a.get("git") or {}, b.get("git") or {}
    git: dict[str, Any] = {
        "a": ga.get("commit"),
        "b": gb.get("commit"),
        "branch_a": ga.get("branch"),
        "branch_b": gb.get("branch"),
        "dirty_a": ga.get("dirty"),
        "dirty_b": gb.get("dirty"),
        "changed": ga.get("commit") != gb.get("commit")
        or (ga.get("dirty") and ga.get("diff") != gb.get("diff")),
    }
    git["changed"] = bool(git["changed"])
    params: list[dict[str, Any]] = []
    for key in sorted(set(a.get("params", {})) | set(b.get("params", {}))):
        x, y = a.get("params", {}).get(key), b.get("params", {}).get(key)
        params.append({"key": key, "a": x, "b": y, "changed": x != y})
    metrics: list[dict[str, Any]] = []
    for key in sorted(set(a.get("metrics", {})) | set(b.get("metrics", {}))):
        x, y = a.get("metrics", {}).get(key), b.get("metrics", {}).get(key)
        metrics.append({"key": key, "a": x, "b": y, **metric_change(x, y)})
    python: dict[str, Any] = {
        "a": a.get("python_version"),
        "b": b.get("python_version"),
        "changed": a.get("python_version") != b.get("python_version"),
    }
    differences = (
        int(python["changed"])
        + len(packages["added"])
        + len(packages["removed"])
        + len(packages["changed"])
        + sum(d["changed"] for d in datasets)
        + int(git["changed"])
        + sum(p["changed"] for p in params)
        + sum(m["changed"] for m in metrics)
    )
    return {
        "run_a": {"id": a["id"], "name": a["name"], "status": a["status"]},
        "run_b": {"id": b["id"], "name": b["name"], "status": b["status"]},
        "python": python,
        "packages": packages,
        "datasets": datasets,
        "git": git,
        "params": params,
        "metrics": metrics,
        "differences": differences,
        "identical": differences == 0,
    }


def snapshot_path(paths: Any) -> str | None:
    """Which of a run's artifact ``paths`` is its notebook snapshot (None if it has none)."""
    present = set(paths)
    return next((p for p in SNAPSHOT_ARTIFACTS if p in present), None)


def _typed(value: str) -> Any:
    """A logged param back to a Python value, for runs that were not jobs."""
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return value
    return parsed if isinstance(parsed, (int, float, bool, type(None), str)) else value


class ReproduceService:
    def __init__(
        self, store: Store, tracking: TrackingService, artifacts: ArtifactService, jobs: JobService
    ) -> None:
        self.store = store
        self.tracking = tracking
        self.artifacts = artifacts
        self.jobs = jobs

    def compare(self, run_id: str, other_run_id: str) -> dict[str, Any]:
        """:func:`compare_runs` of two stored runs (``run_id`` is the baseline)."""
        return compare_runs(
            self.tracking.get_run(validate_id(run_id, "run_id")),
            self.tracking.get_run(validate_id(other_run_id, "against")),
        )

    def _job_of(self, run_id: str) -> dict[str, Any] | None:
        with self.store.read() as conn:
            job_id = (
                conn.execute(
                    select(J.c.id).where(J.c.run_id == run_id).order_by(J.c.created_at.desc())
                )
                .scalars()
                .first()
            )
        return self.jobs.get_raw(job_id) if job_id else None

    def reproduce(
        self, run_id: str, *, actor: str, timeout_s: float | None = None, workdir: str | None = None
    ) -> dict[str, Any]:
        """Submit a job that re-executes the run's notebook snapshot; returns the job.

        The notebook snapshot and the run's captured local modules (``code/*.py``) are
        written to a fresh folder, where the kernel runs; the other entries of the original
        folder (data files...) are linked into it when that folder still exists, so the
        notebook imports the modules it ran with and still finds its data. A run without
        captured modules runs in its original folder.
        """
        run = self.tracking.get_run(validate_id(run_id, "run_id"))
        paths = {a["path"] for a in self.artifacts.list_artifacts(run_id)}
        snapshot = snapshot_path(paths)
        if snapshot is None:
            raise InvalidInput(
                f"Run {run_id} has no notebook snapshot ({EXECUTED_ARTIFACT} or "
                f"{NOTEBOOK_ARTIFACT}) to re-execute; only notebook runs and jobs can be "
                "reproduced.",
                field="run_id",
            )
        job = self._job_of(run_id)
        if job is not None:
            parameters = job["parameters"] or {}
        else:
            parameters = {k: _typed(v) for k, v in run["params"].items() if k.isidentifier()}
        folder = Path(tempfile.mkdtemp(prefix="labcycle-reproduce-", dir=workdir))
        stem = Path(run.get("notebook_path") or "notebook.ipynb").name
        if not stem.endswith(".ipynb"):
            stem = "notebook.ipynb"
        notebook = folder / stem
        notebook.write_bytes(self.artifacts.read_artifact(run_id, snapshot))
        restored = set()
        for path in sorted(p for p in paths if p.startswith(CODE_PREFIX) and p.endswith(".py")):
            relative = validate_artifact_path(path[len(CODE_PREFIX) :])
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.artifacts.read_artifact(run_id, path))
            restored.add(relative.split("/")[0])
        original = None
        if job is not None and job.get("cwd") and os.path.isdir(job["cwd"]):
            original = job["cwd"]
        elif (
            job is not None
            and os.path.isabs(job["notebook"])
            and os.path.isdir(os.path.dirname(job["notebook"]))
        ):
            original = os.path.dirname(job["notebook"])
        elif (
            run.get("notebook_path")
            and os.path.isabs(run["notebook_path"])
            and os.path.isdir(os.path.dirname(run["notebook_path"]))
        ):
            original = os.path.dirname(run["notebook_path"])
        cwd = str(folder)
        if original and not restored:
            cwd = original
        elif original:
            # The captured modules win over today's files; everything else of the original
            # folder (data files...) is linked in, so relative paths keep working.
            for entry in os.listdir(original):
                if entry not in restored and entry != stem and not (folder / entry).exists():
                    with contextlib.suppress(OSError):
                        os.symlink(os.path.join(original, entry), folder / entry)
        options: dict[str, Any] = {}
        if job is not None:
            options = {k: job.get(k) for k in ("env", "kernel_name", "resources") if job.get(k)}
            options["timeout_s"] = timeout_s or job.get("timeout_s")
        elif timeout_s:
            options["timeout_s"] = timeout_s
        return self.jobs.submit(
            actor=actor,
            notebook=str(notebook),
            parameters=parameters,
            experiment=run["experiment_name"],
            project=run["project_name"],
            name=f"reproduce {run['name']}"[:250],
            cwd=cwd,
            reproduces_run_id=run_id,
            internal=True,  # its own snapshot, in a folder of LabCycle's
            **{k: v for k, v in options.items() if v is not None},
        )

    def reproductions(self, run_id: str) -> list[dict[str, Any]]:
        """Jobs that reproduce ``run_id``, newest first."""
        validate_id(run_id, "run_id")
        with self.store.read() as conn:
            ids = (
                conn.execute(
                    select(J.c.id)
                    .where(J.c.reproduces_run_id == run_id)
                    .order_by(J.c.created_at.desc())
                )
                .scalars()
                .all()
            )
        return [self.jobs.get(i) for i in ids]

    def report(self, run_id: str, against: str | None = None) -> dict[str, Any]:
        """The comparison of ``run_id`` with ``against`` (default: its newest finished
        reproduction), plus the reproduction job when there is one."""
        job = None
        if against is None:
            for candidate in self.reproductions(run_id):
                if candidate["status"] in FINAL_STATUSES and candidate["run_id"]:
                    job = candidate
                    break
            if job is None:
                raise NotFound(
                    f"Run {run_id} has no finished reproduction yet; reproduce it "
                    "first (POST runs/{id}/reproduce) or pass against=RUN_ID.",
                    field="against",
                )
            against = job["run_id"]
        report = self.compare(run_id, against)
        report["job"] = job
        return report
