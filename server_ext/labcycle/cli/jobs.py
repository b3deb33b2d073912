"""``labcycle run`` and ``labcycle jobs``: notebook jobs from a terminal.

``labcycle run`` submits a job to the store and runs it in this process's own dispatcher
(worker processes, the same code the server extension runs, or a Dask cluster with
``--executor dask://host:8786``), with a progress bar of the notebook's cells and a summary
at the end; ``--detach`` leaves it to a background worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..config import LabCycleConfig
from ..errors import InvalidInput
from .base import (
    _services,
    console,
    emit_json,
    fmt,
    fmt_time,
    friendly_errors,
    main,
    resolve_prefix,
)

JOB_STYLE = {
    "pending": "white",
    "queued": "cyan",
    "running": "blue",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "yellow",
}
FINAL = ("succeeded", "failed", "cancelled")


def parse_value(text: str) -> Any:
    """A CLI parameter value: a JSON literal when it is one (``0.1``, ``true``, ``[1, 2]``),
    else the string itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _env_pairs(pairs: tuple[str, ...]) -> dict[str, str] | None:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise InvalidInput(f"--env {pair!r} must look like NAME=VALUE.", field="env")
        env[name] = value
    return env or None


def _user() -> str:
    from ..config import local_user

    return local_user()


def _resolve_job(services: Any, job_id: str) -> dict[str, Any]:
    """A full job id, or an unambiguous prefix of at least 6 characters."""
    return resolve_prefix(
        "job", job_id, services.jobs.get, lambda: services.jobs.list(max_results=1000)["items"]
    )


def _styled(status: str) -> str:
    return f"[{JOB_STYLE.get(status, 'white')}]{status}[/]"


@main.command("run")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option(
    "-p",
    "--parameter",
    "parameters",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="A parameter (JSON literal, else a string); repeatable.",
)
@click.option("--experiment", "-e", help="Experiment of the run (default 'Default').")
@click.option("--project", help="Project of the experiment.")
@click.option("--name", help="Name of the job and its run.")
@click.option("--timeout", "timeout_s", type=float, help="Stop the kernel after this many seconds.")
@click.option("--cwd", type=click.Path(file_okay=False), help="The kernel's working directory.")
@click.option(
    "--env",
    "env",
    multiple=True,
    metavar="NAME=VALUE",
    help="An environment variable of the kernel; repeatable.",
)
@click.option("--git-ref", help="Run the notebook as committed at this ref (a temporary worktree).")
@click.option(
    "--retries", type=int, default=0, show_default=True, help="Re-runs when the worker dies."
)
@click.option("--kernel", "kernel_name", help="Kernel name (default: the notebook's).")
@click.option("--detach", is_flag=True, help="Queue the job, run it in the background, return.")
@click.option(
    "--executor",
    help="Where the job runs: 'local' or 'dask://host:8786' "
    "(default: LABCYCLE_EXECUTOR, else local).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the finished job as JSON.")
@friendly_errors
def run_notebook(
    notebook,
    parameters,
    experiment,
    project,
    name,
    timeout_s,
    cwd,
    env,
    git_ref,
    retries,
    kernel_name,
    detach,
    executor,
    as_json,
) -> None:
    """Run NOTEBOOK as a tracked job: labcycle run train.ipynb -p lr 0.1 -p depth 5."""
    from ..api.jobs import local_paths

    config = LabCycleConfig()
    executor = check_executor(executor)
    services = _services()
    params: dict[str, Any] = {}
    for key, value in parameters:
        params[key] = parse_value(value)
    notebook, cwd = local_paths(notebook, cwd or None, git_ref)
    job = services.jobs.submit(
        actor=_user(),
        notebook=notebook,
        parameters=params,
        experiment=experiment,
        project=project,
        name=name,
        cwd=cwd,
        env=_env_pairs(env),
        timeout_s=timeout_s,
        retries=retries,
        git_ref=git_ref,
        kernel_name=kernel_name,
    )
    if detach:
        subprocess.Popen(  # our own module, no shell
            [
                sys.executable,
                "-c",
                "from labcycle.cli.base import main; main()",
                "jobs",
                "work",
                job["id"],
                *(["--executor", executor] if executor else []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=os.environ.copy(),
        )
        if as_json:
            emit_json(job)
        else:
            console.print(
                f"Queued job {job['id']} ({job['name']}); follow it with "
                f"`labcycle jobs show {job['id'][:12]}`."
            )
        return
    job = _run_here(services, config, job, quiet=as_json, executor=executor)
    if as_json:
        emit_json(job)
    else:
        _summary(services, job)
    if job["status"] != "succeeded":
        sys.exit(1)


def check_executor(spec: str | None) -> str | None:
    """An ``--executor`` value checked before anything is submitted (None: configured)."""
    if spec is None:
        return None
    from ..jobs.executors import EXECUTORS

    spec = spec.strip()
    scheme = spec.split("://", 1)[0] if "://" in spec else spec
    if scheme not in EXECUTORS or (scheme != "local" and not spec.split("://", 1)[-1].strip("/")):
        raise InvalidInput(
            f"--executor {spec!r} is not an executor: use 'local' or 'dask://host:8786'.",
            field="executor",
        )
    return spec


def _run_here(
    services: Any, config: Any, job: dict[str, Any], *, quiet: bool, executor: str | None = None
) -> dict[str, Any]:
    """Dispatch the job in this process with a progress bar; Ctrl-C cancels it."""
    from ..jobs.dispatcher import dispatcher_from_config

    dispatcher = dispatcher_from_config(
        services,
        config,
        job_ids={job["id"]},
        executor=executor,
        stop_reason="the labcycle command stopped while the job ran",
    )
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[cells]}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=False,
    )
    task = progress.add_task(f"{job['name']} [dim]pending[/dim]", total=None, cells="")

    def update() -> None:
        current = services.jobs.get(job["id"])
        cell, total = current["progress"]["cell"], current["progress"]["total"]
        progress.update(
            task,
            description=f"{current['name']} {_styled(current['status'])}",
            completed=cell or 0,
            total=total,
            cells=f"cell {cell} of {total}" if total else "",
        )

    try:
        with progress:
            try:
                dispatcher.run_until_done([job["id"]], on_tick=update)
            except KeyboardInterrupt:
                console.print("[yellow]cancelling the job…[/yellow]")
                services.jobs.cancel(job["id"], actor=_user())
                dispatcher.run_until_done([job["id"]], timeout=30, on_tick=update)
    finally:
        dispatcher.stop()
    return services.jobs.get(job["id"])


def _summary(services: Any, job: dict[str, Any]) -> None:
    console.print(f"job {job['id']}  {_styled(job['status'])}")
    if job.get("error"):
        console.print(f"[red]{job['error']}[/red]", highlight=False)
    if not job.get("run_id"):
        return
    run = services.tracking.get_run(job["run_id"])
    console.print(
        f"run {run['id']}  {run['project_name']}/{run['experiment_name']}  "
        f"{run['status']}  {run['duration_s']:.1f}s"
    )
    if run["metrics"]:
        table = Table(title="metrics", title_justify="left", show_header=False)
        table.add_column("key")
        table.add_column("value", justify="right")
        for key, value in sorted(run["metrics"].items()):
            table.add_row(key, fmt(value))
        console.print(table)


@main.group()
def jobs() -> None:
    """List, show and cancel notebook jobs."""


@jobs.command("ls")
@click.option(
    "--status",
    "-s",
    multiple=True,
    type=click.Choice(["pending", "queued", "running", "succeeded", "failed", "cancelled"]),
    help="Only jobs with this status (repeatable).",
)
@click.option("--sweep", "sweep_id", help="Only the jobs of this sweep.")
@click.option("--limit", "-n", default=50, show_default=True, help="How many jobs at most.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@friendly_errors
def jobs_ls(status, sweep_id, limit, as_json) -> None:
    """List jobs, newest first."""
    items = _services().jobs.list(
        status=list(status) or None, sweep_id=sweep_id, max_results=limit
    )["items"]
    if as_json:
        emit_json(items)
        return
    table = Table(title=f"Jobs ({len(items)})", title_justify="left")
    for column in ("id", "name", "status", "progress", "created", "run", "error"):
        table.add_column(column, no_wrap=column in ("id", "run"))
    for j in items:
        cell, total = j["progress"]["cell"], j["progress"]["total"]
        table.add_row(
            j["id"][:12],
            j["name"],
            _styled(j["status"]),
            f"{cell}/{total}" if total else "",
            fmt_time(j["created_at"]),
            (j["run_id"] or "")[:12],
            (j["error"] or "")[:60],
        )
    console.print(table)


@jobs.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly_errors
def jobs_show(job_id: str, as_json: bool) -> None:
    """Show one job: status, progress, parameters, run, error."""
    services = _services()
    job = _resolve_job(services, job_id)
    if as_json:
        emit_json(job)
        return
    console.print(f"[bold]{job['name']}[/bold]  {job['id']}  {_styled(job['status'])}")
    console.print(
        f"notebook {job['notebook']}" + (f" at {job['git_ref']}" if job["git_ref"] else "")
    )
    cell, total = job["progress"]["cell"], job["progress"]["total"]
    if total:
        console.print(f"progress cell {cell} of {total}")
    console.print(
        f"created {fmt_time(job['created_at'])} by {job['created_by']} · attempt "
        f"{job['attempt']} of {job['retries'] + 1}"
    )
    if job["parameters"]:
        table = Table(title="parameters", title_justify="left", show_header=False)
        table.add_column("name")
        table.add_column("value")
        for key, value in job["parameters"].items():
            table.add_row(key, json.dumps(value))
        console.print(table)
    if job["run_id"]:
        console.print(f"run {job['run_id']}")
    if job["error"]:
        console.print(f"[red]{job['error']}[/red]", highlight=False)


@jobs.command("cancel")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly_errors
def jobs_cancel(job_id: str, as_json: bool) -> None:
    """Cancel a pending or running job (its kernel is stopped)."""
    services = _services()
    job = services.jobs.cancel(_resolve_job(services, job_id)["id"], actor=_user())
    if as_json:
        emit_json(job)
    else:
        console.print(
            f"job {job['id']}  {_styled(job['status'])}"
            + ("  (stopping its kernel)" if job["status"] == "running" else "")
        )


@jobs.command("work", hidden=True)
@click.argument("job_ids", nargs=-1, required=True)
@click.option("--executor", help="'local' or 'dask://host:8786' (default: configured).")
@friendly_errors
def jobs_work(job_ids: tuple[str, ...], executor: str | None) -> None:
    """Run the given jobs in this process until they are finished (used by --detach)."""
    from ..jobs.dispatcher import dispatcher_from_config

    services = _services()
    dispatcher = dispatcher_from_config(
        services,
        LabCycleConfig(),
        job_ids=set(job_ids),
        executor=check_executor(executor),
        stop_reason="the background labcycle worker stopped while the job ran",
    )
    try:
        dispatcher.run_until_done(list(job_ids))
    finally:
        dispatcher.stop()
