"""The registry service on SQLite and PostgreSQL: versions, aliases, names, trust, audit."""

from __future__ import annotations

import pickle
import threading
import unicodedata

import numpy as np
import pytest
from processes import race_processes

from labcycle.errors import Conflict, Forbidden, InvalidInput, NotFound
from labcycle.models import load_model

from .conftest import ACTOR, register, upload_model
from .test_flavors import Evil


def _events(services, action):
    return [e for e in services.audit.list(action=action)["items"]]


def test_versions_number_up_with_lineage_metrics_and_moved_files(services, sk_model, churn_data):
    X, _ = churn_data
    run = services.tracking.create_run(
        actor=ACTOR, experiment="churn", notebook_path="nb/train.ipynb", source="notebook"
    )
    services.tracking.log_metrics(run["id"], [{"key": "auc", "value": 0.91}], actor=ACTOR)
    ds = services.datasets.register(actor=ACTOR, name="customers", digest="sha256:" + "a" * 64)
    services.datasets.link_input(run["id"], ds["id"], actor=ACTOR, context="training")
    upload_model(services, sk_model, run_id=run["id"], input_example=X.head(), training_data=X)
    v1 = services.registry.create_version(
        "churn",
        run_id=run["id"],
        source_path="staged",
        actor=ACTOR,
        description="first",
        tags={"team": "risk"},
    )
    assert (v1["model_name"], v1["version"], v1["flavor"], v1["trusted"]) == (
        "churn",
        1,
        "sklearn",
        False,
    )
    assert v1["metrics"] == {"auc": 0.91} and v1["tags"] == {"team": "risk"}
    assert v1["lineage"]["notebook_path"] == "nb/train.ipynb"
    assert v1["lineage"]["experiment_name"] == "churn"
    assert v1["lineage"]["datasets"] == [
        {"id": ds["id"], "name": "customers", "digest": ds["digest"], "context": "training"}
    ]
    assert v1["signature"]["inputs"][2]["categories"] == ["basic", "plus", "pro"]
    assert v1["environment"]["packages"]["skops"]
    paths = [a["path"] for a in services.artifacts.list_artifacts(run["id"])]
    assert paths == ["models/churn/v1/labcycle-model.json", "models/churn/v1/model.skops"]
    assert v1["artifact_prefix"] == "models/churn/v1"
    assert {f["path"] for f in v1["files"]} == {"labcycle-model.json", "model.skops"}

    v2 = register(services, "churn", sk_model)
    assert v2["version"] == 2 and v2["model_id"] == v1["model_id"]
    model = services.registry.get_model("churn")
    assert (model["latest_version"], model["version_count"]) == (2, 2)
    assert [v["version"] for v in services.registry.list_versions("churn")["items"]] == [2, 1]
    assert services.registry.resolve("churn")["version"] == 2
    assert services.registry.resolve("churn/1")["id"] == v1["id"]
    assert services.registry.resolve("churn@latest")["version"] == 2
    assert [e["entity_id"] for e in _events(services, "model.version.create")] == [
        v2["id"],
        v1["id"],
    ]
    assert len(_events(services, "model.create")) == 1


def test_concurrent_registrations_get_distinct_versions(services, sk_model):
    runs = [upload_model(services, sk_model) for _ in range(6)]
    results, errors = [], []
    barrier = threading.Barrier(len(runs))

    def work(run_id):
        barrier.wait()
        try:
            results.append(
                services.registry.create_version(
                    "race", run_id=run_id, source_path="staged", actor=ACTOR
                )["version"]
            )
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == list(range(1, 7))
    assert services.registry.get_model("race")["version_count"] == 6


def _register_in_child(url, artifact_url, run_id, barrier, results):  # runs in a child process
    from labcycle.services import Services

    svc = Services.open(url, artifact_url, migrate=False)
    try:
        barrier.wait(timeout=60)
        results.put(
            svc.registry.create_version("proc", run_id=run_id, source_path="staged", actor=ACTOR)[
                "version"
            ]
        )
    except Exception as exc:  # reported to the parent
        results.put(repr(exc))
    finally:
        svc.close()


def test_concurrent_registrations_from_processes(services, sk_model):
    """Separate processes (own engines, own locks): the database alone must serialise them."""
    runs = [upload_model(services, sk_model) for _ in range(4)]
    url = services.store.engine.url.render_as_string(hide_password=False)
    got = race_processes(_register_in_child, [(url, services.blobs.url, r) for r in runs])
    assert sorted(got) == [1, 2, 3, 4], got


def test_aliases_move_and_are_audited(services, sk_model):
    register(services, "churn", sk_model)
    register(services, "churn", sk_model)
    v = services.registry.set_alias("churn", "Champion", 1, actor="bob")
    assert v["version"] == 1 and v["aliases"] == ["champion"]
    assert services.registry.resolve("churn@champion")["version"] == 1
    services.registry.set_alias("churn", "champion", 2, actor="carol")
    services.registry.set_alias("churn", "challenger", 1, actor="carol")
    assert services.registry.resolve("CHURN@CHAMPION")["version"] == 2
    assert services.registry.get_model("churn")["aliases"] == {"challenger": 1, "champion": 2}
    moves = _events(services, "model.alias.set")
    assert [
        (e["user"], e["details"]["alias"], e["details"]["before"], e["details"]["after"])
        for e in reversed(moves)
    ] == [
        ("bob", "champion", None, 1),
        ("carol", "champion", 1, 2),
        ("carol", "challenger", None, 1),
    ]
    services.registry.delete_alias("churn", "champion", actor="dave")
    assert _events(services, "model.alias.delete")[0]["details"] == {
        "model": "churn",
        "alias": "champion",
        "before": 2,
        "after": None,
    }
    with pytest.raises(NotFound, match="alias 'champion'"):
        services.registry.resolve("churn@champion")
    with pytest.raises(NotFound):
        services.registry.set_alias("churn", "x", 9, actor=ACTOR)
    for bad in ("latest", "1st", "a b", "", "x" * 101):
        with pytest.raises(InvalidInput):
            services.registry.set_alias("churn", bad, 1, actor=ACTOR)


def test_versions_are_immutable_but_description_and_tags_change(services, sk_model):
    v = register(services, "churn", sk_model)
    out = services.registry.update_version(
        "churn", 1, actor="bob", description="better", tags={"stage": "prod", "x": "1"}
    )
    assert out["description"] == "better" and out["tags"] == {"stage": "prod", "x": "1"}
    out = services.registry.update_version("churn", 1, actor="bob", tags={"x": None})
    assert out["tags"] == {"stage": "prod"} and out["files"] == v["files"]
    event = _events(services, "model.version.update")[-1]
    assert event["details"]["before"] == {"description": ""}
    assert event["details"]["after"] == {"description": "better"}
    with pytest.raises(InvalidInput):
        services.registry.update_version("churn", 1, actor="bob")


DECOMPOSED = unicodedata.normalize("NFD", "café")


@pytest.mark.parametrize(
    "first, second",
    [
        ("churn model", "churn%20model"),
        ("churn%20model", "churn model"),
        ("churn model", "churn%2520model"),
        ("Churn", "churn"),
        ("STRASSE", "straße"),
        ("ﬁsh", "fish"),
        ("café", DECOMPOSED),
    ],
)
def test_names_that_normalise_alike_cannot_coexist(services, sk_model, first, second):
    existing = register(services, first, sk_model)["model_name"]
    assert existing == first
    with pytest.raises(Conflict, match="already exists") as info:
        register(services, second, sk_model)
    assert info.value.details["existing"] == existing
    assert register(services, first, sk_model)["version"] == 2  # the same spelling adds a version
    # every spelling finds the one model
    assert services.registry.get_model(second)["name"] == existing
    assert len(services.registry.list_models()["items"]) == 1


@pytest.mark.parametrize("name", ["a/b", "a%2Fb", "a@b", "..", " ", "a\x00b", "x" * 201])
def test_bad_names_are_refused(services, sk_model, name):
    run_id = upload_model(services, sk_model)
    with pytest.raises(InvalidInput):
        services.registry.create_version(name, run_id=run_id, source_path="staged", actor=ACTOR)


def test_bad_sources_are_refused(services, sk_model):
    run_id = upload_model(services, sk_model)
    with pytest.raises(NotFound):
        services.registry.create_version("m", run_id="nope", source_path="staged", actor=ACTOR)
    with pytest.raises(InvalidInput, match="labcycle-model.json"):
        services.registry.create_version("m", run_id=run_id, source_path="elsewhere", actor=ACTOR)
    with pytest.raises(InvalidInput):
        services.registry.create_version("m", run_id=run_id, source_path="../x", actor=ACTOR)
    with pytest.raises(NotFound):
        services.registry.resolve("nobody")
    with pytest.raises(InvalidInput):
        services.registry.resolve("m/abc")


def test_load_model_from_the_registry(services, sk_model, churn_data, model_cache):
    X, _ = churn_data
    register(services, "churn", sk_model, input_example=X.head())
    services.registry.set_alias("churn", "champion", 1, actor=ACTOR)
    loaded = load_model("churn@champion", services=services)
    np.testing.assert_array_equal(loaded.predict(X), sk_model.predict(X))
    assert loaded.version["aliases"] == ["champion"] and loaded.flavor == "sklearn"
    assert loaded.signature["inputs"][0]["name"] == "tenure"
    assert _events(services, "model.load.trusted") == []


def test_malicious_pickle_in_the_registry(services, sk_model, tmp_path, model_cache):
    marker = tmp_path / "marker"
    run_id = upload_model(services, sk_model, flavor="pickle", trusted=True)
    services.artifacts.log_bytes(
        run_id, "staged/model.pkl", pickle.dumps(Evil(str(marker))), actor=ACTOR
    )
    with pytest.raises(Forbidden, match="trusted=True"):
        services.registry.create_version("evil", run_id=run_id, source_path="staged", actor=ACTOR)
    v = services.registry.create_version(
        "evil", run_id=run_id, source_path="staged", actor=ACTOR, trusted=True
    )
    assert v["trusted"] is True
    assert _events(services, "model.log.trusted")[0]["user"] == ACTOR
    with pytest.raises(Forbidden):
        load_model("evil/1", services=services)
    with pytest.raises(Forbidden):
        load_model("evil/1", services=services, actor="mallory")
    assert not marker.exists()
    assert _events(services, "model.load.trusted") == []
    load_model("evil/1", services=services, trusted=True, actor="trudy")
    assert marker.exists()
    (event,) = _events(services, "model.load.trusted")
    assert event["user"] == "trudy" and event["details"]["model"] == "evil"


def test_a_model_can_be_created_before_its_first_version(services, sk_model):
    model = services.registry.create_model(
        "Fraud", actor=ACTOR, description="d", tags={"team": "risk"}
    )
    assert (model["name"], model["latest_version"], model["version_count"]) == ("Fraud", None, 0)
    assert model["tags"] == {"team": "risk"}
    with pytest.raises(Conflict, match="'Fraud' already exists"):
        services.registry.create_model("fraud", actor=ACTOR)  # the same name, normalised
    with pytest.raises(InvalidInput):
        services.registry.create_model("a/b", actor=ACTOR)
    assert register(services, "Fraud", sk_model)["version"] == 1
    assert [e["entity_id"] for e in _events(services, "model.create")] == [model["id"]]
