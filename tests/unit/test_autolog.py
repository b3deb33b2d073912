"""``lc.autolog()``: scikit-learn, XGBoost and LightGBM fits logged without logging calls.

The Python API runs on its local transport over a real SQLite store (a copy of the
session's migrated template); every test turns autologging off again and resets the API.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import labcycle as lc
from labcycle import autologging
from labcycle.api.fluent import _state
from labcycle.client.objects import dataframe_fingerprint

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def api(tmp_path, sqlite_template, monkeypatch):
    shutil.copyfile(sqlite_template, tmp_path / "labcycle.db")
    monkeypatch.setenv("LABCYCLE_SYSTEM_METRICS_INTERVAL", "0.1")
    lc.configure(
        db_url=f"sqlite:///{tmp_path / 'labcycle.db'}", artifact_url=str(tmp_path / "artifacts")
    )
    yield _state.transport().services
    lc.autolog(disable=True)
    autologging.wait(timeout=60)
    _state.reset(None)


@pytest.fixture(scope="module")
def iris():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y


def runs(services):
    return services.tracking.search_runs(max_results=1000)["items"]


def test_off_by_default_and_disable_restores_the_originals(api, iris):
    from sklearn.linear_model import LogisticRegression

    original = LogisticRegression.fit
    LogisticRegression(max_iter=300).fit(*iris)
    assert runs(api) == [] and not autologging.enabled()
    lc.autolog()
    lc.autolog()  # twice: still one wrapper around the original
    assert LogisticRegression.fit is not original
    assert LogisticRegression.fit.__labcycle_autolog_original__ is original
    lc.autolog(disable=True)
    assert LogisticRegression.fit is original
    LogisticRegression(max_iter=300).fit(*iris)
    assert runs(api) == []


def test_a_pipeline_fit_gets_one_run_with_params_metrics_dataset_and_model(api, iris):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = iris
    lc.autolog(registered_model_name="iris-autolog", system_metrics=False)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(X, y)
    assert lc.active_run() is None, "the fit's own run is not left active"
    assert autologging.wait(timeout=120)
    found = runs(api)
    assert [r["name"] for r in found] == ["Pipeline"], "one run: the steps are part of it"
    run = api.tracking.get_run(found[0]["id"])
    assert run["status"] == "finished"
    assert run["params"]["logisticregression__C"] == "1.0"
    assert run["params"]["logisticregression__max_iter"] == "300"
    assert run["tags"]["estimator_name"] == "Pipeline"
    assert run["metrics"]["training_accuracy_score"] == pytest.approx(pipeline.score(X, y))
    for key in ("training_f1_score", "training_log_loss", "training_roc_auc"):
        assert key in run["metrics"]
    assert [d["dataset"]["digest"] for d in run["datasets"]] == [dataframe_fingerprint(X)["digest"]]
    loaded = lc.load_model("iris-autolog")
    assert (loaded.predict(X) == pipeline.predict(X)).all()


def test_per_iteration_curves(api, iris):
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.neural_network import MLPClassifier

    X, y = iris
    lc.autolog(log_models=False, system_metrics=False)
    gb = GradientBoostingClassifier(n_estimators=15, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the MLP does not converge in 20 epochs
        mlp = MLPClassifier(max_iter=20, random_state=0).fit(X, y)
    lc.flush()
    by_name = {r["name"]: r for r in runs(api)}
    history = api.tracking.metric_history(
        by_name["GradientBoostingClassifier"]["id"], "train_score"
    )
    assert [p["value"] for p in history["points"]] == pytest.approx(list(gb.train_score_))
    loss = api.tracking.metric_history(by_name["MLPClassifier"]["id"], "loss")["points"]
    assert [p["step"] for p in loss] == list(range(len(mlp.loss_curve_))) and len(loss) == 20


def test_search_cv_logs_a_child_run_per_candidate_and_marks_the_best(api, iris):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    X, y = iris
    lc.autolog(system_metrics=False)
    search = GridSearchCV(LogisticRegression(max_iter=300), {"C": [0.01, 1, 100]}, cv=3).fit(X, y)
    lc.flush()
    found = runs(api)
    parents = [r for r in found if r["parent_run_id"] is None]
    assert [p["name"] for p in parents] == ["GridSearchCV"], "no run for the inner fits"
    parent = api.tracking.get_run(parents[0]["id"])
    children = [r for r in found if r["parent_run_id"] == parent["id"]]
    assert len(children) == 3
    best = [c for c in children if c["tags"]["best"] == "true"]
    assert len(best) == 1 and best[0]["tags"]["candidate_index"] == str(search.best_index_)
    assert best[0]["params"]["C"] == str(search.best_params_["C"])
    assert best[0]["metrics"]["mean_test_score"] == pytest.approx(search.best_score_)
    assert parent["params"]["best_C"] == str(search.best_params_["C"])
    assert parent["metrics"]["best_cv_score"] == pytest.approx(search.best_score_)

    lc.autolog(system_metrics=False, max_tuning_runs=2)
    RandomizedSearchCV(
        LogisticRegression(max_iter=300),
        {"C": [0.01, 0.1, 1, 10, 100]},
        n_iter=4,
        cv=3,
        random_state=0,
    ).fit(X, y)
    lc.flush()
    parent = next(r for r in runs(api) if r["name"] == "RandomizedSearchCV")
    assert len([r for r in runs(api) if r["parent_run_id"] == parent["id"]]) == 2


def test_inside_an_active_run_it_logs_there_and_end_run_waits(api, iris):
    from sklearn.ensemble import RandomForestClassifier

    X, y = iris
    lc.autolog(system_metrics=False)
    with lc.start_run("autolog", name="mine") as run:
        RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    found = runs(api)
    assert [r["name"] for r in found] == ["mine"]
    paths = [a["path"] for a in api.artifacts.list_artifacts(run.id)]
    assert any(p.endswith("model.skops") for p in paths), "end_run waited for the model"
    assert api.tracking.get_run(run.id)["params"]["n_estimators"] == "10"


def test_training_never_waits_for_the_logging(api, iris, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    from labcycle.autologging import sklearn as sklearn_autolog

    slow = sklearn_autolog._log_after_fit

    def slow_logging(*args):
        time.sleep(5.0)
        slow(*args)

    monkeypatch.setattr(sklearn_autolog, "_log_after_fit", slow_logging)
    lc.autolog(system_metrics=False)
    LogisticRegression(max_iter=300).fit(*iris)
    # Had fit waited for the logging (5 s of it), it would be over by now.
    assert not autologging.wait(timeout=0), "the logging is still going on after fit returned"
    assert [r["status"] for r in runs(api)] in ([], ["running"])
    assert autologging.wait(timeout=60)
    assert runs(api)[0]["status"] == "finished"


def test_failures_in_logging_never_break_fit_and_fit_errors_propagate(api, iris):
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.linear_model import LogisticRegression

    class Broken(ClassifierMixin, BaseEstimator):
        def get_params(self, deep=True):
            raise RuntimeError("no params here")

        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            raise RuntimeError("cannot predict")

    lc.autolog(system_metrics=False)
    # Broken is not scikit-learn's, so patch its own fit the way autolog patches estimators.
    from labcycle.autologging import _patches
    from labcycle.autologging import sklearn as sklearn_autolog
    from labcycle.autologging.options import _warned
    from labcycle.autologging.runtime import autologged

    _patches.patch(Broken, "fit", lambda original: autologged(original, sklearn_autolog._describe))
    _warned.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert isinstance(Broken().fit(*iris), Broken)
        assert autologging.wait(timeout=60)
    assert any("LabCycle autolog" in str(w.message) for w in caught)
    with pytest.raises(ValueError):
        LogisticRegression(C=-1).fit(*iris)
    lc.flush()
    statuses = {r["name"]: r["status"] for r in runs(api)}
    assert statuses == {"Broken": "finished", "LogisticRegression": "failed"}


def test_system_metrics_are_sampled_while_a_run_is_active(api):
    lc.autolog(log_models=False)
    with lc.start_run("system") as run:
        time.sleep(0.8)
    history = api.tracking.metric_history(run.id, "system.cpu_utilization_percentage")["points"]
    assert len(history) >= 3 and [p["step"] for p in history] == list(range(len(history)))
    memory = api.tracking.metric_history(run.id, "system.memory_used_megabytes")["points"]
    assert all(p["value"] > 0 for p in memory)
    lc.autolog(disable=True)
    assert not autologging.system.running()


def test_xgboost_native_and_sklearn_api(api, iris):
    xgb = pytest.importorskip("xgboost")
    X, y = iris
    lc.autolog(system_metrics=False)
    train = xgb.DMatrix(X, label=y)
    xgb.train(
        {"objective": "multi:softprob", "num_class": 3, "max_depth": 2},
        train,
        num_boost_round=7,
        evals=[(train, "train")],
        verbose_eval=False,
    )
    xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y, eval_set=[(X, y)], verbose=False)
    lc.flush()
    by_name = {r["name"]: r for r in runs(api)}
    assert set(by_name) == {"xgboost", "XGBClassifier"}, "no run for the wrapper's LabelEncoder"
    native = by_name["xgboost"]
    assert native["params"]["max_depth"] == "2" and native["params"]["num_boost_round"] == "7"
    points = api.tracking.metric_history(native["id"], "train-mlogloss")["points"]
    assert [p["step"] for p in points] == list(range(7))
    wrapper = by_name["XGBClassifier"]
    assert len(api.tracking.metric_history(wrapper["id"], "validation_0-mlogloss")["points"]) == 5
    assert "training_accuracy_score" in wrapper["metrics"]
    for run in (native, wrapper):
        paths = [a["path"] for a in api.artifacts.list_artifacts(run["id"])]
        assert "model/model.json" in paths
    booster = xgb.Booster()
    booster.load_model(bytearray(api.artifacts.read_artifact(native["id"], "model/model.json")))
    assert booster.num_boosted_rounds() == 7


def test_lightgbm_native_and_sklearn_api(api, iris):
    lgb = pytest.importorskip("lightgbm")
    X, y = iris
    lc.autolog(system_metrics=False)
    train = lgb.Dataset(X, label=y)
    lgb.train(
        {"objective": "multiclass", "num_class": 3, "verbose": -1},
        train,
        num_boost_round=6,
        valid_sets=[train],
        valid_names=["train"],
    )
    lgb.LGBMClassifier(n_estimators=4, verbose=-1).fit(X, y, eval_X=(X,), eval_y=(y,))
    lc.flush()
    by_name = {r["name"]: r for r in runs(api)}
    assert set(by_name) == {"lightgbm", "LGBMClassifier"}
    points = api.tracking.metric_history(by_name["lightgbm"]["id"], "train-multi_logloss")["points"]
    assert [p["step"] for p in points] == list(range(6))
    wrapper_keys = by_name["LGBMClassifier"]["metrics"]
    assert any(k.endswith("multi_logloss") for k in wrapper_keys)
    for run in by_name.values():
        text = api.artifacts.read_artifact(run["id"], "model/model.txt").decode()
        assert text.startswith("tree")


def test_the_environment_setting_and_the_magic(api, iris, tmp_path):
    env = {**os.environ, "LABCYCLE_AUTOLOG": "1", "LABCYCLE_HOME": str(tmp_path / "home")}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import labcycle; from labcycle import "
            "autologging as a; print(a.enabled(), a.config.frameworks[0])",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.split() == ["True", "sklearn"], out.stderr[-2000:]

    from IPython.core.interactiveshell import InteractiveShell

    from labcycle.magics import LabCycleMagics

    magics = LabCycleMagics(InteractiveShell.instance())
    magics.lc("autolog --no-system-metrics --max-tuning-runs 3")
    assert autologging.enabled() and autologging.config.max_tuning_runs == 3
    assert not autologging.system.running()
    from sklearn.linear_model import LogisticRegression

    LogisticRegression(max_iter=300).fit(*iris)
    magics.lc("autolog --disable")
    assert not autologging.enabled()
    lc.flush()
    assert [r["name"] for r in runs(api)] == ["LogisticRegression"]


def test_a_script_that_ends_right_after_fit_loses_nothing(tmp_path, sqlite_template):
    shutil.copyfile(sqlite_template, tmp_path / "labcycle.db")
    script = tmp_path / "train.py"
    script.write_text(
        "import labcycle as lc\n"
        "from sklearn.datasets import load_iris\n"
        "from sklearn.ensemble import RandomForestClassifier\n"
        "lc.autolog()\n"
        "RandomForestClassifier(n_estimators=20).fit(*load_iris(return_X_y=True))\n"
    )
    env = {**os.environ, "LABCYCLE_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=150
    )
    assert out.returncode == 0, out.stderr[-2000:]
    from labcycle.services import Services

    services = Services.open(f"sqlite:///{tmp_path / 'labcycle.db'}", str(tmp_path / "artifacts"))
    try:
        [run] = services.tracking.search_runs()["items"]
        assert run["status"] == "finished" and "training_accuracy_score" in run["metrics"]
        paths = [a["path"] for a in services.artifacts.list_artifacts(run["id"])]
        assert any(p.endswith("model.skops") for p in paths)
    finally:
        services.close()
