"""CLI of monitoring: ``labcycle monitors ls/show/create/check/history/alerts/pause/resume/rm``."""

from __future__ import annotations

import json

import click
from rich.table import Table

from .base import _services, console, emit_json, fmt_time, friendly_errors, main

HEALTH_STYLE = {
    "ok": "green",
    "drift": "yellow",
    "degraded": "red",
    "error": "red",
    "no_data": "dim",
    "unknown": "dim",
}


def _actor() -> str:
    from ..config import local_user

    return local_user()


def _health(value: str) -> str:
    return f"[{HEALTH_STYLE.get(value, 'white')}]{value}[/]"


@main.group("monitors")
def monitors() -> None:
    """Drift and performance monitors of deployments."""


@monitors.command("ls")
@click.option("--deployment", help="Only this deployment's monitors.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def monitors_ls(deployment: str | None, as_json: bool) -> None:
    """List monitors with their health and latest check."""
    items = _services().monitors.list(deployment=deployment, max_results=1000)["items"]
    if as_json:
        emit_json(items)
        return
    table = Table("name", "id", "health", "last check", "summary", "next check")
    for m in items:
        check = m.get("latest_check") or {}
        schedule = m.get("schedule") or {}
        table.add_row(
            m["name"],
            m["id"][:12],
            _health(m["health"]),
            fmt_time(m.get("last_checked_at")),
            check.get("summary", ""),
            "paused" if schedule.get("paused") else fmt_time(schedule.get("next_run_at")),
        )
    console.print(table)


@monitors.command("create")
@click.argument("deployment", required=False)
@click.option("--name")
@click.option(
    "--reference",
    "reference_dataset",
    help="Reference dataset id or name (default: the model's training dataset).",
)
@click.option("--current", "current_dataset", help="Compare this dataset instead of traffic.")
@click.option("--target", help="The reference data's label column (prediction drift).")
@click.option("--last-n", type=int, help="Window: the newest N predictions (default 1000).")
@click.option("--last", help="Window: a period, e.g. 6h, 1d, 1w.")
@click.option("--cron", help="Check schedule, e.g. '0 * * * *' (hourly).")
@click.option("--timezone")
@click.option("--webhook", multiple=True, help="Alert webhook URL (repeatable).")
@click.option("--email", multiple=True, help="Alert e-mail address (repeatable).")
@click.option("--thresholds", help="JSON, e.g. '{\"drift_share\": 0.3}'.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def monitors_create(
    deployment,
    name,
    reference_dataset,
    current_dataset,
    target,
    last_n,
    last,
    cron,
    timezone,
    webhook,
    email,
    thresholds,
    as_json,
) -> None:
    """Watch DEPLOYMENT's traffic (or --current DATASET) for drift."""
    from ..errors import InvalidInput

    if last_n and last:
        raise InvalidInput("Give --last-n or --last, not both.", field="window")
    window = {"last_n": last_n} if last_n else {"last": last} if last else None
    channels = [{"type": "webhook", "url": url} for url in webhook]
    if email:
        channels.append({"type": "email", "to": list(email)})
    try:
        limits = json.loads(thresholds) if thresholds else None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--thresholds is not JSON: {exc}", field="thresholds") from None
    m = _services().monitors.create(
        actor=_actor(),
        name=name,
        deployment=deployment,
        reference_dataset=reference_dataset,
        current_dataset=current_dataset,
        target=target,
        window=window,
        thresholds=limits,
        channels=channels,
        cron=cron,
        timezone=timezone,
    )
    if as_json:
        emit_json(m)
        return
    console.print(
        f"Monitor [bold]{m['name']}[/bold] {m['id']} created"
        + (
            f"; next check {fmt_time(m['schedule']['next_run_at'])}"
            if m["schedule"]
            else "; run `labcycle monitors check` to check now"
        )
    )


def _print_check(check: dict) -> None:
    console.print(
        f"{fmt_time(check['started_at'])}  {_health(check['status'])}  {check['summary']}",
        highlight=False,
    )
    drift = (check.get("result") or {}).get("drift") or {}
    if drift.get("columns"):
        table = Table("feature", "type", "method", "score", "threshold", "drifted", "why")
        for name, col in drift["columns"].items():
            score = col.get("score")
            table.add_row(
                name,
                col.get("type", ""),
                col.get("method", ""),
                "" if score is None else f"{score:.4g}",
                f"{col.get('threshold')}",
                "[yellow]yes[/]" if col.get("drifted") else "no",
                col.get("reason", ""),
            )
        console.print(table)


@monitors.command("show")
@click.argument("monitor")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def monitors_show(monitor: str, as_json: bool) -> None:
    """A monitor's settings and its latest check in full."""
    services = _services()
    m = services.monitors.get(monitor)
    check = services.monitors.check(m["id"], m["last_check_id"]) if m["last_check_id"] else None
    if as_json:
        emit_json({**m, "latest_check": check})
        return
    console.print(
        f"[bold]{m['name']}[/bold]  {m['id']}  health {_health(m['health'])}"
        + ("  [red]alerting[/]" if m["alerting"] else "")
    )
    console.print(
        f"window {m['window']} · thresholds {m['thresholds']} · "
        f"channels {len(m['channels'])} · cooldown {m['cooldown_s']} s",
        highlight=False,
    )
    if check:
        _print_check(check)


@monitors.command("check")
@click.argument("monitor")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def monitors_check(monitor: str, as_json: bool) -> None:
    """Run a check now (drift, data quality, performance) and alert when needed."""
    services = _services()
    with console.status("Checking…"):
        check = services.monitors.run_check(monitor, actor=_actor())
    if as_json:
        emit_json(check)
        return
    _print_check(check)


@monitors.command("history")
@click.argument("monitor")
@click.option("--max-results", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def monitors_history(monitor: str, max_results: int, as_json: bool) -> None:
    """The monitor's checks, newest first."""
    items = _services().monitors.checks(monitor, max_results=max_results)["items"]
    if as_json:
        emit_json(items)
        return
    table = Table("started", "trigger", "status", "drifted share", "rows", "summary")
    for c in items:
        share = c.get("share_drifted")
        table.add_row(
            fmt_time(c["started_at"]),
            c["trigger"],
            _health(c["status"]),
            "" if share is None else f"{share:.0%}",
            str(c.get("current_rows") or ""),
            c["summary"],
        )
    console.print(table)


@monitors.command("alerts")
@click.argument("monitor")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def monitors_alerts(monitor: str, as_json: bool) -> None:
    """The monitor's alert log."""
    items = _services().monitors.alerts(monitor, max_results=1000)["items"]
    if as_json:
        emit_json(items)
        return
    table = Table("when", "event", "channel", "status", "attempts", "error")
    for a in items:
        channel = a["channel"]
        target = channel.get("url") or ", ".join(channel.get("to") or []) or channel.get("type")
        table.add_row(
            fmt_time(a["created_at"]),
            a["event"],
            str(target),
            a["status"],
            str(a["attempts"]),
            a.get("error") or "",
        )
    console.print(table)


@monitors.command("pause")
@click.argument("monitor")
@friendly_errors
def monitors_pause(monitor: str) -> None:
    """Pause the monitor's schedule."""
    _services().monitors.update(monitor, actor=_actor(), paused=True)
    console.print(f"Paused {monitor}.")


@monitors.command("resume")
@click.argument("monitor")
@friendly_errors
def monitors_resume(monitor: str) -> None:
    """Resume the monitor's schedule (from now: missed checks are skipped)."""
    _services().monitors.update(monitor, actor=_actor(), paused=False)
    console.print(f"Resumed {monitor}.")


@monitors.command("rm")
@click.argument("monitor")
@friendly_errors
def monitors_rm(monitor: str) -> None:
    """Delete a monitor with its schedule, checks and alert log."""
    _services().monitors.delete(monitor, actor=_actor())
    console.print(f"Deleted {monitor}.")
