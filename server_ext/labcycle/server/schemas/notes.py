"""Request models of notes and search (shape only; the rules are in services/notes.py and
services/search.py)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .core import Body, Query

ANCHOR_DOC = (
    '{"run_id": "...", "artifact": "executed.ipynb" | "notebook.ipynb" (default '
    'executed.ipynb), "cell_id"?: "nbformat cell id", "cell_index"?: 0}: checked '
    "against that notebook snapshot of the run"
)


class EntityRef(Body):
    type: str = Field(
        description="project, experiment, run, model, model_version, dataset, "
        "deployment, monitor, job, sweep, schedule or note"
    )
    id: str = Field(max_length=64)


class CreateNote(Body):
    body: str = Field(description="Markdown, stored as given; @user mentions are parsed")
    entity: EntityRef | None = Field(
        None,
        description="what the note is about; a reply's entity is its parent's, an "
        "anchored note's defaults to the anchor's run",
    )
    parent_id: str | None = Field(None, max_length=64, description="reply to this note")
    anchor: dict[str, Any] | None = Field(None, description=ANCHOR_DOC)


class UpdateNote(Body):
    body: str | None = Field(None, description="new Markdown (mentions are re-parsed)")
    anchor: dict[str, Any] | None = Field(None, description=ANCHOR_DOC + "; null removes it")


class ListNotesQuery(Query):
    entity_type: str | None = Field(None, description="notes on entities of this type")
    entity_id: str | None = Field(None, description="notes on this entity (with entity_type)")
    author: str | None = Field(None, description="written by this user")
    mentioned: str | None = Field(None, description="mentioning this user (@ optional)")
    parent_id: str | None = Field(None, description="replies to this note")
    run_id: str | None = Field(None, description="anchored on a cell of this run's notebook")


class SearchQuery(Query):
    q: str | None = Field(
        None,
        description="words (prefix-matched, OR-ed and ranked), "
        '"a phrase", -excluded; empty: newest first',
    )
    type: list[str] = Field(
        default_factory=list,
        description="project, experiment, run, notebook, note, "
        "model, model_version, dataset, deployment, monitor "
        "(repeat or comma-separate)",
    )
    user: str | None = Field(None, description="owner: creator, run user or note author")
    tag: str | None = Field(None, description="'key' (any value; project tags) or 'key=value'")
    project: str | None = Field(None, description="a project id or name")
    since: str | None = Field(None, description="updated at or after: ISO date/time or epoch ms")
    until: str | None = Field(None, description="updated at or before (a bare date: its end)")
