"""The MLflow client workload of tests/integration/test_mlflow_endpoint.py.

Runs in the MLflow venv (not LabCycle's), against whatever ``MLFLOW_TRACKING_URI`` names
(MLflow's own server or LabCycle's endpoint), and prints one JSON document of what the
server returned, free of ids and times, so the two servers' answers compare as equal.

Usage: ``python mlflow_client_workload.py OUT.json [SUFFIX]``; SUFFIX goes on the experiment
and model names (a shared server keeps them apart) and is left out of what is reported.
The ids of what it created are under ``"ids"``, which a comparison leaves out.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from sklearn.linear_model import LogisticRegression

T0 = 1_700_000_000_000


def run_view(run) -> dict:
    return {
        "name": run.info.run_name,
        "status": run.info.status,
        "params": dict(run.data.params),
        "metrics": dict(run.data.metrics),
        "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
    }


def main() -> None:
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    client = MlflowClient()
    out: dict = {}
    suffix = sys.argv[2] if len(sys.argv) > 2 else ""
    exp_name, model_name = "workload" + suffix, "workload-model" + suffix

    exp_id = client.create_experiment(exp_name)
    exp = client.get_experiment(exp_id)
    out["experiment"] = {
        "name": exp.name.removesuffix(suffix),
        "by_name": client.get_experiment_by_name(exp_name).experiment_id == exp_id,
        "artifact_scheme": exp.artifact_location.split(":", 1)[0],
    }
    out["missing_by_name"] = client.get_experiment_by_name("no-such-experiment") is None
    out["search_experiments"] = sorted(
        e.name.removesuffix(suffix) for e in mlflow.search_experiments() if e.name == exp_name
    )

    names = {}
    for i, (x, acc, tag) in enumerate([("1", 0.6, "v"), ("2", 0.4, "w"), ("3", 0.9, "v")]):
        run = client.create_run(exp_id, run_name=f"r{i}", start_time=T0 + i)
        rid = run.info.run_id
        names[rid] = f"r{i}"
        client.log_param(rid, "x", x)
        for step in range(5):
            client.log_metric(rid, "acc", acc - 0.1 + step * 0.025, timestamp=T0 + step, step=step)
        client.log_batch(
            rid,
            metrics=[Metric("loss", 1.0 / (s + 1 + i), T0 + s, s) for s in range(10)],
            params=[Param("lr", "0.01"), Param("depth", str(3 + i))],
            tags=[RunTag("batch", "yes")],
        )
        client.set_tag(rid, "k", tag)
        if i == 0:
            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "notes.txt").write_text("hello from the workload\n")
                (Path(tmp) / "sub").mkdir()
                (Path(tmp) / "sub" / "data.csv").write_text("a,b\n1,2\n")
                client.log_artifact(rid, str(Path(tmp) / "notes.txt"))
                client.log_artifacts(rid, str(Path(tmp) / "sub"), artifact_path="sub")
            first = rid
        client.set_terminated(rid, status="FAILED" if i == 1 else "FINISHED", end_time=T0 + 100)

    out["get_run"] = run_view(client.get_run(first))
    out["history"] = [(m.step, m.value) for m in client.get_metric_history(first, "acc")]
    out["loss_history"] = [
        (m.step, round(m.value, 9)) for m in client.get_metric_history(first, "loss")
    ]
    searches = {
        "acc": ("metrics.acc > 0.5", ["metrics.acc DESC"]),
        "param": ("params.x = '1'", None),
        "tag": ("tags.k = 'v'", ["attributes.start_time ASC"]),
        "status": ("attributes.status = 'FAILED'", None),
        "and": ("metrics.acc > 0.3 and tags.k = 'v'", ["metrics.acc ASC"]),
        "all_by_name": ("", ["attributes.run_name DESC"]),
    }
    out["search"] = {}
    for label, (flt, order) in searches.items():
        runs = client.search_runs([exp_id], filter_string=flt, order_by=order)
        out["search"][label] = [r.info.run_name for r in runs]
    out["search_runs_df"] = sorted(
        mlflow.search_runs([exp_id], filter_string="params.x = '2'")["tags.mlflow.runName"].tolist()
    )

    out["artifacts_root"] = sorted(
        (a.path, a.is_dir, a.file_size) for a in client.list_artifacts(first)
    )
    out["artifacts_sub"] = sorted(
        (a.path, a.is_dir, a.file_size) for a in client.list_artifacts(first, "sub")
    )
    with tempfile.TemporaryDirectory() as tmp:
        local = client.download_artifacts(first, "notes.txt", tmp)
        out["download"] = Path(local).read_text()
        local = mlflow.artifacts.download_artifacts(run_id=first, artifact_path="sub", dst_path=tmp)
        out["download_dir"] = sorted(p.name for p in Path(local).iterdir())

    # a scikit-learn model: logged (MLflow 3: logged models), registered, aliased, loaded
    X = np.array([[0.0, 0.1], [0.2, 0.9], [0.9, 0.8], [1.0, 0.1], [0.4, 0.6], [0.7, 0.2]])
    y = np.array([0, 1, 1, 0, 1, 0])
    model = LogisticRegression().fit(X, y)
    mlflow.set_experiment(experiment_id=exp_id)
    with mlflow.start_run(run_name="train") as active:
        mlflow.log_param("C", "1.0")
        info = mlflow.sklearn.log_model(model, name="model")
        model_run = active.info.run_id
    out["logged_model"] = {"name": info.name, "flavors": sorted(info.flavors)}
    out["model_artifacts"] = sorted(a.path for a in mlflow.artifacts.list_artifacts(info.model_uri))
    version = mlflow.register_model(info.model_uri, model_name)
    out["version"] = {
        "name": version.name.removesuffix(suffix),
        "version": str(version.version),
        "run": version.run_id == model_run,
    }
    client.set_registered_model_alias(model_name, "champion", version.version)
    by_alias = client.get_model_version_by_alias(model_name, "champion")
    out["alias"] = {"version": str(by_alias.version), "aliases": sorted(by_alias.aliases)}
    out["registered"] = {
        "name": client.get_registered_model(model_name).name.removesuffix(suffix),
        "aliases": dict(client.get_registered_model(model_name).aliases),
    }
    out["latest"] = [str(v.version) for v in client.get_latest_versions(model_name)]
    client.set_registered_model_alias(model_name, "temp", version.version)
    client.delete_registered_model_alias(model_name, "temp")
    out["aliases_after_delete"] = sorted(client.get_model_version(model_name, "1").aliases)
    loaded = mlflow.pyfunc.load_model(f"models:/{model_name}@champion")
    out["prediction"] = [int(v) for v in loaded.predict(X)]
    out["expected_prediction"] = [int(v) for v in model.predict(X)]
    out["ids"] = {
        "experiment": exp_id,
        "runs": names,
        "model_run": model_run,
        "model": model_name,
        "model_id": info.model_id,
    }
    Path(sys.argv[1]).write_text(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
