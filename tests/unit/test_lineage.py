"""Lineage and entity references on both stores, from a real chain of recorded links:
dataset → run → model version → deployment → monitor (+ notebook snapshot, job, sweep,
reproduction), seen from each end; depth, node cap, bad input."""

from __future__ import annotations

import json

import pytest
from model_files import log_model_files
from sqlalchemy import update

from labcycle.errors import InvalidInput, NotFound
from labcycle.services.entities import describe, describe_many, validate_ref
from labcycle.services.lineage import format_tree
from labcycle.store.models import ModelVersion

ACTOR = "alice"


def _notebook(source: str) -> bytes:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return nbformat.writes(nb).encode()


def _model_files(svc, run_id: str) -> None:
    """A real (tiny) scikit-learn model saved by LabCycle, as artifacts of ``run_id``."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    X = np.arange(20, dtype=float).reshape(10, 2)
    log_model_files(svc, run_id, LogisticRegression().fit(X, [0, 1] * 5), actor=ACTOR)


@pytest.fixture
def chain(services, tmp_path):
    """dataset → run (+ notebook snapshots, job of a sweep) → model version (alias
    champion) → deployment → monitor (reference = the dataset); a reproduction of the run."""
    svc = services
    data = svc.datasets.register(
        actor=ACTOR,
        name="churn-train",
        digest="sha256:" + "a" * 64,
        row_count=10,
        content_digest="sha256:" + "b" * 64,
    )
    run = svc.tracking.create_run(
        actor=ACTOR, experiment="training", project="churn", name="rf-baseline"
    )
    svc.datasets.link_input(run["id"], data["id"], actor=ACTOR, context="training")
    svc.artifacts.log_bytes(run["id"], "notebook.ipynb", _notebook("x = 1"), actor=ACTOR)
    svc.artifacts.log_bytes(
        run["id"], "executed.ipynb", _notebook("x = 1  # executed"), actor=ACTOR
    )
    notebook = tmp_path / "train.ipynb"  # a sweep's notebook must exist when it is created
    notebook.write_bytes(_notebook("lr = 0.1"))
    sweep = svc.sweeps.create(actor=ACTOR, notebook=str(notebook), grid={"lr": [0.1]}, parallel=1)
    job = svc.jobs.list()["items"][0]  # the sweep's one trial; its worker reports the run
    svc.jobs.report(job["id"], run_id=run["id"])
    _model_files(svc, run["id"])
    version = svc.registry.create_version(
        "churn", run_id=run["id"], source_path="staged", actor=ACTOR
    )
    svc.registry.set_alias("churn", "champion", 1, actor=ACTOR)
    deployment = svc.deployments.create("churn@champion", actor=ACTOR, name="churn-api")
    monitor = svc.monitors.create(
        actor=ACTOR, name="churn-watch", deployment=deployment["id"], reference_dataset=data["id"]
    )
    again = svc.tracking.create_run(
        actor=ACTOR, experiment="training", project="churn", name="rf-again"
    )
    svc.tracking.set_tags(again["id"], {"labcycle.reproduces_run_id": run["id"]}, actor=ACTOR)
    return {
        "data": data,
        "run": run,
        "version": version,
        "deployment": deployment,
        "monitor": monitor,
        "job": job,
        "sweep": sweep,
        "again": again,
    }


def _edges(graph) -> set[tuple[str, str, str]]:
    return {(e["source"], e["target"], e["relation"]) for e in graph["edges"]}


def test_describe_every_type_of_the_chain(services, chain):
    c = chain
    refs = [
        ("dataset", c["data"]["id"]),
        ("run", c["run"]["id"]),
        ("model_version", c["version"]["id"]),
        ("model", c["version"]["model_id"]),
        ("deployment", c["deployment"]["id"]),
        ("monitor", c["monitor"]["id"]),
        ("job", c["job"]["id"]),
        {"type": "experiment", "id": c["run"]["experiment_id"]},
    ]
    with services.store.read() as conn:
        got = describe_many(conn, refs)
        project_id = describe(conn, "run", c["run"]["id"])["project_id"]
    by_type = {d["type"]: d for d in got}
    assert [d["type"] for d in got] == [
        "dataset",
        "run",
        "model_version",
        "model",
        "deployment",
        "monitor",
        "job",
        "experiment",
    ]
    assert by_type["run"]["title"] == "rf-baseline" and by_type["run"]["status"] == "running"
    assert by_type["model_version"]["title"] == "churn v1"
    assert by_type["model_version"]["url_hint"] == "models/churn/versions/1"
    assert by_type["deployment"]["title"] == "churn-api"
    assert by_type["monitor"]["status"] == c["monitor"]["health"]
    # the project is derived through the links for entities without a project column
    for t in ("run", "model_version", "model", "deployment", "monitor", "job", "experiment"):
        assert by_type[t]["project"] == "churn", t
        assert by_type[t]["project_id"] == project_id, t
    assert by_type["dataset"]["project"] is None
    assert by_type["run"]["url_hint"] == f"runs/{c['run']['id']}"


def test_describe_bad_and_missing_refs(services, chain):
    with services.store.read() as conn:
        with pytest.raises(NotFound) as err:
            describe_many(conn, [("run", chain["run"]["id"]), ("run", "nope"), ("dataset", "gone")])
        assert err.value.details["missing"] == ["run:nope", "dataset:gone"]
        assert [
            d["id"]
            for d in describe_many(
                conn, [("run", "nope"), ("run", chain["run"]["id"])], missing="skip"
            )
        ] == [chain["run"]["id"]]
        with pytest.raises(InvalidInput) as err:
            describe(conn, "runs", "x")
        assert err.value.details["field"] == "ref.type"
    for bad, field in [
        ({"type": "run"}, "entity.id"),
        ({"type": "run", "id": "x", "z": 1}, "entity"),
        (42, "entity"),
        (("run", "a\x00b"), "entity.id"),
        ("run:" + "x" * 65, "entity.id"),
        ({"type": None, "id": "x"}, "entity.type"),
    ]:
        with pytest.raises(InvalidInput) as err:
            validate_ref(bad, "entity")
        assert err.value.details["field"] == field
    assert validate_ref("model_version:abc") == ("model_version", "abc")


def test_lineage_from_each_end_of_the_chain(services, chain):
    c = chain
    d, r, v = (
        f"dataset:{c['data']['id']}",
        f"run:{c['run']['id']}",
        f"model_version:{c['version']['id']}",
    )
    dep, mon = f"deployment:{c['deployment']['id']}", f"monitor:{c['monitor']['id']}"
    nb = f"notebook:{c['run']['id']}/executed.ipynb"
    chain_edges = {
        (d, r, "input_of"),
        (r, v, "logged"),
        (v, dep, "served_by"),
        (dep, mon, "watched_by"),
        (d, mon, "reference_of"),
        (nb, r, "snapshot_of"),
    }

    # From the monitor, upstream, depth 4: the whole chain back to the dataset.
    up = services.lineage.graph("monitor", c["monitor"]["id"], direction="up", depth=4)
    assert up["root"] == mon and not up["truncated"]
    assert chain_edges <= _edges(up)
    nodes = {n["id"]: n for n in up["nodes"]}
    assert nodes[mon]["level"] == 0 and nodes[dep]["level"] == -1 and nodes[v]["level"] == -2
    assert nodes[r]["title"] == "rf-baseline" and nodes[r]["project"] == "churn"
    assert nodes[nb]["url_hint"] == f"runs/{c['run']['id']}/artifacts/executed.ipynb"
    assert f"notebook:{c['run']['id']}/notebook.ipynb" not in nodes  # executed wins, as reproduce
    assert f"job:{c['job']['id']}" in nodes  # the job that executed the run
    # upstream never goes down: the reproduction of the run is not shown
    assert f"run:{c['again']['id']}" not in nodes

    # From the dataset, downstream: run, model version, deployment, monitor.
    down = services.lineage.graph("dataset", c["data"]["id"], direction="down", depth=4)
    assert {
        (d, r, "input_of"),
        (r, v, "logged"),
        (v, dep, "served_by"),
        (dep, mon, "watched_by"),
        (d, mon, "reference_of"),
        (r, f"run:{c['again']['id']}", "reproduced_by"),
    } <= _edges(down)
    assert {e["context"] for e in down["edges"] if e["relation"] == "input_of"} == {"training"}
    assert nb not in {n["id"] for n in down["nodes"]}

    # From the model version, both ways, default depth 3.
    both = services.lineage.graph("model_version", c["version"]["id"])
    assert both["direction"] == "both" and both["depth"] == 3
    assert {
        (d, r, "input_of"),
        (r, v, "logged"),
        (v, dep, "served_by"),
        (dep, mon, "watched_by"),
    } <= _edges(both)
    assert (f"model:{c['version']['model_id']}", v, "has_version") in _edges(both)
    # every edge joins two nodes of the graph
    ids = {n["id"] for n in both["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in both["edges"])
    text = format_tree(both)
    assert "served_by: deployment churn-api" in text and "logged: run rf-baseline" in text

    # The run's context: experiment and project upstream.
    run_up = services.lineage.graph("run", c["run"]["id"], direction="up", depth=2)
    exp = f"experiment:{c['run']['experiment_id']}"
    assert (exp, r, "contains") in _edges(run_up)
    assert any(e["source"].startswith("project:") and e["target"] == exp for e in run_up["edges"])
    assert (r, f"run:{c['again']['id']}", "reproduced_by") in _edges(
        services.lineage.graph("run", c["again"]["id"], direction="up", depth=1)
    )


def test_deleted_run_falls_back_to_the_version_lineage(services, chain):
    c = chain
    # The run is deleted (its versions keep run_id = NULL and their lineage JSON).
    with services.store.write() as conn:
        conn.execute(update(ModelVersion.__table__).values(run_id=None))
    graph = services.lineage.graph("model_version", c["version"]["id"], direction="up", depth=2)
    nodes = {n["id"]: n for n in graph["nodes"]}
    r = f"run:{c['run']['id']}"
    assert nodes[r]["status"] == "running"  # the run row still exists: described normally
    services.tracking.delete_run(c["run"]["id"], actor=ACTOR)
    graph = services.lineage.graph("model_version", c["version"]["id"], direction="up", depth=2)
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert nodes[r]["missing"] is True and nodes[r]["status"] == "deleted"
    assert nodes[r]["title"] == "rf-baseline"
    assert (f"dataset:{c['data']['id']}", r, "input_of") in _edges(graph)


def test_depth_and_node_cap(services, chain):
    c = chain
    one = services.lineage.graph("dataset", c["data"]["id"], direction="down", depth=1)
    assert {n["type"] for n in one["nodes"]} == {"dataset", "run", "monitor"}
    # a project with many runs: capped, flagged truncated, edges only between kept nodes
    for i in range(30):
        services.tracking.create_run(
            actor=ACTOR, experiment="training", project="churn", name=f"r{i}"
        )
    project_id = describe_many_one(services, "run", c["run"]["id"])["project_id"]
    capped = services.lineage.graph("project", project_id, direction="down", depth=2, max_nodes=10)
    assert capped["truncated"] is True and len(capped["nodes"]) == 10
    ids = {n["id"] for n in capped["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in capped["edges"])
    full = services.lineage.graph("project", project_id, direction="down", depth=2)
    assert not full["truncated"] and sum(n["type"] == "run" for n in full["nodes"]) == 32


def describe_many_one(services, entity_type, entity_id):
    return services.entities.describe(entity_type, entity_id)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"direction": "sideways"}, "direction"),
        ({"depth": 0}, "depth"),
        ({"depth": 11}, "depth"),
        ({"depth": "3; drop table runs"}, "depth"),
        ({"depth": True}, "depth"),
        ({"max_nodes": 0}, "max_nodes"),
        ({"max_nodes": 10**9}, "max_nodes"),
    ],
)
def test_lineage_bad_input(services, kwargs, field):
    run = services.tracking.create_run(actor=ACTOR, experiment="e")
    with pytest.raises(InvalidInput) as err:
        services.lineage.graph("run", run["id"], **kwargs)
    assert err.value.details["field"] == field


def test_dangling_and_hostile_links_are_dropped(services):
    run = services.tracking.create_run(actor=ACTOR, experiment="e")
    other = services.tracking.create_run(actor=ACTOR, experiment="e")
    services.tracking.set_tags(
        run["id"], {"labcycle.reproduces_run_id": "../" * 40 + "\x01"}, actor=ACTOR
    )
    services.tracking.set_tags(other["id"], {"labcycle.reproduces_run_id": "0" * 32}, actor=ACTOR)
    for r in (run, other):
        graph = services.lineage.graph("run", r["id"], direction="up")
        assert {n["type"] for n in graph["nodes"]} == {"run", "experiment", "project"}
        assert all(e["relation"] != "reproduced_by" for e in graph["edges"])


def test_lineage_unknown_entity(services):
    with pytest.raises(NotFound):
        services.lineage.graph("run", "0" * 32)
    with pytest.raises(InvalidInput) as err:
        services.lineage.graph("table", "x")
    assert err.value.details["field"] == "type"
    with pytest.raises(InvalidInput):
        services.lineage.graph("run", "'; drop table runs; --" + "x" * 70)
    json.dumps(
        services.lineage.graph(
            "run", services.tracking.create_run(actor=ACTOR, experiment="e")["id"]
        )
    )  # a lone run: a graph of one node, JSON-able


def test_cli_and_python_api_faces(services, monkeypatch, capsys):
    """``labcycle lineage/compare/nbdiff`` and ``lc.lineage/compare_runs/notebook_diff`` on
    the same store as the services (local transport)."""
    from click.testing import CliRunner

    import labcycle as lc
    from labcycle.api.fluent import _state
    from labcycle.cli.base import main

    svc = services
    runs = []
    for lr in (0.1, 0.01):
        run = svc.tracking.create_run(
            actor=ACTOR, experiment="faces", project="churn", name=f"lr-{lr}"
        )
        svc.tracking.log_params(run["id"], {"lr": lr, "model": "rf"}, actor=ACTOR)
        svc.tracking.log_metrics(run["id"], [("acc", 0.9 - lr, 0, 0)], actor=ACTOR)
        svc.artifacts.log_bytes(run["id"], "executed.ipynb", _notebook(f"lr = {lr}"), actor=ACTOR)
        runs.append(run)
    a, b = runs[0]["id"], runs[1]["id"]
    url = svc.store.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("LABCYCLE_DB_URL", url)
    monkeypatch.setenv("LABCYCLE_ARTIFACT_URL", str(svc.blobs.root))
    cli = CliRunner()
    tree = cli.invoke(main, ["lineage", "run", a, "--direction", "up"], catch_exceptions=False)
    assert tree.exit_code == 0, tree.output
    assert "upstream" in tree.output and "snapshot_of notebook executed.ipynb" in tree.output
    assert "contains experiment faces" in tree.output
    graph = json.loads(cli.invoke(main, ["lineage", "run", a, "--json"]).output)
    assert graph["root"] == f"run:{a}"
    compared = cli.invoke(main, ["compare", a, b[:8]], catch_exceptions=False)
    assert compared.exit_code == 0, compared.output
    assert "lr" in compared.output and "0.01" in compared.output and "model" in compared.output
    diffed = cli.invoke(main, ["nbdiff", a, b], catch_exceptions=False)
    assert "-lr = 0.1" in diffed.output and "+lr = 0.01" in diffed.output
    for args, needle in (
        (["lineage", "run", "nope"], "No run"),
        (["compare", a], "run_ids"),
        (["lineage", "table", "x"], "Invalid value"),
    ):
        bad = cli.invoke(main, args)
        assert bad.exit_code != 0 and needle in bad.output and "Traceback" not in bad.output

    lc.configure(db_url=url, artifact_url=str(svc.blobs.root))
    try:
        g = lc.lineage("run", a, direction="up", depth=2)
        assert {e["relation"] for e in g["edges"]} >= {"contains", "snapshot_of"}
        lc.print_lineage(g)
        assert "◀ root" in capsys.readouterr().out
        cmp = lc.compare_runs([a, b], metric="acc")
        assert cmp["params"]["differing"] == ["lr"] and cmp["parallel"]["metric"] == "acc"
        diff = lc.notebook_diff(a, b)
        assert diff["summary"]["modified"] == 1 and diff["alignment"] == "source"
    finally:
        _state.reset(None)
