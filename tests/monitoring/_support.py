"""Data helpers and a webhook receiver shared by the monitoring tests."""

from __future__ import annotations

import json
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd

ACTOR = "alice"


def frame(
    n: int,
    *,
    shift: float = 0.0,
    seed: int = 0,
    plans=("basic", "plus", "pro"),
    weights=(0.5, 0.3, 0.2),
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + shift, 10, n),
            "income": rng.lognormal(10, 0.5, n),
            "plan": rng.choice(list(plans), n, p=list(weights)),
        }
    )


def log_dataset(svc, name: str, data: pd.DataFrame, *, content: bool = True) -> dict:
    """What ``lc.log_dataset(df)`` does: Parquet content as an artifact, then the dataset."""
    from labcycle.client.objects import dataframe_fingerprint

    run = svc.tracking.create_run(actor=ACTOR, experiment="monitoring")
    digest = None
    if content:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "data.parquet"
            data.to_parquet(path)
            digest = svc.artifacts.log_file(
                run["id"], f"datasets/{name}.parquet", str(path), actor=ACTOR
            )["digest"]
    return svc.datasets.register(
        actor=ACTOR, name=name, content_digest=digest, **dataframe_fingerprint(data)
    )


class Receiver:
    """A webhook receiver: answers with the planned statuses (then 200), records requests."""

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.requests: list[dict] = []
        self.plan: list[tuple[int, float]] = []  # (status, seconds to wait before answering)
        self.lock = threading.Lock()
        self.got_request = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                            "at": time.monotonic(),
                        }
                    )
                    status, delay = receiver.plan.pop(0) if receiver.plan else (200, 0.0)
                receiver.got_request.set()
                if delay:
                    time.sleep(delay)
                payload = b'{"ok": true}' if status < 300 else b"receiver says no"
                try:
                    self.send_response(status)
                    if status == 429:
                        self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        if context is not None:
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, host: str = "127.0.0.1", path: str = "/hook?token=abc", scheme: str = "http"):
        return f"{scheme}://{host}:{self.port}{path}"

    def json_bodies(self) -> list[dict]:
        """The bodies received so far, parsed."""
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
