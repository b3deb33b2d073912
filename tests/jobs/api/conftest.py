"""A Jupyter server with LabCycle (pytest-jupyter) whose dispatcher runs real jobs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config


@pytest.fixture
def jp_server_config(tmp_path: Path) -> Config:
    home = tmp_path / "labcycle"
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"labcycle": True}},
            "LabCycle": {
                "db_url": f"sqlite:///{home / 'labcycle.db'}",
                "artifact_url": str(home / "artifacts"),
                "max_concurrent_jobs": 1,
            },
        }
    )


@pytest.fixture
def started(jp_serverapp, jp_asyncio_loop):
    """pytest-jupyter does not run the servers' start hooks: run LabCycle's, as a real
    server does once its loop runs (it starts the job dispatcher)."""
    app = jp_serverapp.extension_manager.extension_points["labcycle"].app
    jp_asyncio_loop.run_until_complete(app._start_jupyter_server_extension(jp_serverapp))
    assert app.dispatcher is not None
    return app


@pytest.fixture
def api(jp_fetch, started):
    """``await api("POST", "jobs", body={...})`` → (status, json body)."""

    async def call(method: str, *parts: str, body: Any = None, params: Any = None):
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if body is not None:
            kwargs["body"] = json.dumps(body)
        elif method == "POST":
            kwargs["body"] = b""
        response = await jp_fetch("labcycle", "api", "v1", *parts, params=params, **kwargs)
        return response.code, json.loads(response.body or b"null"), response.headers

    return call
