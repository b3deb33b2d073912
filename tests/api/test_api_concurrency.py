"""Many writers at once lose nothing, and the loop keeps serving while they write."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx


async def test_fifty_concurrent_writers_lose_no_point(
    api, make_run, labcycle_app, monkeypatch, jp_http_port, jp_base_url, jp_auth_header
):
    run = await make_run()
    writers, points = 50, 20
    in_flight, peak, lock = [0], [0], threading.Lock()
    original = labcycle_app.services.tracking.log_metrics

    def counting_log_metrics(*args, **kwargs):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        try:
            return original(*args, **kwargs)
        finally:
            with lock:
                in_flight[0] -= 1

    monkeypatch.setattr(labcycle_app.services.tracking, "log_metrics", counting_log_metrics)
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}labcycle/api/v1/runs/{run['id']}"
    limits = httpx.Limits(max_connections=writers + 10)
    async with httpx.AsyncClient(
        headers=jp_auth_header, limits=limits, timeout=60, trust_env=False
    ) as client:

        async def writer(w: int) -> int:
            body = {
                "metrics": [
                    {"key": f"w{w % 5}", "value": w * 1000 + i, "step": w * points + i}
                    for i in range(points)
                ]
            }
            reply = await client.post(f"{base}/metrics", json=body)
            assert reply.status_code == 200, reply.text
            return reply.json()["logged"]

        async def params_writer(w: int) -> int:
            reply = await client.post(f"{base}/params", json={"params": {f"p{w}": w}})
            return reply.status_code

        started = time.monotonic()
        logged = await asyncio.gather(
            *(writer(w) for w in range(writers)), *(params_writer(w) for w in range(10))
        )
    assert logged[:writers] == [points] * writers
    assert logged[writers:] == [200] * 10
    assert time.monotonic() - started < 30
    assert peak[0] >= 2  # the writes really overlapped

    total = []
    for k in range(5):
        history = (await api("GET", "runs", run["id"], "metrics", f"w{k}")).json["points"]
        total += history
    assert len(total) == writers * points
    assert sorted(p["value"] for p in total) == sorted(
        float(w * 1000 + i) for w in range(writers) for i in range(points)
    )
    detail = (await api("GET", "runs", run["id"])).json
    assert len(detail["params"]) == 10
    # the latest value of each key is its highest step
    for k in range(5):
        top = max(w for w in range(writers) if w % 5 == k)
        assert detail["metrics"][f"w{k}"] == top * 1000 + points - 1


async def test_service_calls_run_off_the_event_loop(api, make_run, labcycle_app, monkeypatch):
    run = await make_run()
    entered, gate = threading.Event(), threading.Event()
    original = labcycle_app.services.tracking.get_run

    def blocked_get_run(run_id):
        entered.set()
        gate.wait(10)
        return original(run_id)

    monkeypatch.setattr(labcycle_app.services.tracking, "get_run", blocked_get_run)
    slow = asyncio.ensure_future(api("GET", "runs", run["id"]))
    deadline = time.monotonic() + 10
    while not entered.is_set():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    # get_run is stuck in a worker thread; the loop still answers other requests
    assert (await api("GET", "version")).status == 200
    assert (await api("GET", "projects")).status == 200
    assert not slow.done()
    gate.set()
    reply = await slow
    assert reply.status == 200 and reply.json["id"] == run["id"]
