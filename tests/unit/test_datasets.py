"""Datasets: registered once per (name, fingerprint), linked to runs as inputs."""

from __future__ import annotations

import threading

import pytest

from labcycle.errors import InvalidInput, NotFound
from labcycle.services import Services

SCHEMA = {"sepal_length": "float64", "species": "category"}


def _parallel(n: int, target) -> tuple[list, list[BaseException]]:
    barrier = threading.Barrier(n)
    results: list = []
    errors: list[BaseException] = []

    def body(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results.append(target(i))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, errors


def test_register_is_idempotent_by_name_and_digest(services: Services) -> None:
    first = services.datasets.register(
        actor="alice",
        name="iris",
        digest="sha256:aa",
        schema=SCHEMA,
        row_count=150,
        source="data/iris.csv",
    )
    again = services.datasets.register(actor="bob", name="iris", digest="sha256:aa")
    assert again == first
    assert first["schema"] == SCHEMA and first["row_count"] == 150
    assert first["created_by"] == "alice" and first["source"] == "data/iris.csv"
    changed = services.datasets.register(actor="bob", name="iris", digest="sha256:bb")
    other_name = services.datasets.register(actor="bob", name="iris-v2", digest="sha256:aa")
    assert len({first["id"], changed["id"], other_name["id"]}) == 3
    assert len(services.datasets.list()["items"]) == 3
    assert len(services.audit.list(action="dataset.create")["items"]) == 3
    assert services.datasets.get(first["id"]) == first


def test_concurrent_registration_yields_one_dataset(services: Services) -> None:
    results, errors = _parallel(
        8,
        lambda i: services.datasets.register(actor=f"user-{i}", name="shared", digest="sha256:cc"),
    )
    assert errors == []
    assert len({d["id"] for d in results}) == 1
    assert len(services.datasets.list()["items"]) == 1
    assert len(services.audit.list(action="dataset.create")["items"]) == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "", "digest": "d"}, "name"),
        ({"name": "iris", "digest": ""}, "digest"),
        ({"name": "iris", "digest": "d" * 81}, "digest"),
        ({"name": "iris", "digest": 42}, "digest"),
        ({"name": "iris", "digest": "d", "schema": ["a"]}, "schema"),
        ({"name": "iris", "digest": "d", "row_count": "many"}, "row_count"),
        ({"name": "iris", "digest": "d", "row_count": True}, "row_count"),
    ],
)
def test_register_rejects_bad_input(services: Services, kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        services.datasets.register(actor="alice", **kwargs)
    assert info.value.details["field"] == field
    assert services.datasets.list()["items"] == []


def test_linked_datasets_appear_in_the_run(services: Services, run: dict) -> None:
    train = services.datasets.register(actor="alice", name="train", digest="d1", schema=SCHEMA)
    test = services.datasets.register(actor="alice", name="test", digest="d2")
    assert services.datasets.link_input(
        run["id"], train["id"], actor="alice", context="training"
    ) == {"run_id": run["id"], "dataset_id": train["id"], "context": "training"}
    services.datasets.link_input(run["id"], test["id"], actor="alice", context="evaluation")
    services.datasets.link_input(run["id"], train["id"], actor="alice", context="training")
    linked = services.tracking.get_run(run["id"])["datasets"]
    assert sorted((d["dataset"]["name"], d["context"]) for d in linked) == [
        ("test", "evaluation"),
        ("train", "training"),
    ]
    assert {d["dataset"]["id"]: d["dataset"] for d in linked}[train["id"]] == train
    # Linking again is a no-op, audited once.
    assert len(services.audit.list(action="run.input")["items"]) == 2


def test_concurrent_links_of_the_same_dataset(services: Services, run: dict) -> None:
    dataset = services.datasets.register(actor="alice", name="d", digest="d")
    _, errors = _parallel(
        8, lambda i: services.datasets.link_input(run["id"], dataset["id"], actor="alice")
    )
    assert errors == []
    assert len(services.tracking.get_run(run["id"])["datasets"]) == 1


def test_link_input_not_found(services: Services, run: dict) -> None:
    dataset = services.datasets.register(actor="alice", name="d", digest="d")
    with pytest.raises(NotFound) as info:
        services.datasets.link_input("0" * 32, dataset["id"], actor="alice")
    assert info.value.details["field"] == "run_id"
    with pytest.raises(NotFound) as info:
        services.datasets.link_input(run["id"], "0" * 32, actor="alice")
    assert info.value.details["field"] == "dataset_id"
    with pytest.raises(NotFound):
        services.datasets.get("0" * 32)
    assert services.tracking.get_run(run["id"])["datasets"] == []


def test_dataset_pagination(services: Services) -> None:
    ids = {
        services.datasets.register(actor="alice", name=f"d{i}", digest="x")["id"] for i in range(5)
    }
    seen, token = [], None
    while True:
        page = services.datasets.list(max_results=2, page_token=token)
        seen += [d["id"] for d in page["items"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert len(seen) == 5 and set(seen) == ids
