"""CLI of sweeps, schedules and reproduce: ``labcycle sweep``, ``sweeps``, ``schedules``,
``reproduce``. Attached to :data:`labcycle.cli.base.main` when ``cli`` is imported."""

from __future__ import annotations

import json
import math
import os
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import InvalidInput, NotFound
from .base import (
    _resolve_run,
    _services,
    console,
    emit_json,
    fmt,
    fmt_duration,
    fmt_time,
    friendly_errors,
    main,
    resolve_prefix,
)

SWEEP_STATUS_STYLE = {
    "running": "blue",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "yellow",
    "pending": "white",
    "queued": "cyan",
    "not_submitted": "dim",
}


def _styled(status: str) -> str:
    return f"[{SWEEP_STATUS_STYLE.get(status, 'white')}]{status}[/]"


def _sweeps(services: Any) -> Any:
    """The sweeps of the store, as the configured user (trials run in this process)."""
    from ..client.local import LocalTransport

    return LocalTransport(services).sweeps


def _params(items: tuple[str, ...], option: str) -> dict[str, Any]:
    from ..services.sweep_space import literal

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"{option} takes NAME=VALUE, got {item!r}.", field=option)
        out[name.strip()] = literal(value)
    return out


def _trial_table(
    sweep: dict[str, Any],
    runs: list[dict[str, Any]],
    metric: str | None,
    mode: str,
    limit: int | None = None,
) -> Table:
    param_keys = sorted({k for r in runs for k in r["parameters"]})
    metric_keys = sorted({k for r in runs for k in r["metrics"]})
    if metric and metric in metric_keys:
        metric_keys.remove(metric)
        metric_keys.insert(0, metric)
    metric_keys = metric_keys[:6]

    def key(row: dict[str, Any]) -> tuple:
        value = row["metrics"].get(metric) if metric else None
        if not isinstance(value, (int, float)) or math.isnan(value):
            return (1, 0.0, row["trial"])
        return (0, -value if mode == "max" else value, row["trial"])

    ordered = sorted(runs, key=key) if metric else runs
    shown = ordered[:limit] if limit else ordered
    title = f"Sweep {sweep['name']} ({len(runs)} trials"
    title += f", best {metric} first)" if metric else ")"
    table = Table(title=title, title_justify="left")
    for column in ("#", "status", *param_keys, *metric_keys, "duration", "run"):
        table.add_column(
            column,
            justify="right" if column in metric_keys or column == "#" else "left",
            no_wrap=column == "run",
        )
    for r in shown:
        table.add_row(
            str(r["trial"]),
            _styled(r["status"]),
            *(fmt(r["parameters"].get(k)) for k in param_keys),
            *(fmt(r["metrics"].get(k)) for k in metric_keys),
            fmt_duration(r["duration_s"]),
            (r["run_id"] or "")[:12],
        )
    return table


@main.command("sweep")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option(
    "--grid",
    "-g",
    multiple=True,
    metavar="NAME=V1,V2,...",
    help="A grid dimension (repeatable): every combination runs.",
)
@click.option(
    "--random",
    "-r",
    "random_",
    multiple=True,
    metavar="NAME=DIST(ARGS)",
    help="A random dimension: uniform(a,b), loguniform(a,b), randint(a,b), "
    "choice(x,y,...), normal(mu,sigma) (repeatable; needs --trials).",
)
@click.option("--trials", "-n", "n_trials", type=int, help="How many random draws.")
@click.option("--seed", type=int, help="Seed of the random draws (same seed, same trials).")
@click.option("--trials-file", type=click.File(), help="A JSON list of parameter objects.")
@click.option(
    "--param",
    "-p",
    "fixed",
    multiple=True,
    metavar="NAME=VALUE",
    help="A fixed parameter of every trial (repeatable).",
)
@click.option(
    "--parallel",
    "-j",
    default=2,
    show_default=True,
    help="At most this many of the sweep's runs at once.",
)
@click.option("--experiment", "-e", help="Experiment of the runs.")
@click.option("--project", help="Project of the experiment.")
@click.option("--name", help="Name of the sweep.")
@click.option("--timeout", "timeout_s", type=float, help="Per-run timeout in seconds.")
@click.option("--metric", "-m", help="Sort the final table by this metric.")
@click.option(
    "--mode",
    type=click.Choice(["max", "min"]),
    default="max",
    show_default=True,
    help="Whether a higher or a lower --metric is better.",
)
@click.option(
    "--no-wait",
    is_flag=True,
    help="Submit and return (a Jupyter server on the same store runs the jobs).",
)
@click.option(
    "--executor",
    help="Where the trials run: 'local' or 'dask://host:8786' "
    "(default: LABCYCLE_EXECUTOR, else local).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@friendly_errors
def sweep_cmd(
    notebook,
    grid,
    random_,
    n_trials,
    seed,
    trials_file,
    fixed,
    parallel,
    experiment,
    project,
    name,
    timeout_s,
    metric,
    mode,
    no_wait,
    executor,
    as_json,
) -> None:
    """Run NOTEBOOK over a parameter grid, random draws or a list of trials.

    \b
    labcycle sweep train.ipynb --grid lr=0.01,0.1 --grid depth=3,5,8 --parallel 4 -m acc
    labcycle sweep train.ipynb --random 'lr=loguniform(1e-4,1e-1)' --trials 20 --seed 1
    """
    from ..api.sweeps import Sweep
    from ..client.jobs import stop_process_dispatcher
    from ..services.sweep_space import parse_cli_grid, parse_cli_random
    from .jobs import check_executor

    trials = json.load(trials_file) if trials_file else None
    executor = check_executor(executor)
    services = _services()
    sweeps = _sweeps(services)
    sweeps.executor = executor
    data = services.sweeps.create(
        actor=sweeps.user,
        notebook=os.path.abspath(notebook),
        grid=parse_cli_grid(grid) if grid else None,
        random=parse_cli_random(random_) if random_ else None,
        trials=trials,
        n_trials=n_trials,
        seed=seed,
        parameters=_params(fixed, "param") or None,
        parallel=parallel,
        experiment=experiment,
        project=project,
        name=name,
        timeout_s=timeout_s,
    )
    sweep = Sweep(data, sweeps)
    if not no_wait:
        if as_json:
            sweep.wait(progress=False)
        else:
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            ) as bar:
                task = bar.add_task(sweep.name, total=data["n_trials"], detail="")

                def show(d: dict[str, Any]) -> None:
                    p = d["progress"]
                    bar.update(
                        task,
                        completed=p["done"],
                        detail=f"{p['running']} running · {p['failed']} failed",
                    )

                sweep.wait(progress=False, on_progress=show)
        # Stop the workers now, not in an exit hook where Dask's threads are gone already.
        stop_process_dispatcher()
    result = services.sweeps.get(sweep.id, with_runs=True)
    if as_json:
        emit_json(result)
        return
    console.print(f"sweep [bold]{result['name']}[/bold] {result['id']} {_styled(result['status'])}")
    console.print(_trial_table(result, result["runs"], metric, mode))
    if metric and result["status"] != "running":
        try:
            best = services.sweeps.best(sweep.id, metric, mode)
        except NotFound:  # no run logged the metric
            best = None
        if best:
            console.print(
                f"best {metric} = {fmt(best['metrics'][metric])}: trial "
                f"{best['trial']} {best['parameters']} run {best['run_id']}"
            )


@main.group("sweeps")
def sweeps_group() -> None:
    """List, show and cancel sweeps."""


@sweeps_group.command("ls")
@click.option("--status", type=click.Choice(["running", "finished", "cancelled"]))
@click.option("--limit", "-n", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def sweeps_ls(status, limit, as_json) -> None:
    """List sweeps, newest first, with their progress."""
    items = _services().sweeps.list(status=status, max_results=limit)["items"]
    if as_json:
        emit_json(items)
        return
    table = Table(title=f"Sweeps ({len(items)})", title_justify="left")
    for column in ("id", "name", "status", "done", "failed", "parallel", "created"):
        table.add_column(column, no_wrap=column == "id")
    for s in items:
        p = s["progress"]
        table.add_row(
            s["id"][:12],
            s["name"],
            _styled(s["status"]),
            f"{p['done']}/{p['total']}",
            str(p["failed"]),
            str(s["parallel"]),
            fmt_time(s["created_at"]),
        )
    console.print(table)


def _resolve_sweep(services: Any, prefix: str) -> dict[str, Any]:
    return resolve_prefix(
        "sweep",
        prefix,
        lambda i: services.sweeps.get(i, with_runs=True),
        lambda: services.sweeps.list(max_results=1000)["items"],
    )


@sweeps_group.command("show")
@click.argument("sweep_id")
@click.option("--metric", "-m", help="Sort by this metric.")
@click.option("--mode", type=click.Choice(["max", "min"]), default="max", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def sweeps_show(sweep_id, metric, mode, as_json) -> None:
    """A sweep's progress and its trials."""
    result = _resolve_sweep(_services(), sweep_id)
    if as_json:
        emit_json(result)
        return
    p = result["progress"]
    console.print(
        f"sweep [bold]{result['name']}[/bold] {result['id']} {_styled(result['status'])}"
        f" · {p['done']}/{p['total']} done · {p['running']} running · "
        f"{p['pending'] + p['not_submitted']} waiting · {p['failed']} failed"
    )
    console.print(_trial_table(result, result["runs"], metric, mode))


@sweeps_group.command("cancel")
@click.argument("sweep_id")
@friendly_errors
def sweeps_cancel(sweep_id) -> None:
    """Stop a sweep and cancel its pending and running jobs."""
    services = _services()
    found = _resolve_sweep(services, sweep_id)
    result = services.sweeps.cancel(found["id"], actor=_sweeps(services).user)
    console.print(f"sweep {result['id']} {_styled(result['status'])}")


# -- schedules --------------------------------------------------------------------------------
@main.group("schedules")
def schedules_group() -> None:
    """Run notebooks on a cron schedule (the Jupyter server's scheduler fires them)."""


@schedules_group.command("ls")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def schedules_ls(as_json) -> None:
    """List schedules with their next run time."""
    items = _services().schedules.list(max_results=1000)["items"]
    if as_json:
        emit_json(items)
        return
    table = Table(title=f"Schedules ({len(items)})", title_justify="left")
    for column in ("id", "name", "kind", "cron", "zone", "next run", "last run", "last", "fired"):
        table.add_column(column, no_wrap=column == "id")
    for s in items:
        table.add_row(
            s["id"][:12],
            s["name"],
            s["kind"],
            s["cron"],
            s["timezone"],
            "[yellow]paused[/]" if s["paused"] else fmt_time(s["next_run_at"]),
            fmt_time(s["last_run_at"]),
            s["last_status"] or "",
            str(s["fire_count"]),
        )
    console.print(table)


@schedules_group.command("add")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("--cron", "-c", required=True, help="e.g. '0 3 * * *' (03:00 daily).")
@click.option("--timezone", "--tz", default="UTC", show_default=True)
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE")
@click.option("--name")
@click.option("--experiment", "-e")
@click.option("--timeout", "timeout_s", type=float)
@click.option("--paused", is_flag=True, help="Create it paused.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def schedules_add(
    notebook, cron, timezone, params, name, experiment, timeout_s, paused, as_json
) -> None:
    """Run NOTEBOOK as a job on a cron schedule."""
    services = _services()
    payload: dict[str, Any] = {"notebook": os.path.abspath(notebook)}
    if params:
        payload["parameters"] = _params(params, "param")
    if experiment:
        payload["experiment"] = experiment
    if timeout_s:
        payload["timeout_s"] = timeout_s
    result = services.schedules.create(
        actor=_sweeps(services).user,
        kind="job",
        cron=cron,
        timezone=timezone,
        payload=payload,
        name=name,
        paused=paused,
    )
    if as_json:
        emit_json(result)
        return
    console.print(
        f"schedule {result['id']} {result['cron']!r} ({result['timezone']}): next run "
        f"{'paused' if result['paused'] else fmt_time(result['next_run_at'])} UTC"
    )


def _schedule_id(services: Any, prefix: str) -> str:
    return resolve_prefix(
        "schedule",
        prefix,
        services.schedules.get,
        lambda: services.schedules.list(max_results=1000)["items"],
        min_length=1,
    )["id"]


@schedules_group.command("pause")
@click.argument("schedule_id")
@friendly_errors
def schedules_pause(schedule_id) -> None:
    """Stop firing a schedule until it is resumed."""
    services = _services()
    result = services.schedules.pause(
        _schedule_id(services, schedule_id), actor=_sweeps(services).user
    )
    console.print(f"schedule {result['id']} paused")


@schedules_group.command("resume")
@click.argument("schedule_id")
@friendly_errors
def schedules_resume(schedule_id) -> None:
    """Fire a paused schedule again (from its next occurrence; missed ones are skipped)."""
    services = _services()
    result = services.schedules.resume(
        _schedule_id(services, schedule_id), actor=_sweeps(services).user
    )
    console.print(
        f"schedule {result['id']} resumed; next run {fmt_time(result['next_run_at'])} UTC"
    )


@schedules_group.command("rm")
@click.argument("schedule_id")
@friendly_errors
def schedules_rm(schedule_id) -> None:
    """Delete a schedule (the jobs and runs it made stay)."""
    services = _services()
    sid = _schedule_id(services, schedule_id)
    services.schedules.delete(sid, actor=_sweeps(services).user)
    console.print(f"schedule {sid} deleted")


@schedules_group.command("show")
@click.argument("schedule_id")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def schedules_show(schedule_id, as_json) -> None:
    """A schedule and the jobs it submitted."""
    services = _services()
    sid = _schedule_id(services, schedule_id)
    result = {**services.schedules.get(sid), "history": services.schedules.history(sid)}
    if as_json:
        emit_json(result)
        return
    console.print(
        f"[bold]{result['name']}[/bold] {result['id']} {result['cron']!r} "
        f"({result['timezone']}) next "
        f"{'paused' if result['paused'] else fmt_time(result['next_run_at'])}"
    )
    table = Table(title="history", title_justify="left")
    for column in ("job", "status", "created", "run"):
        table.add_column(column)
    for job in result["history"]:
        table.add_row(
            job["id"][:12],
            _styled(job["status"]),
            fmt_time(job["created_at"]),
            (job.get("run_id") or "")[:12],
        )
    console.print(table)


# -- reproduce --------------------------------------------------------------------------------
def report_table(report: dict[str, Any]) -> Table:
    """A reproduction report as a rich table (differences in yellow)."""
    a, b = report["run_a"], report["run_b"]
    table = Table(
        title=f"{report['differences']} differences: {a['id'][:12]} (original) vs "
        f"{b['id'][:12]} (reproduction)",
        title_justify="left",
    )
    for column in ("", "original", "reproduction", "change"):
        table.add_column(column, justify="left" if not column or column == "change" else "right")

    def row(label: str, x: Any, y: Any, change: str, changed: bool) -> None:
        table.add_row(label, fmt(x), fmt(y), change, style="bold yellow" if changed else "dim")

    row("python", report["python"]["a"], report["python"]["b"], "", report["python"]["changed"])
    g = report["git"]
    row("git commit", (g["a"] or "")[:12], (g["b"] or "")[:12], "", g["changed"])
    for pkg, change in report["packages"]["changed"].items():
        row(f"package {pkg}", change["a"], change["b"], "changed", True)
    for pkg, version in report["packages"]["added"].items():
        row(f"package {pkg}", None, version, "added", True)
    for pkg, version in report["packages"]["removed"].items():
        row(f"package {pkg}", version, None, "removed", True)
    for d in report["datasets"]:
        row(
            f"dataset {d['name']} ({d['context']})",
            (d["a"] or "")[:19],
            (d["b"] or "")[:19],
            "",
            d["changed"],
        )
    for p in report["params"]:
        if p["changed"]:
            row(f"param {p['key']}", p["a"], p["b"], "", True)
    for m in report["metrics"]:
        change = "" if m["abs_change"] is None else fmt(m["abs_change"])
        if isinstance(m["rel_change"], (int, float)):
            change += f" ({m['rel_change'] * 100:+.3g}%)"
        row(f"metric {m['key']}", m["a"], m["b"], change, m["changed"])
    table.caption = f"{report['packages']['unchanged']} packages unchanged"
    return table


@main.command("reproduce")
@click.argument("run_id")
@click.option("--no-wait", is_flag=True, help="Submit the job and return.")
@click.option("--against", help="Only compare RUN_ID with this run (no re-execution).")
@click.option("--timeout", type=float, help="Give up waiting after this many seconds.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def reproduce_cmd(run_id, no_wait, against, timeout, as_json) -> None:
    """Re-execute a run's notebook with the same parameters and show what differs."""
    from ..api.sweeps import Reproduction

    services = _services()
    original = _resolve_run(services, run_id)
    if against:
        report = services.reproduce.compare(original["id"], _resolve_run(services, against)["id"])
        emit_json(report) if as_json else console.print(report_table(report))
        return
    sweeps = _sweeps(services)
    job = services.reproduce.reproduce(original["id"], actor=sweeps.user)
    if no_wait:
        emit_json(job) if as_json else console.print(
            f"reproducing {original['id']} as job {job['id']} ({job['status']})"
        )
        return
    result = Reproduction(original["id"], job, sweeps)
    with console.status(f"re-executing {original['name']} (job {job['id'][:12]})…"):
        result.wait(timeout=timeout)
    if result.report is None:
        console.print(f"job {result.job['id']} is {result.job['status']}; no report yet.")
        return
    if as_json:
        emit_json(result.report)
        return
    if result.job["status"] != "succeeded":
        console.print(f"[red]the reproduction failed:[/red] {result.job.get('error')}")
    console.print(report_table(result.report))
