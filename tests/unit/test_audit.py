"""The audit log: every write leaves an event naming who did it; reading it back."""

from __future__ import annotations

import io
import json

import pytest

from labcycle.errors import Conflict, InvalidInput
from labcycle.services import Services


def _events(services: Services, **filters) -> list[dict]:
    page = services.audit.list(max_results=1000, **filters)
    assert page["next_page_token"] is None
    return page["items"]


def _write_everything(services: Services) -> dict[str, str]:
    """One of each kind of write, each by its own actor; returns the ids involved."""
    project = services.projects.create_project("proj", actor="p-creator")
    experiment = services.projects.create_experiment(
        "exp", actor="e-creator", project_id=project["id"]
    )
    run = services.tracking.create_run(actor="r-creator", experiment_id=experiment["id"])
    rid = run["id"]
    services.tracking.log_params(rid, {"lr": 0.1}, actor="param-logger")
    services.tracking.log_metrics(rid, [{"key": "acc", "value": 0.9}], actor="metric-logger")
    services.tracking.set_tags(rid, {"stage": "dev"}, actor="tagger")
    services.tracking.update_run(rid, actor="finisher", status="finished")
    services.artifacts.log_bytes(rid, "a.bin", b"a", actor="uploader")
    services.artifacts.log_stream(rid, "b.bin", io.BytesIO(b"b"), actor="streamer")
    services.artifacts.log_cells(rid, [{"cell_id": "c", "source": "1"}], actor="kernel")
    nb = json.dumps({"cells": [{"id": "c", "source": "1"}]}).encode()
    services.artifacts.attach_notebook(rid, nb, actor="snapshotter")
    dataset = services.datasets.register(actor="registrar", name="iris", digest="d")
    services.datasets.link_input(rid, dataset["id"], actor="linker")
    doomed = services.tracking.create_run(actor="r-creator", experiment_id=experiment["id"])
    services.tracking.delete_run(doomed["id"], actor="deleter")
    return {
        "project": project["id"],
        "experiment": experiment["id"],
        "run": rid,
        "dataset": dataset["id"],
        "deleted": doomed["id"],
    }


def test_every_write_is_audited_with_its_actor(services: Services) -> None:
    ids = _write_everything(services)
    got = {(e["user"], e["action"], e["entity_type"], e["entity_id"]) for e in _events(services)}
    expected = {
        ("p-creator", "project.create", "project", ids["project"]),
        ("e-creator", "experiment.create", "experiment", ids["experiment"]),
        ("r-creator", "run.create", "run", ids["run"]),
        ("param-logger", "run.log", "run", ids["run"]),
        ("metric-logger", "run.log", "run", ids["run"]),
        ("tagger", "run.log", "run", ids["run"]),
        ("finisher", "run.update", "run", ids["run"]),
        ("uploader", "artifact.put", "run", ids["run"]),
        ("streamer", "artifact.put", "run", ids["run"]),
        ("kernel", "run.cells", "run", ids["run"]),
        ("snapshotter", "artifact.put", "run", ids["run"]),
        ("registrar", "dataset.create", "dataset", ids["dataset"]),
        ("linker", "run.input", "run", ids["run"]),
        ("r-creator", "run.create", "run", ids["deleted"]),
        ("deleter", "run.delete", "run", ids["deleted"]),
    }
    assert expected <= got, expected - got
    assert all(e["at"] for e in _events(services))


def test_event_details_say_what_changed(services: Services) -> None:
    ids = _write_everything(services)
    [update] = _events(services, action="run.update")
    assert update["details"]["before"] == {"status": "running", "end_time": None}
    assert update["details"]["after"]["status"] == "finished"
    assert update["details"]["after"]["end_time"] > 0
    [params] = _events(services, user="param-logger")
    assert params["details"] == {"params": ["lr"]}
    [metrics] = _events(services, user="metric-logger")
    assert metrics["details"] == {"metrics": ["acc"], "points": 1}
    [deleted] = _events(services, action="run.delete")
    assert deleted["entity_id"] == ids["deleted"]
    assert deleted["details"]["experiment_id"] == ids["experiment"]


def test_list_filters(services: Services) -> None:
    ids = _write_everything(services)
    by_user = _events(services, user="tagger")
    assert [(e["action"], e["details"]) for e in by_user] == [("run.log", {"tags": ["stage"]})]
    by_action = _events(services, action="artifact.put")
    assert {e["user"] for e in by_action} == {"uploader", "streamer", "snapshotter"}
    by_entity = _events(services, entity_type="run", entity_id=ids["run"])
    assert by_entity and all(e["entity_id"] == ids["run"] for e in by_entity)
    assert {e["entity_type"] for e in _events(services, entity_type="dataset")} == {"dataset"}
    combined = _events(services, entity_id=ids["run"], user="r-creator", action="run.create")
    assert len(combined) == 1
    assert _events(services, user="nobody") == []
    everything = _events(services)
    assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)


def test_audit_pagination(services: Services) -> None:
    _write_everything(services)
    everything = [e["id"] for e in _events(services)]
    seen, token = [], None
    while True:
        page = services.audit.list(max_results=4, page_token=token)
        seen += [e["id"] for e in page["items"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == everything


def test_failed_writes_leave_no_event(services: Services, run: dict) -> None:
    services.tracking.log_params(run["id"], {"lr": 0.1}, actor="alice")
    before = len(_events(services))
    with pytest.raises(Conflict):
        services.tracking.log_params(run["id"], {"lr": 0.2}, actor="mallory")
    with pytest.raises(InvalidInput):
        services.tracking.log_metrics(run["id"], [{"key": "a/b", "value": 1}], actor="mallory")
    with pytest.raises(Conflict):
        services.projects.create_project("default", actor="mallory")
    assert len(_events(services)) == before
    assert _events(services, user="mallory") == []
