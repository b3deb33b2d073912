"""Response models of notes and search (see responses.py for why they exist)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .core import Out


class NoteEntity(Out):
    type: str
    id: str


class Note(Out):
    id: str
    entity: NoteEntity
    project_id: str | None
    parent_id: str | None = Field(description="the note this one replies to")
    body: str = Field(description="the Markdown exactly as written")
    html: str | None = Field(
        description="server-side rendering, sanitised (allow-listed tags, "
        "http/https/mailto links); null if no renderer is installed"
    )
    mentions: list[str]
    anchor: dict[str, Any] | None = Field(
        description="run_id, artifact, cell_id, cell_index, cell_type, excerpt (200 characters "
        "of the cell when the note was anchored)"
    )
    author: str
    created_at: str | None
    updated_at: str | None
    edited: bool
    reply_count: int


class NoteList(Out):
    items: list[Note]
    next_page_token: str | None


class SearchHit(Out):
    type: str = Field(
        description="project, experiment, run, notebook, note, model, "
        "model_version, dataset, deployment or monitor"
    )
    id: str = Field(description="the entity id; a notebook's is '<run id>/<artifact>'")
    title: str
    snippet: str = Field(
        description="HTML-escaped text; matches wrapped in <mark>…</mark>, the only markup"
    )
    score: float | None = Field(
        description="relevance, higher is better (bm25 on SQLite, "
        "ts_rank on PostgreSQL: not comparable across stores); null "
        "without a query"
    )
    project: str | None
    project_id: str | None
    owner: str | None
    status: str | None
    updated_at: str | None
    url: str = Field(description="REST path of the entity, relative to /labcycle/api/v1/")
    run_id: str | None = Field(None, description="notebooks: the run")
    artifact: str | None = Field(None, description="notebooks: executed.ipynb or notebook.ipynb")


class SearchResults(Out):
    items: list[SearchHit]
    next_page_token: str | None


class Reindexed(Out):
    counts: dict[str, int] = Field(description="documents per type")
