"""Zero-downtime changes: an alias moves under load, a broken version never takes traffic,
a traffic split, API keys off loopback, and a supervisor restart that adopts processes."""

from __future__ import annotations

import collections
import os
import signal
import threading
import time

import httpx
from waiting import wait_for

from .conftest import ACTOR, records


def test_alias_switch_under_load_then_broken_version(services, supervisor, fleet, data, http):
    X, _ = data
    d = fleet["live"]
    url = d["url"] + "predict"
    stop = threading.Event()
    seen: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()

    def hammer(i: int) -> None:
        body = records(X, 1 + i % 3, start=i)
        with httpx.Client(timeout=30, trust_env=False) as client:
            while not stop.is_set():
                try:
                    r = client.post(url, json=body)
                    if r.status_code != 200:
                        failures.append(f"{r.status_code} {r.text[:200]}")
                        continue
                    with lock:
                        seen.append(r.json()["model_version"])
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(seen) > 200, timeout=20)
        assert set(seen) == {1}
        services.registry.set_alias("bc", "live", 2, actor=ACTOR)
        moved_at = len(seen)
        wait_for(
            lambda: seen[-50:].count(2) == 50 if len(seen) > moved_at + 50 else False, timeout=20
        )
        switched_at = len(seen)
        # v3's model file is missing: moving the alias there must not disturb serving
        services.registry.set_alias("bc", "live", 3, actor=ACTOR)
        time.sleep(2.5)
        after_broken = seen[switched_at:]
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == [], failures[:5]
    assert after_broken and set(after_broken) == {2}, collections.Counter(after_broken)
    # once v2 took over, v1 never answered again (atomic switch, per process)
    first_v2 = seen.index(2)
    assert seen[first_v2:].count(1) <= 8  # requests already in flight on v1 may finish there
    ready = http.get(d["url"] + "ready").json()
    states = {v["version"]: v for v in ready["versions"].values()}
    assert states[3]["state"] == "failed" and states[3]["error"], states
    assert states[2]["state"] == "ready"
    row = supervisor.reconcile_one(d["id"])
    assert row["status"] == "ready" and "version 3" in (row["error"] or ""), row
    print(f"switch: {len(seen)} requests, 0 failed, {collections.Counter(seen)}")


def test_traffic_split(services, fleet, data, http):
    X, _ = data
    d = fleet["split"]
    body = records(X, 1)
    url = d["url"] + "predict"

    def versions(n: int) -> list[int]:
        with httpx.Client(timeout=30, trust_env=False) as client:
            return [client.post(url, json=body).json()["model_version"] for _ in range(n)]

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        counts = collections.Counter(v for part in pool.map(versions, [100] * 4) for v in part)
    # 400 draws at 10%: mean 40, sd 6; +-3 sd
    assert 22 <= counts[2] <= 58 and counts[1] + counts[2] == 400, counts
    # change the split live: everything to v2
    services.deployments.update(d["id"], actor=ACTOR, traffic={"2": 100})
    v2 = services.registry.resolve("bc/2")["id"]
    wait_for(
        lambda: services.deployments.get(d["id"])["serving"].get("routes", {}).keys() == {v2},
        timeout=20,
    )
    time.sleep(0.3)  # the process reported the new routes; they are in place
    assert {
        http.post(d["url"] + "predict", json=body).json()["model_version"] for _ in range(50)
    } == {2}


def test_api_key_required_off_loopback(services, supervisor, fleet, data, http):
    X, _ = data
    d = fleet["keyed"]
    key = d["api_key"]
    assert key and d["api_key_required"]
    stored = services.deployments.get(d["id"], secret=True)["api_key_hash"]
    assert stored.startswith("sha256:") and key not in stored
    assert "api_key" not in services.deployments.get(d["id"])
    assert d["status"] == "ready" and d["url"].startswith("http://127.0.0.2:"), d
    url = d["url"] + "predict"
    body = records(X, 1)
    assert http.post(url, json=body).status_code == 401
    assert http.post(url, json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert http.post(url, json=body, headers={"X-API-Key": key[:-1] + "x"}).status_code == 401
    assert http.get(d["url"] + "schema").status_code == 401
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
        r = http.post(url, json=body, headers=headers)
        assert r.status_code == 200
        fleet["keyed"].setdefault("acknowledged", []).extend(r.json()["prediction_ids"])
    assert http.get(d["url"] + "health").status_code == 200  # probes need no key
    log = (supervisor.folder(d["id"]) / "server.log").read_text()
    assert key not in log


def test_supervisor_restart_adopts_and_restarts(
    services, serving_env, supervisor, fleet, data, http
):
    from labcycle.serving.supervisor import Supervisor

    X, _ = data
    d = fleet["adopt"]
    pid = d["pids"][0]
    supervisor.reconcile_one(d["id"])  # the first supervisor goes away; the process stays
    assert http.post(d["url"] + "predict", json=records(X, 1)).status_code == 200
    second = Supervisor(services, serving_env["home"], interval=0.3)
    again = second.reconcile_one(d["id"])
    assert again["pids"] == [pid] and again["url"] == d["url"] and again["status"] == "ready"
    # a crashed process is restarted on the same URL
    os.kill(pid, signal.SIGKILL)
    second.start()
    new = wait_for(
        lambda: (
            lambda r: r if r["pids"] and r["pids"][0] != pid and r["status"] == "ready" else None
        )(services.deployments.get(d["id"])),
        timeout=90,
    )
    assert new["url"] == d["url"] and new["restarts"] == 1
    assert http.post(d["url"] + "predict", json=records(X, 1)).status_code == 200
    # scale: restarted with 2 workers, still the same URL
    services.deployments.update(d["id"], actor=ACTOR, workers=2)
    wait_for(
        lambda: (
            http.get(d["url"] + "health").json().get("workers") == 2
            if _up(http, d["url"])
            else False
        ),
        timeout=90,
    )
    wait_for(lambda: all(_ready(http, d["url"]) for _ in range(8)), timeout=90)  # both workers
    assert http.post(d["url"] + "predict", json=records(X, 1)).status_code == 200
    second.stop()


def _ready(http, url: str) -> bool:
    try:
        return http.get(url + "ready").status_code == 200
    except httpx.HTTPError:
        return False


def _up(http, url: str) -> bool:
    try:
        return http.get(url + "health").status_code == 200
    except httpx.HTTPError:
        return False


def test_prediction_log_and_feedback_after_sigterm(services, supervisor, fleet, data, http):
    """Runs last on the keyed deployment: every acknowledged prediction is in the Parquet log
    once the process has been stopped with SIGTERM, and ground truth is joined to it."""
    import labcycle as lc
    from labcycle.serving.logs import read_predictions

    X, y = data
    d = fleet["keyed"]
    headers = {"Authorization": f"Bearer {d['api_key']}"}
    url = d["url"] + "predict"
    acknowledged: list[str] = []
    lock = threading.Lock()

    def send(i: int) -> None:
        with httpx.Client(timeout=30, trust_env=False) as client:
            for j in range(15):
                r = client.post(
                    url, json=records(X, 1 + (i + j) % 4, start=i * 7 + j), headers=headers
                )
                assert r.status_code == 200, r.text
                with lock:
                    acknowledged.extend(r.json()["prediction_ids"])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = list(acknowledged)
    earlier = fleet["keyed"].get("acknowledged", [])  # from the API key test
    r = http.post(
        d["url"] + "feedback",
        headers=headers,
        json={
            "feedback": [
                {"prediction_id": ids[0], "value": 1},
                {"prediction_id": ids[1], "value": 0},
            ]
        },
    )
    assert r.status_code == 202 and r.json()["logged"] == 2, r.text
    bad = http.post(d["url"] + "feedback", headers=headers, json={"prediction_id": "x", "value": 1})
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "prediction_id"
    assert (
        http.post(d["url"] + "feedback", json={"prediction_id": ids[0], "value": 1}).status_code
        == 401
    )
    lc.log_ground_truth(d["name"], ids[2], "yes")
    # SIGTERM: the process drains and writes what it acknowledged
    services.deployments.stop(d["id"], actor=ACTOR)
    stopped = supervisor.reconcile_one(d["id"])
    assert stopped["status"] == "stopped" and stopped["pids"] == []
    frame = read_predictions(d["id"], services=services)
    assert len(frame) == len(ids) + len(earlier)
    assert set(frame["prediction_id"]) == set(ids) | set(earlier)
    for column in (
        "prediction_id",
        "request_id",
        "deployment_id",
        "model_name",
        "model_version",
        "version_id",
        "ts",
        "latency_ms",
        "prediction",
        "probability",
        "input.mean radius",
        "ground_truth",
    ):
        assert column in frame.columns, column
    assert (frame["model_version"] == 1).all() and (frame["deployment_id"] == d["id"]).all()
    assert frame["latency_ms"].gt(0).all() and frame["probability"].map(len).eq(2).all()
    truth = frame.set_index("prediction_id")["ground_truth"]
    assert truth[ids[0]] == 1 and truth[ids[1]] == 0 and truth[ids[2]] == "yes"
    assert truth.drop([ids[0], ids[1], ids[2]]).isna().all()
    day = frame["ts"].iloc[0].strftime("%Y-%m-%d")
    folder = f"{services.blobs.root}/predictions/deployment={d['id']}/date={day}"
    files = services.blobs.fs.ls(folder, detail=False)
    assert files and all(
        f.rsplit("/", 1)[-1].startswith("part-") and f.endswith(".parquet") for f in files
    )
    page = services.deployments.predictions(d["id"], max_results=10)
    assert len(page["items"]) == 10 and page["next_page_token"]
    assert set(page["items"][0]) >= {"prediction_id", "inputs", "prediction", "ground_truth"}
