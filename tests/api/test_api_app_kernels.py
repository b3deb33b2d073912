"""Voila apps cannot be knocked over: 200 concurrent page views of an app start at most
``c.LabCycle.max_app_kernels`` kernels, the rest get a 503 with Retry-After at once, the
server keeps answering, and kernels whose page never connected are culled."""

from __future__ import annotations

import asyncio
import time

import pytest

CAP, CULL_S, REQUESTS = 2, 3.0, 200

pytestmark = pytest.mark.parametrize(
    "server_overrides",
    [
        {
            "ServerApp": {"jpserver_extensions": {"labcycle": True, "voila": True}},
            "LabCycle": {"max_app_kernels": CAP, "app_kernel_cull_s": CULL_S},
        }
    ],
    indirect=True,
)


async def test_two_hundred_app_requests_start_at_most_the_cap(
    http_server_client, jp_base_url, jp_auth_header, jp_serverapp, started
):
    kernels = jp_serverapp.kernel_manager
    peak = 0

    async def page():
        response = await http_server_client.fetch(
            f"{jp_base_url}labcycle/apps/predict",
            headers=jp_auth_header,
            raise_error=False,
            request_timeout=120,
        )
        return response

    async def watch(done):
        nonlocal peak
        while not done.is_set():
            peak = max(peak, len(kernels.list_kernel_ids()))
            await asyncio.sleep(0.05)

    done = asyncio.Event()
    watcher = asyncio.ensure_future(watch(done))
    begin = time.monotonic()
    tasks = [asyncio.ensure_future(page()) for _ in range(REQUESTS)]
    # the server answers other requests while the pages render
    probe = time.monotonic()
    status = await http_server_client.fetch(
        f"{jp_base_url}labcycle/api/v1/version", headers=jp_auth_header, request_timeout=30
    )
    probe_s = time.monotonic() - probe
    replies = await asyncio.gather(*tasks)
    elapsed = time.monotonic() - begin
    done.set()
    await watcher

    codes = [r.code for r in replies]
    assert status.code == 200 and probe_s < 10, probe_s
    assert codes.count(200) + codes.count(503) == REQUESTS, sorted(set(codes))
    assert 1 <= codes.count(200) <= CAP * 3, codes.count(200)  # places free up as pages end
    assert codes.count(503) >= REQUESTS - CAP * 3
    busy = next(r for r in replies if r.code == 503)
    assert int(busy.headers["Retry-After"]) >= 1
    assert b"try again" in busy.body
    assert 1 <= peak <= CAP, peak
    assert elapsed < 120, elapsed

    # no browser ever connected: the app kernels are culled
    deadline = time.monotonic() + CULL_S + 20
    while kernels.list_kernel_ids() and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    assert kernels.list_kernel_ids() == []
    after = await http_server_client.fetch(
        f"{jp_base_url}labcycle/apps/predict",
        headers=jp_auth_header,
        raise_error=False,
        request_timeout=120,
    )
    assert after.code == 200
