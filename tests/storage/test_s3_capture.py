"""Prediction capture of a real deployment writing its log to S3, and monitor checks reading
it from there.

The test process opens the store with explicit storage options and has no
``LABCYCLE_STORAGE_OPTIONS`` of its own: the deployment's server process (which loads the
model from the bucket) and its compactor (which writes the Parquet log to the bucket) reach
the S3 server only because the supervisor hands the options on.
"""

from __future__ import annotations

import os

import httpx
from waiting import wait_for

ACTOR = "tester"


def test_a_deployment_captures_to_s3_and_a_monitor_reads_it(s3_server, bucket, tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    import labcycle as lc
    from labcycle.api import fluent
    from labcycle.services import Services
    from labcycle.serving.logs import read_predictions
    from labcycle.serving.supervisor import Supervisor

    assert "LABCYCLE_STORAGE_OPTIONS" not in os.environ
    url, options = f"s3://{bucket}/team", s3_server.storage_options()
    db_url = f"sqlite:///{tmp_path / 'labcycle.db'}"
    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = [c.replace(" (cm)", "").replace(" ", "_") for c in X.columns]
    lc.configure(db_url=db_url, artifact_url=url, storage_options=options)
    try:
        model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
        lc.log_model(model, "iris-capture", input_example=X.head(5), training_data=X)
    finally:
        fluent._state.reset()

    services = Services.open(db_url, url, storage_options=options)
    supervisor = Supervisor(services, tmp_path / "home")
    try:
        d = services.deployments.create("iris-capture/1", actor=ACTOR, name="iris-s3")
        supervisor.reconcile_one(d["id"])
        d = supervisor.ensure(d["id"], wait=120)
        assert d["status"] == "ready", d

        def predict(start: int, n: int) -> list[str]:
            rows = X.iloc[start : start + n].to_dict("records")
            r = http.post(d["url"] + "predict", json=rows)
            assert r.status_code == 200, r.text
            return r.json()["prediction_ids"]

        with httpx.Client(timeout=30, trust_env=False) as http:
            ids = [pid for start in range(0, 40, 10) for pid in predict(start, 10)]
            # the compactor process writes the first rows while the deployment runs
            wait_for(lambda: len(read_predictions(d["id"], services=services)) == 40, timeout=90)
            monitor = services.monitors.create(
                actor=ACTOR, deployment="iris-s3", window={"last_n": 1000}
            )
            first = services.monitors.run_check(monitor["id"], actor=ACTOR)
            assert first["status"] != "error", first
            assert first["current_rows"] == 40, first

            for pid, label in zip(ids[:10], y.iloc[:10], strict=True):
                services.deployments.log_ground_truth(d["id"], pid, int(label), actor=ACTOR)
            ids += predict(40, 20)
        services.deployments.stop(d["id"], actor=ACTOR)
        supervisor.reconcile_one(d["id"])  # SIGTERM: what is left is drained to the log

        # the same filesystem object as the first check: no stale listing of the bucket
        second = services.monitors.run_check(monitor["id"], actor=ACTOR)
        assert second["current_rows"] == 60, second
        assert second["result"]["performance"]["labelled_rows"] == 10, second["result"]
        page = services.deployments.predictions(d["id"], max_results=5)
        # newest first: the last request's rows, which share its time, in written order
        assert [p["prediction_id"] for p in page["items"]] == ids[40:45]
    finally:
        supervisor.stop()
        services.close()

    import s3fs

    fs = s3fs.S3FileSystem(**options, skip_instance_cache=True)
    logged = fs.glob(f"{bucket}/team/predictions/deployment={d['id']}/date=*/part-*.parquet")
    feedback = fs.glob(f"{bucket}/team/feedback/deployment={d['id']}/date=*/part-*.parquet")
    assert logged and feedback
    assert not fs.glob(f"{bucket}/team/predictions/**/.*.tmp")  # no half-written file left
