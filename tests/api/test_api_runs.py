"""Runs over REST: lifecycle, params, metrics (non-finite values included), tags, search."""

from __future__ import annotations

import json
import math

from labcycle.server.responses import core as out


def strict_json(body: bytes):
    """Parse as standard JSON: a bare NaN/Infinity token fails the test."""

    def refuse(token: str):
        raise AssertionError(f"non-standard JSON token {token} in the response")

    return json.loads(body, parse_constant=refuse)


async def test_run_lifecycle(api, jp_base_url):
    created = await api(
        "POST",
        "runs",
        body={
            "experiment": "lifecycle",
            "project": "proj",
            "name": "first",
            "source": "notebook",
            "notebook_path": "work/train.ipynb",
            "kernel": "python3",
            "start_time": "2026-11-27T10:00:00Z",
            "git": {
                "remote": "https://example.org/r.git",
                "commit": "abc123",
                "branch": "main",
                "dirty": True,
                "diff": "+x",
            },
            "python_version": "3.11.7",
            "packages": {"numpy": "2.1.0"},
            "tags": {"team": "ml"},
        },
    )
    assert created.status == 201, created
    run = out.RunDetail.model_validate(created.json)
    assert created.headers["Location"] == f"{jp_base_url}labcycle/api/v1/runs/{run.id}"
    assert (run.name, run.status, run.source, run.experiment_name, run.project_name) == (
        "first",
        "running",
        "notebook",
        "lifecycle",
        "proj",
    )
    assert run.start_time.isoformat() == "2026-11-27T10:00:00+00:00"
    assert run.git.commit == "abc123" and run.git.dirty is True
    assert run.packages == {"numpy": "2.1.0"} and run.tags == {"team": "ml"}
    assert run.end_time is None

    got = await api("GET", "runs", run.id)
    assert got.status == 200 and got.json["id"] == run.id

    ended = await api("PATCH", "runs", run.id, body={"status": "finished", "name": "renamed"})
    assert ended.status == 200
    detail = out.RunDetail.model_validate(ended.json)
    assert detail.status == "finished" and detail.name == "renamed"
    assert detail.end_time is not None and detail.duration_s >= 0

    bad = await api("PATCH", "runs", run.id, body={"status": "exploded"})
    assert bad.status == 400 and bad.error["details"]["field"] == "status"
    empty = await api("PATCH", "runs", run.id, body={})
    assert empty.status == 400 and empty.error["code"] == "invalid_input"

    deleted = await api("DELETE", "runs", run.id)
    assert deleted.status == 204 and deleted.body == b""
    assert (await api("GET", "runs", run.id)).status == 404
    assert (await api("DELETE", "runs", run.id)).error["code"] == "not_found"
    assert (await api("PATCH", "runs", run.id, body={"name": "x"})).status == 404


async def test_create_run_in_unknown_experiment_is_404(api):
    reply = await api("POST", "runs", body={"experiment_id": "nope"})
    assert reply.status == 404 and reply.error["details"]["field"] == "experiment_id"
    reply = await api("POST", "runs", body={"experiment": "e", "parent_run_id": "nope"})
    assert reply.status == 404
    reply = await api("POST", "runs", body={"experiment_id": "a", "experiment": "b"})
    assert reply.status == 400


async def test_params_and_tags(api, make_run):
    run = await make_run()
    reply = await api(
        "POST",
        "runs",
        run["id"],
        "params",
        body={"params": {"lr": 0.1, "model": "rf", "deep": True, "layers": 3}},
    )
    assert reply.status == 200 and reply.json == {"logged": 4}
    # the same value again is fine; another value is a conflict that names the param
    assert (
        await api("POST", "runs", run["id"], "params", body={"params": {"lr": 0.1}})
    ).status == 200
    clash = await api("POST", "runs", run["id"], "params", body={"params": {"lr": 0.2}})
    assert clash.status == 409
    assert clash.error["code"] == "conflict" and clash.error["details"]["field"] == "params.lr"

    assert (
        await api(
            "POST", "runs", run["id"], "tags", body={"tags": {"stage": "dev", "owner": "ana"}}
        )
    ).json == {"logged": 2}
    assert (
        await api("POST", "runs", run["id"], "tags", body={"tags": {"stage": "prod"}})
    ).status == 200

    got = out.RunDetail.model_validate((await api("GET", "runs", run["id"])).json)
    assert got.params == {"lr": "0.1", "model": "rf", "deep": "True", "layers": "3"}
    assert got.tags == {"stage": "prod", "owner": "ana"}


async def test_metric_history_round_trips_non_finite_values_exactly(api, make_run):
    run = await make_run()
    values = [1.5, "NaN", "Infinity", "-Infinity", 0.30000000000000004, -2.25, 1e308, 5e-324, 0]
    points = [
        {"key": "loss", "value": v, "step": i, "timestamp": 1_700_000_000_000 + i}
        for i, v in enumerate(values)
    ]
    reply = await api("POST", "runs", run["id"], "metrics", body={"metrics": points})
    assert reply.status == 200 and reply.json == {"logged": len(values)}

    history = await api("GET", "runs", run["id"], "metrics", "loss")
    assert history.status == 200
    body = strict_json(history.body)
    out.MetricHistory.model_validate(body)
    assert body["key"] == "loss"
    assert [p["value"] for p in body["points"]] == [
        1.5,
        "NaN",
        "Infinity",
        "-Infinity",
        0.30000000000000004,
        -2.25,
        1e308,
        5e-324,
        0.0,
    ]
    assert [p["step"] for p in body["points"]] == list(range(len(values)))
    assert [p["timestamp"] for p in body["points"]] == [p["timestamp"] for p in points]
    assert all(isinstance(p["server_time"], int) for p in body["points"])

    # the run's latest value is the last step's, and non-finite latest values are strings too
    await api(
        "POST",
        "runs",
        run["id"],
        "metrics",
        body={
            "metrics": [
                {"key": "a", "value": "NaN"},
                {"key": "b", "value": "Infinity"},
                {"key": "c", "value": "-Infinity"},
            ]
        },
    )
    detail = strict_json((await api("GET", "runs", run["id"])).body)
    assert detail["metrics"] == {"loss": 0.0, "a": "NaN", "b": "Infinity", "c": "-Infinity"}
    assert detail["metric_keys"] == ["a", "b", "c", "loss"]


async def test_python_json_nan_tokens_are_accepted(api, make_run):
    run = await make_run()
    raw = json.dumps(
        {"metrics": [{"key": "x", "value": math.nan}, {"key": "x", "value": -math.inf, "step": 1}]}
    )
    assert "NaN" in raw  # what json.dumps writes by default
    reply = await api(
        "POST",
        "runs",
        run["id"],
        "metrics",
        raw_body=raw.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 200
    history = strict_json((await api("GET", "runs", run["id"], "metrics", "x")).body)
    assert [p["value"] for p in history["points"]] == ["NaN", "-Infinity"]


async def test_metric_history_not_found(api, make_run):
    run = await make_run()
    reply = await api("GET", "runs", run["id"], "metrics", "never-logged")
    assert reply.status == 404 and reply.error["code"] == "not_found"
    reply = await api("GET", "runs", "nope", "metrics", "loss")
    assert reply.status == 404


async def _seed(api):
    runs = {}
    for name, model, acc, exp in [
        ("a", "rf", 0.95, "e1"),
        ("b", "rf", 0.85, "e1"),
        ("c", "svm", 0.97, "e2"),
        ("d", "rf", 0.92, "e3"),
        ("e", "rf", "NaN", "e1"),
    ]:
        run = (await api("POST", "runs", body={"experiment": exp, "name": name})).json
        await api("POST", "runs", run["id"], "params", body={"params": {"model": model}})
        await api(
            "POST", "runs", run["id"], "metrics", body={"metrics": [{"key": "acc", "value": acc}]}
        )
        runs[name] = run
    return runs


async def test_search_filter_order_and_pages(api):
    await _seed(api)
    query = {"filter": "metrics.acc > 0.9 and params.model = 'rf'", "order_by": "metrics.acc DESC"}
    reply = await api("GET", "runs", params=query)
    assert reply.status == 200
    page = out.RunList.model_validate(reply.json)
    assert [r.name for r in page.items] == ["a", "d"]
    assert page.items[0].metrics == {"acc": 0.95} and page.items[0].params == {"model": "rf"}

    ascending = (await api("GET", "runs", params={"order_by": "metrics.acc ASC,name"})).json
    # rows without a (finite) value sort last
    assert [r["name"] for r in ascending["items"]] == ["b", "d", "a", "c", "e"]

    names, token = [], None
    while True:
        params = {
            "order_by": "name DESC",
            "max_results": 2,
            **({"page_token": token} if token else {}),
        }
        page = (await api("GET", "runs", params=params)).json
        assert len(page["items"]) <= 2
        names += [r["name"] for r in page["items"]]
        token = page["next_page_token"]
        if not token:
            break
    assert names == ["e", "d", "c", "b", "a"]

    nan_runs = (await api("GET", "runs", params={"filter": "metrics.acc = NaN"})).json
    assert [r["name"] for r in nan_runs["items"]] == ["e"]
    assert nan_runs["items"][0]["metrics"] == {"acc": "NaN"}


async def test_search_by_experiments(api):
    runs = await _seed(api)
    e1, e2 = runs["a"]["experiment_id"], runs["c"]["experiment_id"]
    repeated = (
        await api(
            "GET",
            "runs",
            params=[("experiment_id", e1), ("experiment_id", e2), ("order_by", "name")],
        )
    ).json
    comma = (
        await api("GET", "runs", params={"experiment_id": f"{e1},{e2}", "order_by": "name"})
    ).json
    assert [r["name"] for r in repeated["items"]] == ["a", "b", "c", "e"]
    assert [r["id"] for r in comma["items"]] == [r["id"] for r in repeated["items"]]
    only_e2 = (await api("GET", "runs", params={"experiment_id": e2})).json
    assert [r["name"] for r in only_e2["items"]] == ["c"]


async def test_search_bad_filters_are_400(api):
    await _seed(api)
    for bad in (
        "metrics.acc >",
        "nonsense.acc > 1",
        "acc > 1",
        "metrics.acc > 'high'",
        "params.model = 'rf' and",
        "(metrics.acc > 1",
        "metrics.acc ~ 1",
        "params.model = 'rf'; DROP TABLE runs",
    ):
        reply = await api("GET", "runs", params={"filter": bad})
        assert reply.status == 400, (bad, reply)
        assert reply.error["details"]["field"] == "filter"
    reply = await api("GET", "runs", params={"order_by": "banana DESC"})
    assert reply.status == 400 and reply.error["details"]["field"] == "order_by"
    # quoted values are data, never SQL
    injection = await api("GET", "runs", params={"filter": "params.model = 'rf'' OR ''1''=''1'"})
    assert injection.status == 200 and injection.json["items"] == []
    assert len((await api("GET", "runs")).json["items"]) == 5
