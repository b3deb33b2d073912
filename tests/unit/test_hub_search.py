"""Hub search on both stores: ranking, every filter, snippets, hostile queries, and the
index following the writes (renames, tags, deletes, notebook snapshots)."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import delete, func, select

from labcycle.errors import InvalidInput
from labcycle.services import Services
from labcycle.services.search import SearchService, parse_query
from labcycle.store.models import SearchDoc, SearchDocTag, SearchState

FILLER = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


def _fill(services: Services, n: int = 8) -> None:
    """Unrelated runs, so that every test word is rare (bm25's idf needs a corpus)."""
    for word in FILLER[:n]:
        services.tracking.create_run(actor="zed", experiment="filler", name=f"{word} run")


def _hits(services: Services, q: str, **filters) -> list[dict]:
    return services.search.search(q, **filters)["items"]


def _notebook(*sources: str) -> bytes:
    return json.dumps(
        {
            "cells": [
                {"id": f"c{i}", "cell_type": "code", "source": s, "metadata": {}, "outputs": []}
                for i, s in enumerate(sources)
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    ).encode()


def test_a_title_hit_beats_a_body_hit_and_more_terms_rank_higher(services: Services) -> None:
    _fill(services)
    body_hit = services.tracking.create_run(actor="alice", experiment="e", name="baseline")
    services.tracking.log_params(body_hit["id"], {"target": "churn"}, actor="alice")
    title_hit = services.tracking.create_run(actor="alice", experiment="e", name="churn model")
    hits = _hits(services, "churn")
    assert [h["id"] for h in hits] == [title_hit["id"], body_hit["id"]]
    assert hits[0]["score"] > hits[1]["score"] > 0

    one = services.tracking.create_run(actor="alice", experiment="e", name="gradient")
    three = services.tracking.create_run(
        actor="alice", experiment="e", name="gradient boosting stumps"
    )
    hits = _hits(services, "gradient boosting stumps")
    assert [h["id"] for h in hits] == [three["id"], one["id"]]


def test_hits_carry_the_documented_fields_and_snippets_are_escaped(services: Services) -> None:
    _fill(services, 4)
    project = services.projects.create_project(
        "retail", actor="alice", description="Forecast <b>demand</b> per store"
    )
    run = services.tracking.create_run(actor="alice", experiment="exp", project="retail", name="r1")
    services.artifacts.attach_notebook(
        run["id"], _notebook("# <script>alert(1)</script> demand model", "x = 1"), actor="alice"
    )
    hits = {h["type"]: h for h in _hits(services, "demand")}
    assert set(hits) == {"project", "notebook"}
    p = hits["project"]
    assert p["id"] == project["id"] and p["title"] == "retail" and p["project"] == "retail"
    assert p["url"] == f"projects/{project['id']}" and p["owner"] == "alice"
    # HTML in the text is escaped (SQLite) or dropped (PostgreSQL's ts_headline): never markup
    assert p["snippet"].startswith("Forecast ") and "<mark>demand</mark>" in p["snippet"]
    assert "<b>" not in p["snippet"]
    nb = hits["notebook"]
    assert nb["id"] == f"{run['id']}/notebook.ipynb" and nb["run_id"] == run["id"]
    assert nb["artifact"] == "notebook.ipynb" and nb["project"] == "retail"
    assert nb["url"] == f"runs/{run['id']}/artifacts/notebook.ipynb"
    assert "<script>" not in nb["snippet"] and "<mark>demand</mark>" in nb["snippet"]
    assert nb["snippet"].replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_every_filter(services: Services) -> None:
    _fill(services, 4)
    a = services.tracking.create_run(
        actor="alice", experiment="e", project="p1", name="churn a", tags={"team": "growth"}
    )
    b = services.tracking.create_run(
        actor="bob",
        experiment="e",
        project="p2",
        name="churn b",
        tags={"team": "risk", "gold": "yes"},
    )
    note = services.notes.create(
        actor="carol", body="churn is up", entity={"type": "run", "id": a["id"]}
    )
    ids = lambda **f: {h["id"] for h in _hits(services, "churn", **f)}  # noqa: E731
    assert ids() == {a["id"], b["id"], note["id"]}
    assert ids(type="run") == {a["id"], b["id"]}
    assert ids(type=["note", "run"]) == ids(type="note,run") == ids()
    assert ids(type="note") == {note["id"]}
    assert ids(user="bob") == {b["id"]}
    assert ids(tag="team") == {a["id"], b["id"]}
    assert ids(tag="team=risk") == {b["id"]}
    assert ids(tag="gold") == {b["id"]}
    assert ids(tag="team=nobody") == set()
    assert ids(project="p1") == {a["id"], note["id"]}  # by name; the note is on p1's run
    assert ids(project=services.projects.list_projects()["items"][-1]["id"]) <= ids()
    assert ids(project="no such project") == set()
    now = int(time.time() * 1000)
    assert ids(since=now + 60_000) == set()
    assert ids(until=now - 86_400_000) == set()
    assert ids(since="2000-01-01", until="2999-12-31") == ids()
    assert ids(since="2000-01-01T00:00:00Z") == ids()
    # no words: the filters alone, newest first
    browse = services.search.search("", type="run", user="alice")["items"]
    assert [h["id"] for h in browse] == [a["id"]] and browse[0]["score"] is None


def test_pagination_walks_every_hit_once(services: Services) -> None:
    made = {
        services.tracking.create_run(actor="a", experiment="e", name=f"sweep trial {i}")["id"]
        for i in range(7)
    }
    seen, token, pages = [], None, 0
    while True:
        page = services.search.search("sweep", max_results=3, page_token=token)
        seen += [h["id"] for h in page["items"]]
        pages += 1
        token = page["next_page_token"]
        if not token:
            break
    assert pages == 3 and len(seen) == 7 and set(seen) == made


@pytest.mark.parametrize(
    "q",
    [
        '"',
        '"""',
        "*",
        "churn*",
        "NEAR(a b)",
        "NEAR(",
        "a OR",
        "AND",
        "NOT churn",
        "-",
        "--",
        "-churn",
        "((",
        "churn)",
        "(a OR b",
        "col:churn",
        "title:churn",
        "^churn",
        "'; DROP TABLE runs; --",
        "x" * 10_000,
        "churn " * 2_000,
        "\x00",
        "nul\x00byte",
        "\x02mark\x03",
        "ünïcödé 文字 🚀",
        "a & b | !c",
        "<->",
        "'quoted'",
        "lr=0.1",
        "%",
        "_",
        "\\",
        "{}",
        "[]",
        "@bob",
    ],
)
def test_hostile_queries_never_error(services: Services, q: str) -> None:
    services.tracking.create_run(actor="alice", experiment="e", name="churn model")
    result = services.search.search(q)
    assert isinstance(result["items"], list)
    for hit in result["items"]:
        assert hit["type"] in ("run", "experiment", "project")


def test_phrases_exclusions_prefixes_and_punctuated_tokens(services: Services) -> None:
    _fill(services)
    r1 = services.tracking.create_run(actor="a", experiment="e", name="customer churn model")
    r2 = services.tracking.create_run(actor="a", experiment="e", name="churn of customer base")
    services.tracking.log_params(r1["id"], {"lr": "0.1"}, actor="a")
    assert [h["id"] for h in _hits(services, '"customer churn"')] == [r1["id"]]
    assert {h["id"] for h in _hits(services, "churn -base")} == {r1["id"]}
    assert {h["id"] for h in _hits(services, "chur", type="run")} == {r1["id"], r2["id"]}
    assert [h["id"] for h in _hits(services, "lr=0.1")] == [r1["id"]]
    assert parse_query("-only -negative").empty  # nothing to match: the filters alone apply


def test_bad_filters_are_400s_naming_the_field(services: Services) -> None:
    for kwargs, field in [
        ({"type": "runs"}, "type"),
        ({"type": ["run", 3]}, "type"),
        ({"since": "yesterday"}, "since"),
        ({"until": True}, "until"),
        ({"page_token": "!!"}, "page_token"),
        ({"max_results": 0}, "max_results"),
        ({"user": "x" * 300}, "user"),
        ({"tag": 5}, "tag"),
    ]:
        with pytest.raises(InvalidInput) as err:
            services.search.search("churn", **kwargs)
        assert err.value.details["field"] == field, kwargs


def test_the_index_follows_renames_tags_notebooks_and_deletes(services: Services) -> None:
    _fill(services, 4)
    run = services.tracking.create_run(actor="alice", experiment="e", name="first name")
    assert [h["id"] for h in _hits(services, "first")] == [run["id"]]
    services.tracking.update_run(run["id"], actor="alice", name="second name")
    assert _hits(services, "first") == []
    assert [h["title"] for h in _hits(services, "second")] == ["second name"]
    services.tracking.set_tags(run["id"], {"owner_team": "falcon"}, actor="alice")
    assert [h["id"] for h in _hits(services, "falcon", tag="owner_team=falcon")] == [run["id"]]
    # metric points do not touch the index (the logging hot path)
    with services.store.read() as conn:
        before = conn.execute(
            select(SearchDoc.updated_at, SearchDoc.id).where(SearchDoc.entity_id == run["id"])
        ).one()
    services.tracking.log_metrics(run["id"], [{"key": "acc", "value": 0.5}], actor="alice")
    with services.store.read() as conn:
        assert (
            conn.execute(
                select(SearchDoc.updated_at, SearchDoc.id).where(SearchDoc.entity_id == run["id"])
            ).one()
            == before
        )
    # a notebook snapshot is indexed when attached, and replaced when attached again
    services.artifacts.attach_notebook(
        run["id"], _notebook("import pandas", "zebra = 1"), actor="alice"
    )
    assert [h["type"] for h in _hits(services, "zebra")] == ["notebook"]
    services.artifacts.attach_notebook(run["id"], _notebook("giraffe = 2"), actor="alice")
    assert _hits(services, "zebra") == [] and len(_hits(services, "giraffe")) == 1
    services.artifacts.log_bytes(run["id"], "executed.ipynb", _notebook("okapi = 3"), actor="alice")
    assert [h["artifact"] for h in _hits(services, "okapi")] == ["executed.ipynb"]
    note = services.notes.create(
        actor="alice", body="giraffe notes", entity={"type": "run", "id": run["id"]}
    )
    assert {h["type"] for h in _hits(services, "giraffe")} == {"notebook", "note"}
    services.notes.delete(note["id"], actor="alice")
    services.tracking.delete_run(run["id"], actor="alice")
    assert _hits(services, "second") == [] and _hits(services, "giraffe") == []
    assert _hits(services, "okapi") == []
    with services.store.read() as conn:
        assert (
            conn.execute(
                select(func.count())
                .select_from(SearchDoc)
                .where(SearchDoc.entity_id.like(run["id"] + "%"))
            ).scalar()
            == 0
        )


def test_a_store_without_an_index_is_indexed_on_first_search(services: Services) -> None:
    _fill(services, 2)
    run = services.tracking.create_run(actor="alice", experiment="e", name="legacy run")
    services.artifacts.attach_notebook(run["id"], _notebook("wombat = 1"), actor="alice")
    with services.store.write() as conn:  # as after an upgrade to 0009: no documents
        conn.execute(delete(SearchDocTag))
        conn.execute(delete(SearchDoc))
        conn.execute(delete(SearchState))
    fresh = SearchService(services.store, services.blobs)
    assert {h["type"] for h in fresh.search("legacy wombat")["items"]} == {"run", "notebook"}
    counts = fresh.reindex()
    assert counts["run"] == 3 and counts["notebook"] == 1 and counts["experiment"] == 2
