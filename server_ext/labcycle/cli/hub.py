"""CLI of the hub's projects, roles, reviews and audit log.

``labcycle projects ls/show/import/members``, ``labcycle models review NAME/V`` and
``labcycle models bundle NAME/V --out FILE``, ``labcycle audit ls``. They act as the OS
user (``LABCYCLE_USER`` overrides), who is an owner of every project in their own store.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.table import Table

from ..errors import InvalidInput
from ..services.registry import parse_version_ref as split_ref
from .base import _services, console, emit_json, fmt_time, friendly_errors, main
from .models import models


def _actor() -> str:
    from ..config import local_user

    return local_user()


# -- projects -----------------------------------------------------------------------------
@main.group()
def projects() -> None:
    """Projects of the hub: README, owners, tags, status, members and roles."""


@projects.command("ls")
@click.option("--status", type=click.Choice(["active", "archived"]), help="Only this status.")
@click.option("--tag", help="Only projects with this tag.")
@click.option("--member", help="Only projects this user is a member of.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@friendly_errors
def projects_ls(status: str | None, tag: str | None, member: str | None, as_json: bool) -> None:
    """List projects."""
    items = _services().projects.list_projects(
        max_results=1000, status=status, tag=tag, member=member
    )["items"]
    if as_json:
        emit_json(items)
        return
    table = Table(title="Projects", title_justify="left")
    for column in ("project", "status", "owners", "tags", "repository", "updated", "id"):
        table.add_column(column)
    for p in items:
        table.add_row(
            p["name"],
            p["status"],
            ", ".join(p["owners"]) or "(open)",
            ", ".join(p["tags"]),
            p["git_url"] or "",
            fmt_time(p["updated_at"]),
            p["id"],
        )
    console.print(table)


@projects.command("show")
@click.argument("project")
@click.option(
    "--activity",
    "activity",
    default=10,
    show_default=True,
    help="How many of the latest events to show.",
)
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def projects_show(project: str, activity: int, as_json: bool) -> None:
    """Show PROJECT (name or id): README, owners, members, policy, latest activity."""
    services = _services()
    p = services.projects.get_project(project)
    members = services.projects.list_members(p["id"])["items"]
    events = services.projects.activity(p["id"], max_results=max(1, activity))["items"]
    if as_json:
        emit_json({**p, "members": members, "activity": events})
        return
    console.print(f"[bold]{p['name']}[/bold]  ({p['status']})  id {p['id']}", highlight=False)
    console.print(
        f"repository: {p['git_url'] or '-'}   tags: {', '.join(p['tags']) or '-'}", highlight=False
    )
    policy = p["settings"]
    console.print(
        f"require approval: {'yes' if policy['require_approval'] else 'no'}"
        + (f"   approvers: {', '.join(policy['approvers'])}" if policy["approvers"] else ""),
        highlight=False,
    )
    console.print(
        "members: "
        + (", ".join(f"{m['user']} ({m['role']})" for m in members) or "none (open project)"),
        highlight=False,
    )
    if p["description"]:
        console.print("\n" + p["description"][:4000], highlight=False, markup=False)
    if events:
        table = Table(title="Activity", title_justify="left")
        for column in ("when", "user", "action", "entity"):
            table.add_column(column)
        for e in events:
            table.add_row(
                fmt_time(e["at"]),
                e["user"],
                e["action"],
                f"{e['entity_type']} {e['entity_id'][:12]}",
            )
        console.print(table)


@projects.command("import")
@click.argument("path", default=".")
@click.option("--name", help="Project name (default: the folder's name).")
@click.option(
    "--root", default=None, help="Root the folder must be under (default: the current folder)."
)
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def projects_import(path: str, name: str | None, root: str | None, as_json: bool) -> None:
    """Create or update the project of folder PATH: README.md and git remote."""
    root = root or os.getcwd()
    folder = Path(path)
    if folder.is_absolute():
        try:
            path = str(folder.resolve().relative_to(Path(root).resolve()))
        except ValueError:
            raise InvalidInput(f"{path} is not under {root}; pass --root.", field="path") from None
    result = _services().projects.import_folder(path, root=root, actor=_actor(), name=name)
    if as_json:
        emit_json(result)
        return
    p = result["project"]
    verb = "created" if result["created"] else "updated"
    console.print(
        f"Project {p['name']} {verb} (id {p['id']}); README: {result['readme'] or 'none'}; "
        f"repository: {result['git_url'] or 'none'}",
        highlight=False,
    )


@projects.command("members")
@click.argument("project")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="USER=ROLE",
    help="Add a member or change their role (viewer, editor, owner); repeatable.",
)
@click.option("--remove", "removals", multiple=True, metavar="USER", help="Remove a member.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def projects_members(
    project: str, assignments: tuple[str, ...], removals: tuple[str, ...], as_json: bool
) -> None:
    """List PROJECT's members, or change them with --set USER=ROLE / --remove USER."""
    services = _services()
    for item in assignments:
        user, sep, role = item.partition("=")
        if not sep:
            raise InvalidInput(f"--set takes USER=ROLE, not {item!r}.", field="set")
        services.projects.set_member(project, user.strip(), role.strip(), actor=_actor())
    for user in removals:
        services.projects.remove_member(project, user, actor=_actor())
    listed = services.projects.list_members(project)
    if as_json:
        emit_json(listed)
        return
    if listed["open"]:
        console.print("No members: the project is open (every user acts as an owner).")
        return
    table = Table(title="Members", title_justify="left")
    for column in ("user", "role", "added by", "at"):
        table.add_column(column)
    for m in listed["items"]:
        table.add_row(m["user"], m["role"], m["added_by"], fmt_time(m["at"]))
    console.print(table)


# -- reviews ------------------------------------------------------------------------------
@models.command("review")
@click.argument("ref")
@click.option("--approve", "decision", flag_value="approve", help="Approve the version.")
@click.option("--reject", "decision", flag_value="reject", help="Reject it (-m says why).")
@click.option("-m", "--message", "comment", default="", help="The comment (Markdown).")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def models_review(ref: str, decision: str | None, comment: str, as_json: bool) -> None:
    """Review model version REF (NAME/V): --approve, --reject -m WHY, or -m COMMENT; with
    none of them, list its reviews and state."""
    name, version = split_ref(ref)
    services = _services()
    if decision or comment:
        services.reviews.add_review(
            name, version, decision=decision or "comment", comment=comment, actor=_actor()
        )
    listed = services.reviews.list_reviews(name, version)
    if as_json:
        emit_json(listed)
        return
    policy = listed["policy"]
    console.print(
        f"{listed['model_name']}/{listed['version']}: [bold]{listed['state']}[/bold]"
        + (f" by {listed['decided_by']}" if listed["decided_by"] else "")
        + ("  (approval required to deploy)" if policy["require_approval"] else ""),
        highlight=False,
    )
    for r in listed["items"]:
        mark = "" if r["counts"] else " (does not count)"
        console.print(
            f"  {fmt_time(r['at'])}  {r['reviewer']} ({r['role']}): {r['decision']}{mark}"
            + (f" — {r['comment'][:200]}" if r["comment"] else ""),
            highlight=False,
            markup=False,
        )


@models.command("bundle")
@click.argument("ref")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    default=None,
    help="HTML file to write (default: NAME-vV-review.html).",
)
@friendly_errors
def models_bundle(ref: str, out: str | None) -> None:
    """Write the review bundle (model card, data, lineage, reviews) of REF (NAME/V)."""
    name, version = split_ref(ref)
    html = _services().reviews.bundle(name, version)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    path = Path(out or f"{safe}-v{version}-review.html")
    path.write_text(html, encoding="utf-8")
    console.print(
        f"Review bundle of {name}/{version} written to {path} ({len(html):,} bytes)",
        highlight=False,
    )


# -- audit --------------------------------------------------------------------------------
@main.group()
def audit() -> None:
    """The audit log: who did what, when, with before/after."""


@audit.command("ls")
@click.option("--user", help="Who acted.")
@click.option("--action", help="An action or a dotted prefix (model, project.member...).")
@click.option("--entity-type", help="project, experiment, run, model, model_version, ...")
@click.option("--entity-id", help="The entity's id.")
@click.option("--project", help="Events of this project and of everything in it.")
@click.option("--since", help="ISO-8601 time or date (inclusive).")
@click.option("--until", help="ISO-8601 time or date (exclusive).")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def audit_ls(
    user, action, entity_type, entity_id, project, since, until, limit, as_json: bool
) -> None:
    """List audit events, newest first."""
    items = _services().audit.list(
        user=user,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        project=project,
        since=since,
        until=until,
        max_results=limit,
    )["items"]
    if as_json:
        emit_json(items)
        return
    table = Table(title="Audit log", title_justify="left")
    for column in ("when", "user", "action", "entity", "details"):
        table.add_column(column)
    for e in items:
        details = e["details"] or {}
        shown = ", ".join(f"{k}={v}" for k, v in details.items())[:120]
        table.add_row(
            fmt_time(e["at"]),
            e["user"],
            e["action"],
            f"{e['entity_type']} {e['entity_id'][:12]}",
            shown,
        )
    console.print(table)
