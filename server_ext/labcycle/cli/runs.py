"""``labcycle experiments``, ``runs``, ``db`` and ``demo``."""

from __future__ import annotations

import click
from rich.table import Table

from ..config import LabCycleConfig
from .base import (
    STATUS_STYLE,
    _resolve_run,
    _services,
    console,
    emit_json,
    fmt,
    fmt_duration,
    fmt_time,
    friendly_errors,
    main,
)


# -- experiments ------------------------------------------------------------------------
@main.group()
def experiments() -> None:
    """List experiments."""


@experiments.command("ls")
@click.option("--project", help="Only this project's experiments (name).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@friendly_errors
def experiments_ls(project: str | None, as_json: bool) -> None:
    """List experiments with their run counts."""
    items = _services().projects.list_experiments(max_results=1000, project_name=project)["items"]
    if as_json:
        emit_json(items)
        return
    table = Table(title="Experiments", title_justify="left")
    for column in ("project", "experiment", "runs", "last run", "id"):
        table.add_column(column, justify="right" if column == "runs" else "left")
    for e in items:
        table.add_row(
            e["project_name"], e["name"], str(e["run_count"]), fmt_time(e["last_run_at"]), e["id"]
        )
    console.print(table)


# -- runs -------------------------------------------------------------------------------
@main.group()
def runs() -> None:
    """List, show and compare runs."""


def _experiment_ids(services, names: tuple[str, ...], project: str | None) -> list[str] | None:
    if not names:
        return None
    return [services.projects.find_experiment(name, project)["id"] for name in names]


@runs.command("ls")
@click.option("--experiment", "-e", multiple=True, help="Experiment name (repeatable).")
@click.option("--project", "-p", help="Project holding the experiment.")
@click.option(
    "--filter", "-f", "filter_", help="e.g. \"metrics.acc > 0.9 and params.model = 'rf'\"."
)
@click.option("--order-by", "-o", multiple=True, help="e.g. 'metrics.acc DESC' (repeatable).")
@click.option("--limit", "-n", default=50, show_default=True, help="How many runs at most.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@friendly_errors
def runs_ls(experiment, project, filter_, order_by, limit, as_json) -> None:
    """List runs, newest first, with their key metrics."""
    services = _services()
    result = services.tracking.search_runs(
        experiment_ids=_experiment_ids(services, experiment, project),
        filter=filter_,
        order_by=list(order_by) or None,
        max_results=limit,
    )
    items = result["items"]
    if as_json:
        emit_json(items)
        return
    metric_keys = sorted({k for r in items for k in r["metrics"]})[:5]
    table = Table(title=f"Runs ({len(items)})", title_justify="left")
    for column in ("id", "name", "status", "start", "duration", *metric_keys):
        table.add_column(
            column, justify="right" if column in metric_keys else "left", no_wrap=column == "id"
        )
    for r in items:
        status = f"[{STATUS_STYLE.get(r['status'], 'white')}]{r['status']}[/]"
        table.add_row(
            r["id"][:12],
            r["name"],
            status,
            fmt_time(r["start_time"]),
            fmt_duration(r["duration_s"]),
            *(fmt(r["metrics"].get(k)) for k in metric_keys),
        )
    console.print(table)


@runs.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@friendly_errors
def runs_show(run_id: str, as_json: bool) -> None:
    """Show one run: attributes, params, metrics, tags, artifacts and cells."""
    services = _services()
    run = _resolve_run(services, run_id)
    artifacts = services.artifacts.list_artifacts(run["id"])
    cells = services.artifacts.list_cells(run["id"])
    if as_json:
        emit_json({**run, "artifacts": artifacts, "cells": cells})
        return
    status = f"[{STATUS_STYLE.get(run['status'], 'white')}]{run['status']}[/]"
    console.print(f"[bold]{run['name']}[/bold]  {run['id']}  {status}")
    console.print(
        f"experiment {run['project_name']}/{run['experiment_name']} · user {run['user']} · "
        f"started {fmt_time(run['start_time'])} · {fmt_duration(run['duration_s'])}"
    )
    if run.get("notebook_path"):
        console.print(f"notebook {run['notebook_path']}")
    if run["git"].get("commit"):
        dirty = " (dirty)" if run["git"].get("dirty") else ""
        console.print(f"git {run['git'].get('branch') or ''} {run['git']['commit'][:10]}{dirty}")
    if run.get("out_of_order"):
        console.print("[yellow]cells ran out of order: results may depend on hidden state[/yellow]")
    for title, values in (
        ("params", run["params"]),
        ("metrics", run["metrics"]),
        ("tags", run["tags"]),
    ):
        if values:
            table = Table(title=title, title_justify="left", show_header=False)
            table.add_column("key")
            table.add_column("value", justify="right" if title == "metrics" else "left")
            for key, value in sorted(values.items()):
                table.add_row(key, fmt(value))
            console.print(table)
    if artifacts:
        table = Table(title="artifacts", title_justify="left")
        table.add_column("path")
        table.add_column("size", justify="right")
        for a in artifacts:
            table.add_row(a["path"], f"{a['size']:,}")
        console.print(table)
    if cells:
        console.print(
            f"{len(cells)} cell executions "
            f"({sum(c['status'] == 'error' for c in cells)} with errors)"
        )


@runs.command("compare")
@click.argument("run_ids", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--all", "show_all", is_flag=True, help="Also show rows where all runs agree.")
@friendly_errors
def runs_compare(run_ids: tuple[str, ...], as_json: bool, show_all: bool) -> None:
    """Compare runs side by side; values that differ are highlighted."""
    if len(run_ids) < 2:
        raise click.UsageError("Give at least two run ids.")
    services = _services()
    found = [_resolve_run(services, r) for r in run_ids]
    rows = []
    for section in ("params", "metrics", "tags"):
        for key in sorted({k for r in found for k in r[section]}):
            values = [r[section].get(key) for r in found]
            shown = [fmt(v) for v in values]
            rows.append(
                {"section": section, "key": key, "values": values, "differs": len(set(shown)) > 1}
            )
    if as_json:
        emit_json({"runs": [{"id": r["id"], "name": r["name"]} for r in found], "rows": rows})
        return
    table = Table(title="Comparison", title_justify="left")
    table.add_column("")
    for r in found:
        table.add_column(f"{r['name']}\n{r['id'][:12]}", justify="right")
    for row in rows:
        if not (row["differs"] or show_all):
            continue
        style = "bold yellow" if row["differs"] else "dim"
        table.add_row(
            f"{row['section']}.{row['key']}", *(fmt(v) for v in row["values"]), style=style
        )
    console.print(table)
    same = sum(not r["differs"] for r in rows)
    if same and not show_all:
        console.print(f"[dim]{same} identical rows hidden; --all shows them.[/dim]")


# -- store ------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """The metadata store."""


@db.command("upgrade")
@friendly_errors
def db_upgrade() -> None:
    """Create or migrate the store's schema to this version of LabCycle."""
    from ..store import Store

    config = LabCycleConfig()
    store = Store(config.db_url)
    console.print(
        f"Store at {store.engine.url.render_as_string(hide_password=True)} is at "
        f"schema revision {store.schema_revision()}."
    )
    store.dispose()


@main.group()
def demo() -> None:
    """A demo hub to explore LabCycle with."""


@demo.command("seed")
@click.option(
    "--workspace",
    type=click.Path(file_okay=False),
    default=".",
    help="Folder for the demo notebooks.",
    show_default=True,
)
@friendly_errors
def demo_seed(workspace: str) -> None:
    """Fill the store with runs trained on scikit-learn's bundled datasets."""
    from ..demo.seed import seed

    summary = seed(workspace)
    console.print(
        f"Seeded {summary['runs']} runs in {summary['experiments']} experiments; "
        f"notebooks in {summary['workspace']}."
    )
    if summary.get("monitoring"):
        console.print(summary["monitoring"]["text"])
