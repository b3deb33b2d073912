"""What a user sees of a running deployment: ``GET /stats`` of the process (request rate and
latency over the last minute, behind the API key or the supervisor's stats token) and
:meth:`DeploymentService.live` (``curl_example``, ``try_url``, ``request_rate``,
``latency_ms``; None values, never an error, when a process does not answer)."""

from __future__ import annotations

import subprocess
import time
from urllib.parse import parse_qs, urlsplit

from .conftest import ACTOR, records


def test_stats_count_requests_and_latency(deployment, data, http):
    X, _ = data
    url = deployment["url"]
    before = http.get(url + "stats").json()
    assert before["deployment_id"] == deployment["id"] and before["window_s"] == 60
    for i in range(6):
        assert http.post(url + "predict", json=records(X, 1 + i % 3, start=i)).status_code == 200
    assert http.post(url + "predict", json=[{"nope": 1}]).status_code == 400
    assert (
        http.post(
            url + "predict", content=b"{broken", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    after = http.get(url + "stats").json()
    assert after["requests"] - before["requests"] == 8
    assert after["rejected"] - before["rejected"] == 2
    assert after["errors"] == before["errors"]
    assert after["window_requests"] >= 8 and after["request_rate"] > 0
    lat = after["latency_ms"]
    assert 0 < lat["p50"] <= lat["p99"] < 30_000 and lat["mean"] > 0
    assert http.post(url + "stats").status_code == 405


def test_stats_of_a_keyed_deployment_need_the_key_or_the_stats_token(services, fleet, data, http):
    from labcycle.services.deployments import stats_token

    X, _ = data
    d = fleet["keyed"]
    url = d["url"] + "stats"
    stored = services.deployments.get(d["id"], secret=True)["api_key_hash"]
    assert http.get(url).status_code == 401
    assert http.get(url, headers={"X-LabCycle-Stats": "0" * 64}).status_code == 401
    assert (
        http.get(url, headers={"X-LabCycle-Stats": stats_token("sha256:" + "1" * 64)}).status_code
        == 401
    )
    assert (
        http.get(url, headers={"X-LabCycle-Stats": stored}).status_code == 401
    )  # not the hash itself
    assert http.get(url, headers={"X-LabCycle-Stats": b"\xe9\xff" * 32}).status_code == 401
    # the token opens /stats only, never /predict
    token = {"X-LabCycle-Stats": stats_token(stored)}
    assert http.post(d["url"] + "predict", json=records(X, 1), headers=token).status_code == 401
    assert http.get(url, headers=token).status_code == 200
    key = {"Authorization": f"Bearer {d['api_key']}"}
    reply = http.post(d["url"] + "predict", json=records(X, 2), headers=key)
    assert reply.status_code == 200
    # test_switch checks the log of this deployment holds exactly what was acknowledged
    fleet["keyed"].setdefault("acknowledged", []).extend(reply.json()["prediction_ids"])
    answer = http.get(url, headers=key).json()
    assert answer["deployment_id"] == d["id"] and answer["requests"] >= 1


def test_live_adds_curl_try_url_rate_and_latency(services, fleet, data, http):
    X, _ = data
    d = fleet["shared"]
    for i in range(3):
        assert http.post(d["url"] + "predict", json=records(X, 1, start=i)).status_code == 200
    live = services.deployments.live(
        services.deployments.get(d["id"]), base_url="http://127.0.0.1:8888/base/"
    )
    assert live["curl_example"].startswith(f"curl -s -X POST {d['url']}predict ")
    assert "mean radius" in live["curl_example"]
    parts = urlsplit(live["try_url"])
    assert (parts.scheme, parts.netloc, parts.path) == (
        "http",
        "127.0.0.1:8888",
        "/base/labcycle/apps/predict",
    )
    assert parse_qs(parts.query) == {"deployment_url": [d["url"]]}
    assert live["request_rate"] > 0 and live["latency_ms"] > 0
    assert live["latency_p99_ms"] >= live["latency_ms"]
    assert live["stats"]["deployment_id"] == d["id"]

    # the keyed deployment: read with the stats token; its curl example asks for the key
    keyed = services.deployments.live(services.deployments.get(fleet["keyed"]["id"]))
    assert keyed["try_url"] is None  # no Jupyter server known here
    assert "Authorization: Bearer $LABCYCLE_API_KEY" in keyed["curl_example"]
    assert keyed["stats"] is not None and keyed["request_rate"] is not None

    # a list: one answer per deployment, in the same order
    listed = services.deployments.live(services.deployments.list()["items"])
    assert [x["id"] for x in listed] == [x["id"] for x in services.deployments.list()["items"]]
    assert all(x["curl_example"] for x in listed)


def test_live_gives_nulls_for_a_process_that_does_not_answer(services, fleet):
    # A row that claims a ready process on a port where nothing listens (a crashed server
    # the supervisor has not noticed yet): null figures, quickly, and no error.
    ghost = services.deployments.create("bc/1", actor=ACTOR, name="bc-ghost")
    dead = subprocess.Popen(["true"])
    dead.wait()
    try:
        services.deployments.set_runtime(ghost["id"], status="ready", pids=[dead.pid])
        started = time.monotonic()
        live = services.deployments.live(services.deployments.get(ghost["id"]))
        assert time.monotonic() - started < 5
        assert (live["request_rate"], live["latency_ms"], live["stats"]) == (None, None, None)
        assert live["curl_example"].startswith("curl ")
        services.deployments.stop(ghost["id"], actor=ACTOR)
        services.deployments.set_runtime(ghost["id"], status="stopped", pids=[])
        stopped = services.deployments.live(services.deployments.get(ghost["id"]))
        assert stopped["request_rate"] is None and stopped["curl_example"]
    finally:
        services.deployments.stop(ghost["id"], actor=ACTOR)
        services.deployments.set_runtime(ghost["id"], status="stopped", pids=[])


def test_python_api_and_cli_show_the_live_fields(deployment, data, http):
    import json

    from click.testing import CliRunner

    import labcycle as lc
    from labcycle.cli.base import main

    X, _ = data
    assert http.post(deployment["url"] + "predict", json=records(X, 1)).status_code == 200
    dep = lc.get_deployment("bc-shared")
    assert dep.request_rate > 0 and dep.latency_ms > 0
    assert dep.curl_example == dep.data["curl_example"] and "mean radius" in dep.curl_example
    assert "<pre>" in dep._repr_html_()
    result = CliRunner().invoke(main, ["deployments", "show", "bc-shared"])
    assert result.exit_code == 0, result.output
    assert "Last minute:" in result.output and "req/s" in result.output
    assert f"curl -s -X POST {deployment['url']}predict" in result.output
    result = CliRunner().invoke(main, ["deployments", "ls", "--json"])
    shown = {d["id"]: d for d in json.loads(result.output)}[deployment["id"]]
    assert shown["request_rate"] > 0 and shown["curl_example"]
