"""Python API of sweeps, schedules and reproduce: ``lc.sweep``, ``lc.schedule``, ``lc.reproduce``.

Like the rest of ``lc.*``, the calls go to the Jupyter server's REST API in a kernel of a
LabCycle-enabled server (its job queue and scheduler do the work), and to the local store
anywhere else. Locally, ``wait()`` runs the jobs in this process's own worker pool
(at most ``LABCYCLE_MAX_JOBS`` at a time; a sweep's ``parallel`` applies on top), so a
script needs no server; without ``wait()`` they run when a server on the same store
picks them up.
"""

from __future__ import annotations

import html
import math
import os
import time
from typing import Any

from ..client.jobs import FINAL
from ..client.sweeps import SweepsClient
from ..errors import InvalidInput
from .fluent import current_transport

__all__ = ["Reproduction", "Schedule", "Sweep", "reproduce", "schedule", "schedules", "sweep"]


def _progress_bar(total: int, desc: str) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with papermill
        return None
    return tqdm(total=total, desc=desc, unit="run")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.6g}"
    return "" if value is None else str(value)


# -- sweeps ----------------------------------------------------------------------------------
class Sweep:
    """A sweep: its status, progress, comparison table and best run.

    ``sweep.to_frame()`` has one row per trial (``params.*``, ``metrics.*``, status, run id);
    ``sweep.best("acc")`` the best trial; ``sweep.wait()`` blocks with a progress bar.
    """

    def __init__(self, data: dict[str, Any], sweeps: SweepsClient | None = None) -> None:
        self.data = data
        self._sweeps = sweeps or current_transport().sweeps

    id = property(lambda self: self.data["id"])
    name = property(lambda self: self.data["name"])

    @property
    def status(self) -> str:
        """running, succeeded, failed (some trial failed) or cancelled (refreshed)."""
        return self.refresh().data["status"]

    @property
    def progress(self) -> dict[str, int]:
        return self.refresh().data["progress"]

    def refresh(self) -> Sweep:
        self.data = self._sweeps.get(self.id)
        return self

    def runs(self) -> list[dict[str, Any]]:
        """One dict per trial: trial, parameters, job_id, status, run_id, metrics, error."""
        return self._sweeps.runs(self.id)

    def to_frame(self):
        """The comparison table: one row per trial, like ``lc.search_runs``."""
        import pandas as pd

        rows = []
        for trial in self.runs():
            row = {
                "trial": trial["trial"],
                "run_id": trial["run_id"],
                "status": trial["status"],
                "duration_s": trial["duration_s"],
            }
            row.update({f"params.{k}": v for k, v in trial["parameters"].items()})
            row.update(
                {
                    f"metrics.{k}": (math.nan if v == "NaN" else v)
                    for k, v in trial["metrics"].items()
                }
            )
            if trial.get("error"):
                row["error"] = trial["error"]
            rows.append(row)
        return pd.DataFrame(rows)

    def best(self, metric: str, mode: str = "max") -> dict[str, Any]:
        """The trial (dict with ``run_id``, ``parameters``, ``metrics``) with the best ``metric``."""
        return self._sweeps.best(self.id, metric, mode)

    def cancel(self) -> Sweep:
        self.data = self._sweeps.cancel(self.id)
        return self

    def wait(
        self, timeout: float | None = None, progress: bool = True, on_progress: Any = None
    ) -> Sweep:
        """Block until every trial has finished; a progress bar in notebooks and terminals.

        ``on_progress(sweep_dict)`` is called after each poll (the CLI draws its own bar).
        """
        bar = _progress_bar(self.data["n_trials"], self.name) if progress else None
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                token = self._sweeps.advance(self.id)
                data = self.refresh().data
                if on_progress is not None:
                    on_progress(data)
                if bar is not None:
                    bar.n = data["progress"]["done"]
                    p = data["progress"]
                    bar.set_postfix(running=p["running"], failed=p["failed"], refresh=False)
                    bar.refresh()
                if data["status"] != "running":
                    break
                if deadline is not None and time.monotonic() > deadline:
                    break
                self._sweeps.pause(token)
        finally:
            if bar is not None:
                bar.close()
        return self

    def __repr__(self) -> str:
        p = self.data["progress"]
        return (
            f"<Sweep {self.name!r} id={self.id} {self.data['status']} "
            f"{p['done']}/{p['total']} done, {p['failed']} failed>"
        )

    def _repr_html_(self) -> str:
        p = self.data["progress"]
        return (
            f"<b>Sweep {html.escape(self.name)}</b> <code>{self.id}</code>: "
            f"{html.escape(self.data['status'])}, {p['done']}/{p['total']} done "
            f"({p['succeeded']} succeeded, {p['failed']} failed, {p['running']} running)"
        )


def sweep(
    notebook: str,
    grid: dict[str, list] | None = None,
    random: dict[str, Any] | None = None,  # the word users know
    trials: list[dict[str, Any]] | None = None,
    *,
    n_trials: int | None = None,
    seed: int | None = None,
    parallel: int = 2,
    wait: bool = False,
    parameters: dict[str, Any] | None = None,
    experiment: str | None = None,
    project: str | None = None,
    name: str | None = None,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float | None = None,
    retries: int = 0,
    resources: dict[str, Any] | None = None,
    git_ref: str | None = None,
    kernel_name: str | None = None,
    progress: bool = True,
) -> Sweep:
    """Run ``notebook`` once per parameter set of a grid, a random space or a trial list.

    Parameters
    ----------
    notebook : str
        The notebook (with a papermill ``parameters`` cell).
    grid : dict, optional
        ``{"lr": [0.01, 0.1], "depth": [3, 5, 8]}``: every combination (6 runs).
    random : dict, optional
        ``{"lr": {"distribution": "loguniform", "low": 1e-4, "high": 1e-1},
        "depth": {"choice": [3, 5, 8]}, "n": {"randint": [1, 10]}}`` sampled ``n_trials``
        times with ``seed`` (same seed, same trials). With a grid, each draw is crossed
        with every grid point.
    trials : list of dict, optional
        Explicit parameter sets.
    parallel : int
        At most this many of the sweep's runs at once.
    wait : bool
        Block until all runs finished (progress bar); else call ``.wait()`` later.
    parameters : dict, optional
        Fixed parameters of every trial.

    Returns
    -------
    Sweep

    Examples
    --------
    >>> s = lc.sweep("train.ipynb", grid={"lr": [0.01, 0.1], "depth": [3, 5]}, parallel=2,
    ...              wait=True)
    >>> s.to_frame().sort_values("metrics.acc")
    >>> s.best("acc")["parameters"]
    """
    sweeps = current_transport().sweeps
    notebook = os.path.abspath(os.path.expanduser(notebook))
    body = {
        "notebook": notebook,
        "grid": grid,
        "random": random,
        "trials": trials,
        "n_trials": n_trials,
        "seed": seed,
        "parameters": parameters,
        "parallel": parallel,
        "name": name,
        "experiment": experiment,
        "project": project,
        "cwd": os.path.abspath(cwd) if cwd else None,
        "env": env,
        "timeout_s": timeout_s,
        "retries": retries,
        "resources": resources,
        "git_ref": git_ref,
        "kernel_name": kernel_name,
    }
    result = Sweep(sweeps.create(**body), sweeps)
    if wait:
        result.wait(progress=progress)
    return result


# -- schedules -------------------------------------------------------------------------------
class Schedule:
    """A schedule: ``next_run_at``, ``pause()``, ``resume()``, ``history()``, ``delete()``."""

    def __init__(self, data: dict[str, Any], sweeps: SweepsClient | None = None) -> None:
        self.data = data
        self._sweeps = sweeps or current_transport().sweeps

    id = property(lambda self: self.data["id"])
    name = property(lambda self: self.data["name"])
    next_run_at = property(lambda self: self.data["next_run_at"])
    paused = property(lambda self: self.data["paused"])

    def _update(self, **fields: Any) -> Schedule:
        self.data = self._sweeps.update_schedule(self.id, fields)
        return self

    def pause(self) -> Schedule:
        return self._update(paused=True)

    def resume(self) -> Schedule:
        return self._update(paused=False)

    def history(self) -> list[dict[str, Any]]:
        """The jobs this schedule submitted, newest first."""
        return self._sweeps.schedule_history(self.id)

    def delete(self) -> None:
        self._sweeps.delete_schedule(self.id)

    def __repr__(self) -> str:
        state = "paused" if self.paused else f"next {self.next_run_at}"
        return f"<Schedule {self.name!r} {self.data['cron']!r} ({self.data['timezone']}) {state}>"


def schedule(
    notebook: str,
    cron: str,
    parameters: dict[str, Any] | None = None,
    *,
    timezone: str = "UTC",
    name: str | None = None,
    paused: bool = False,
    experiment: str | None = None,
    project: str | None = None,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float | None = None,
    retries: int = 0,
    kernel_name: str | None = None,
) -> Schedule:
    """Run ``notebook`` as a job on a cron schedule (the server's scheduler fires it).

    Parameters
    ----------
    cron : str
        Five fields, ``minute hour day-of-month month day-of-week``: ``"0 3 * * *"`` is
        03:00 every day, in ``timezone``.

    Examples
    --------
    >>> lc.schedule("retrain.ipynb", "0 3 * * *", {"window_days": 30}, timezone="Europe/Paris")
    """
    payload = {
        "notebook": os.path.abspath(os.path.expanduser(notebook)),
        "parameters": parameters,
        "experiment": experiment,
        "project": project,
        "cwd": os.path.abspath(cwd) if cwd else None,
        "env": env,
        "timeout_s": timeout_s,
        "retries": retries or None,
        "kernel_name": kernel_name,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    fields = {
        "kind": "job",
        "cron": cron,
        "timezone": timezone,
        "payload": payload,
        "name": name,
        "paused": paused,
    }
    sweeps = current_transport().sweeps
    return Schedule(sweeps.create_schedule(**fields), sweeps)


def schedules() -> list[Schedule]:
    """Every schedule, newest first."""
    sweeps = current_transport().sweeps
    return [Schedule(item, sweeps) for item in sweeps.schedules(1000)]


# -- reproduce -------------------------------------------------------------------------------
class Reproduction:
    """A re-execution of a run, and the report of what differs from the original."""

    def __init__(self, original_run_id: str, job: dict[str, Any], sweeps: SweepsClient) -> None:
        self.original_run_id = original_run_id
        self.job = job
        self._sweeps = sweeps
        self.report: dict[str, Any] | None = None

    @property
    def run_id(self) -> str | None:
        """The reproduction's run."""
        return self.job.get("run_id")

    def wait(self, timeout: float | None = None) -> Reproduction:
        """Block until the job finished, then fetch the report."""
        if self.job["status"] not in FINAL:
            self.job = self._sweeps.wait_job(self.job["id"], timeout)
        if self.job["status"] in FINAL and self.run_id:
            self.report = self.compare()
        return self

    def compare(self) -> dict[str, Any]:
        if not self.run_id:
            raise InvalidInput("The reproduction has no run yet; wait() for it first.")
        report = self._sweeps.reproduction_report(self.original_run_id, self.run_id)
        report["job"] = self.job
        return report

    @property
    def changed_packages(self) -> dict[str, Any]:
        return (self.report or {}).get("packages", {}).get("changed", {})

    def metric(self, key: str) -> dict[str, Any] | None:
        return next((m for m in (self.report or {}).get("metrics", []) if m["key"] == key), None)

    def __repr__(self) -> str:
        differences = (
            "pending" if self.report is None else f"{self.report['differences']} differences"
        )
        return (
            f"<Reproduction of {self.original_run_id} by job {self.job['id']} "
            f"({self.job['status']}): {differences}>"
        )

    def _repr_html_(self) -> str:
        return report_html(self.report, self.job)


def report_html(report: dict[str, Any] | None, job: dict[str, Any] | None = None) -> str:
    """A reproduction report as an HTML table (differences highlighted)."""
    if report is None:
        status = html.escape(job["status"]) if job else "pending"
        return f"<b>Reproduction</b>: job {status}; no report yet (call <code>.wait()</code>)."
    rows: list[tuple[str, str, str, str, bool]] = []
    py = report["python"]
    rows.append(("python", _fmt(py["a"]), _fmt(py["b"]), "", py["changed"]))
    git = report["git"]
    rows.append(("git commit", _fmt(git["a"])[:12], _fmt(git["b"])[:12], "", git["changed"]))
    for name, change in report["packages"]["changed"].items():
        rows.append((f"package {name}", change["a"], change["b"], "changed", True))
    for name, version in report["packages"]["added"].items():
        rows.append((f"package {name}", "", version, "added", True))
    for name, version in report["packages"]["removed"].items():
        rows.append((f"package {name}", version, "", "removed", True))
    for d in report["datasets"]:
        rows.append(
            (
                f"dataset {d['name']} ({d['context']})",
                _fmt(d["a"])[:19],
                _fmt(d["b"])[:19],
                "",
                d["changed"],
            )
        )
    for p in report["params"]:
        if p["changed"]:
            rows.append((f"param {p['key']}", _fmt(p["a"]), _fmt(p["b"]), "", True))
    for m in report["metrics"]:
        rel = m["rel_change"]
        change = "" if m["abs_change"] is None else f"{_fmt(m['abs_change'])}"
        if isinstance(rel, (int, float)):
            change += f" ({rel * 100:+.3g}%)"
        rows.append((f"metric {m['key']}", _fmt(m["a"]), _fmt(m["b"]), change, m["changed"]))
    body = "".join(
        f'<tr style="{"background:#fff3cd" if changed else ""}"><td>{html.escape(k)}</td>'
        f"<td>{html.escape(str(a))}</td><td>{html.escape(str(b))}</td>"
        f"<td>{html.escape(str(c))}</td></tr>"
        for k, a, b, c, changed in rows
    )
    a, b = report["run_a"], report["run_b"]
    title = (
        f"<b>{report['differences']} differences</b> between "
        f"<code>{html.escape(a['id'][:12])}</code> (original) and "
        f"<code>{html.escape(b['id'][:12])}</code> (reproduction); "
        f"{report['packages']['unchanged']} packages unchanged"
    )
    return (
        f"<div>{title}<table><thead><tr><th></th><th>original</th><th>reproduction</th>"
        f"<th>change</th></tr></thead><tbody>{body}</tbody></table></div>"
    )


def reproduce(run_id: str, wait: bool = True, timeout: float | None = None) -> Reproduction:
    """Re-execute a run's notebook with the same parameters, and report what differs.

    Parameters
    ----------
    run_id : str
        The run to reproduce (a notebook job's run, or a notebook run with a snapshot).
    wait : bool
        Wait for the new run and compute the report (``.report``; shown as a table in
        notebooks). Otherwise call ``.wait()`` later.

    Returns
    -------
    Reproduction
        ``.report`` says how Python, packages, input datasets, the git commit and each
        metric (absolute and relative change) differ from the original.
    """
    sweeps = current_transport().sweeps
    result = Reproduction(run_id, sweeps.reproduce(run_id), sweeps)
    if wait:
        result.wait(timeout=timeout)
    return result
