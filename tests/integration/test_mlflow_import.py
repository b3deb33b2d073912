"""``labcycle import mlflow`` on stores that the real MLflow client wrote.

One module fixture writes the same workload with MLflow 3 (``mlflow_python``) to a
``sqlite:///`` store, a file store (``mlruns``; MLflow 3 refuses it unless
``MLFLOW_ALLOW_FILE_STORE=true``) and a live ``mlflow server`` on a loopback port, and
records what MLflow's own client reads back. Each store is imported into an empty hub and
compared with that; a second import must add nothing.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from labcycle.services import Services
from labcycle.services.mlflow_import import RUN_TAG, VERSION_TAG, import_mlflow, safe_key

HERE = Path(__file__).parent
pytestmark = pytest.mark.timeout(600)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_stores(mlflow_python: str, tmp_path_factory: pytest.TempPathFactory):
    """``{"sqlite": (uri, expected), "file": ..., "http": ...}`` written by real MLflow."""
    root = tmp_path_factory.mktemp("mlflow-stores")
    env = {
        **os.environ,
        "MLFLOW_ALLOW_FILE_STORE": "true",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "PATH": f"{Path(mlflow_python).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    port = _free_port()
    log = open(root / "server.log", "wb")  # noqa: SIM115 - the server writes it until the end
    server = subprocess.Popen(
        [
            mlflow_python,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{root / 'server.db'}",
            "--artifacts-destination",
            str(root / "server-artifacts"),
        ],
        env=env,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    uris = {
        "sqlite": f"sqlite:///{root / 'mlflow.db'}",
        "file": (root / "mlruns").as_uri(),
        "http": f"http://127.0.0.1:{port}",
    }
    try:
        out = root / "expected.json"
        done = subprocess.run(
            [mlflow_python, str(HERE / "mlflow_store_writer.py"), str(out), *uris.values()],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=540,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        expected = json.loads(out.read_text())
        yield {kind: (uri, expected[uri]) for kind, uri in uris.items()}, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture
def hub(tmp_path: Path, sqlite_template: Path):
    shutil.copyfile(sqlite_template, tmp_path / "labcycle.db")
    services = Services.open(f"sqlite:///{tmp_path / 'labcycle.db'}", str(tmp_path / "artifacts"))
    yield services
    services.close()


def _hub_runs(services: Services) -> dict[str, dict]:
    runs = services.tracking.search_runs(max_results=1000)["items"]
    return {r["tags"][RUN_TAG]: r for r in runs if RUN_TAG in r["tags"]}


def _check_store(services: Services, expected: dict, location: str) -> None:
    runs = _hub_runs(services)
    assert set(runs) == set(expected["runs"]), "every live run, and no deleted one"
    assert "discarded" not in {r["name"] for r in runs.values()}
    for mlflow_id, want in expected["runs"].items():
        run = services.tracking.get_run(runs[mlflow_id]["id"])
        assert run["name"] == want["name"]
        assert run["experiment_name"] == want["experiment"]
        assert run["status"] == {"FINISHED": "finished", "FAILED": "failed"}[want["status"]]
        assert run["params"] == {safe_key(k): v for k, v in want["params"].items()}
        for key, value in want["tags"].items():
            assert run["tags"][safe_key(key)] == value, key
        assert set(run["metrics"]) == {safe_key(k) for k in want["metrics"]}
        for key, points in want["metrics"].items():
            history = services.tracking.metric_history(run["id"], safe_key(key))["points"]
            got = [
                [p["step"], None if math.isnan(p["value"]) else p["value"], p["timestamp"]]
                for p in history
            ]
            assert sorted(got, key=repr) == sorted(points, key=repr), key
        artifacts = {a["path"]: a for a in services.artifacts.list_artifacts(run["id"])}
        plain = sorted(p for p in artifacts if not p.startswith("models/"))
        assert plain == want["artifacts"]
        if "report.txt" in artifacts:
            assert services.artifacts.read_artifact(run["id"], "report.txt") == b"lr report\n"
    for name, want in expected["models"].items():
        model = services.registry.get_model(name)
        versions = services.registry.list_versions(name)["items"]
        by_mlflow = {v["tags"][VERSION_TAG].rsplit("/", 1)[1]: v for v in versions}
        assert set(by_mlflow) == set(want["versions"])
        for number, version in by_mlflow.items():
            assert version["flavor"] == "sklearn"
            assert version["lineage"]["run_id"] == runs[want["versions"][number]["run_id"]]["id"]
            assert version["description"] == want["versions"][number]["description"]
            for key, value in want["versions"][number]["tags"].items():
                assert version["tags"][key] == value
        assert {
            a: str(next(m for m, v in by_mlflow.items() if v["version"] == n))
            for a, n in model["aliases"].items()
        } == {a: str(v) for a, v in want["aliases"].items()}
        assert model["tags"] == want["tags"]


@pytest.mark.parametrize("kind", ["sqlite", "file", "http"])
def test_import_matches_what_mlflow_reads_and_is_idempotent(mlflow_stores, hub, kind):
    stores, _ = mlflow_stores
    uri, expected = stores[kind]
    first = import_mlflow(hub, uri, actor="alice")
    assert first.runs_imported == len(expected["runs"]) == 3
    assert first.versions_imported == 2 and first.aliases_set == 2
    assert first.renamed_keys >= 3  # prep/scaler, train/acc, stage/phase
    assert not first.warnings
    _check_store(hub, expected, uri)
    # The imported model loads and predicts under the skops allow-list (no trust needed).
    import labcycle.models as models

    loaded = models.load_model("churn-model@champion", services=hub)
    assert loaded.predict(np.random.default_rng(1).random((4, 3))).shape == (4,)

    audit_before = hub.audit.list(max_results=1000)["items"]
    second = import_mlflow(hub, uri, actor="alice")
    assert second.added == 0
    assert second.runs_skipped == 3 and second.versions_skipped == 2
    assert hub.audit.list(max_results=1000)["items"] == audit_before, "no write at all"
    _check_store(hub, expected, uri)


def test_import_resumes_a_half_imported_run(mlflow_stores, hub):
    stores, _ = mlflow_stores
    uri, expected = stores["sqlite"]
    import_mlflow(hub, uri, actor="alice")
    run = next(iter(_hub_runs(hub).values()))
    # As if the import had died before the run's last write.
    from sqlalchemy import delete

    from labcycle.store.models import Tag

    with hub.store.write() as conn:
        conn.execute(
            delete(Tag.__table__).where(
                Tag.__table__.c.run_id == run["id"],
                Tag.__table__.c.key == "labcycle.mlflow.imported",
            )
        )
    again = import_mlflow(hub, uri, actor="alice")
    assert again.runs_repaired == 1 and again.runs_imported == 1
    _check_store(hub, expected, uri)


def test_cli_shows_progress_and_a_summary(mlflow_stores, tmp_path, monkeypatch):
    stores, root = mlflow_stores
    uri, expected = stores["file"]
    monkeypatch.setenv("LABCYCLE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LABCYCLE_DB_URL", raising=False)
    from labcycle.cli.base import main

    runner = CliRunner()
    # The store as a plain folder path, the way users type ./mlruns.
    result = runner.invoke(main, ["import", "mlflow", "--from", str(root / "mlruns")])
    assert result.exit_code == 0, result.output
    assert "runs" in result.output and "model versions" in result.output
    assert "renamed" in result.output
    again = runner.invoke(main, ["import", "mlflow", "--from", str(root / "mlruns"), "--json"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.output)
    assert summary["added"] == 0 and summary["runs_skipped"] == len(expected["runs"])
    missing = runner.invoke(main, ["import", "mlflow", "--from", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "No MLflow file store" in missing.output
    assert "Traceback" not in missing.output


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
