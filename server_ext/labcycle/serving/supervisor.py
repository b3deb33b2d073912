"""The supervisor of model server processes, owned by the Jupyter server extension.

Every ``interval`` seconds it reconciles each deployment's row with the processes:

- ``desired == "running"`` and a live process whose ``/health`` answers with the same
  deployment id: adopted (this is how deployments survive a restart of the Jupyter
  server: processes run in their own session and outlive it); its ``/ready`` sets
  ``status`` ready, or failed with the loading error when no version could be loaded;
- running but no such process (never started, crashed, killed): (re)started with
  ``labcycle serve --deployment ID``; a deployment that crashes 5 times within 5 minutes
  is marked failed with the end of its log and no longer restarted until started again;
- a different worker count than asked (``scale``): restarted with the new count;
- ``desired == "stopped"`` and a live process: SIGTERM (the process drains its requests
  and writes its prediction log), SIGKILL after a grace period.

Spawning takes a per-deployment file lock, so a CLI ``labcycle deploy`` and the server's
supervisor never start the same deployment twice. The CLI and ``lc.deploy`` (local
store) call :meth:`Supervisor.ensure` once instead of running the loop.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from ..services.common import now_ms
from ..store.storage import storage_env

log = logging.getLogger("labcycle.supervisor")
MAX_RESTARTS = 5
RESTART_WINDOW_S = 300
START_GRACE_S = 60


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is dead
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    return True


def probe_host(host: str) -> str:
    if host in ("0.0.0.0", "localhost", ""):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def base_url(d: dict[str, Any]) -> str:
    host = probe_host(d["host"])
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{d['port']}"


class Supervisor:
    def __init__(
        self,
        services: Any,
        home: str | os.PathLike | None = None,
        *,
        interval: float = 2.0,
        env: dict[str, str] | None = None,
    ) -> None:
        from ..config import LabCycleConfig

        self.services = services
        self.home = Path(home or LabCycleConfig().home).expanduser()
        self.interval = interval
        self.extra_env = env or {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._children: dict[str, subprocess.Popen] = {}
        self._crashes: dict[str, list[float]] = {}
        self.http = httpx.Client(timeout=1.0, trust_env=False)

    # -- the loop ----------------------------------------------------------------------------
    def start(self) -> Supervisor:
        self._thread = threading.Thread(target=self._loop, name="labcycle-supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop supervising; deployments keep running (the next supervisor adopts them)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.http.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.reconcile()
            except Exception:  # a bad row must not stop supervision
                log.exception("LabCycle: supervising deployments failed")
            self._stop.wait(self.interval)

    def reconcile(self) -> None:
        for d in self.services.deployments.list(max_results=1000)["items"]:
            try:
                self.reconcile_one(d["id"])
            except Exception:
                log.exception("LabCycle: supervising deployment %s failed", d["name"])

    # -- one deployment -------------------------------------------------------------------------
    def folder(self, deployment_id: str) -> Path:
        path = self.home / "deployments" / deployment_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    @contextlib.contextmanager
    def _lock(self, deployment_id: str) -> Iterator[None]:
        with open(self.folder(deployment_id) / "supervisor.lock", "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def health(self, d: dict[str, Any]) -> dict[str, Any] | None:
        try:
            r = self.http.get(base_url(d) + "/health")
            data = r.json() if r.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        if not data or data.get("deployment_id") != d["id"]:
            return None
        return data

    def readiness(self, d: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return self.http.get(base_url(d) + "/ready").json()
        except (httpx.HTTPError, ValueError):
            return None

    def reconcile_one(self, deployment_id: str) -> dict[str, Any]:
        deployments = self.services.deployments
        with self._lock(deployment_id):
            d = deployments.get(deployment_id, secret=True)
            if d["desired"] == "external":  # an export: it runs on Kubernetes, not here
                return d
            pid = (d["pids"] or [None])[0]
            alive = pid_alive(pid)
            if d["desired"] == "stopped":
                if alive:
                    self._terminate(pid)
                if d["status"] != "stopped" or d["pids"]:
                    deployments.set_runtime(d["id"], status="stopped", pids=[])
                return deployments.get(d["id"])
            health = self.health(d) if alive else None
            if health is not None and int(health.get("workers", d["workers"])) != d["workers"]:
                self._terminate(pid)  # scale: restart with the new worker count
                alive, health = False, None
            if health is not None:
                ready = self.readiness(d) or {}
                if ready.get("ready"):
                    # Serving, but a newer target may have failed: show it, keep "ready".
                    failed = [
                        f"version {v.get('version')}: {v.get('error')}"
                        for v in (ready.get("versions") or {}).values()
                        if v.get("state") == "failed"
                    ]
                    error = ready.get("error") or (failed[0] if failed else None)
                    if d["status"] != "ready" or d["error"] != error:
                        deployments.set_runtime(d["id"], status="ready", error=error)
                else:
                    failed = [
                        v.get("error")
                        for v in (ready.get("versions") or {}).values()
                        if v.get("state") == "failed"
                    ]
                    error = ready.get("error") or (failed[0] if failed else None)
                    status = (
                        "failed"
                        if error
                        and not any(
                            v.get("state") == "loading"
                            for v in (ready.get("versions") or {}).values()
                        )
                        else "starting"
                    )
                    if d["status"] != status or d["error"] != error:
                        deployments.set_runtime(d["id"], status=status, error=error)
                return deployments.get(d["id"])
            if alive and d["started_at"] and now_ms() - d["started_at"] < START_GRACE_S * 1000:
                return d  # still starting up
            if alive:
                self._terminate(pid)  # alive but not answering: a hung or foreign process
            if d["status"] == "failed" and d["error"] and d["error"].startswith("crashed"):
                return d
            crashes = [
                t for t in self._crashes.get(d["id"], []) if time.time() - t < RESTART_WINDOW_S
            ]
            if d["pids"]:
                crashes.append(time.time())
            self._crashes[d["id"]] = crashes
            if len(crashes) >= MAX_RESTARTS:
                deployments.set_runtime(
                    d["id"],
                    status="failed",
                    pids=[],
                    error="crashed {} times in {} s; log: {}".format(
                        len(crashes), RESTART_WINDOW_S, self._log_tail(d["id"])
                    ),
                )
                return deployments.get(d["id"])
            self._spawn(d, restart=bool(d["pids"]))
            return deployments.get(d["id"])

    def _log_tail(self, deployment_id: str) -> str:
        try:
            return (self.folder(deployment_id) / "server.log").read_text(errors="replace")[-1500:]
        except OSError:
            return ""

    def _spawn(self, d: dict[str, Any], *, restart: bool) -> int:
        env = {
            **os.environ,
            **self.extra_env,
            **storage_env(self.services.blobs.storage_options),
            "LABCYCLE_DB_URL": self.services.store.url,
            "LABCYCLE_ARTIFACT_URL": self.services.blobs.url,
            "LABCYCLE_HOME": str(self.home),
        }
        for name in ("LABCYCLE_API_URL", "LABCYCLE_API_TOKEN"):
            env.pop(name, None)  # the server process talks to the store, never to Jupyter
        logfile = open(self.folder(d["id"]) / "server.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "labcycle", "serve", "--deployment", d["id"]],
            env=env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=str(self.folder(d["id"])),
        )
        logfile.close()
        self._children[d["id"]] = proc
        self.services.deployments.set_runtime(
            d["id"],
            status="starting",
            pids=[proc.pid],
            started_at=now_ms(),
            error=None,
            restarts=d["restarts"] + (1 if restart else 0),
        )
        log.info("LabCycle: started deployment %s (pid %d) on %s", d["name"], proc.pid, d["url"])
        return proc.pid

    def _terminate(self, pid: int, grace: float = 25.0) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(os.getpgid(pid), signal.SIGKILL)

    # -- one-shot use (CLI, lc.deploy on the local store) ----------------------------------------
    def ensure(self, deployment_id: str, *, wait: float = 60.0) -> dict[str, Any]:
        """Reconcile now and, if ``wait``, until the deployment is ready, failed or stopped."""
        deadline = time.monotonic() + wait
        d = self.reconcile_one(deployment_id)
        while (
            wait
            and time.monotonic() < deadline
            and d["status"] not in ("ready", "failed", "stopped")
        ):
            time.sleep(0.2)
            d = self.reconcile_one(deployment_id)
        return d
