"""Kernels never hold the database's credentials: the server keeps LABCYCLE_DB_URL to itself.

A kernel that could read the database URL could ``lc.configure(db_url=...)`` and write
past every project role; the server reads the URL once, takes it out of the environment
that kernels and terminals inherit, and kernels log through the API instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from traitlets.config import Config

pytestmark = pytest.mark.kernel


@pytest.fixture
def db_url(labcycle_dir: Path) -> str:
    return f"sqlite:///{labcycle_dir / 'labcycle.db'}"


@pytest.fixture
def store_in_environment(db_url: str):
    """The store comes from the environment, as a hub's spawner sets it; gone afterwards
    (the extension gives the variable back when it stops, whenever that is)."""
    os.environ["LABCYCLE_DB_URL"] = db_url
    yield
    os.environ.pop("LABCYCLE_DB_URL", None)


@pytest.fixture
def jp_server_config(store_in_environment, artifact_root: Path) -> Config:
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"labcycle": True}},
            "LabCycle": {"artifact_url": str(artifact_root)},
        }
    )


async def kernel_environ(serverapp, *names: str) -> dict[str, str | None]:
    """The values of ``names`` in a kernel the server starts."""
    kernels = serverapp.kernel_manager
    kernel_id = await kernels.start_kernel(kernel_name="python3")
    client = kernels.get_kernel(kernel_id).client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        seen: dict[str, str | None] = {}

        def output(msg) -> None:
            if msg["msg_type"] == "execute_result":
                seen.update(eval(msg["content"]["data"]["text/plain"]))  # a dict literal

        code = f"import os; {{n: os.environ.get(n) for n in {list(names)!r}}}"
        await client.execute_interactive(code, output_hook=output, timeout=60)
        return seen
    finally:
        client.stop_channels()
        await kernels.shutdown_kernel(kernel_id, now=True)


async def test_kernels_get_the_api_not_the_database(api, labcycle_app, db_url):
    assert labcycle_app.options.db_url == db_url  # the server still uses it
    assert "LABCYCLE_DB_URL" not in os.environ
    reply = await api("POST", "runs", body={"experiment": "exp"})
    assert reply.status == 201, reply

    seen = await kernel_environ(labcycle_app.serverapp, "LABCYCLE_DB_URL", "LABCYCLE_API_URL")
    assert seen["LABCYCLE_DB_URL"] is None
    assert seen["LABCYCLE_API_URL"] and seen["LABCYCLE_API_URL"].startswith("http://127.0.0.1:")


async def test_the_environment_comes_back_when_the_extension_stops(labcycle_app, db_url):
    assert "LABCYCLE_DB_URL" not in os.environ
    await labcycle_app.stop_extension()
    assert os.environ["LABCYCLE_DB_URL"] == db_url
