"""Reads follow membership (issue 10, item 4): a project with members is invisible to
non-members on every read surface; open projects stay readable by everyone; members of any
role and the server owners read; entities in no project stay visible. Service level, each
read made as a user with :func:`labcycle.services.ownership.reading_as` (what the REST
handlers do around every service call)."""

from __future__ import annotations

from typing import Any

import pytest
from model_files import log_model_files

from labcycle.errors import NotFound
from labcycle.services.ownership import hidden_projects, owners, project_ids_of, reading_as


@pytest.fixture(scope="module")
def tiny_model():
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"a": np.arange(12.0), "b": np.arange(12.0) % 3})
    return LogisticRegression().fit(X, (X.a > 5).astype(int)), X


def _world(services: Any, tiny_model: Any, tmp_path: Any) -> dict[str, Any]:
    """alice's private project ``secret`` (bob viewer) and an open project ``public``, each
    with runs, an artifact, a model version, a deployment, a monitor, a job, a sweep, a
    schedule and a note; plus a dataset (in no project)."""
    model, X = tiny_model
    nb = tmp_path / "nb.ipynb"
    nb.write_text('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}')
    out: dict[str, Any] = {}
    ref = services.datasets.register(
        actor="alice", name="shared", digest="sha256:aa", content_digest="sha256:bb"
    )
    out["dataset"] = ref
    for project in ("secret", "public"):
        p = services.projects.create_project(project, actor="alice", description=f"zebra {project}")
        runs = [
            services.tracking.create_run(
                actor="alice",
                experiment=f"exp-{project}",
                project=project,
                name=f"zebra-{project}-{i}",
            )
            for i in range(5)
        ]
        services.artifacts.log_bytes(runs[0]["id"], "out.txt", b"hello", actor="alice")
        log_model_files(services, runs[1]["id"], model, prefix="m", input_example=X.head(2))
        version = services.registry.create_version(
            f"model-{project}", run_id=runs[1]["id"], source_path="m", actor="alice"
        )
        dep = services.deployments.create(
            f"model-{project}/1", actor="alice", name=f"dep-{project}"
        )
        mon = services.monitors.create(
            actor="alice", name=f"mon-{project}", deployment=dep["id"], reference_dataset=ref["id"]
        )
        job = services.jobs.submit(actor="alice", notebook=str(nb), project=project)
        sweep = services.sweeps.create(
            actor="alice", notebook=str(nb), grid={"x": [1]}, project=project
        )
        sched = services.schedules.create(
            actor="alice",
            kind="job",
            cron="0 * * * *",
            payload={"notebook": str(nb), "project": project},
        )
        note = services.notes.create(
            actor="alice", body=f"zebra note {project}", entity={"type": "run", "id": runs[0]["id"]}
        )
        out[project] = {
            "project": p,
            "runs": runs,
            "version": version,
            "deployment": dep,
            "monitor": mon,
            "job": job,
            "sweep": sweep,
            "schedule": sched,
            "note": note,
            "experiment_id": runs[0]["experiment_id"],
        }
    services.projects.set_member(out["secret"]["project"]["id"], "bob", "viewer", actor="alice")
    services.search.reindex()
    return out


def _ids(listing: dict[str, Any]) -> set[str]:
    return {item["id"] for item in listing["items"]}


def _all_pages(fn: Any, **kwargs: Any) -> list[dict[str, Any]]:
    items, token = [], None
    while True:
        page = fn(max_results=2, page_token=token, **kwargs)
        assert len(page["items"]) == 2 or not page["next_page_token"]  # no short pages
        items += page["items"]
        token = page["next_page_token"]
        if not token:
            return items


def test_one_place_decides_the_project(services, tiny_model, tmp_path):
    w = _world(services, tiny_model, tmp_path)
    s = w["secret"]
    pid = s["project"]["id"]
    for kind, entity_id in (
        ("project", pid),
        ("experiment", s["experiment_id"]),
        ("run", s["runs"][0]["id"]),
        ("model_version", s["version"]["id"]),
        ("model", s["version"]["model_id"]),
        ("deployment", s["deployment"]["id"]),
        ("monitor", s["monitor"]["id"]),
        ("job", s["job"]["id"]),
        ("sweep", s["sweep"]["id"]),
        ("schedule", s["schedule"]["id"]),
        ("note", s["note"]["id"]),
    ):
        with services.store.read() as conn:
            assert project_ids_of(conn, kind, entity_id) == [pid], kind
        # access (write checks) and entities (descriptions) give the same project
        with services.store.read() as conn:
            ref = "model-secret" if kind == "model" else entity_id  # access names models
            assert services.access.project_ids(conn, kind, ref) == [pid], kind
            if kind not in ("schedule", "note"):
                assert services.entities.describe(kind, entity_id)["project_id"] == pid, kind
    assert owners("dataset") is None
    with services.store.read() as conn:
        assert hidden_projects(conn, "carol") == [pid]
        assert hidden_projects(conn, "bob") == []
        assert hidden_projects(conn, next(iter(services.access.server_owners))) == []
    services.projects.update_project(pid, actor="alice", approvers=["val"])
    with services.store.read() as conn:  # an approver reads the project (to review it)
        assert hidden_projects(conn, "val") == [] and hidden_projects(conn, "carol") == [pid]


def test_reads_follow_membership(services, tiny_model, tmp_path):
    w = _world(services, tiny_model, tmp_path)
    s, o = w["secret"], w["public"]
    run_s, run_o = s["runs"][0]["id"], o["runs"][0]["id"]
    for user, sees in (("carol", False), ("bob", True), ("alice", True), (None, True)):
        with reading_as(user):

            def has(ids: set[str], wanted: str, sees: bool = sees) -> bool:
                return (wanted in ids) == sees

            # listings
            projects = _ids(services.projects.list_projects())
            assert has(projects, s["project"]["id"]) and o["project"]["id"] in projects
            exps = _ids(services.projects.list_experiments())
            assert has(exps, s["experiment_id"]) and o["experiment_id"] in exps
            runs = _ids(services.tracking.search_runs())
            assert len(runs) == (10 if sees else 5) and run_o in runs
            models = {m["name"] for m in services.registry.list_models()["items"]}
            assert has(models, "model-secret") and "model-public" in models
            deps = _ids(services.deployments.list())
            assert has(deps, s["deployment"]["id"]) and o["deployment"]["id"] in deps
            mons = _ids(services.monitors.list())
            assert has(mons, s["monitor"]["id"]) and o["monitor"]["id"] in mons
            jobs = _ids(services.jobs.list())
            assert has(jobs, s["job"]["id"]) and o["job"]["id"] in jobs
            sweeps = _ids(services.sweeps.list())
            assert has(sweeps, s["sweep"]["id"]) and o["sweep"]["id"] in sweeps
            scheds = _ids(services.schedules.list())
            assert has(scheds, s["schedule"]["id"]) and o["schedule"]["id"] in scheds
            notes = _ids(services.notes.list())
            assert has(notes, s["note"]["id"]) and o["note"]["id"] in notes
            # datasets are in no project: everyone sees them
            assert w["dataset"]["id"] in _ids(services.datasets.list())
            # search
            hits = services.search.search("zebra", max_results=100)["items"]
            secret_hits = [h for h in hits if h.get("project_id") == s["project"]["id"]]
            assert bool(secret_hits) == sees
            assert any(h.get("project_id") == o["project"]["id"] for h in hits)
            browse = services.search.search(None, max_results=100)["items"]
            assert any(h.get("project_id") == s["project"]["id"] for h in browse) == sees
            # lineage: the open run's graph is fine; the private one is a 404 for carol
            graph = services.lineage.graph("run", run_o)
            assert all(n.get("project_id") != s["project"]["id"] for n in graph["nodes"]) or sees
            # audit
            events = services.audit.list(max_results=500)["items"]
            secret_events = [e for e in events if e["entity_id"] in (run_s, s["project"]["id"])]
            assert bool(secret_events) == sees
            assert any(e["entity_id"] == run_o for e in events)
            # single reads: 404 for carol, as if absent
            single = [
                lambda: services.projects.get_project(s["project"]["id"]),
                lambda: services.projects.get_project("secret"),
                lambda: services.projects.get_experiment(s["experiment_id"]),
                lambda: services.tracking.get_run(run_s),
                lambda: services.artifacts.list_artifacts(run_s),
                lambda: services.artifacts.read_artifact(run_s, "out.txt"),
                lambda: services.artifacts.open_artifact(run_s, "out.txt"),
                lambda: services.registry.get_model("model-secret"),
                lambda: services.registry.get_version("model-secret", 1),
                lambda: services.registry.list_versions("model-secret"),
                lambda: services.registry.get_version_by_id(s["version"]["id"]),
                lambda: services.deployments.get(s["deployment"]["id"]),
                lambda: services.deployments.get("dep-secret"),
                lambda: services.monitors.get("mon-secret"),
                lambda: services.jobs.get(s["job"]["id"]),
                lambda: services.sweeps.get(s["sweep"]["id"]),
                lambda: services.schedules.get(s["schedule"]["id"]),
                lambda: services.notes.get(s["note"]["id"]),
                lambda: services.lineage.graph("run", run_s),
                lambda: services.compare.runs([run_s, run_o]),
                lambda: services.projects.activity(s["project"]["id"]),
            ]
            for read in single:
                if sees:
                    read()
                else:
                    with pytest.raises(NotFound):
                        read()
            # the open project always reads
            services.tracking.get_run(run_o)
            services.artifacts.read_artifact(run_o, "out.txt")
            services.compare.runs([run_o, o["runs"][1]["id"]])
            assert services.projects.activity(o["project"]["id"])["items"]


def test_pagination_has_no_short_pages(services, tiny_model, tmp_path):
    w = _world(services, tiny_model, tmp_path)
    with reading_as("carol"):
        runs = _all_pages(services.tracking.search_runs)
        assert len(runs) == 5 and {r["experiment_id"] for r in runs} == {
            w["public"]["experiment_id"]
        }
        assert len(_all_pages(services.projects.list_projects)) == 1
        events = _all_pages(services.audit.list)
        assert events and len({e["id"] for e in events}) == len(events)
        hits = _all_pages(services.search.search, q="zebra")
        assert hits and all(h.get("project_id") != w["secret"]["project"]["id"] for h in hits)
    with reading_as("bob"):
        assert len(_all_pages(services.tracking.search_runs)) == 10


def test_entities_in_no_project_stay_visible(services, tiny_model, tmp_path):
    w = _world(services, tiny_model, tmp_path)
    dataset = w["dataset"]["id"]
    note = services.notes.create(
        actor="alice", body="a dataset note", entity={"type": "dataset", "id": dataset}
    )
    services.search.reindex()
    with reading_as("carol"):
        assert note["id"] in _ids(services.notes.list())
        services.notes.get(note["id"])
        services.datasets.get(dataset)
        nodes = services.lineage.graph("dataset", dataset, depth=5)["nodes"]
        assert {n["entity_id"] for n in nodes} >= {dataset, w["public"]["monitor"]["id"]}
        assert all(n.get("project_id") != w["secret"]["project"]["id"] for n in nodes)
        assert w["secret"]["monitor"]["id"] not in {n["entity_id"] for n in nodes}
    with reading_as("bob"):
        nodes = services.lineage.graph("dataset", dataset, depth=5)["nodes"]
        assert w["secret"]["monitor"]["id"] in {n["entity_id"] for n in nodes}
