"""``labcycle import mlflow``: bad input gets a clear message; artifacts never lead out.

A small file store is laid out here the way MLflow 3 writes one (the real client's stores
are imported in tests/integration/test_mlflow_import.py); it is imported on SQLite and on
PostgreSQL through the ``services`` fixture.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from labcycle.errors import InvalidInput, NotFound
from labcycle.services.mlflow_import import RUN_TAG, import_mlflow, open_source, safe_key


def write_file_store(root: Path, outside: Path) -> Path:
    """An mlruns folder: one experiment, one finished run, one deleted run."""
    mlruns = root / "mlruns"
    exp = mlruns / "7"
    exp.mkdir(parents=True)
    (exp / "meta.yaml").write_text(
        "artifact_location: file:///nowhere/7\nexperiment_id: '7'\nlifecycle_stage: active\n"
        "name: hostile\n"
    )
    run = exp / "abc123"
    for sub in ("params", "metrics/train", "tags", "artifacts/docs"):
        (run / sub).mkdir(parents=True)
    (run / "meta.yaml").write_text(
        "artifact_uri: file:///moved/away/artifacts\nend_time: 1700000001000\n"
        "experiment_id: '7'\nlifecycle_stage: active\nrun_id: abc123\nrun_name: r\n"
        "start_time: 1700000000000\nstatus: 4\nuser_id: bob\n"
    )
    (run / "params" / "lr").write_text("0.1")
    (run / "metrics" / "train" / "loss").write_text(
        "1700000000100 0.9 0\n1700000000200 0.5 1\n1700000000300 nan 2\n"
    )
    (run / "tags" / "mlflow.runName").write_text("r")
    (run / "artifacts" / "docs" / "a.txt").write_text("inside")
    (run / "artifacts" / "docs" / "escape.txt").symlink_to(outside)
    deleted = exp / "def456"
    deleted.mkdir()
    (deleted / "meta.yaml").write_text(
        "experiment_id: '7'\nlifecycle_stage: deleted\nrun_id: def456\nstatus: 3\nstart_time: 1\n"
    )
    return mlruns


def test_safe_key():
    assert safe_key("train/loss") == "train.loss"
    assert safe_key("a//b") == "a.b"
    assert safe_key("../x") == "x"
    assert safe_key("plain") == "plain"


def test_a_file_store_on_both_backends(services, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not import me")
    mlruns = write_file_store(tmp_path, secret)
    summary = import_mlflow(services, str(mlruns), actor="alice")
    assert (summary.runs_imported, summary.metric_points, summary.artifacts) == (1, 3, 1)
    [run] = services.tracking.search_runs()["items"]
    assert run["tags"][RUN_TAG] == "abc123" and run["status"] == "failed"
    assert run["params"] == {"lr": "0.1"}
    history = services.tracking.metric_history(run["id"], "train.loss")["points"]
    assert [p["step"] for p in history] == [0, 1, 2]
    assert history[2]["value"] != history[2]["value"], "NaN kept"
    paths = [a["path"] for a in services.artifacts.list_artifacts(run["id"])]
    assert paths == ["docs/a.txt"], "the symlink out of the artifact folder is not followed"
    assert import_mlflow(services, mlruns.as_uri(), actor="alice").added == 0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "location, error, words",
    [
        ("", InvalidInput, "Give the MLflow store"),
        ("ftp://example.org/mlruns", InvalidInput, "Cannot import from"),
        ("sqlite:////no/such/mlflow.db", NotFound, "No MLflow database"),
        ("/no/such/mlruns", NotFound, "No MLflow file store"),
    ],
)
def test_bad_locations_say_what_to_fix(location, error, words):
    with pytest.raises(error, match=words):
        open_source(location)


def test_not_an_mlflow_store(tmp_path, sqlite_template):
    with pytest.raises(InvalidInput, match="not an MLflow tracking database"):
        open_source(f"sqlite:///{sqlite_template}")  # LabCycle's own database
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="not an MLflow file store"):
        open_source(str(tmp_path / "empty"))
    with pytest.raises(InvalidInput, match="Cannot reach the MLflow server"):
        open_source(f"http://127.0.0.1:{_closed_port()}")
