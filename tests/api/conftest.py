"""Fixtures of the API suite: a Jupyter server with the LabCycle extension, per test.

pytest-jupyter's fixtures come from the plugin that ``tests/conftest.py`` loads for every
suite (loading it once avoids two copies of its event-loop hooks).

Each test gets its own server whose LabCycle data lives in ``tmp_path/labcycle`` and
whose contents root is ``tmp_path/root_dir``. A test changes the server's config by
parametrizing ``server_overrides`` indirectly.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

API = ("labcycle", "api", "v1")


class Reply:
    """A response, whatever its status."""

    def __init__(self, response: Any) -> None:
        self.status: int = response.code
        self.headers = response.headers
        self.body: bytes = response.body or b""

    @property
    def json(self) -> Any:
        assert self.headers.get("Content-Type", "").startswith("application/json"), (
            self.status,
            self.headers.get("Content-Type"),
            self.body[:200],
        )
        return json.loads(self.body)

    @property
    def error(self) -> dict[str, Any]:
        """The ``error`` object of an error reply (checks the documented shape)."""
        body = self.json
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message", "details"}, body
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]
        return body["error"]

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.body[:300]!r}>"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


@pytest.fixture
def labcycle_dir(tmp_path: Path, sqlite_template: Path) -> Path:
    """Each test's server starts from a copy of the migrated store (tests/conftest.py)."""
    path = tmp_path / "labcycle"
    path.mkdir()
    shutil.copyfile(sqlite_template, path / "labcycle.db")
    return path


@pytest.fixture
def artifact_root(labcycle_dir: Path) -> Path:
    return labcycle_dir / "artifacts"


@pytest.fixture
def server_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return getattr(request, "param", {})


@pytest.fixture
def jp_server_config(labcycle_dir: Path, artifact_root: Path, server_overrides: dict) -> Config:
    config = {
        "ServerApp": {"jpserver_extensions": {"labcycle": True}},
        "LabCycle": {
            "db_url": f"sqlite:///{labcycle_dir / 'labcycle.db'}",
            "artifact_url": str(artifact_root),
        },
    }
    return Config(_merge(config, server_overrides))


@pytest.fixture
def started(jp_serverapp, jp_asyncio_loop):
    """Run the extensions' start hooks, as a real server does once its loop runs
    (``ServerApp._post_start``); pytest-jupyter skips them. LabCycle starts its job
    dispatcher, scheduler and deployment supervisor there; ``stop_extension`` stops them."""
    jp_asyncio_loop.run_until_complete(jp_serverapp.extension_manager.start_all_extensions())
    return jp_serverapp


@pytest.fixture
def api(jp_fetch, started):
    """``await api("POST", "runs", body={...})`` → :class:`Reply` (no raise on 4xx/5xx)."""

    async def call(
        method: str,
        *parts: str,
        body: Any = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        raw_body: bytes | None = None,
    ) -> Reply:
        headers = dict(headers or {})
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if raw_body is not None:
            kwargs["body"] = raw_body
        elif body is not None:
            kwargs["body"] = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = b""
        response = await jp_fetch(*API, *parts, params=params, headers=headers, **kwargs)
        return Reply(response)

    return call


@pytest.fixture
def raw_fetch(http_server_client, jp_base_url, jp_auth_header, started):
    """Fetch ``labcycle/api/v1/<path>`` with ``path`` sent exactly as given (no escaping)."""

    async def fetch(
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        auth: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        headers = {**(jp_auth_header if auth else {}), **(headers or {})}
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        response = await http_server_client.fetch(
            f"{jp_base_url}labcycle/api/v1/{path}",
            method=method,
            body=body,
            headers=headers,
            raise_error=False,
            request_timeout=30,
        )
        return Reply(response)

    return fetch


@pytest.fixture
def make_run(api):
    """Create a run (in experiment ``exp``) and return its JSON."""

    async def make(**fields: Any) -> dict[str, Any]:
        fields.setdefault("experiment", "exp")
        reply = await api("POST", "runs", body=fields)
        assert reply.status == 201, reply
        return reply.json

    return make


@pytest.fixture
def labcycle_app(jp_serverapp, started):
    """The LabCycleApp the server loaded."""
    return jp_serverapp.extension_manager.extension_points["labcycle"].app
