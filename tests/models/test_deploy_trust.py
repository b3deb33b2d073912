"""Trust is the deployer's decision: a version its author logged with ``trusted=True`` is
served only when the deployer trusts it too (audited), and the serving loader unpickles
nothing on the author's word alone."""

from __future__ import annotations

import pickle

import pytest

from labcycle.errors import Forbidden
from labcycle.serving.loader import load

from .conftest import upload_model
from .test_flavors import Evil

AUTHOR, DEPLOYER = "alice", "bob"


def _evil_version(services, name, marker):
    """A pickle version whose unpickling touches ``marker`` (its author trusted it)."""
    run_id = upload_model(services, _placeholder(), flavor="pickle", trusted=True)
    services.artifacts.log_bytes(
        run_id, "staged/model.pkl", pickle.dumps(Evil(str(marker))), actor=AUTHOR
    )
    return services.registry.create_version(
        name, run_id=run_id, source_path="staged", actor=AUTHOR, trusted=True
    )


def _placeholder():
    from sklearn.dummy import DummyClassifier

    return DummyClassifier().fit([[0.0], [1.0]], [0, 1])


def _trust_events(services, actor):
    events = services.audit.list(action="model.load.trusted")["items"]
    return [e for e in events if e["user"] == actor]


def test_deploying_a_pickle_needs_the_deployers_own_trust(services, tmp_path, model_cache):
    marker = tmp_path / "marker"
    version = _evil_version(services, "evil", marker)
    assert version["trusted"] is True  # the author's decision

    with pytest.raises(Forbidden) as refused:
        services.deployments.create("evil/1", actor=DEPLOYER, port=1)
    assert refused.value.details["field"] == "trusted"
    assert "trusted=true" in refused.value.message
    assert services.deployments.list()["items"] == []
    assert _trust_events(services, DEPLOYER) == []

    # the serving loader does not take the author's flag as the deployer's trust
    with pytest.raises(Forbidden):
        load(services.registry.resolve("evil/1"), services)
    assert not marker.exists()

    d = services.deployments.create("evil/1", actor=DEPLOYER, port=1, trusted=True)
    assert d["trusted_versions"] == [version["id"]]
    (event,) = _trust_events(services, DEPLOYER)
    assert event["entity_id"] == version["id"]
    assert event["details"]["purpose"] == "deploy"
    assert event["details"]["deployment"] == d["name"]
    ((served, pct),) = services.deployments.target(d["id"])["versions"]
    assert served["deployer_trusted"] is True and pct == 100


def test_a_new_version_behind_an_alias_or_a_split_needs_trust_again(
    services, sk_model, churn_data, model_cache
):
    safe = services.registry.create_version(
        "churn", run_id=upload_model(services, sk_model), source_path="staged", actor=AUTHOR
    )
    services.registry.set_alias("churn", "champion", safe["version"], actor=AUTHOR)
    d = services.deployments.create("churn@champion", actor=DEPLOYER, port=1)
    assert d["trusted_versions"] == []
    ((served, _),) = services.deployments.target(d["id"])["versions"]
    assert served["deployer_trusted"] is False

    pickled = services.registry.create_version(
        "churn",
        run_id=upload_model(services, sk_model, flavor="pickle", trusted=True),
        source_path="staged",
        actor=AUTHOR,
        trusted=True,
    )
    # the author moves the alias to a pickle: the deployment holds it back and says why
    services.registry.set_alias("churn", "champion", pickled["version"], actor=AUTHOR)
    target = services.deployments.target(d["id"])
    assert target["versions"] == []
    assert "trusted=true" in target["error"] and "pickle" in target["error"]

    # a split onto it is refused without trust, then the deployer trusts what it serves
    with pytest.raises(Forbidden):
        services.deployments.update(
            d["id"], actor=DEPLOYER, traffic={str(safe["version"]): 50, str(pickled["version"]): 50}
        )
    updated = services.deployments.update(d["id"], actor=DEPLOYER, trusted=True)
    assert updated["trusted_versions"] == [pickled["id"]]
    ((served, _),) = services.deployments.target(d["id"])["versions"]
    assert served["id"] == pickled["id"] and served["deployer_trusted"] is True
    labels, _ = load(served, services).predict(churn_data[0].head(3))
    assert len(labels) == 3
    assert [e["entity_id"] for e in _trust_events(services, DEPLOYER)] == [pickled["id"]]
