"""A real JupyterHub for the multi-user tests: users with servers of their own, one store.

JupyterHub (with configurable-http-proxy from npm, which ``make test`` installs into
``.venv/chp``), its DummyAuthenticator and SimpleLocalProcessSpawner: every user gets a
single-user Jupyter server with LabCycle, as the same Unix user, all on one PostgreSQL
store, exactly as a team would run it. One hub serves the whole module; its users'
servers start once and stop with it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

USERS = ("alice", "bob", "carol")
CHP = Path(sys.prefix) / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Hub:
    """A running hub: ``hub.as_user("alice").get("labcycle/api/v1/projects")``."""

    def __init__(self, root: Path, db_url: str) -> None:
        self.root = root
        self.db_url = db_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = secrets.token_hex(16)
        self.tokens: dict[str, str] = {}
        self.proc: subprocess.Popen | None = None

    def config(self) -> str:
        bin_dir = Path(sys.executable).parent
        return f"""
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {self.port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {free_port()}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]
c.JupyterHub.db_url = "sqlite:///{self.root / "hub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(self.root / "cookie_secret")!r}
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(self.root / "home" / "{username}")!r}
c.Spawner.cmd = [{str(bin_dir / "jupyterhub-singleuser")!r}]
c.Spawner.args = ["--allow-root", "--ServerApp.disable_check_xsrf=False"]
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.Spawner.environment = {{
    "LABCYCLE_DB_URL": {self.db_url!r},
    "LABCYCLE_ARTIFACT_URL": {str(self.root / "artifacts")!r},
    "LABCYCLE_HOME": lambda spawner: {str(self.root / "labcycle")!r} + "/" + spawner.user.name,
    "LABCYCLE_MAX_JOBS": "2",
    "LABCYCLE_STORAGE_OPTIONS": '{{"auto_mkdir": true}}',
}}
c.JupyterHub.services = [{{"name": "tester", "api_token": {self.admin_token!r}}}]
c.JupyterHub.load_roles = [{{
    "name": "tester",
    "scopes": ["admin:users", "admin:servers", "tokens", "read:users"],
    "services": ["tester"],
}}]
"""

    def start(self) -> Hub:
        (self.root / "home").mkdir(parents=True, exist_ok=True)
        config = self.root / "jupyterhub_config.py"
        config.write_text(self.config())
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        for name in ("LABCYCLE_DB_URL", "LABCYCLE_HOME", "LABCYCLE_USER", "JUPYTERHUB_USER"):
            env.pop(name, None)
        log = open(self.root / "hub.log", "wb")  # noqa: SIM115 - lives as long as the hub
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config)],
            cwd=self.root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait(lambda: self.api("GET", "").status_code == 200, 90, "the hub to answer")
        for user in USERS:
            self.api("POST", f"users/{user}").raise_for_status()
            self.tokens[user] = self.api(
                "POST", f"users/{user}/tokens", json={"note": "tests"}
            ).json()["token"]
        for user in USERS:  # spawns overlap: each server starts in its own process
            assert self.api("POST", f"users/{user}/server").status_code in (201, 202)
        for user in USERS:
            self._wait(lambda u=user: self._ready(u), 240, f"{user}'s server to start")
        return self

    def _ready(self, user: str) -> bool:
        server = self.api("GET", f"users/{user}").json().get("servers", {}).get("", {})
        if not server.get("ready"):
            return False
        return self.as_user(user).get("labcycle/api/v1/projects").status_code == 200

    def _wait(self, ready: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"JupyterHub exited: {self.log_tail()}")
            try:
                if ready():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"waited {timeout:.0f} s for {what}: {self.log_tail()}")

    def log_tail(self) -> str:
        return (self.root / "hub.log").read_text(errors="replace")[-3000:]

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.url}/hub/api/{path}",
            timeout=60,
            trust_env=False,
            headers={"Authorization": f"token {self.admin_token}"},
            **kwargs,
        )

    def as_user(self, user: str) -> httpx.Client:
        """A client of ``user``'s own server (``/user/<name>/``), with their token."""
        return httpx.Client(
            base_url=f"{self.url}/user/{user}/",
            timeout=120,
            trust_env=False,
            headers={"Authorization": f"token {self.tokens[user]}"},
        )

    def server_of(self, owner: str, user: str) -> httpx.Client:
        """``user`` (with their token) calling ``owner``'s server."""
        client = self.as_user(user)
        client.base_url = f"{self.url}/user/{owner}/"
        return client

    def stop(self) -> None:
        if self.proc is None:
            return
        for user in USERS:
            with contextlib.suppress(httpx.HTTPError):
                self.api("DELETE", f"users/{user}/server")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(
            self.api("GET", f"users/{u}").json().get("servers") for u in USERS
        ):
            time.sleep(0.5)
        os.killpg(self.proc.pid, signal.SIGTERM)  # the hub, its proxy and what is left
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, postgres_server) -> Iterator[Hub]:
    if not CHP.exists():
        reason = f"configurable-http-proxy is not installed at {CHP}: run `make test`"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    if shutil.which("node") is None:
        pytest.fail("the hub's proxy needs Node.js")
    root = tmp_path_factory.mktemp("hub")
    db_url = postgres_server.create_database()
    from labcycle.store import Store

    Store(db_url).dispose()  # migrated once, before several servers open it at once
    hub = Hub(root, db_url)
    try:
        yield hub.start()
    finally:
        hub.stop()
        postgres_server.drop_database(db_url)
