"""A real JupyterLab server in a subprocess, with the LabCycle extension, for integration
and browser tests. It has its own LABCYCLE_HOME, workspace and runtime folder."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveJupyter:
    def __init__(self, base: Path, *, env: dict[str, str] | None = None) -> None:
        self.base = base
        self.workspace = base / "workspace"
        self.home = base / "home"
        self.runtime = base / "runtime"
        for folder in (self.workspace, self.home, self.runtime):
            folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.token = uuid.uuid4().hex
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = base / "jupyter.log"
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LABCYCLE_", "JPY_"))}
        env.update(
            LABCYCLE_HOME=str(self.home),
            JUPYTER_RUNTIME_DIR=str(self.runtime),
            LABCYCLE_FLUSH_INTERVAL="0.3",
            **self.extra_env,
        )
        return env

    def start(self, timeout: float = 90) -> LiveJupyter:
        args = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.workspace}",
            "--ServerApp.jpserver_extensions={'labcycle': True}",
            "--LabApp.news_url=None",
            "--ServerApp.disable_check_xsrf=False",
        ]
        if os.geteuid() == 0:
            args.append("--allow-root")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            args, cwd=self.workspace, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                if self.api("GET", "labcycle/api/v1/version").status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(
            f"JupyterLab did not answer in {timeout}s:\n{self.log_path.read_text()[-3000:]}"
        )

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return httpx.request(
            method, self.url + path, headers=headers, timeout=30, trust_env=False, **kwargs
        )

    def lc(self, method: str, path: str, **kwargs) -> httpx.Response:
        return self.api(method, "labcycle/api/v1/" + path, **kwargs)

    def start_session(self, notebook: str) -> str:
        """Open a notebook session as JupyterLab does; returns the kernel id."""
        response = self.api(
            "POST",
            "api/sessions",
            json={
                "path": notebook,
                "name": notebook,
                "type": "notebook",
                "kernel": {"name": "python3"},
            },
        )
        response.raise_for_status()
        return response.json()["kernel"]["id"]

    def kernel_client(self, kernel_id: str):
        from jupyter_client import BlockingKernelClient

        # The connection file exists before the kernel listens: wait for its sockets.
        connection = self.runtime / f"kernel-{kernel_id}.json"
        deadline = time.monotonic() + 60
        while True:
            try:
                info = json.loads(connection.read_text())
                ports = [info[name] for name in ("shell_port", "iopub_port", "hb_port")]
                for port in ports:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except (OSError, ValueError, KeyError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel {kernel_id} did not start listening") from None
                time.sleep(0.2)
        client = BlockingKernelClient(
            connection_file=str(self.runtime / f"kernel-{kernel_id}.json")
        )
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        return client

    def stop_model_servers(self, timeout: float = 20) -> int:
        """Stop the model server processes of this server's store. Deployments outlive the
        Jupyter server by design (the next one adopts them), so a test suite that is done
        with its store stops them itself; returns how many there were."""
        home = f"LABCYCLE_HOME={self.home}".encode()
        pids = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes()
                environ = (proc / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"labcycle\0serve" in cmdline and home in environ:
                pids.append(int(proc.name))
        found = len(pids)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pids and time.monotonic() < deadline:
            pids = [p for p in pids if _running(p)]
            time.sleep(0.1)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return found

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if getattr(self, "_log", None):
            self._log.close()


def _running(pid: int) -> bool:
    try:
        return b"(zombie)" not in Path(f"/proc/{pid}/status").read_bytes()
    except OSError:
        return False


def execute(client, code: str, cell_id: str | None = None, timeout: float = 60) -> dict:
    """Execute like JupyterLab does (cell id in the metadata); returns reply content + outputs."""
    msg = client.session.msg(
        "execute_request",
        {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        metadata={"cellId": cell_id} if cell_id else {},
    )
    client.shell_channel.send(msg)
    outputs = []
    while True:
        message = client.get_iopub_msg(timeout=timeout)
        if message["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            continue
        kind = message["msg_type"]
        if kind == "stream":
            outputs.append(message["content"]["text"])
        elif kind in ("execute_result", "display_data"):
            outputs.append(message["content"]["data"].get("text/plain", ""))
        elif kind == "error":
            outputs.append("\n".join(message["content"]["traceback"]))
        elif kind == "status" and message["content"]["execution_state"] == "idle":
            break
    reply = client.get_shell_msg(timeout=timeout)
    return {"status": reply["content"]["status"], "output": "".join(outputs)}


def write_notebook(path: Path, sources: list[str]) -> list[str]:
    """Write a notebook with one code cell per source; returns the cell ids."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    path.write_text(json.dumps(nb, indent=1))
    return [cell.id for cell in nb.cells]
