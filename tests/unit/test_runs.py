"""Runs, params and tags."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from labcycle.errors import Conflict, InvalidInput, NotFound
from labcycle.services import Services

from ._support import rows_for_run

GIT = {
    "remote": "https://example.org/repo.git",
    "commit": "a" * 40,
    "branch": "main",
    "dirty": True,
    "diff": "--- a\n+++ b\n",
}


def _parallel(n: int, target) -> list[BaseException]:
    """Run ``target(i)`` in ``n`` threads started together; return what they raised."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            target(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_create_run_records_everything(services: Services) -> None:
    run = services.tracking.create_run(
        actor="alice",
        experiment="exp",
        project="proj",
        name="first",
        source="notebook",
        notebook_path="work/train.ipynb",
        kernel="python3",
        start_time=1_767_225_600_000,
        git=GIT,
        python_version="3.11.7",
        packages={"numpy": "2.0.0", "pandas": "2.2.0"},
        tags={"team": "fraud", "priority": 1},
    )
    assert run["name"] == "first"
    assert run["status"] == "running" and run["end_time"] is None
    assert run["user"] == "alice"
    assert run["source"] == "notebook" and run["notebook_path"] == "work/train.ipynb"
    assert run["kernel"] == "python3"
    assert run["start_time"].startswith("2026-01-01T00:00:00")
    assert run["git"] == GIT
    assert run["python_version"] == "3.11.7"
    assert run["packages"] == {"numpy": "2.0.0", "pandas": "2.2.0"}
    assert run["tags"] == {"team": "fraud", "priority": "1"}
    assert (run["project_name"], run["experiment_name"]) == ("proj", "exp")
    assert run["params"] == {} and run["metrics"] == {} and run["datasets"] == []
    fetched = services.tracking.get_run(run["id"])
    assert {k: v for k, v in fetched.items() if k != "duration_s"} == {
        k: v for k, v in run.items() if k != "duration_s"
    }


def test_run_names_default_and_are_validated(services: Services) -> None:
    run = services.tracking.create_run(actor="alice")
    assert run["name"] == f"run-{run['id'][:8]}"
    with pytest.raises(InvalidInput) as info:
        services.tracking.create_run(actor="alice", name="x" * 251)
    assert info.value.details["field"] == "name"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"source": "cron"}, "source"),
        ({"git": "main"}, "git"),
        ({"packages": ["numpy"]}, "packages"),
        ({"start_time": "yesterday"}, "start_time"),
        ({"tags": {"a/b": "x"}}, "tags.a/b"),
        ({"experiment_id": "0" * 32}, "experiment_id"),
        ({"parent_run_id": "0" * 32}, "run_id"),
    ],
)
def test_create_run_rejects_bad_input(services: Services, kwargs: dict, field: str) -> None:
    with pytest.raises((InvalidInput, NotFound)) as info:
        services.tracking.create_run(actor="alice", **kwargs)
    assert info.value.details["field"] == field
    assert services.tracking.search_runs()["items"] == []  # nothing half-created


def test_nested_runs(services: Services, run: dict) -> None:
    child = services.tracking.create_run(actor="alice", parent_run_id=run["id"], name="child")
    assert child["parent_run_id"] == run["id"]
    found = services.tracking.search_runs(filter=f"parent_run_id = '{run['id']}'")["items"]
    assert [r["id"] for r in found] == [child["id"]]
    top = services.tracking.search_runs(filter="parent_run_id is null")["items"]
    assert [r["id"] for r in top] == [run["id"]]


def test_finishing_a_run_sets_its_end_time(services: Services, run: dict) -> None:
    done = services.tracking.update_run(run["id"], actor="bob", status="finished")
    assert done["status"] == "finished"
    assert done["end_time"] is not None and done["end_time"] >= done["start_time"]
    assert done["duration_s"] >= 0
    other = services.tracking.create_run(actor="alice", start_time=1_000)
    failed = services.tracking.update_run(
        other["id"], actor="bob", status="failed", end_time=61_000
    )
    assert failed["end_time"].startswith("1970-01-01T00:01:01")
    assert failed["duration_s"] == 60
    renamed = services.tracking.update_run(other["id"], actor="bob", name="renamed")
    assert renamed["name"] == "renamed" and renamed["status"] == "failed"


def test_update_run_rejects_bad_input(services: Services, run: dict) -> None:
    with pytest.raises(InvalidInput) as info:
        services.tracking.update_run(run["id"], actor="bob", status="done")
    assert info.value.details["field"] == "status"
    with pytest.raises(NotFound):
        services.tracking.update_run("0" * 32, actor="bob", status="finished")
    assert services.tracking.get_run(run["id"])["status"] == "running"


def test_delete_run_removes_everything_it_owns(services: Services, run: dict) -> None:
    run_id = run["id"]
    child = services.tracking.create_run(actor="alice", parent_run_id=run_id)
    keep = services.tracking.create_run(actor="alice")
    for target in (run_id, keep["id"]):
        services.tracking.log_batch(
            target,
            actor="alice",
            params={"lr": 0.1},
            tags={"t": "x"},
            metrics=[{"key": "loss", "value": 1.0, "step": s} for s in range(3)],
        )
        services.artifacts.log_bytes(target, "model.bin", b"weights", actor="alice")
        services.artifacts.log_cells(target, [{"cell_id": "c1", "source": "1+1"}], actor="alice")
        dataset = services.datasets.register(actor="alice", name="iris", digest="d1")
        services.datasets.link_input(target, dataset["id"], actor="alice")
    before = rows_for_run(services, run_id)
    assert all(count > 0 for count in before.values()), before

    services.tracking.delete_run(run_id, actor="bob")

    assert set(rows_for_run(services, run_id).values()) == {0}
    with pytest.raises(NotFound):
        services.tracking.get_run(run_id)
    with pytest.raises(NotFound):
        services.tracking.delete_run(run_id, actor="bob")
    assert services.tracking.get_run(child["id"])["parent_run_id"] is None
    # Another run's rows, and the shared blob and dataset, are untouched.
    assert rows_for_run(services, keep["id"]) == before
    assert services.artifacts.read_artifact(keep["id"], "model.bin") == b"weights"
    assert services.datasets.get(dataset["id"])["name"] == "iris"


SQL_LOOKING_IDS = [
    "' OR '1'='1",
    "1; DROP TABLE runs; --",
    "runs",
    "%",
    "_",
    '" OR ""="',
    "x' UNION SELECT id FROM runs --",
]


@pytest.mark.parametrize("bad_id", SQL_LOOKING_IDS)
def test_ids_that_look_like_sql_are_just_unknown(
    services: Services, run: dict, bad_id: str
) -> None:
    calls = [
        lambda: services.tracking.get_run(bad_id),
        lambda: services.tracking.update_run(bad_id, actor="eve", status="killed"),
        lambda: services.tracking.delete_run(bad_id, actor="eve"),
        lambda: services.tracking.log_params(bad_id, {"a": 1}, actor="eve"),
        lambda: services.tracking.metric_history(bad_id, "loss"),
        lambda: services.artifacts.list_artifacts(bad_id),
        lambda: services.projects.get_experiment(bad_id),
        lambda: services.projects.get_project(bad_id),
        lambda: services.datasets.get(bad_id),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    assert services.tracking.get_run(run["id"])["status"] == "running"
    assert len(services.tracking.search_runs()["items"]) == 1


def test_params_are_immutable(services: Services, run: dict) -> None:
    assert services.tracking.log_params(run["id"], {"lr": 0.1, "model": "rf"}, actor="alice") == 2
    services.tracking.log_params(run["id"], {"lr": 0.1}, actor="alice")  # same value: fine
    with pytest.raises(Conflict) as info:
        services.tracking.log_params(run["id"], {"lr": 0.2}, actor="alice")
    assert "'lr'" in info.value.message
    assert info.value.details["field"] == "params.lr"
    # The batch is atomic: the new key of a conflicting batch is not stored either.
    with pytest.raises(Conflict):
        services.tracking.log_params(run["id"], {"depth": 3, "model": "svm"}, actor="alice")
    assert services.tracking.get_run(run["id"])["params"] == {"lr": "0.1", "model": "rf"}


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (True, "True"),
        (3, "3"),
        (0.1, "0.1"),
        ("rf", "rf"),
        (None, "None"),
        (np.float64(0.25), "0.25"),
        (np.int64(7), "7"),
        (np.float32(0.5), "0.5"),
    ],
)
def test_param_values_are_stored_as_text(services: Services, run: dict, value, stored: str) -> None:
    services.tracking.log_params(run["id"], {"p": value}, actor="alice")
    assert services.tracking.get_run(run["id"])["params"] == {"p": stored}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"a": [1, 2]}, "params.a"),
        ({"a": {"b": 1}}, "params.a"),
        ({"a": b"bytes"}, "params.a"),
        ({"a": object()}, "params.a"),
        ({"a": "x" * 65_536}, "params.a"),
        ({1: "x"}, "params"),
        ("lr=0.1", "params"),
        ([("lr", 0.1)], "params"),
        ({"a/b": 1}, "params.a/b"),
        ({"": 1}, "params."),
    ],
)
def test_bad_params_name_the_field(services: Services, run: dict, params, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        services.tracking.log_params(run["id"], params, actor="alice")
    assert info.value.details["field"] == field
    assert services.tracking.get_run(run["id"])["params"] == {}


def test_tags_can_change(services: Services, run: dict) -> None:
    services.tracking.set_tags(run["id"], {"stage": "dev", "owner": "alice"}, actor="alice")
    services.tracking.set_tags(run["id"], {"stage": "prod"}, actor="bob")
    assert services.tracking.get_run(run["id"])["tags"] == {"stage": "prod", "owner": "alice"}
    with pytest.raises(InvalidInput) as info:
        services.tracking.set_tags(run["id"], "stage=prod", actor="bob")
    assert info.value.details["field"] == "tags"


def test_concurrent_writers_of_the_same_param_and_tag(services: Services, run: dict) -> None:
    """Kernels of one run logging the same param and tag at once: no error, one value each."""
    errors = _parallel(
        8,
        lambda i: services.tracking.log_batch(
            run["id"], actor="alice", params={"seed": 42}, tags={"host": "a"}
        ),
    )
    assert errors == []
    got = services.tracking.get_run(run["id"])
    assert got["params"] == {"seed": "42"} and got["tags"] == {"host": "a"}


def test_concurrent_different_values_of_a_param_one_wins(services: Services, run: dict) -> None:
    errors = _parallel(
        8, lambda i: services.tracking.log_params(run["id"], {"seed": i}, actor="alice")
    )
    assert len(errors) == 7
    assert all(isinstance(e, Conflict) for e in errors), errors
    assert services.tracking.get_run(run["id"])["params"]["seed"] in {str(i) for i in range(8)}


def test_numeric_param_filters_ignore_values_that_are_not_numbers(services: Services) -> None:
    """Comparing a param with a number skips values that do not spell one, on both backends
    (a bare CAST made 'auto' equal 0 on SQLite and failed the whole query on PostgreSQL)."""
    values = {
        "auto": "auto",
        "huge": "1e400",
        "tenth": "0.10",
        "five": 5,
        "seven": " 7 ",
        "octal": "007",
        "flag": True,
        "minus-zero": "-0",
        "inf": float("inf"),
    }
    for name, value in values.items():
        run = services.tracking.create_run(actor="alice", name=name)
        services.tracking.log_params(run["id"], {"x": value}, actor="alice")

    def names(text: str) -> set[str]:
        return {r["name"] for r in services.tracking.search_runs(filter=text)["items"]}

    assert names("params.x > 1") == {"huge", "five", "seven"}
    assert names("params.x = 0.1") == {"tenth"}
    assert names("params.x = 0") == {"minus-zero"}
    assert names("params.x < 0") == set()
    assert names("params.x in (5, 7)") == {"five", "seven"}
    assert names("params.x != 5") == set(values) - {"five"}
    assert names("params.x = 'auto' or params.x = 'inf'") == {"auto", "inf"}
    assert names("params.x = true") == {"flag"}
    assert names("params.x = false") == set()
    assert names("params.x like '00%'") == {"octal"}
