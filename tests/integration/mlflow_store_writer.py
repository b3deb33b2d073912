"""Write MLflow stores with the real MLflow client (run by the ``mlflow_python`` Python).

``python mlflow_store_writer.py OUT.json URI [URI ...]`` logs the same workload to every
tracking URI (``sqlite:///``, ``file://`` for the file store, ``http://`` for a server) and
writes, per URI, what MLflow's own client reads back: runs with params, tags, metric
histories and artifact paths, and registered models with versions and aliases. The import
test compares the hub with that.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB


def wait_for(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def workload(uri: str, files: Path) -> None:
    mlflow.set_tracking_uri(uri)
    client = MlflowClient()
    rng = np.random.default_rng(0)
    X = rng.random((40, 3))
    y = (X[:, 0] > 0.5).astype(int)
    mlflow.set_experiment("churn")
    with mlflow.start_run(run_name="lr") as run:
        mlflow.log_params({"C": 0.5, "solver": "lbfgs", "prep/scaler": "std"})
        for step in range(30):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            mlflow.log_metric("train/acc", 0.5 + step / 100, step=step)
        mlflow.log_metric("weird", math.nan, step=0)
        mlflow.set_tags({"team": "risk", "stage/phase": "dev"})
        (files / "report.txt").write_text("lr report\n")
        (files / "plots").mkdir(exist_ok=True)
        (files / "plots" / "roc.csv").write_text("fpr,tpr\n0,0\n1,1\n")
        mlflow.log_artifact(str(files / "report.txt"))
        mlflow.log_artifacts(str(files / "plots"), artifact_path="plots")
        mlflow.sklearn.log_model(
            LogisticRegression().fit(X, y),
            name="model",
            registered_model_name="churn-model",
            pip_requirements=["scikit-learn"],  # no slow requirement inference
        )
    with mlflow.start_run(run_name="nb"):
        mlflow.log_params({"var_smoothing": 1e-9})
        mlflow.log_metric("loss", 0.4, step=0)
        mlflow.sklearn.log_model(
            GaussianNB().fit(X, y),
            name="model",
            registered_model_name="churn-model",
            pip_requirements=["scikit-learn"],  # no slow requirement inference
        )
    with mlflow.start_run(run_name="discarded") as deleted:
        mlflow.log_param("x", 1)
    client.delete_run(deleted.info.run_id)
    mlflow.set_experiment("forecast")
    with mlflow.start_run(run_name="failed-run"):
        mlflow.log_metric("rmse", 3.5)
        mlflow.end_run(status="FAILED")
    client.set_registered_model_alias("churn-model", "champion", "1")
    client.set_registered_model_alias("churn-model", "challenger", "2")
    client.set_registered_model_tag("churn-model", "owner", "risk-team")
    client.set_model_version_tag("churn-model", "2", "validated", "no")
    client.update_model_version("churn-model", "1", description="the first one")
    assert run.info.run_id


def artifact_paths(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    found = []
    for item in client.list_artifacts(run_id, path):
        if item.is_dir:
            found += artifact_paths(client, run_id, item.path)
        else:
            found.append(item.path)
    return found


def read_back(uri: str) -> dict:
    mlflow.set_tracking_uri(uri)
    client = MlflowClient()
    runs = {}
    for experiment in client.search_experiments():
        for run in client.search_runs([experiment.experiment_id]):
            histories = {
                key: [
                    [m.step, None if math.isnan(m.value) else m.value, m.timestamp]
                    for m in client.get_metric_history(run.info.run_id, key)
                ]
                for key in run.data.metrics
            }
            runs[run.info.run_id] = {
                "name": run.info.run_name,
                "experiment": experiment.name,
                "status": run.info.status,
                "params": run.data.params,
                "tags": run.data.tags,
                "metrics": histories,
                "artifacts": sorted(artifact_paths(client, run.info.run_id)),
            }
    models = {}
    for model in client.search_registered_models():
        versions = client.search_model_versions(f"name='{model.name}'")
        models[model.name] = {
            "aliases": dict(model.aliases),
            "tags": dict(model.tags),
            "versions": {
                str(v.version): {
                    "run_id": v.run_id,
                    "tags": dict(v.tags),
                    "description": v.description or "",
                }
                for v in versions
            },
        }
    return {"runs": runs, "models": models}


def main() -> None:
    out, uris = Path(sys.argv[1]), sys.argv[2:]
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for uri in uris:
            if uri.startswith("http"):
                wait_for(uri)
            workload(uri, Path(tmp))
            result[uri] = read_back(uri)
    out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
