"""The Voila apps' logic without a browser: drift dashboard, performance dashboard, what-if.

Real monitors with real checks (a dataset pair, through the services and the Python API on
a local SQLite store), real statistics (``monitoring.performance``), the widgets driven as a
user would (pick a feature, a check, a time range, a metric, change an input). The
notebooks themselves run in real kernels in ``tests/browser/test_voila_apps.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labcycle.apps import launch, monitoring, whatif
from labcycle.errors import NotFound
from labcycle.services.common import app_url

from ._support import frame, log_dataset

ACTOR = "alice"
HOUR_MS = 3_600_000
APPS = Path(__file__).parents[2] / "voila_apps"


@pytest.fixture(scope="module")
def store(tmp_path_factory, sqlite_template):
    """A local store with monitors ``moved2`` (3 checks, drift on age and plan), ``calm``
    (1 check, no drift) and ``idle`` (no check); the Python API uses it."""
    import labcycle.api.fluent as fluent
    from labcycle.client.local import LocalTransport
    from labcycle.services import Services

    home = tmp_path_factory.mktemp("apps-home")
    shutil.copyfile(sqlite_template, home / "labcycle.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LABCYCLE_HOME", str(home))
        for name in (
            "LABCYCLE_API_URL",
            "LABCYCLE_API_TOKEN",
            "LABCYCLE_DB_URL",
            "LABCYCLE_ARTIFACT_URL",
            "QUERY_STRING",
            "VOILA_PREHEAT",
        ):
            mp.delenv(name, raising=False)
        mp.setenv("LABCYCLE_TRANSPORT", "local")
        svc = Services.from_config()
        reference = log_dataset(svc, "train", frame(600, seed=1))
        same = log_dataset(svc, "same", frame(400, seed=2))
        drifted = log_dataset(svc, "drifted", frame(400, shift=8, seed=3, weights=(0.1, 0.2, 0.7)))
        t0 = 1_700_000_000_000
        svc.monitors.create(
            actor=ACTOR, name="calm", reference_dataset=reference["id"], current_dataset=same["id"]
        )
        svc.monitors.run_check("calm", actor=ACTOR, now=t0)
        svc.monitors.create(
            actor=ACTOR,
            name="moved2",
            reference_dataset=reference["id"],
            current_dataset=drifted["id"],
        )
        for i in range(3):
            svc.monitors.run_check("moved2", actor=ACTOR, now=t0 + i * HOUR_MS)
        svc.monitors.create(
            actor=ACTOR, name="idle", reference_dataset=reference["id"], current_dataset=same["id"]
        )
        fluent._state.reset(LocalTransport(svc, ACTOR))
        yield {"services": svc, "home": home}
        fluent._state.reset()


def html_of(widget) -> str:
    """Every HTML value under ``widget`` (the page's text, as a browser would show it)."""
    import ipywidgets as w

    out = []
    if isinstance(widget, w.HTML):
        out.append(widget.value)
    for child in getattr(widget, "children", ()):
        out.append(html_of(child))
    return "\n".join(out)


# -- parameters and messages ------------------------------------------------------------------
def test_parameters_from_the_query_string_then_the_environment():
    p = monitoring.parameters(
        {"QUERY_STRING": "monitor=churn%20mon&feature=age&x=1", "LABCYCLE_APP_DEPLOYMENT": "dep-1"}
    )
    assert p["monitor"] == "churn mon" and p["feature"] == "age" and p["deployment"] == "dep-1"
    assert "x" not in p
    env = {"QUERY_STRING": "", "LABCYCLE_APP_MONITOR": "m1"}
    assert monitoring.parameters(env)["monitor"] == "m1"
    # hostile input: too long, blank, repeated, script — ignored or kept as inert text
    p = monitoring.parameters(
        {
            "QUERY_STRING": "monitor=" + "a" * 500 + "&check=%20%20"
            "&feature=1&feature=<script>alert(1)</script>"
        }
    )
    assert p["monitor"] is None and p["check"] is None
    assert p["feature"] == "<script>alert(1)</script>"
    assert "<script>" not in monitoring.error_html(NotFound(f"No monitor {p['feature']!r}"))


def test_friendly_messages_never_a_traceback(store):
    page = html_of(monitoring.drift_app({"monitor": "nope<b>"}))
    assert "Unknown monitor" in page and "nope&lt;b&gt;" in page and "Traceback" not in page
    page = html_of(monitoring.drift_app({"monitor": None}))
    assert "?monitor=" in page
    page = html_of(monitoring.drift_app({"monitor": "idle"}))
    assert "No check yet" in page and "Run check now" in page
    page = html_of(monitoring.performance_app({"monitor": "calm"}))
    # a dataset-pair monitor has no predictions: the service's own message is shown
    assert "lc-error" in page and "deployment" in page
    page = html_of(whatif.whatif_app({"monitor": "calm"}))
    assert "No deployment" in page
    page = html_of(whatif.whatif_app({"deployment": "ghost"}))
    assert "Unknown deployment" in page
    import httpx

    assert "cannot be reached" in monitoring.error_html(httpx.ConnectError("refused"))


# -- the drift dashboard -----------------------------------------------------------------------
def test_drift_dashboard_shows_real_statistics_and_follows_the_widgets(store):
    import labcycle as lc

    monitor = lc.get_monitor("moved2")
    checks = monitor.checks(full=False)
    fetched = []

    def fetch(check_id):
        fetched.append(check_id)
        return monitor.get_check(check_id)

    app = monitoring.DriftDashboard(monitor.data, checks, fetch)
    full = monitor.get_check(checks[0]["id"])
    columns = full["result"]["drift"]["columns"]
    assert columns["age"]["drifted"] and columns["plan"]["drifted"]
    # summary: badge, share drifted, verdict; the table says which test ran and why
    summary = app.summary.value
    assert "Drift of moved2" in summary and "lc-badge" in summary
    n = full["result"]["drift"]["n_drifted"]
    assert f"{n} of {full['result']['drift']['n_columns']}" in summary and "drift</span>" in summary
    table = app.table.value
    for feature, column in columns.items():
        assert f"<b>{feature}</b>" in table and column["method"] in table
        assert monitoring.fmt(column["score"]) in table
    assert columns["age"]["reason"] and columns["age"]["reason"][:30] in table
    # the most drifted feature is picked first; its histogram is the one drawn
    assert (
        app.feature_picker.value in ("age", "plan") and columns[app.feature_picker.value]["drifted"]
    )
    app.feature_picker.value = "age"
    ref, cur = app.distribution.data
    hist = columns["age"]["histogram"]
    assert list(ref.y) == pytest.approx(hist["reference"]) and list(cur.y) == pytest.approx(
        hist["current"]
    )
    centres = [(a + b) / 2 for a, b in zip(hist["edges"][:-1], hist["edges"][1:], strict=True)]
    assert list(ref.x) == pytest.approx(centres)
    assert "age" in app.distribution.layout.title.text
    shown = app.distribution_chart.widget.children[0]  # what the page gets: a FigureWidget
    assert type(shown).__name__ == "FigureWidget" and list(shown.data[0].y) == list(ref.y)
    assert "age" in app.detail.value and monitoring.fmt(columns["age"]["score"]) in app.detail.value
    app.feature_picker.value = "plan"
    assert set(app.distribution.data[0].x) == set(columns["plan"]["histogram"]["categories"])
    # the timeline: one point per check, drifted checks marked, the threshold drawn
    score, drifted, threshold, share = app.timeline.data
    assert len(score.y) == 3 and list(score.y) == pytest.approx(
        [c["columns"]["plan"]["score"] for c in reversed(checks)]
    )
    assert len(drifted.y) == 3 and list(threshold.y) == [columns["plan"]["threshold"]] * 2
    assert list(share.y) == pytest.approx([c["share_drifted"] for c in reversed(checks)])
    # the time range narrows the timeline; the check picker loads that check (once)
    app.range_picker.index = (1, 2)
    assert len(app.timeline.data[0].y) == 2 and "2 check(s)" in app.timeline.layout.title.text
    oldest = checks[-1]["id"]
    app.check_picker.value = oldest
    app.check_picker.value = checks[0]["id"]
    app.check_picker.value = oldest
    assert fetched.count(oldest) == 1
    assert monitoring.fmt_time(checks[-1]["started_at"]) in app.summary.value


def test_drift_app_from_parameters_and_a_check_without_drift(store):
    page = monitoring.drift_app({"monitor": "calm", "feature": "income"})
    text = html_of(page)
    assert "Drift of calm" in text and "no drift" in text
    dropdowns = [c for c in page.children if hasattr(c, "children")]
    pickers = [
        w for box in dropdowns for w in box.children if getattr(w, "description", "") == "Feature"
    ]
    assert pickers and pickers[0].value == "income"


def test_histogram_series_rejects_malformed_histograms():
    assert monitoring.histogram_series({}) is None
    assert (
        monitoring.histogram_series(
            {"histogram": {"edges": [0, 1], "reference": [1, 2], "current": [1]}}
        )
        is None
    )
    s = monitoring.histogram_series(
        {"histogram": {"categories": ["a", 1], "reference": [0.5, 0.5], "current": [1.0, 0.0]}}
    )
    assert s["x"] == ["a", "1"] and not s["numeric"]


# -- the performance dashboard -----------------------------------------------------------------
def _labelled(days: int = 4, per_day: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = days * per_day
    y = rng.integers(0, 2, n)
    wrong = rng.random(n) < np.repeat(np.linspace(0.05, 0.4, days), per_day)  # gets worse
    return pd.DataFrame(
        {
            "ts": 1_700_006_400_000 + np.arange(n) * (86_400_000 // per_day),
            "y_true": y,
            "y_pred": np.where(wrong, 1 - y, y),
        }
    )


def test_performance_dashboard_against_training_with_real_metrics():
    from labcycle.monitoring.performance import performance_over_time

    data = _labelled()
    calls = []

    def fetch(freq):
        calls.append(freq)
        return {
            "labelled_rows": len(data),
            "reference": {"test_accuracy": 0.93, "f1": 0.9},
            "windows": performance_over_time(data, freq=freq),
        }

    app = monitoring.PerformanceDashboard(
        {"name": "churn", "health": "degraded"}, fetch, metric="accuracy"
    )
    windows = performance_over_time(data, freq="1D")
    assert calls == ["1D"] and len(windows) == 4
    current, reference, counts = app.figure.data
    assert list(current.y) == pytest.approx([w["metrics"]["accuracy"] for w in windows])
    assert list(reference.y) == [0.93, 0.93] and list(counts.y) == [w["count"] for w in windows]
    assert current.y[-1] < 0.8 and "worse" in app.message.value and "0.93" in app.message.value
    assert app.metric_picker.value == "accuracy"
    assert {"accuracy", "precision", "recall", "f1"} <= {v for _, v in app.metric_picker.options}
    app.metric_picker.value = "f1"
    assert list(app.figure.data[0].y) == pytest.approx([w["metrics"]["f1"] for w in windows])
    assert list(app.figure.data[1].y) == [0.9, 0.9]
    app.freq_picker.value = "1h"
    assert calls[-1] == "1h" and len(app.figure.data[0].x) > 4
    assert app.metric_picker.value == "f1"  # the picked metric survives a new window length
    assert "Degraded" in app.header.value and f"{len(data):,}" in app.header.value


def test_performance_dashboard_says_when_no_ground_truth_arrived():
    app = monitoring.PerformanceDashboard(
        {"name": "churn", "health": "ok"},
        lambda freq: {"labelled_rows": 0, "reference": {"accuracy": 0.9}, "windows": []},
    )
    assert "No ground truth yet" in app.message.value and "log_ground_truth" in app.message.value
    assert list(app.figure.data[0].y or []) == []

    def broken(freq):
        if freq == "1W":
            raise NotFound("No monitor 'churn'")
        return {"labelled_rows": 0, "windows": []}

    app = monitoring.PerformanceDashboard({"name": "churn"}, broken)
    app.freq_picker.value = "1W"  # a failure after the first paint shows in the page
    assert "No monitor" in app.message.value


# -- the what-if app ---------------------------------------------------------------------------
SIGNATURE = {
    "inputs": [
        {"name": "tenure", "dtype": "int64", "min": 1, "max": 71},
        {"name": "charges", "dtype": "float64", "min": 18.5, "max": 118.0},
        {"name": "plan", "dtype": "string", "categories": ["basic", "plus", "pro"]},
        {"name": "note", "dtype": "string"},
    ],
    "outputs": [{"name": "prediction", "dtype": "int64", "classes": [0, 1]}],
}


class ModelPredictor:
    """A real scikit-learn model behind the predictor interface (what /predict runs)."""

    signature = SIGNATURE
    title = "churn v1"

    def __init__(self, model):
        self.model, self.batches = model, []

    def predict_rows(self, rows):
        self.batches.append(rows)
        X = pd.DataFrame(rows)[["tenure", "charges", "plan"]]
        return self.model.predict(X).tolist(), self.model.predict_proba(X).tolist()


@pytest.fixture(scope="module")
def churn_model():
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "tenure": rng.integers(1, 72, 400),
            "charges": rng.normal(70, 20, 400),
            "plan": rng.choice(["basic", "plus", "pro"], 400),
        }
    )
    y = (X["tenure"] < 24).astype(int)
    pre = make_column_transformer(
        (StandardScaler(), ["tenure", "charges"]), (OneHotEncoder(), ["plan"])
    )
    return make_pipeline(pre, LogisticRegression()).fit(X, y)


def test_rows_and_sweeps_from_the_signature():
    assert whatif.middle_row(SIGNATURE) == {
        "tenure": 36,
        "charges": 68.25,
        "plan": "basic",
        "note": "",
    }
    fitted = whatif.fit_row(
        SIGNATURE, {"tenure": 500, "charges": float("nan"), "plan": "gold", "note": 3, "extra": 1}
    )
    assert fitted == {"tenure": 71, "charges": 68.25, "plan": "basic", "note": "3"}
    assert whatif.sweepable(SIGNATURE) == ["tenure", "charges", "plan"]
    values = whatif.sweep_values(SIGNATURE["inputs"][0])
    assert (
        values[0] == 1 and values[-1] == 71 and len(values) == 25 and values == sorted(set(values))
    )
    assert whatif.sweep_values(SIGNATURE["inputs"][2]) == ["basic", "plus", "pro"]
    assert whatif.sweep_values({"name": "b", "dtype": "bool"}) == [False, True]


def test_whatif_moves_the_prediction_and_the_sweep(churn_model):
    predictor = ModelPredictor(churn_model)
    app = whatif.WhatIf(
        predictor,
        {
            "latest prediction": {"tenure": 60, "charges": 50.0, "plan": "pro"},
            "middle of the ranges": {},
        },
        feature="tenure",
    )
    assert len(predictor.batches) == 1  # one batched call: the row and the sweep together
    batch = predictor.batches[-1]
    assert batch[0] == {"tenure": 60, "charges": 50.0, "plan": "pro", "note": ""}
    assert [r["tenure"] for r in batch[1:]] == whatif.sweep_values(SIGNATURE["inputs"][0])
    curve, marker = app.figure.data
    expected = churn_model.predict_proba(pd.DataFrame(batch)[["tenure", "charges", "plan"]])[:, 1]
    assert list(curve.y) == pytest.approx(expected[1:].tolist()) and curve.name == "P(1)"
    assert curve.y[0] > 0.5 > curve.y[-1]  # short tenure churns: the curve falls
    assert list(marker.x) == [60] and marker.y[0] == pytest.approx(expected[0])
    assert "Prediction" in app.result.value and f"{1 - expected[0]:.1%}" in app.result.value
    # change one input: a new prediction and a new sweep around it
    app.inputs["tenure"].value = 5
    assert len(predictor.batches) == 2 and predictor.batches[-1][0]["tenure"] == 5
    assert app.figure.data[1].x == (5,) and "<code>1</code>" in app.result.value
    # vary another feature: a categorical sweep
    app.feature_picker.value = "plan"
    assert list(app.figure.data[0].x) == ["basic", "plus", "pro"]
    # start again from the middle of the ranges
    app.start_picker.value = "middle of the ranges"
    assert predictor.batches[-1][0]["tenure"] == 36 and len(predictor.batches) == 4


def test_whatif_shows_a_prediction_error_in_the_page(churn_model):
    class Failing(ModelPredictor):
        def predict_rows(self, rows):
            raise ValueError("The deployment answered 422: bad input")

    app = whatif.WhatIf(Failing(churn_model), {"middle": {}})
    assert "could not predict" in app.result.value and "422" in app.result.value


# -- serving the notebooks ---------------------------------------------------------------------
def test_apps_are_found_by_name_and_nothing_else():
    assert {"drift", "performance", "whatif", "predict"} <= set(launch.app_names())
    # the source checkout's notebook, or the package's copy of it (an installed wheel)
    found = launch.notebook_path("drift.ipynb")
    assert found.name == "drift.ipynb" and found == launch.notebook_path("drift")
    assert found.read_bytes() == (APPS / "drift.ipynb").read_bytes()
    for bad in ("../drift", "drift/x", "", "nope", "a" * 100, ".drift"):
        with pytest.raises(NotFound):
            launch.notebook_path(bad)
    assert (
        app_url("http://h:8888/base/", "drift", monitor="m 1", check=None)
        == "http://h:8888/base/labcycle/apps/drift?monitor=m+1"
    )
    cmd = launch.voila_command("whatif", port=8899)
    assert "--preheat_kernel=True" in cmd and "--Voila.ip=127.0.0.1" in cmd
    assert cmd[3].endswith("whatif.ipynb")


def test_app_url_of_alerts_points_at_the_drift_app(store):
    svc = store["services"]
    old = svc.monitors.app_base_url
    svc.monitors.app_base_url = "https://hub.example.com/user/ann/"
    try:
        url = svc.monitors.app_url("abc123")
    finally:
        svc.monitors.app_base_url = old
    assert url == "https://hub.example.com/user/ann/labcycle/apps/drift?monitor=abc123"


def test_the_cli_refuses_unknown_apps_and_monitors(store):
    from click.testing import CliRunner

    from labcycle.cli.base import main

    result = CliRunner().invoke(main, ["app", "nope", "--monitor", "moved2"])
    assert result.exit_code == 1 and "No app 'nope'" in result.output and "drift" in result.output
    result = CliRunner().invoke(main, ["app", "drift"])
    assert result.exit_code == 1 and "--monitor" in result.output
    result = CliRunner().invoke(main, ["app", "drift", "--monitor", "ghost"])
    assert result.exit_code == 1 and "ghost" in result.output
