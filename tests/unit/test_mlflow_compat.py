"""The MLflow endpoint's translation layer (services/mlflow_compat.py) without a server:
filters, the metric buffer's read-your-writes, errors in MLflow's shape. The real client
against a real server: tests/integration/test_mlflow_endpoint.py."""

from __future__ import annotations

import pytest

from labcycle.errors import InvalidInput
from labcycle.services.mlflow_compat import (
    MlflowCompat,
    MlflowError,
    mlflow_error,
    parse_artifact_path,
    translate_filter,
    translate_order_by,
)


def test_filters_become_labcycle_filters() -> None:
    assert translate_filter("attributes.status = 'FINISHED' and metrics.acc > 0.5") == (
        "status = 'finished' and metrics.acc > 0.5"
    )
    assert translate_filter("attributes.run_name LIKE 'r%' and tags.k = 'V'") == (
        "name like 'r%' and tags.k = 'V'"
    )  # only status values change case
    assert translate_filter("run_id IN ('a', 'b')") == "id in ( 'a' , 'b' )"
    assert translate_filter("") is None
    assert translate_order_by(["attributes.start_time ASC", "metrics.acc"]) == [
        "start_time asc",
        "metrics.acc",
    ]
    with pytest.raises(MlflowError, match="artifact_uri"):
        translate_filter("attributes.artifact_uri = 'x'")
    with pytest.raises(InvalidInput):
        translate_filter("metrics.acc >>> 'x")


def test_artifact_paths_stay_in_their_run() -> None:
    run = "a" * 32
    assert parse_artifact_path(f"1/{run}/artifacts/sub/x.txt").full == "sub/x.txt"
    assert parse_artifact_path(f"1/{run}/artifacts").full is None
    model = f"m-{run}-0123abcd"
    assert parse_artifact_path(f"1/models/{model}/artifacts/MLmodel").full == (
        f"mlflow-models/{model}/MLmodel"
    )
    for bad in (
        f"1/{run}/artifacts/../x",
        f"1/{run}/artifacts/%2e%2e/x",
        "/etc/passwd",
        f"1/{'b' * 32}/other/x",
    ):
        with pytest.raises((InvalidInput, MlflowError)):
            parse_artifact_path(bad)


def test_errors_in_mlflow_shape() -> None:
    error = mlflow_error(InvalidInput("bad"))
    assert (error.status, error.body()) == (
        400,
        {"error_code": "INVALID_PARAMETER_VALUE", "message": "bad"},
    )
    assert mlflow_error(RuntimeError("secret")).status == 500
    assert "secret" not in mlflow_error(RuntimeError("secret")).message


def test_buffered_points_are_read_back(services) -> None:
    compat = MlflowCompat(services, flush_interval=60)  # only reads flush in this test
    try:
        exp = compat.create_experiment({"name": "buffered"}, "ann")["experiment_id"]
        run = compat.create_run({"experiment_id": exp, "run_name": "r"}, "ann")["run"]
        run_id = run["info"]["run_id"]
        for step in range(5):
            compat.log_metric(
                {
                    "run_id": run_id,
                    "key": "loss",
                    "value": 1.0 / (step + 1),
                    "timestamp": 1000 + step,
                    "step": step,
                },
                "ann",
            )
        assert compat.buffer._count == 5  # nothing written yet
        history = compat.metric_history({"run_id": run_id, "metric_key": "loss"}, "ann")
        assert [m["step"] for m in history["metrics"]] == [0, 1, 2, 3, 4]
        compat.log_metric({"run_id": run_id, "key": "loss", "value": 0.1, "step": 5}, "ann")
        got = compat.search_runs({"experiment_ids": [exp], "filter": "metrics.loss < 0.15"}, "ann")
        assert [r["info"]["run_name"] for r in got["runs"]] == ["r"]
        with pytest.raises(Exception, match="No run"):  # an unknown run: 404 at once
            compat.log_metric({"run_id": "0" * 32, "key": "loss", "value": 1.0}, "ann")
        with pytest.raises(InvalidInput):
            compat.log_metric({"run_id": run_id, "key": "a/b", "value": 1.0}, "ann")
        compat.log_metric({"run_id": run_id, "key": "loss", "value": 0.05, "step": 6}, "ann")
    finally:
        compat.close()  # the extension's stop: what is pending is written
    assert compat.buffer._count == 0
    steps = [p["step"] for p in services.tracking.metric_history(run_id, "loss")["points"]]
    assert steps == [0, 1, 2, 3, 4, 5, 6]
    assert [
        e["details"]["points"]
        for e in services.audit.list(action="run.log")["items"]
        if e["entity_id"] == run_id
    ] == [1, 1, 5]  # one audit event per written batch


def test_write_scope_names_what_a_write_touches(services) -> None:
    compat = MlflowCompat(services)
    run, model_id = "a" * 32, f"m-{'b' * 32}-0123abcd"
    assert compat.write_scope("runs/log-metric", {"run_id": run}) == [("run", run)]
    assert compat.write_scope("runs/create", {"experiment_id": "e1"}) == [("experiment", "e1")]
    assert compat.write_scope("registered-models/alias", {"name": "churn"}) == [("model", "churn")]
    assert compat.write_scope("registered-models/create", {"name": "churn"}) == []
    assert compat.write_scope(f"logged-models/{model_id}", {}) == [("run", "b" * 32)]
    assert compat.artifact_scope(f"1/{run}/artifacts/x.txt") == [("run", run)]


def test_log_batch_fast_and_general_paths(services) -> None:
    compat = MlflowCompat(services)
    exp = compat.create_experiment({"name": "batch"}, "ann")["experiment_id"]
    run_id = compat.create_run({"experiment_id": exp}, "ann")["run"]["info"]["run_id"]
    compat.log_batch(
        {
            "run_id": run_id,
            "metrics": [
                {"key": "m", "value": 1, "timestamp": "5", "step": "2"},
                {"key": "m", "value": "NaN", "timestamp": 6, "step": 3},
            ],
        },
        "ann",
    )
    history = compat.metric_history({"run_id": run_id, "metric_key": "m"}, "ann")["metrics"]
    assert [(m["step"], m["timestamp"]) for m in history] == [(2, 5), (3, 6)]
    with pytest.raises(InvalidInput, match="step"):
        compat.log_batch(
            {
                "run_id": run_id,
                "metrics": [{"key": "m", "value": 1.0, "timestamp": 1, "step": 1.5}],
            },
            "ann",
        )
    with pytest.raises(MlflowError, match="no value"):
        compat.log_batch({"run_id": run_id, "metrics": [{"key": "m", "timestamp": 1}]}, "ann")
