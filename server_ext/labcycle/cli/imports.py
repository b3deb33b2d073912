"""``labcycle import mlflow --from ...``: bring an MLflow store into the hub."""

from __future__ import annotations

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from .base import _services, console, emit_json, friendly_errors, main


@main.group("import")
def import_group() -> None:
    """Import runs and models from other tools."""


@import_group.command("mlflow")
@click.option(
    "--from",
    "location",
    required=True,
    metavar="STORE",
    help="sqlite:///mlflow.db (or another database URL), ./mlruns, or http://mlflow-server:5000.",
)
@click.option("--project", help="Project for the imported experiments (default: default).")
@click.option(
    "--token",
    envvar="MLFLOW_TRACKING_TOKEN",
    show_envvar=True,
    help="Bearer token for an MLflow server.",
)
@click.option(
    "--trust-pickled-models",
    is_flag=True,
    help="Also register pickled (cloudpickle) models; loading them still needs "
    "trusted=True. Audited.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@friendly_errors
def import_mlflow_command(
    location: str, project: str | None, token: str | None, trust_pickled_models: bool, as_json: bool
) -> None:
    """Copy experiments, runs (params, metric histories, tags, artifacts) and registered
    models (versions, aliases) from an MLflow store. Running it again adds nothing."""
    from ..config import local_user
    from ..services.mlflow_import import import_mlflow

    services = _services()
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:<7}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[label]}"),
        TimeElapsedColumn(),
        console=console,
        transient=as_json,
        disable=as_json,
    ) as bar:

        def progress(stage: str, done: int, total: int, label: str) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total, label="")
            bar.update(tasks[stage], completed=done, total=total, label=label[:40])

        summary = import_mlflow(
            services,
            location,
            actor=local_user(),
            project=project,
            token=token,
            trust_pickled_models=trust_pickled_models,
            progress=progress,
        )
    if as_json:
        emit_json(summary.as_dict())
        return
    table = Table(title=f"Imported from {summary.source}", title_justify="left")
    table.add_column("")
    table.add_column("added", justify="right")
    table.add_column("already here", justify="right")
    table.add_row("experiments", str(summary.experiments), "")
    table.add_row("runs", str(summary.runs_imported), str(summary.runs_skipped))
    table.add_row("params", f"{summary.params:,}", "")
    table.add_row("metric points", f"{summary.metric_points:,}", "")
    table.add_row("tags", f"{summary.tags:,}", "")
    table.add_row("artifacts", f"{summary.artifacts:,} ({summary.artifact_bytes:,} bytes)", "")
    table.add_row("registered models", str(summary.models), "")
    table.add_row("model versions", str(summary.versions_imported), str(summary.versions_skipped))
    table.add_row("aliases", str(summary.aliases_set), "")
    console.print(table)
    if summary.runs_repaired:
        console.print(f"{summary.runs_repaired} half-imported runs were imported again.")
    if summary.renamed_keys:
        console.print(f"{summary.renamed_keys} keys with '/' were renamed ('/' → '.').")
    for warning in summary.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    if not summary.added:
        console.print("Nothing new: everything in this store was imported before.")
