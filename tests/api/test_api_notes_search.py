"""REST routes of notes and search: documented shapes, author-only edits, anchors, filters,
hostile queries and bad input as 4xx JSON."""

from __future__ import annotations

import json

import pytest
from jupyter_server.auth import IdentityProvider, User

from labcycle.server.responses import notes as out


class Alice(IdentityProvider):
    def generate_anonymous_user(self, handler):
        return User(username="alice", name="Alice Liddell")


pytestmark = pytest.mark.parametrize(
    "server_overrides", [{"ServerApp": {"identity_provider_class": Alice}}], indirect=True
)

NOTEBOOK = json.dumps(
    {
        "cells": [
            {
                "id": "load",
                "cell_type": "code",
                "metadata": {},
                "outputs": [],
                "source": "df = read_csv('churn.csv')",
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
).encode()


async def test_notes_through_rest(api, make_run, labcycle_app):
    run = await make_run(name="churn baseline")
    await api("PUT", "runs", run["id"], "artifacts", "executed.ipynb", raw_body=NOTEBOOK)
    ref = {"type": "run", "id": run["id"]}
    reply = await api("POST", "notes", body={"body": "Check **this** @bob", "entity": ref})
    assert reply.status == 201, reply
    note = out.Note.model_validate(reply.json).model_dump()
    assert reply.headers["Location"].endswith(f"/notes/{note['id']}")
    assert note["author"] == "alice" and note["mentions"] == ["bob"]
    assert note["html"] == "<p>Check <strong>this</strong> @bob</p>\n"

    reply = await api(
        "POST", "notes", body={"body": "why?", "anchor": {"run_id": run["id"], "cell_id": "load"}}
    )
    assert reply.status == 201 and reply.json["anchor"]["cell_index"] == 0
    reply = await api(
        "POST", "notes", body={"body": "why?", "anchor": {"run_id": run["id"], "cell_id": "nope"}}
    )
    assert reply.status == 400 and reply.error["details"]["field"] == "anchor.cell_id"
    assert "nope" in reply.error["message"]

    thread = await api("POST", "notes", body={"body": "+1", "parent_id": note["id"]})
    assert thread.status == 201 and thread.json["entity"] == ref
    listed = await api("GET", "notes", params={"entity_type": "run", "entity_id": run["id"]})
    out.NoteList.model_validate(listed.json)
    assert len(listed.json["items"]) == 3
    assert [
        n["id"] for n in (await api("GET", "notes", params={"mentioned": "bob"})).json["items"]
    ] == [note["id"]]

    reply = await api("PATCH", "notes", note["id"], body={"body": "edited @carol"})
    assert reply.status == 200 and reply.json["mentions"] == ["carol"] and reply.json["edited"]
    # someone else's note: 403 for edits and deletes
    other = labcycle_app.services.notes.create(actor="mallory", body="hers", entity=ref)
    reply = await api("PATCH", "notes", other["id"], body={"body": "mine now"})
    assert reply.status == 403 and reply.error["code"] == "forbidden"
    assert (await api("DELETE", "notes", other["id"])).status == 403
    assert (await api("DELETE", "notes", note["id"])).status == 204
    assert (await api("GET", "notes", note["id"])).status == 404
    assert (await api("GET", "notes", thread.json["id"])).status == 404

    for body, field in [
        ({}, "body"),
        ({"body": ""}, "body"),
        ({"body": "x", "extra": 1}, "extra"),
        ({"body": "x", "entity": {"type": "runz", "id": "1"}}, "entity.type"),
    ]:
        reply = await api("POST", "notes", body=body)
        assert reply.status == 400, (body, reply)
        assert reply.error["details"]["field"] == field
    reply = await api("POST", "notes", body={"body": "x", "entity": {"type": "run", "id": "nope"}})
    assert reply.status == 404
    assert (await api("PATCH", "notes", other["id"], body={})).status == 400
    assert (await api("POST", "notes", raw_body=b"{not json")).status == 400


async def test_search_through_rest(api, make_run):
    a = await make_run(name="churn xgboost")
    await api("POST", "runs", a["id"], "tags", body={"tags": {"team": "growth"}})
    b = await make_run(name="retention study")
    await api("POST", "runs", b["id"], "params", body={"params": {"target": "churn"}})
    await api(
        "POST", "notes", body={"body": "churn notes", "entity": {"type": "run", "id": b["id"]}}
    )

    reply = await api("GET", "search", params={"q": "churn"})
    assert reply.status == 200, reply
    out.SearchResults.model_validate(reply.json)
    hits = reply.json["items"]
    assert {h["type"] for h in hits} == {"run", "note"}
    runs = [h for h in hits if h["type"] == "run"]
    assert [h["id"] for h in runs] == [a["id"], b["id"]]  # a title hit before a body hit
    assert "<mark>churn</mark>" in runs[0]["snippet"] and runs[0]["url"] == f"runs/{a['id']}"

    def ids(reply):
        return [h["id"] for h in reply.json["items"]]

    assert ids(
        await api("GET", "search", params={"q": "churn", "type": "run", "tag": "team=growth"})
    ) == [a["id"]]
    assert len(ids(await api("GET", "search", params={"q": "churn", "type": "run,note"}))) == 3
    assert ids(await api("GET", "search", params={"q": "churn", "user": "nobody"})) == []
    assert ids(await api("GET", "search", params={"q": "churn", "since": "2999-01-01"})) == []
    page = await api("GET", "search", params={"q": "churn", "max_results": "1"})
    assert len(page.json["items"]) == 1 and page.json["next_page_token"]
    page2 = await api(
        "GET",
        "search",
        params={"q": "churn", "max_results": "1", "page_token": page.json["next_page_token"]},
    )
    assert ids(page2) and ids(page2) != ids(page)

    for q in ['"', "NEAR(", "-", "((", "*", "x" * 10_000, "'; DROP TABLE runs; --", "a\x00b"]:
        reply = await api("GET", "search", params={"q": q})
        assert reply.status == 200, (q, reply)
    for params, field in [
        ({"type": "runs"}, "type"),
        ({"since": "soon"}, "since"),
        ({"max_results": "0"}, "max_results"),
        ({"page_token": "zz"}, "page_token"),
    ]:
        reply = await api("GET", "search", params={"q": "churn", **params})
        assert reply.status == 400 and reply.error["details"]["field"] == field, params

    reply = await api("POST", "search/reindex")
    assert reply.status == 200 and reply.json["counts"]["run"] == 2
