"""REST handlers of notes (CRUD, threads, mentions, anchors) and of hub search."""

from __future__ import annotations

from functools import partial
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...errors import InvalidInput
from ..base import LabCycleHandler
from ..schemas import notes as schemas


class _NotesBase(LabCycleHandler):
    auth_resource = "labcycle:notes"


class NotesHandler(_NotesBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.query(schemas.ListNotesQuery)
        await self.respond(partial(self.services.notes.list, **q.model_dump()))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = await self.body(schemas.CreateNote)
        fields: dict[str, Any] = body.model_dump(exclude_none=True)
        await self.respond(
            partial(self.services.notes.create, actor=self.actor, **fields),
            status=201,
            location=lambda n: self.api_url("notes", n["id"]),
        )


class NoteHandler(_NotesBase):
    @web.authenticated
    @authorized
    async def get(self, note_id: str) -> None:
        await self.respond(partial(self.services.notes.get, note_id))

    @web.authenticated
    @authorized
    async def patch(self, note_id: str) -> None:
        body = await self.body(schemas.UpdateNote)
        fields = {k: getattr(body, k) for k in body.model_fields_set}
        if not fields or ("body" in fields and fields["body"] is None and len(fields) == 1):
            raise InvalidInput("Nothing to change: give body or anchor.", field="body")
        await self.respond(partial(self.services.notes.update, note_id, actor=self.actor, **fields))

    @web.authenticated
    @authorized
    async def delete(self, note_id: str) -> None:
        await self.call(self.services.notes.delete, note_id, actor=self.actor)
        self.set_status(204)
        self.finish()


class SearchHandler(LabCycleHandler):
    auth_resource = "labcycle:search"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.query(schemas.SearchQuery)
        await self.respond(partial(self.services.search.search, **q.model_dump()))


class SearchReindexHandler(LabCycleHandler):
    auth_resource = "labcycle:search"

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.respond(lambda: {"counts": self.services.search.reindex()})
