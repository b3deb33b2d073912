"""Prediction capture in-process: the real Starlette app (lifespan and all) on a model
folder, the real writer thread and real Parquet files in a temporary folder."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

# starlette's TestClient asks for httpx2 (not installed); httpx works the same here
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, data):
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    X, y = data
    folder = tmp_path_factory.mktemp("capture-model")
    sio.dump(
        RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y), folder / "model.skops"
    )
    return folder


def _log(root: Path) -> pd.DataFrame:
    files = sorted(root.glob("predictions/deployment=local/date=*/part-*.parquet"))
    assert files and not list(root.glob("predictions/**/.*.tmp"))
    return pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)


def test_every_acknowledged_prediction_is_logged_with_its_own_inputs(model_dir, tmp_path, data):
    from starlette.testclient import TestClient

    from labcycle.serving.app import ServeConfig, build_app

    X, _ = data
    config = ServeConfig(
        model=str(model_dir), capture_url=str(tmp_path / "log"), flush_seconds=60
    )  # only the shutdown writes: nothing may be lost
    sent: dict[str, dict] = {}
    with TestClient(build_app(config)) as client:
        deadline = time.monotonic() + 60
        while client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        cols = list(X.columns)
        bodies = [
            ("json", {"columns": cols[::-1], "data": X.iloc[0:3][cols[::-1]].values.tolist()}),
            ("json", X.iloc[3:4].to_dict("records")),
            ("json", {"records": X.iloc[4:9].to_dict("records")}),
            ("csv", X.iloc[9:11].to_csv(index=False)),
        ]
        start = 0
        for kind, body in bodies:
            if kind == "csv":
                r = client.post("/predict", content=body, headers={"Content-Type": "text/csv"})
            else:
                r = client.post("/predict", json=body)
            assert r.status_code == 200, r.text
            answer = r.json()
            rows = X.iloc[start : start + len(answer["prediction_ids"])]
            start += len(rows)
            for pid, (_, row), pred in zip(
                answer["prediction_ids"], rows.iterrows(), answer["predictions"], strict=True
            ):
                sent[pid] = {"row": row, "pred": pred, "request_id": answer["request_id"]}
        assert client.post("/predict", json=[{"nope": 1}]).status_code == 400  # not logged
        stats = client.get("/stats").json()
        assert stats["requests"] == 5 and stats["rejected"] == 1
    frame = _log(tmp_path / "log")  # the lifespan's shutdown wrote the queue
    assert len(frame) == len(sent) == 11 and frame["prediction_id"].is_unique
    assert set(frame["prediction_id"]) == set(sent)
    for rec in frame.to_dict("records"):
        want = sent[rec["prediction_id"]]
        # columns sent in another order still land in their own column
        assert [rec[f"input.{c}"] for c in X.columns] == pytest.approx(want["row"].tolist())
        assert rec["prediction"] == want["pred"] and rec["request_id"] == want["request_id"]
        assert len(rec["probability"]) == 2 and rec["latency_ms"] > 0
    assert all(re.fullmatch(r"[0-9a-f]{32}", p) for p in frame["prediction_id"])


def captured(ids, columns, n_requests=1, version="v1", ts=None, block=None, predictions=None):
    """A captured batch as the model server makes one (ids from ``ids``, an IdSource)."""
    from labcycle.serving.capture import CapturedBatch

    n = len(next(iter(columns.values()))) if block is None else len(block)
    per = [n // n_requests] * n_requests
    per[-1] += n - sum(per)
    return CapturedBatch(
        columns=columns,
        predictions=np.arange(n) % 2 if predictions is None else predictions,
        probabilities=np.full((n, 2), 0.5),
        prediction_ids=ids.take(n),
        request_ids=[ids.next() for _ in per],
        request_rows=per,
        latency_ms=[1.5] * n_requests,
        model_name="m",
        model_version=int(version[1:]),
        version_id=version,
        ts_ms=int(time.time() * 1000) if ts is None else ts,
        block=block,
    )


def mixed_batches(ids):
    """Batches that cannot all share one table: types, versions, days and layouts differ."""
    block = np.arange(12, dtype=np.float64).reshape(4, 3)
    now = int(time.time() * 1000)
    return [
        captured(ids, {"a": np.array([1.0, 2.0]), "s": np.array(["x", None], dtype=object)}),
        captured(
            ids,
            {"a": np.array([3, 4, 5]), "s": np.array(["y", "z", "w"], dtype=object)},
            n_requests=2,
        ),  # int where the other batch had float: one promoted column
        captured(ids, dict.fromkeys(["p", "q", "r"]), block=block),
        captured(ids, {"a": np.array([9.0]), "s": np.array(["v"], dtype=object)}, version="v2"),
        captured(
            ids, {"a": np.array([7.0]), "s": np.array(["u"], dtype=object)}, ts=now - 86_400_000
        ),
    ]


def test_writer_groups_many_batches_and_keeps_mixed_types(tmp_path):
    import fsspec

    from labcycle.serving.capture import CaptureWriter, IdSource

    fs, root = fsspec.core.url_to_fs(str(tmp_path))
    writer = CaptureWriter(fs, root, "dep")  # never started: flush() by hand
    batches = mixed_batches(IdSource())
    block = batches[2].block
    for b in batches:
        writer.append(b)
    writer.flush()
    files = sorted(tmp_path.glob("predictions/deployment=dep/date=*/part-*.parquet"))
    assert len({f.parent for f in files}) == 2  # today and yesterday
    frame = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    assert len(frame) == 11 == writer.written_rows and frame["prediction_id"].is_unique
    by_id = frame.set_index("prediction_id")
    first, second, blocked = batches[0], batches[1], batches[2]
    assert pd.isna(by_id.loc[first.prediction_ids[1], "input.s"])  # a null, not "None"
    assert by_id.loc[first.prediction_ids[0], "input.s"] == "x"
    assert list(by_id.loc[second.prediction_ids, "input.a"]) == [3.0, 4.0, 5.0]
    assert list(by_id.loc[second.prediction_ids, "request_id"]) == [
        second.request_ids[0],
        second.request_ids[1],
        second.request_ids[1],
    ]
    assert (
        by_id.loc[blocked.prediction_ids, ["input.p", "input.q", "input.r"]].values.tolist()
        == block.tolist()
    )
    assert set(by_id.loc[batches[3].prediction_ids, "model_version"]) == {2}
    assert writer.failures == 0


def test_the_matrix_path_predicts_what_the_estimator_does(model_dir, data):
    import skops.io as sio

    from labcycle.serving.loader import ServedModel, _signature_from_estimator, load_path

    X, _ = data
    served = load_path(model_dir)
    assert served.matrix_ok  # a forest whose feature names are the signature's columns
    est = sio.load(
        model_dir / "model.skops", trusted=sio.get_untrusted_types(file=model_dir / "model.skops")
    )
    rows = X.iloc[:40]
    labels, proba = served.predict_matrix(rows.to_numpy(np.float64))
    assert (labels == est.predict(rows)).all()
    assert np.allclose(proba, est.predict_proba(rows))
    frame_labels, frame_proba = served.predict(rows)
    assert (frame_labels == labels).all() and np.allclose(frame_proba, proba)
    # columns in another order than the estimator's: never the matrix path
    signature = _signature_from_estimator(est)
    signature["inputs"] = signature["inputs"][::-1]
    assert not ServedModel(est, {"id": "x"}, signature).matrix_ok


def test_ids_are_unique_hex_and_differ_between_processes():
    from labcycle.serving.capture import IdSource

    a, b = IdSource(), IdSource()
    many = a.take(1000) + [a.next() for _ in range(10)] + b.take(10)
    assert len(set(many)) == len(many)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in many)
    assert a.prefix != b.prefix and many[0].startswith(a.prefix)


def test_capture_off_keeps_requests_out_of_the_log_even_inside_a_batch(model_dir, tmp_path, data):
    """``X-LabCycle-Capture: off`` (the what-if app's explorations): answered, not logged,
    also when the request shares a batch with logged ones."""
    from starlette.testclient import TestClient

    from labcycle.serving.app import ServeConfig, build_app
    from labcycle.serving.batching import Pending

    X, _ = data
    config = ServeConfig(model=str(model_dir), capture_url=str(tmp_path / "log"), flush_seconds=60)
    app = build_app(config)
    with TestClient(app) as client:
        deadline = time.monotonic() + 60
        while client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        logged = client.post("/predict", json=X.iloc[0:2].to_dict("records")).json()
        skipped = client.post(
            "/predict", json=X.iloc[2:5].to_dict("records"), headers={"X-LabCycle-Capture": "off"}
        )
        assert skipped.status_code == 200 and len(skipped.json()["predictions"]) == 3
        server = app.state.server
        slot = server.choose()
        items = [
            Pending(
                {c: X[c].to_numpy()[i : i + n] for c in X.columns},
                n,
                f"r{i}",
                time.perf_counter(),
                None,
                capture,
            )
            for i, n, capture in ((5, 2, False), (7, 3, True), (10, 1, False))
        ]
        results = server._run_batch(slot, items)  # one batch: 6 rows, 3 of them to log
    frame = _log(tmp_path / "log")
    kept = set(logged["prediction_ids"]) | set(results[1][2])
    assert set(frame["prediction_id"]) == kept and len(frame) == 5
    mixed = frame[frame["request_id"] == "r7"]
    assert sorted(mixed["input.mean radius"]) == sorted(X["mean radius"].iloc[7:10])


def test_prediction_ids_rebuilt_with_numpy_equal_the_strings(tmp_path):
    """The id column is rebuilt from prefix + counter runs; a batch whose ids are not one
    run (another thread took a counter in between) falls back to the strings."""
    from labcycle.serving.capture import CapturedBatch, IdSource, _id_column

    ids, other = IdSource(), IdSource()

    def batch(pids):
        return CapturedBatch(
            columns={"a": np.zeros(len(pids))},
            predictions=np.zeros(len(pids)),
            probabilities=None,
            prediction_ids=pids,
            request_ids=["r"],
            request_rows=[len(pids)],
            latency_ms=[1.0],
            model_name="m",
            model_version=1,
            version_id="v",
            ts_ms=0,
        )

    runs = [batch(ids.take(3)), batch(other.take(2)), batch([]), batch(ids.take(1))]
    ids._counter = iter(range(2**64 - 3, 2**64))  # the largest counters still format right
    runs.append(batch(ids.take(2)))
    expected = [p for b in runs for p in b.prediction_ids]
    assert _id_column(runs).to_pylist() == expected
    gap = other.take(3)
    broken = runs + [batch([gap[0], gap[2]])]
    assert _id_column(broken).to_pylist() == expected + [gap[0], gap[2]]
