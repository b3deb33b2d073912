"""Notes and comments: Markdown on any entity, threaded replies, @mentions, cell anchors.

A note points at an entity (``{"type", "id"}``, see services/entities.py); a reply names
its ``parent_id`` and belongs to the parent's entity, so comments on a note are replies.
The body is stored exactly as given; ``html`` is a server-side rendering (markdown-it,
CommonMark + tables + strikethrough, raw HTML not passed through, then cleaned by bleach
to an allow-list of tags and http/https/mailto links). Only the author edits or deletes
a note (others get 403); deleting a note deletes its replies. Mentions (``@alice``,
outside code) are parsed on every write. An anchor pins the note to one cell of a run's
notebook snapshot and is checked against that snapshot.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from ..errors import Forbidden, InvalidInput, NotFound
from ..store import ArtifactStore, Store
from ..store.models import Artifact, Note, NoteMention, Run
from . import entities
from .common import (
    audit,
    check_encodable,
    iso,
    new_id,
    next_token,
    now_ms,
    page_bounds,
    validate_id,
)
from .ownership import readable_ref

N, NM, A, R = Note.__table__, NoteMention.__table__, Artifact.__table__, Run.__table__
MAX_BODY = 100_000
MAX_MENTIONS = 50
ANCHOR_ARTIFACTS = ("executed.ipynb", "notebook.ipynb")
MAX_SNAPSHOT_BYTES = 50 * 1024 * 1024
_CODE = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|`[^`\n]*`", re.S)
_MENTION = re.compile(r"(?<![\w@.+-])@([A-Za-z0-9_][A-Za-z0-9_.-]{0,199})")

_ALLOWED_TAGS = [
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
]
_ALLOWED_ATTRIBUTES = {"a": ["href", "title"], "img": ["src", "alt", "title"]}


def parse_mentions(body: str) -> list[str]:
    """The distinct ``@user`` names of a Markdown body, in order, ignoring code and e-mails."""
    names: list[str] = []
    for name in _MENTION.findall(_CODE.sub(" ", body)):
        name = name.rstrip(".-")
        if name and name not in names:
            names.append(name)
    return names[:MAX_MENTIONS]


_renderer: Any = None


def render_html(body: str) -> str | None:
    """Sanitised HTML of a Markdown body, or None when markdown-it or bleach is missing."""
    global _renderer
    try:
        import bleach
        from markdown_it import MarkdownIt
    except ImportError:  # pragma: no cover - both ship with the Jupyter stack
        return None
    if _renderer is None:
        _renderer = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    rendered = _renderer.render(body)
    return bleach.clean(
        rendered,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        protocols=["http", "https", "mailto"],
        strip=True,
    )


def _body(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("body must be non-empty Markdown text.", field="body")
    if len(value) > MAX_BODY:
        raise InvalidInput(f"body may have at most {MAX_BODY:,} characters.", field="body")
    if "\x00" in value:
        raise InvalidInput("body may not contain NUL characters.", field="body")
    return check_encodable(value, "body")


def note_dict(row: Any, reply_count: int = 0) -> dict[str, Any]:
    return {
        "id": row.id,
        "entity": {"type": row.entity_type, "id": row.entity_id},
        "project_id": row.project_id,
        "parent_id": row.parent_id,
        "body": row.body,
        "html": render_html(row.body),
        "mentions": list(row.mentions or []),
        "anchor": row.anchor,
        "author": row.created_by,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "edited": row.updated_at != row.created_at,
        "reply_count": reply_count,
    }


class NoteService:
    def __init__(self, store: Store, blobs: ArtifactStore) -> None:
        self.store = store
        self.blobs = blobs

    # -- anchors ------------------------------------------------------------------------------
    def _anchor(self, conn: Connection, anchor: Any) -> dict[str, Any]:
        if not isinstance(anchor, dict):
            raise InvalidInput(
                'anchor must be an object {"run_id", "artifact", "cell_id" and/or "cell_index"}.',
                field="anchor",
            )
        unknown = sorted(set(anchor) - {"run_id", "artifact", "cell_id", "cell_index"})
        if unknown:
            raise InvalidInput(
                f"anchor may not have {', '.join(unknown)[:200]}; it takes run_id, "
                "artifact, cell_id and cell_index.",
                field=f"anchor.{unknown[0]}"[:100],
            )
        run_id = anchor.get("run_id")
        if not isinstance(run_id, str) or not run_id or len(run_id) > 64:
            raise InvalidInput("anchor.run_id must be a run id.", field="anchor.run_id")
        if not conn.execute(select(R.c.id).where(R.c.id == run_id)).first():
            raise InvalidInput(f"anchor.run_id: no run with id {run_id!r}.", field="anchor.run_id")
        artifact = anchor.get("artifact", "executed.ipynb")
        if artifact not in ANCHOR_ARTIFACTS:
            raise InvalidInput(
                "anchor.artifact must be 'executed.ipynb' or 'notebook.ipynb'.",
                field="anchor.artifact",
            )
        cell_id, cell_index = anchor.get("cell_id"), anchor.get("cell_index")
        if cell_id is None and cell_index is None:
            raise InvalidInput(
                "anchor needs cell_id (the nbformat cell id) or cell_index.", field="anchor.cell_id"
            )
        if cell_id is not None and (not isinstance(cell_id, str) or not 0 < len(cell_id) <= 64):
            raise InvalidInput(
                "anchor.cell_id must be a cell id string (1-64 characters).", field="anchor.cell_id"
            )
        if cell_index is not None and (
            isinstance(cell_index, bool) or not isinstance(cell_index, int) or cell_index < 0
        ):
            raise InvalidInput(
                "anchor.cell_index must be an integer ≥ 0.", field="anchor.cell_index"
            )
        row = conn.execute(
            select(A.c.digest, A.c.size).where(A.c.run_id == run_id, A.c.path == artifact)
        ).first()
        if row is None:
            raise InvalidInput(
                f"anchor.artifact: run {run_id} has no notebook snapshot "
                f"{artifact!r}; anchor on one it has.",
                field="anchor.artifact",
            )
        cells = None
        if row.size <= MAX_SNAPSHOT_BYTES:
            try:
                notebook = json.loads(self.blobs.read_bytes(row.digest))
                cells = notebook.get("cells") if isinstance(notebook, dict) else None
            except (OSError, ValueError, UnicodeDecodeError, RecursionError):
                cells = None
        if not isinstance(cells, list):
            raise InvalidInput(
                f"anchor.artifact: {artifact!r} of run {run_id} is not a readable notebook.",
                field="anchor.artifact",
            )
        cells = [c if isinstance(c, dict) else {} for c in cells]
        if cell_id is not None:
            found = next((i for i, c in enumerate(cells) if c.get("id") == cell_id), None)
            if found is None:
                raise InvalidInput(
                    f"anchor.cell_id: {artifact} of run {run_id} has no cell with id {cell_id!r}.",
                    field="anchor.cell_id",
                )
            if cell_index is not None and cell_index != found:
                raise InvalidInput(
                    f"anchor.cell_index: cell {cell_id!r} is cell {found}, not "
                    f"{cell_index}; give one of them or both matching.",
                    field="anchor.cell_index",
                )
            cell_index = found
        else:
            assert cell_index is not None  # the anchor has a cell_id or a cell_index (above)
            if cell_index >= len(cells):
                raise InvalidInput(
                    f"anchor.cell_index: {artifact} of run {run_id} has "
                    f"{len(cells)} cells (0-{len(cells) - 1}).",
                    field="anchor.cell_index",
                )
        cell = cells[cell_index]
        source = cell.get("source", "")
        source = (
            "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) else source
        )
        return {
            "run_id": run_id,
            "artifact": artifact,
            "cell_id": cell.get("id") if isinstance(cell.get("id"), str) else None,
            "cell_index": cell_index,
            "cell_type": cell.get("cell_type") if isinstance(cell.get("cell_type"), str) else None,
            "excerpt": source[:200] if isinstance(source, str) else "",
        }

    # -- writes -------------------------------------------------------------------------------
    def create(
        self,
        *,
        actor: str,
        body: Any,
        entity: Any = None,
        parent_id: Any = None,
        anchor: Any = None,
    ) -> dict[str, Any]:
        """Write a note on ``entity`` (a reply: ``parent_id``; anchored: ``anchor``)."""
        body = _body(body)
        with self.store.write() as conn:
            parent = None
            if parent_id is not None:
                validate_id(parent_id, "parent_id")
                parent = conn.execute(select(N).where(N.c.id == parent_id)).first()
                if parent is None:
                    raise NotFound(f"No note with id {parent_id!r} to reply to.", field="parent_id")
            clean_anchor = self._anchor(conn, anchor) if anchor is not None else None
            if entity is None:
                if parent is not None:
                    entity_type, entity_id = parent.entity_type, parent.entity_id
                elif clean_anchor is not None:
                    entity_type, entity_id = "run", clean_anchor["run_id"]
                else:
                    raise InvalidInput(
                        'entity is required: {"type": ..., "id": ...} of what the note is about.',
                        field="entity",
                    )
            else:
                entity_type, entity_id = entities.validate_ref(entity, "entity")
                if parent is not None and (entity_type, entity_id) != (
                    parent.entity_type,
                    parent.entity_id,
                ):
                    raise InvalidInput(
                        "entity: a reply belongs to its parent's entity; leave "
                        "entity out or give the parent's.",
                        field="entity",
                    )
            described = entities.describe_many(conn, [(entity_type, entity_id)], missing="skip")
            if not described:
                raise NotFound(
                    f"No {entity_type.replace('_', ' ')} with id {entity_id!r} to write a note on.",
                    field="entity",
                )
            mentions = parse_mentions(body)
            now = now_ms()
            note_id = new_id()
            conn.execute(
                insert(N).values(
                    id=note_id,
                    entity_type=entity_type,
                    entity_id=entity_id,
                    project_id=described[0].get("project_id"),
                    parent_id=parent_id,
                    body=body,
                    mentions=mentions,
                    anchor=clean_anchor,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
            )
            if mentions:
                conn.execute(insert(NM), [{"note_id": note_id, "user": m} for m in mentions])
            audit(
                conn,
                actor,
                "note.create",
                "note",
                note_id,
                {
                    "entity": {"type": entity_type, "id": entity_id},
                    "parent_id": parent_id,
                    "mentions": mentions,
                    "anchor": clean_anchor
                    and {
                        k: clean_anchor[k] for k in ("run_id", "artifact", "cell_id", "cell_index")
                    },
                },
            )
        return self.get(note_id)

    def _own(self, conn: Connection, note_id: Any, actor: str, verb: str) -> Any:
        validate_id(note_id, "note_id")
        row = conn.execute(select(N).where(N.c.id == note_id)).first()
        if row is None:
            raise NotFound(f"No note with id {note_id!r}.")
        if row.created_by != actor:
            raise Forbidden(
                f"Only the author ({row.created_by}) may {verb} this note; reply to it instead.",
                author=row.created_by,
            )
        return row

    def update(self, note_id: Any, *, actor: str, body: Any = None, anchor: Any = ...) -> dict:
        """Change the body (mentions re-parsed) or the anchor (``None`` removes it)."""
        if body is None and anchor is ...:
            raise InvalidInput("Nothing to change: give body or anchor.", field="body")
        with self.store.write() as conn:
            row = self._own(conn, note_id, actor, "edit")
            values: dict[str, Any] = {}
            if body is not None:
                values["body"] = _body(body)
                values["mentions"] = parse_mentions(values["body"])
            if anchor is not ...:
                values["anchor"] = None if anchor is None else self._anchor(conn, anchor)
            values["updated_at"] = max(now_ms(), row.created_at + 1)
            conn.execute(update(N).where(N.c.id == row.id).values(**values))
            if "mentions" in values:
                conn.execute(delete(NM).where(NM.c.note_id == row.id))
                if values["mentions"]:
                    conn.execute(
                        insert(NM), [{"note_id": row.id, "user": m} for m in values["mentions"]]
                    )
            details: dict[str, Any] = {"before": {}, "after": {}}
            if "body" in values:
                details["before"]["body"] = row.body[:2000]
                details["after"]["body"] = values["body"][:2000]
                details["mentions"] = values["mentions"]
            if "anchor" in values:
                details["before"]["anchor"] = row.anchor
                details["after"]["anchor"] = values["anchor"]
            audit(conn, actor, "note.update", "note", row.id, details)
        return self.get(row.id)

    def delete(self, note_id: Any, *, actor: str) -> None:
        """Delete a note and its replies (all of them, whoever wrote them)."""
        with self.store.write() as conn:
            row = self._own(conn, note_id, actor, "delete")
            thread, frontier = [row.id], [row.id]
            while frontier:
                frontier = list(
                    conn.execute(select(N.c.id).where(N.c.parent_id.in_(frontier))).scalars()
                )
                thread += frontier
            for start in range(0, len(thread), 500):
                chunk = thread[start : start + 500]
                conn.execute(delete(NM).where(NM.c.note_id.in_(chunk)))
            for note in reversed(thread):  # replies before their parents
                conn.execute(delete(N).where(N.c.id == note))
            audit(
                conn,
                actor,
                "note.delete",
                "note",
                row.id,
                {
                    "entity": {"type": row.entity_type, "id": row.entity_id},
                    "body": row.body[:2000],
                    "replies_deleted": len(thread) - 1,
                },
            )
            for reply in thread[1:]:  # their search documents go too
                from . import search_index

                search_index.mark(conn, "note.delete", "note", reply)

    # -- reads --------------------------------------------------------------------------------
    def get(self, note_id: Any) -> dict[str, Any]:
        validate_id(note_id, "note_id")
        with self.store.read() as conn:
            row = conn.execute(
                select(N).where(
                    N.c.id == note_id, readable_ref(conn, N.c.entity_type, N.c.entity_id)
                )
            ).first()
            if row is None:
                raise NotFound(f"No note with id {note_id!r}.")
            replies = conn.execute(
                select(func.count()).select_from(N).where(N.c.parent_id == note_id)
            ).scalar_one()
        return note_dict(row, replies)

    def list(
        self,
        *,
        entity_type: Any = None,
        entity_id: Any = None,
        author: Any = None,
        mentioned: Any = None,
        parent_id: Any = None,
        run_id: Any = None,
        max_results: Any = None,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """Notes oldest first (a thread reads top to bottom), filtered by entity, author,
        mentioned user, parent (a thread's replies) or anchored run."""
        limit, offset = page_bounds(max_results, page_token)
        query = select(N)
        if entity_type is not None:
            query = query.where(
                N.c.entity_type == entities.validate_type(entity_type, "entity_type")
            )
        if entity_id is not None:
            query = query.where(
                N.c.entity_id == entities.validate_entity_id(entity_id, "entity_id")
            )
        for value, name in ((author, "author"), (mentioned, "mentioned")):
            if value is not None and (not isinstance(value, str) or not value or len(value) > 200):
                raise InvalidInput(f"{name} must be a user name.", field=name)
        if author is not None:
            query = query.where(N.c.created_by == author)
        if mentioned is not None:
            query = query.where(
                N.c.id.in_(select(NM.c.note_id).where(NM.c.user == mentioned.lstrip("@")))
            )
        if parent_id is not None:
            query = query.where(N.c.parent_id == validate_id(parent_id, "parent_id"))
        rows_run = None
        if run_id is not None:
            rows_run = validate_id(run_id, "run_id")
        with self.store.read() as conn:
            query = query.where(readable_ref(conn, N.c.entity_type, N.c.entity_id))
            rows = (
                conn.execute(query.order_by(N.c.created_at, N.c.id)).all()
                if rows_run
                else conn.execute(
                    query.order_by(N.c.created_at, N.c.id).limit(limit + 1).offset(offset)
                ).all()
            )
            if rows_run:  # anchored on a run's snapshot (anchor is JSON: filtered here)
                rows = [
                    r
                    for r in rows
                    if isinstance(r.anchor, dict) and r.anchor.get("run_id") == rows_run
                ][offset : offset + limit + 1]
            ids = [r.id for r in rows[:limit]]
            counts: dict[str, int] = (
                dict(
                    conn.execute(
                        select(N.c.parent_id, func.count())
                        .where(N.c.parent_id.in_(ids))
                        .group_by(N.c.parent_id)
                    ).all()
                )
                if ids
                else {}
            )
        return {
            "items": [note_dict(r, counts.get(r.id, 0)) for r in rows[:limit]],
            "next_page_token": next_token(offset, limit, len(rows)),
        }
