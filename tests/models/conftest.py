"""Fixtures of the model suite (flavors, registry, export, REST, Python API).

``services`` is the unit suite's fixture (the service layer over SQLite and PostgreSQL,
emptied before each test), reused so that registry rules are checked on both backends.
``sk_model`` is a small scikit-learn pipeline with a numeric and a categorical column.
"""

from __future__ import annotations

from typing import Any

import pytest
from model_files import log_model_files
from unit.conftest import services, shared_services  # noqa: F401

ACTOR = "alice"


@pytest.fixture(scope="session")
def churn_data():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 120
    X = pd.DataFrame(
        {
            "tenure": rng.integers(1, 72, n),
            "charges": rng.normal(70, 20, n).round(2),
            "plan": rng.choice(["basic", "plus", "pro"], n),
        }
    )
    y = ((X["tenure"] < 20) & (X["plan"] != "pro")).astype(int)
    return X, y


@pytest.fixture(scope="session")
def sk_model(churn_data):
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = churn_data
    pre = make_column_transformer(
        (StandardScaler(), ["tenure", "charges"]),
        (OneHotEncoder(handle_unknown="ignore"), ["plan"]),
    )
    return make_pipeline(pre, RandomForestClassifier(n_estimators=8, random_state=0)).fit(X, y)


def upload_model(
    svc: Any,
    model: Any,
    *,
    run_id: str | None = None,
    source: str = "staged",
    actor: str = ACTOR,
    **save: Any,
) -> str:
    """Save ``model`` and log its folder as artifacts of a run; returns the run id."""
    if run_id is None:
        run_id = svc.tracking.create_run(actor=actor, experiment="models")["id"]
    log_model_files(svc, run_id, model, prefix=source, actor=actor, **save)
    return run_id


def register(
    svc: Any, name: str, model: Any, *, actor: str = ACTOR, trusted: bool = False, **save: Any
) -> dict:
    run_id = upload_model(svc, model, actor=actor, trusted=trusted, **save)
    return svc.registry.create_version(
        name, run_id=run_id, source_path="staged", actor=actor, trusted=trusted
    )


@pytest.fixture
def model_cache(tmp_path, monkeypatch):
    """Downloaded model files go to a fresh cache per test (LABCYCLE_HOME)."""
    monkeypatch.setenv("LABCYCLE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
