"""Notes and comments on both stores: CRUD, author-only edits, threads, mentions, anchors,
the sanitised HTML and the audit trail."""

from __future__ import annotations

import json

import pytest

from labcycle.errors import Forbidden, InvalidInput, NotFound
from labcycle.services import Services
from labcycle.services.notes import parse_mentions

NOTEBOOK = json.dumps(
    {
        "cells": [
            {
                "id": "intro",
                "cell_type": "markdown",
                "metadata": {},
                "source": ["# Churn\n", "why"],
            },
            {
                "id": "load",
                "cell_type": "code",
                "metadata": {},
                "outputs": [],
                "source": "df = read_csv('customers.csv')",
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
).encode()


def _run_with_snapshot(services: Services) -> dict:
    run = services.tracking.create_run(actor="alice", experiment="e", name="r")
    services.artifacts.log_bytes(run["id"], "executed.ipynb", NOTEBOOK, actor="alice")
    return run


def test_notes_crud_threads_and_audit(services: Services, run: dict) -> None:
    ref = {"type": "run", "id": run["id"]}
    note = services.notes.create(actor="alice", body="**Baseline** to beat", entity=ref)
    assert note["entity"] == ref and note["author"] == "alice" and note["parent_id"] is None
    assert note["body"] == "**Baseline** to beat" and not note["edited"]
    assert note["html"] == "<p><strong>Baseline</strong> to beat</p>\n"
    assert note["project_id"] == services.projects.list_projects()["items"][0]["id"]
    reply = services.notes.create(actor="bob", body="Agreed", parent_id=note["id"])
    assert reply["entity"] == ref and reply["parent_id"] == note["id"]
    assert services.notes.get(note["id"])["reply_count"] == 1
    listed = services.notes.list(entity_type="run", entity_id=run["id"])["items"]
    assert [n["id"] for n in listed] == [note["id"], reply["id"]]
    assert [n["id"] for n in services.notes.list(parent_id=note["id"])["items"]] == [reply["id"]]
    assert [n["id"] for n in services.notes.list(author="bob")["items"]] == [reply["id"]]
    # a comment on a note: a note whose entity is the note
    on_note = services.notes.create(
        actor="bob", body="see above", entity={"type": "note", "id": note["id"]}
    )
    assert on_note["entity"] == {"type": "note", "id": note["id"]}

    edited = services.notes.update(note["id"], actor="alice", body="Baseline: *0.81*")
    assert edited["body"] == "Baseline: *0.81*" and edited["edited"]
    services.notes.delete(note["id"], actor="alice")
    with pytest.raises(NotFound):
        services.notes.get(note["id"])
    with pytest.raises(NotFound):  # replies go with their parent
        services.notes.get(reply["id"])
    actions = [(e["action"], e["user"]) for e in services.audit.list(entity_type="note")["items"]]
    assert ("note.create", "alice") in actions and ("note.create", "bob") in actions
    assert ("note.update", "alice") in actions and ("note.delete", "alice") in actions
    update = next(e for e in services.audit.list(entity_type="note", action="note.update")["items"])
    assert update["details"]["before"]["body"] == "**Baseline** to beat"
    assert update["details"]["after"]["body"] == "Baseline: *0.81*"


def test_only_the_author_edits_or_deletes(services: Services, run: dict) -> None:
    note = services.notes.create(
        actor="alice", body="mine", entity={"type": "run", "id": run["id"]}
    )
    with pytest.raises(Forbidden, match="Only the author"):
        services.notes.update(note["id"], actor="mallory", body="defaced")
    with pytest.raises(Forbidden):
        services.notes.delete(note["id"], actor="mallory")
    assert services.notes.get(note["id"])["body"] == "mine"
    with pytest.raises(NotFound):
        services.notes.update("0" * 32, actor="alice", body="x")


def test_mentions_are_parsed_stored_and_filterable(services: Services, run: dict) -> None:
    assert parse_mentions(
        "hi @alice and @bob.smith, mail me at x@example.com; `@code` "
        "```\n@block\n``` @alice again @carol."
    ) == ["alice", "bob.smith", "carol"]
    ref = {"type": "run", "id": run["id"]}
    note = services.notes.create(actor="zed", body="@alice please check, cc @bob", entity=ref)
    assert note["mentions"] == ["alice", "bob"]
    services.notes.create(actor="zed", body="nobody here", entity=ref)
    assert [n["id"] for n in services.notes.list(mentioned="alice")["items"]] == [note["id"]]
    assert [n["id"] for n in services.notes.list(mentioned="@bob")["items"]] == [note["id"]]
    services.notes.update(note["id"], actor="zed", body="only @dave now")
    assert services.notes.list(mentioned="alice")["items"] == []
    assert [n["id"] for n in services.notes.list(mentioned="dave")["items"]] == [note["id"]]


def test_html_is_sanitised_and_the_body_kept_raw(services: Services, run: dict) -> None:
    body = (
        "<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)> "
        "[ok](https://example.com)"
    )
    note = services.notes.create(actor="alice", body=body, entity={"type": "run", "id": run["id"]})
    assert note["body"] == body
    html = note["html"]
    # raw HTML and the javascript: link stay text (escaped); no tag or attribute survives
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html
    assert '<a href="https://example.com">ok</a>' in html


def test_anchors_are_checked_against_the_snapshot(services: Services) -> None:
    run = _run_with_snapshot(services)
    note = services.notes.create(
        actor="alice", body="why this file?", anchor={"run_id": run["id"], "cell_id": "load"}
    )
    assert note["entity"] == {"type": "run", "id": run["id"]}
    assert note["anchor"] == {
        "run_id": run["id"],
        "artifact": "executed.ipynb",
        "cell_id": "load",
        "cell_index": 1,
        "cell_type": "code",
        "excerpt": "df = read_csv('customers.csv')",
    }
    by_index = services.notes.create(
        actor="alice", body="intro", anchor={"run_id": run["id"], "cell_index": 0}
    )
    assert (
        by_index["anchor"]["cell_id"] == "intro" and by_index["anchor"]["excerpt"] == "# Churn\nwhy"
    )
    assert {n["id"] for n in services.notes.list(run_id=run["id"])["items"]} == {
        note["id"],
        by_index["id"],
    }

    bad = [
        ({"run_id": run["id"], "cell_id": "nope"}, "anchor.cell_id"),
        ({"run_id": run["id"], "cell_index": 2}, "anchor.cell_index"),
        ({"run_id": run["id"], "cell_index": -1}, "anchor.cell_index"),
        ({"run_id": run["id"], "cell_id": "load", "cell_index": 0}, "anchor.cell_index"),
        ({"run_id": run["id"]}, "anchor.cell_id"),
        ({"run_id": run["id"], "cell_id": "load", "artifact": "notebook.ipynb"}, "anchor.artifact"),
        ({"run_id": run["id"], "cell_id": "load", "artifact": "../etc/passwd"}, "anchor.artifact"),
        ({"run_id": "no-such-run", "cell_id": "load"}, "anchor.run_id"),
        ({"run_id": run["id"], "cell_id": "load", "line": 3}, "anchor.line"),
        ("cell 3", "anchor"),
    ]
    for anchor, field in bad:
        with pytest.raises(InvalidInput) as err:
            services.notes.create(actor="alice", body="x", anchor=anchor)
        assert err.value.details["field"] == field, anchor
    moved = services.notes.update(
        note["id"], actor="alice", anchor={"run_id": run["id"], "cell_id": "intro"}
    )
    assert moved["anchor"]["cell_index"] == 0
    assert services.notes.update(note["id"], actor="alice", anchor=None)["anchor"] is None


def test_bad_input(services: Services, run: dict) -> None:
    ref = {"type": "run", "id": run["id"]}
    for kwargs, field in [
        ({"body": "", "entity": ref}, "body"),
        ({"body": "   ", "entity": ref}, "body"),
        ({"body": 5, "entity": ref}, "body"),
        ({"body": "x" * 100_001, "entity": ref}, "body"),
        ({"body": "a\x00b", "entity": ref}, "body"),
        ({"body": "x"}, "entity"),
        ({"body": "x", "entity": {"type": "runs", "id": "1"}}, "entity.type"),
        ({"body": "x", "entity": {"type": "run", "id": ""}}, "entity.id"),
    ]:
        with pytest.raises(InvalidInput) as err:
            services.notes.create(actor="alice", **kwargs)
        assert err.value.details["field"] == field, kwargs
    with pytest.raises(NotFound) as err:
        services.notes.create(actor="alice", body="x", entity={"type": "run", "id": "nope"})
    assert err.value.details["field"] == "entity"
    with pytest.raises(NotFound):
        services.notes.create(actor="alice", body="x", parent_id="nope")
    parent = services.notes.create(actor="alice", body="p", entity=ref)
    other = services.tracking.create_run(actor="alice", experiment="e")
    with pytest.raises(InvalidInput) as err:
        services.notes.create(
            actor="alice",
            body="x",
            parent_id=parent["id"],
            entity={"type": "run", "id": other["id"]},
        )
    assert err.value.details["field"] == "entity"
    with pytest.raises(InvalidInput):
        services.notes.update(parent["id"], actor="alice")
    with pytest.raises(InvalidInput):
        services.notes.list(entity_type="bogus")
