"""A real S3-compatible server (moto's server mode) on 127.0.0.1, shared by the tests and
the benchmarks (``from s3_server import S3Server``).

``S3Server()`` starts ``python -m moto.server`` on a free loopback port and waits (bounded)
until it answers; :meth:`S3Server.stop` ends it. Its credentials are moto's fixed test
keys; :meth:`S3Server.storage_options` are what ``LABCYCLE_STORAGE_OPTIONS`` takes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

KEY = "labcycle-test-key"
SECRET = "labcycle-test-secret"  # moto accepts any keys; these name nothing real
REGION = "eu-west-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3Server:
    """``python -m moto.server`` on 127.0.0.1; a context manager."""

    def __init__(self, startup_timeout: float = 60.0) -> None:
        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkdtemp(prefix="labcycle-moto-")) / "moto.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LABCYCLE_"))}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        try:
            self._wait(startup_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"moto's server exited ({self.proc.returncode}): "
                    f"{self.log_path.read_text(errors='replace')[-2000:]}"
                )
            try:
                httpx.get(f"{self.endpoint_url}/moto-api/", timeout=1.0, trust_env=False)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"moto's server did not answer on {self.endpoint_url} in {timeout:g} s")

    def storage_options(self, **extra: Any) -> dict[str, Any]:
        """fsspec (s3fs) options that reach this server with its test keys."""
        return {
            "endpoint_url": self.endpoint_url,
            "key": KEY,
            "secret": SECRET,
            "client_kwargs": {"region_name": REGION},
            **extra,
        }

    def bucket(self, prefix: str = "labcycle") -> str:
        """A new, empty bucket; its name."""
        import s3fs

        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        fs = s3fs.S3FileSystem(**self.storage_options(), skip_instance_cache=True)
        fs.mkdir(name, region_name=REGION)
        return name

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self) -> S3Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
