"""CLI of the hub's search and notes: ``labcycle search QUERY``, ``labcycle search reindex``,
``labcycle notes ls/add/edit/rm``."""

from __future__ import annotations

import html
import re
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from .base import _services, console, emit_json, fmt_time, friendly_errors, main

_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def _actor() -> str:
    from ..config import local_user

    return local_user()


def snippet_markup(snippet: str) -> str:
    """A search snippet (HTML with <mark>) as rich markup: matches bold yellow."""
    out, last = [], 0
    for match in _MARK.finditer(snippet):
        out.append(escape(html.unescape(snippet[last : match.start()])))
        out.append(f"[bold yellow]{escape(html.unescape(match.group(1)))}[/]")
        last = match.end()
    out.append(escape(html.unescape(snippet[last:])))
    return " ".join("".join(out).split())


class _SearchGroup(click.Group):
    """``labcycle search WORDS...`` searches; ``labcycle search reindex`` rebuilds the index."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["query", *args]
        elif not args:
            args = ["query"]
        return super().parse_args(ctx, args)


@main.group("search", cls=_SearchGroup)
def search() -> None:
    """Full-text search across the hub (labcycle search churn --type run).

    To search for the word "reindex" or "query", write: labcycle search query reindex.
    """


@search.command("query")
@click.argument("words", nargs=-1)
@click.option(
    "--type",
    "types",
    multiple=True,
    help="project, experiment, run, notebook, note, model, model_version, dataset, "
    "deployment, monitor (repeatable).",
)
@click.option("--user", help="Owner: creator, run user or note author.")
@click.option("--tag", help="'key' or 'key=value'.")
@click.option("--project", help="Project id or name.")
@click.option("--since", help="Updated at or after (ISO date/time).")
@click.option("--until", help="Updated at or before (ISO date/time).")
@click.option("-n", "--max-results", default=20, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def search_query(
    words: tuple[str, ...],
    types: tuple[str, ...],
    user: str | None,
    tag: str | None,
    project: str | None,
    since: str | None,
    until: str | None,
    max_results: int,
    as_json: bool,
) -> None:
    """Ranked hits with highlighted snippets."""
    result = _services().search.search(
        " ".join(words),
        type=list(types),
        user=user,
        tag=tag,
        project=project,
        since=since,
        until=until,
        max_results=max_results,
    )
    if as_json:
        emit_json(result)
        return
    if not result["items"]:
        console.print("No matches.")
        return
    table = Table("type", "title", "project", "snippet", "updated", "id")
    for hit in result["items"]:
        table.add_row(
            hit["type"],
            escape(hit["title"]),
            escape(hit["project"] or ""),
            snippet_markup(hit["snippet"]),
            fmt_time(hit["updated_at"]),
            hit["id"][:12],
        )
    console.print(table)


@search.command("reindex")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def search_reindex(as_json: bool) -> None:
    """Rebuild the search index from the store (after an upgrade or a restore)."""
    with console.status("Rebuilding the search index…"):
        counts = _services().search.reindex()
    if as_json:
        emit_json(counts)
        return
    console.print("Indexed " + ", ".join(f"{n} {t}" for t, n in counts.items()) + ".")


@main.group("notes")
def notes() -> None:
    """Markdown notes and comments on any entity."""


def _ref(value: str) -> dict[str, str]:
    entity_type, sep, entity_id = value.partition(":")
    if not sep:
        raise click.BadParameter("give TYPE:ID, e.g. run:3f2a…", param_hint="ENTITY")
    return {"type": entity_type, "id": entity_id}


@notes.command("ls")
@click.option("--entity", help="TYPE:ID, e.g. run:3f2a…")
@click.option("--author")
@click.option("--mentioned", help="Notes that mention this user.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def notes_ls(entity: str | None, author: str | None, mentioned: str | None, as_json: bool) -> None:
    """List notes, oldest first."""
    ref = _ref(entity) if entity else {}
    items = _services().notes.list(
        entity_type=ref.get("type"),
        entity_id=ref.get("id"),
        author=author,
        mentioned=mentioned,
        max_results=1000,
    )["items"]
    if as_json:
        emit_json(items)
        return
    table = Table("id", "on", "author", "when", "note", "replies")
    for n in items:
        on = f"{n['entity']['type']}:{n['entity']['id'][:10]}"
        if n["anchor"]:
            on += f" cell {n['anchor']['cell_index']}"
        prefix = "↳ " if n["parent_id"] else ""
        table.add_row(
            n["id"][:12],
            on,
            n["author"],
            fmt_time(n["created_at"]),
            prefix + escape(n["body"][:120]),
            str(n["reply_count"]),
        )
    console.print(table)


@notes.command("add")
@click.argument("entity", required=False)
@click.argument("body")
@click.option("--reply-to", "parent_id", help="The note to reply to.")
@click.option("--run", "anchor_run", help="Anchor on a cell of this run's notebook snapshot.")
@click.option(
    "--artifact",
    default="executed.ipynb",
    show_default=True,
    type=click.Choice(["executed.ipynb", "notebook.ipynb"]),
)
@click.option("--cell-id")
@click.option("--cell-index", type=int)
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def notes_add(
    entity: str | None,
    body: str,
    parent_id: str | None,
    anchor_run: str | None,
    artifact: str,
    cell_id: str | None,
    cell_index: int | None,
    as_json: bool,
) -> None:
    """Write a note: labcycle notes add run:ID "Markdown, @mentions"."""
    anchor: dict[str, Any] | None = None
    if anchor_run:
        anchor = {"run_id": anchor_run, "artifact": artifact}
        if cell_id is not None:
            anchor["cell_id"] = cell_id
        if cell_index is not None:
            anchor["cell_index"] = cell_index
    note = _services().notes.create(
        actor=_actor(),
        body=body,
        entity=_ref(entity) if entity else None,
        parent_id=parent_id,
        anchor=anchor,
    )
    if as_json:
        emit_json(note)
        return
    console.print(
        f"Note {note['id']} on {note['entity']['type']} {note['entity']['id']}"
        + (f", mentioning {', '.join(note['mentions'])}" if note["mentions"] else "")
        + "."
    )


@notes.command("edit")
@click.argument("note_id")
@click.argument("body")
@friendly_errors
def notes_edit(note_id: str, body: str) -> None:
    """Change a note's Markdown (your own notes only)."""
    _services().notes.update(note_id, actor=_actor(), body=body)
    console.print(f"Note {note_id} updated.")


@notes.command("rm")
@click.argument("note_id")
@friendly_errors
def notes_rm(note_id: str) -> None:
    """Delete a note and its replies (your own notes only)."""
    _services().notes.delete(note_id, actor=_actor())
    console.print(f"Note {note_id} deleted.")
