"""The whole monitoring loop on a real deployment: a model logged with its training data,
served, traffic that drifts on two features, ground truth, a check that finds both."""

from __future__ import annotations

from .conftest import ACTOR

SHIFTED = ("mean radius", "mean texture")


def test_a_check_of_real_traffic_finds_the_two_shifted_features(services, supervisor, data, http):
    from sklearn.ensemble import RandomForestClassifier

    import labcycle as lc

    X, y = data
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    with lc.start_run(name="train-bcmon"):
        lc.log_metric("accuracy", 0.97)
        version = lc.log_model(model, "bcmon", input_example=X.head(5), training_data=X)
    assert any(d["context"] == "training" for d in version.lineage["datasets"])

    d = services.deployments.create("bcmon/1", actor=ACTOR, name="bc-monitored")
    supervisor.reconcile_one(d["id"])
    d = supervisor.ensure(d["id"], wait=120)
    assert d["status"] == "ready", d

    traffic = X.sample(300, random_state=1, replace=True).reset_index(drop=True)
    truth = y.loc[X.sample(300, random_state=1, replace=True).index].to_numpy()
    traffic["mean radius"] *= 1.6  # two features drift; the other 28 do not
    traffic["mean texture"] += 12
    ids = []
    for start in range(0, len(traffic), 50):
        r = http.post(
            d["url"] + "predict", json=traffic.iloc[start : start + 50].to_dict("records")
        )
        assert r.status_code == 200, r.text
        ids += r.json()["prediction_ids"]
    for pid, label in zip(ids[:100], truth[:100], strict=True):
        services.deployments.log_ground_truth(d["id"], pid, int(label), actor=ACTOR)
    services.deployments.stop(d["id"], actor=ACTOR)
    supervisor.reconcile_one(d["id"])  # SIGTERM: the capture writer drains to Parquet

    monitor = services.monitors.create(
        actor=ACTOR, deployment="bc-monitored", window={"last_n": 1000}
    )
    assert monitor["reference_dataset_id"] == next(
        x["id"] for x in version.lineage["datasets"] if x["context"] == "training"
    )
    check = services.monitors.run_check(monitor["id"], actor=ACTOR)
    assert check["current_rows"] == 300, check
    drift = check["result"]["drift"]
    drifted = {name for name, col in drift["columns"].items() if col["drifted"]}
    assert set(SHIFTED) <= drifted, drifted
    assert len(drifted) <= 6, drifted  # the unshifted columns mostly stay put
    assert drift["columns"]["mean radius"]["method"] == "ks"  # 569 reference rows ≤ 1,000
    assert check["result"]["model_version"] == "bcmon/1"
    performance = check["result"]["performance"]
    assert performance["labelled_rows"] == 100
    assert 0 <= performance["metrics"]["accuracy"] <= 1
    assert performance["metrics"]["roc_auc"] is not None
