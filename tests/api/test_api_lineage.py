"""Lineage, run comparison and notebook diff over REST: real server, real store, shapes
checked against the documented response models, bad input refused with the field named.

No start hooks run (no dispatcher or supervisor): a deployment here is a row, never a process.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from unit.test_compare import _nb
from unit.test_lineage import _model_files

from labcycle.server.responses import lineage as out

from .conftest import API, Reply

ACTOR = "alice"


@pytest.fixture
def services(jp_serverapp):
    return jp_serverapp.extension_manager.extension_points["labcycle"].app.services


@pytest.fixture
def get(jp_fetch, jp_serverapp):
    async def call(*parts: str, params: Any = None) -> Reply:
        return Reply(await jp_fetch(*API, *parts, params=params, method="GET", raise_error=False))

    return call


async def test_lineage_over_rest(get, services):
    svc = services
    data = svc.datasets.register(
        actor=ACTOR, name="train", digest="sha256:" + "1" * 64, content_digest="sha256:" + "2" * 64
    )
    run = svc.tracking.create_run(actor=ACTOR, experiment="e", project="churn", name="fit")
    svc.datasets.link_input(run["id"], data["id"], actor=ACTOR, context="training")
    svc.artifacts.log_bytes(run["id"], "notebook.ipynb", _nb([("code", "fit()")]), actor=ACTOR)
    _model_files(svc, run["id"])
    version = svc.registry.create_version(
        "churn", run_id=run["id"], source_path="staged", actor=ACTOR
    )
    dep = svc.deployments.create("churn/1", actor=ACTOR, name="churn-api")
    mon = svc.monitors.create(
        actor=ACTOR, name="watch", deployment=dep["id"], reference_dataset=data["id"]
    )

    reply = await get("lineage", "monitor", mon["id"], params={"direction": "up", "depth": "4"})
    assert reply.status == 200, reply
    graph = out.LineageGraph.model_validate(reply.json)
    edges = {(e.source, e.target, e.relation) for e in graph.edges}
    d, r = f"dataset:{data['id']}", f"run:{run['id']}"
    v, dp, m = f"model_version:{version['id']}", f"deployment:{dep['id']}", f"monitor:{mon['id']}"
    assert {
        (d, r, "input_of"),
        (r, v, "logged"),
        (v, dp, "served_by"),
        (dp, m, "watched_by"),
        (d, m, "reference_of"),
        (f"notebook:{run['id']}/notebook.ipynb", r, "snapshot_of"),
    } <= edges
    assert graph.root == m and graph.direction == "up" and graph.depth == 4
    nodes = {n.id: n for n in graph.nodes}
    assert nodes[v].title == "churn v1" and nodes[r].project == "churn"
    # the url hint of a node is a route that answers
    assert (await get(*nodes[v].url_hint.split("/"))).status == 200

    down = out.LineageGraph.model_validate(
        (await get("lineage", "dataset", data["id"], params={"direction": "down"})).json
    )
    assert (v, dp, "served_by") in {(e.source, e.target, e.relation) for e in down.edges}

    for parts, params, status, field in [
        (("lineage", "table", "x"), None, 400, "type"),
        (("lineage", "run", "0" * 32), None, 404, None),
        (("lineage", "run", run["id"]), {"depth": "99"}, 400, "depth"),
        (("lineage", "run", run["id"]), {"depth": "two"}, 400, "depth"),
        (("lineage", "run", run["id"]), {"direction": "sideways"}, 400, "direction"),
        (("lineage", "run", run["id"]), {"max_nodes": "0"}, 400, "max_nodes"),
        (("lineage", "run", "x" * 65), None, 400, "id"),
        (("lineage", "run", "%00%27"), None, 404, None),
    ]:
        reply = await get(*parts, params=params)
        assert reply.status == status, (parts, params, reply)
        if field:
            assert reply.error["details"]["field"] == field, reply.error


async def test_compare_runs_and_notebooks_over_rest(get, services):
    svc = services
    now = int(time.time() * 1000)
    runs = []
    for i, lr in enumerate((0.1, 0.01, 0.001)):
        run = svc.tracking.create_run(actor=ACTOR, experiment="cmp", name=f"r{i}")
        svc.tracking.log_params(run["id"], {"lr": lr, "model": "rf"}, actor=ACTOR)
        points = [("loss", 1.0 / (s + 1), s, now) for s in range(3000)]
        points[1500] = ("loss", 99.0, 1500, now)
        svc.tracking.log_metrics(
            run["id"],
            points + [("acc", float("nan") if i == 2 else 0.8 + i / 100, 0, now)],
            actor=ACTOR,
        )
        svc.artifacts.log_bytes(
            run["id"],
            "executed.ipynb",
            _nb(
                [
                    ("code", f"lr = {lr}", {"id": "p", "tags": ["parameters"]}),
                    ("code", "train()", {"id": "t"}),
                ]
            ),
            actor=ACTOR,
        )
        runs.append(run)
    ids = [r["id"] for r in runs]
    # repeated run_id, and a comma-separated one
    reply = await get(
        "compare",
        "runs",
        params=[
            ("run_id", ids[0]),
            ("run_id", f"{ids[1]},{ids[2]}"),
            ("metric", "acc"),
            ("max_points", "200"),
        ],
    )
    assert reply.status == 200, reply
    body = reply.json
    cmp = out.RunComparison.model_validate(body)
    assert (
        cmp.run_ids == ids and cmp.params.differing == ["lr"] and cmp.params.constant == ["model"]
    )
    assert body["metrics"]["rows"][0]["values"][ids[2]] == "NaN"  # strict JSON
    loss = cmp.histories["loss"][ids[0]]
    assert loss.points == 3000 and len(loss.steps) <= 200 and 99.0 in loss.values
    assert cmp.parallel.metric == "acc" and cmp.parallel.dimensions[0].key == "lr"
    json.dumps(body, allow_nan=False)

    for params, status, field in [
        ([("run_id", ids[0])], 400, "run_ids"),
        ([("run_id", ",".join(f"r{i}" for i in range(51)))], 400, "run_ids"),
        ([("run_id", ids[0]), ("run_id", ids[0])], 400, "run_ids[1]"),
        ([("run_id", ids[0]), ("run_id", "unknown")], 404, "run_ids"),
        ([("run_id", ids[0]), ("run_id", ids[1]), ("metric", "f1")], 400, "metric"),
        ([("run_id", ids[0]), ("run_id", ids[1]), ("max_points", "5000")], 400, "max_points"),
        ([], 400, "run_ids"),
    ]:
        reply = await get("compare", "runs", params=params)
        assert reply.status == status, (params, reply)
        assert reply.error["details"]["field"] == field, reply.error
    missing = await get("compare", "runs", params=[("run_id", ids[0]), ("run_id", "unknown")])
    assert missing.error["details"]["missing"] == ["unknown"]

    reply = await get("compare", "notebooks", params={"run_a": ids[0], "run_b": ids[1]})
    assert reply.status == 200, reply
    diff = out.NotebookDiff.model_validate(reply.json)
    assert diff.alignment == "id" and diff.summary["modified"] == 1
    assert diff.cells[0].source_diff == ["@@ -1 +1 @@", "-lr = 0.1", "+lr = 0.01"]
    assert diff.parameters.values[0].model_dump() == {
        "name": "lr",
        "a": "0.1",
        "b": "0.01",
        "changed": True,
    }
    bare = svc.tracking.create_run(actor=ACTOR, experiment="cmp")
    for params, status, field in [
        ({"run_a": ids[0]}, 400, "run_b"),
        ({"run_a": ids[0], "run_b": bare["id"]}, 404, "run_b"),
        ({"run_a": "nope", "run_b": ids[0]}, 404, "run_a"),
        ({"run_a": ids[0], "run_b": ids[1], "max_output_chars": "-5"}, 400, "max_output_chars"),
    ]:
        reply = await get("compare", "notebooks", params=params)
        assert reply.status == status, (params, reply)
        assert reply.error["details"]["field"] == field, reply.error


async def test_routes_are_documented(get):
    doc = (await get("openapi.json")).json
    lineage = doc["paths"]["/lineage/{entity_type}/{entity_id}"]["get"]
    assert lineage["x-jupyter-authorization"] == {"resource": "labcycle:lineage", "action": "read"}
    compare = doc["paths"]["/compare/runs"]["get"]
    assert {p["name"] for p in compare["parameters"]} == {"run_id", "metric", "key", "max_points"}
    assert compare["x-jupyter-authorization"]["action"] == "read"  # viewers may compare
    assert "/compare/notebooks" in doc["paths"]


async def test_python_api_over_http(
    get,
    services,
    http_server_client,
    http_server_port,
    jp_base_url,
    jp_auth_header,
    tmp_path,
    monkeypatch,
):
    """``lc.lineage``, ``lc.compare_runs``, ``lc.notebook_diff`` as a kernel calls them: over
    REST, with non-finite metric values turned back into floats."""
    import asyncio
    import math

    import labcycle as lc
    from labcycle.api.fluent import _state
    from labcycle.errors import InvalidInput, NotFound

    ids = []
    for lr in (0.1, 0.2):
        run = services.tracking.create_run(actor=ACTOR, experiment="http", name=f"lr{lr}")
        services.tracking.log_params(run["id"], {"lr": lr}, actor=ACTOR)
        services.tracking.log_metrics(
            run["id"],
            [("loss", float("inf") if lr == 0.2 else 0.5, 0, 1), ("loss", float("nan"), 1, 2)],
            actor=ACTOR,
        )
        services.artifacts.log_bytes(
            run["id"], "notebook.ipynb", _nb([("code", f"lr = {lr}", {"id": "p"})]), actor=ACTOR
        )
        ids.append(run["id"])
    monkeypatch.setenv("LABCYCLE_HOME", str(tmp_path / "kernel-home"))
    token = jp_auth_header["Authorization"].split(" ", 1)[1]
    lc.configure(url=f"http://127.0.0.1:{http_server_port[-1]}{jp_base_url}", token=token)

    def kernel_side():
        graph = lc.lineage("run", ids[0], direction="up")
        cmp = lc.compare_runs(ids)
        diff = lc.notebook_diff(ids[0], ids[1])
        with pytest.raises(InvalidInput) as bad:
            lc.compare_runs(ids[:1])
        with pytest.raises(NotFound):
            lc.lineage("run", "0" * 32)
        return graph, cmp, diff, bad.value

    try:
        graph, cmp, diff, bad = await asyncio.to_thread(kernel_side)
    finally:
        _state.reset()
    assert graph["root"] == f"run:{ids[0]}" and any(
        e["relation"] == "snapshot_of" for e in graph["edges"]
    )
    loss = cmp["histories"]["loss"]
    assert loss[ids[1]]["values"][0] == math.inf and math.isnan(loss[ids[1]]["values"][1])
    assert math.isnan(
        next(r for r in cmp["metrics"]["rows"] if r["key"] == "loss")["values"][ids[0]]
    )
    assert diff["cells"][0]["source_diff"] == ["@@ -1 +1 @@", "-lr = 0.1", "+lr = 0.2"]
    assert bad.details["field"] == "run_ids"
