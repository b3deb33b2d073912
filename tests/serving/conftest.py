"""Fixtures of the serving suite: a store with registered models and real server processes.

One store per session (SQLite + a local artifact folder). Model ``bc`` (scikit-learn's
breast-cancer data) has v1 (a small forest, alias ``champion``) and v2 (a logistic
regression, alias ``challenger``); v3 is registered and then has its model file deleted
from the artifact store, so it can never load. Deployments are started by a
:class:`Supervisor` from this process, exactly as the server extension does, and talked to
over loopback with httpx.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from model_files import log_model_files

ACTOR = "tester"


def register(services: Any, name: str, model: Any, X: Any) -> dict[str, Any]:
    run = services.tracking.create_run(actor=ACTOR, experiment="serving-tests")
    log_model_files(
        services,
        run["id"],
        model,
        prefix="model",
        actor=ACTOR,
        input_example=X.head(5),
        training_data=X,
    )
    return services.registry.create_version(
        name, run_id=run["id"], source_path="model", actor=ACTOR
    )


@pytest.fixture(scope="session")
def data():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def serving_env(tmp_path_factory: pytest.TempPathFactory, data):
    """LABCYCLE_* for this session's store; registered versions of model ``bc``."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from labcycle.api import fluent
    from labcycle.services import Services

    home = tmp_path_factory.mktemp("serving-home")
    env = {
        "LABCYCLE_HOME": str(home),
        "LABCYCLE_DB_URL": f"sqlite:///{home / 'labcycle.db'}",
        "LABCYCLE_ARTIFACT_URL": str(home / "artifacts"),
        "LABCYCLE_TRANSPORT": "local",
    }
    old = {k: os.environ.get(k) for k in (*env, "LABCYCLE_API_URL")}
    os.environ.update(env)
    os.environ.pop("LABCYCLE_API_URL", None)
    fluent._state.reset()  # lc.* on this store, whatever an earlier suite left configured
    services = Services.open(env["LABCYCLE_DB_URL"], env["LABCYCLE_ARTIFACT_URL"])
    X, y = data
    v1 = register(
        services, "bc", RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y), X
    )
    v2 = register(
        services,
        "bc",
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y),
        X,
    )
    v3 = register(
        services, "bc", RandomForestClassifier(n_estimators=3, random_state=1).fit(X, y), X
    )
    for f in v3["files"]:  # v3's files vanish from the artifact store: it can never load
        path = Path(services.blobs.blob_path(f["digest"]))
        if path.exists() and not any(
            f["digest"] == g["digest"] for v in (v1, v2) for g in v["files"]
        ):
            path.unlink()
    services.registry.set_alias("bc", "champion", 1, actor=ACTOR)
    yield {"env": env, "services": services, "home": home, "versions": (v1, v2, v3)}
    from labcycle.serving.supervisor import Supervisor

    sup = Supervisor(services, home)
    for d in services.deployments.list(max_results=1000)["items"]:
        services.deployments.stop(d["id"], actor=ACTOR)
        sup.reconcile_one(d["id"])
    sup.stop()
    services.close()
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    fluent._state.reset()


@pytest.fixture(scope="session")
def services(serving_env):
    return serving_env["services"]


@pytest.fixture(scope="session")
def supervisor(serving_env):
    from labcycle.serving.supervisor import Supervisor

    sup = Supervisor(serving_env["services"], serving_env["home"])
    yield sup
    sup.stop()


@pytest.fixture(scope="session")
def fleet(services, supervisor):
    """Every deployment of the suite, started together (process start-up is the slow part)."""
    services.registry.set_alias("bc", "live", 1, actor=ACTOR)
    specs = {
        "shared": dict(model_ref="bc@champion"),
        "live": dict(model_ref="bc@live"),
        "split": dict(model_ref="bc/1", traffic={"1": 90, "2": 10}),
        "keyed": dict(model_ref="bc/1", host="127.0.0.2"),
        "adopt": dict(model_ref="bc/1"),
    }
    made = {}
    for key, spec in specs.items():
        d = services.deployments.create(
            spec.pop("model_ref"), actor=ACTOR, name=f"bc-{key}", **spec
        )
        made[key] = {"api_key": d.get("api_key")}
        supervisor.reconcile_one(d["id"])
        made[key]["id"] = d["id"]
    for key, info in made.items():
        d = supervisor.ensure(info["id"], wait=120)
        assert d["status"] == "ready", d
        made[key] = {**d, "api_key": info["api_key"]}
    return made


@pytest.fixture(scope="session")
def deployment(fleet):
    """The deployment of ``bc@champion`` shared by the read-only tests."""
    return fleet["shared"]


@pytest.fixture
def http():
    with httpx.Client(timeout=30, trust_env=False) as client:
        yield client


def records(X, n: int = 1, start: int = 0) -> list[dict[str, Any]]:
    return X.iloc[start : start + n].to_dict("records")
