"""Projects and experiments over REST."""

from __future__ import annotations

from labcycle.server.responses import core as out


async def test_project_create_get_list(api, jp_base_url):
    reply = await api("POST", "projects", body={"name": "churn", "description": "who leaves"})
    assert reply.status == 201
    project = out.Project.model_validate(reply.json)
    assert project.name == "churn" and project.description == "who leaves"
    assert reply.headers["Location"] == f"{jp_base_url}labcycle/api/v1/projects/{project.id}"

    got = await api("GET", "projects", project.id)
    assert got.status == 200 and got.json == reply.json

    listed = out.ProjectList.model_validate((await api("GET", "projects")).json)
    assert [p.name for p in listed.items] == ["churn"]
    assert listed.next_page_token is None


async def test_project_name_taken_is_409(api):
    assert (await api("POST", "projects", body={"name": "dup"})).status == 201
    reply = await api("POST", "projects", body={"name": "dup"})
    assert reply.status == 409
    assert reply.error["code"] == "conflict"
    assert reply.error["details"]["field"] == "name"


async def test_projects_paginate(api):
    for i in range(5):
        assert (await api("POST", "projects", body={"name": f"p{i}"})).status == 201
    seen, token = [], None
    while True:
        params = {"max_results": 2, **({"page_token": token} if token else {})}
        page = (await api("GET", "projects", params=params)).json
        assert len(page["items"]) <= 2
        seen += [p["name"] for p in page["items"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == ["p0", "p1", "p2", "p3", "p4"]
    bad = await api("GET", "projects", params={"page_token": "not-ours!"})
    assert bad.status == 400 and bad.error["details"]["field"] == "page_token"
    for value in ("0", "1001", "ten"):
        bad = await api("GET", "projects", params={"max_results": value})
        assert bad.status == 400, value
        assert bad.error["details"]["field"] == "max_results"


async def test_experiments(api, jp_base_url):
    project = (await api("POST", "projects", body={"name": "vision"})).json
    by_id = await api("POST", "experiments", body={"name": "resnet", "project_id": project["id"]})
    assert by_id.status == 201
    experiment = out.Experiment.model_validate(by_id.json)
    assert experiment.project_id == project["id"] and experiment.project_name == "vision"
    assert experiment.run_count == 0 and experiment.last_run_at is None
    assert by_id.headers["Location"] == f"{jp_base_url}labcycle/api/v1/experiments/{experiment.id}"

    by_name = await api("POST", "experiments", body={"name": "vit", "project": "vision"})
    assert by_name.status == 201 and by_name.json["project_id"] == project["id"]
    default = await api("POST", "experiments", body={"name": "baseline"})
    assert default.status == 201 and default.json["project_name"] == "default"

    again = await api("POST", "experiments", body={"name": "resnet", "project": "vision"})
    assert again.status == 409 and again.error["code"] == "conflict"

    run = await api("POST", "runs", body={"experiment_id": experiment.id})
    assert run.status == 201
    got = out.Experiment.model_validate((await api("GET", "experiments", experiment.id)).json)
    assert got.run_count == 1 and got.last_run_at is not None

    listed = (await api("GET", "experiments", params={"project_id": project["id"]})).json
    assert sorted(e["name"] for e in listed["items"]) == ["resnet", "vit"]
    everything = out.ExperimentList.model_validate((await api("GET", "experiments")).json)
    assert len(everything.items) == 3


async def test_experiment_bad_input(api):
    reply = await api("POST", "experiments", body={"name": "x", "project_id": "nope"})
    assert reply.status == 404 and reply.error["details"]["field"] == "project_id"
    reply = await api("POST", "experiments", body={"name": "x", "project_id": "a", "project": "b"})
    assert reply.status == 400 and reply.error["code"] == "invalid_input"
    reply = await api("POST", "experiments", body={"project": "b"})
    assert reply.status == 400 and reply.error["details"]["field"] == "name"
    reply = await api("POST", "experiments", body={"name": "   "})
    assert reply.status == 400 and reply.error["details"]["field"] == "name"


async def test_missing_and_sql_looking_ids_are_404(api):
    await api("POST", "projects", body={"name": "real"})
    for bad in ("nope", "1' OR '1'='1", "x; DROP TABLE runs", "' UNION SELECT * FROM projects --"):
        for collection in ("projects", "experiments", "runs", "datasets"):
            reply = await api("GET", collection, bad)
            assert reply.status == 404, (collection, bad, reply)
            assert reply.error["code"] == "not_found"
    # the tables are still there and intact
    assert [p["name"] for p in (await api("GET", "projects")).json["items"]] == ["real"]
    assert (await api("GET", "runs")).status == 200
