"""Racing real processes, shared by the suites (``from processes import race_processes``)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

# spawn, not fork: the test process runs threads (job dispatchers, capture writers, pools), and
# a forked child can inherit a lock one of them held and hang in its first SQLAlchemy call.
_MP = multiprocessing.get_context("spawn")


def race_processes(
    target: Callable[..., None], args: Sequence[tuple], *, timeout: float = 120.0
) -> list[Any]:
    """Start one process per tuple in ``args`` calling ``target(*tuple, barrier, results)``,
    where all of them wait on ``barrier`` to start together and each puts one value on
    ``results``; return the values in arrival order. ``target`` must be a module-level
    function. Children are daemons and are killed when this returns, so a child that hangs
    fails its test instead of blocking the interpreter's exit."""
    barrier, results = _MP.Barrier(len(args)), _MP.Queue()
    procs = [_MP.Process(target=target, args=(*a, barrier, results), daemon=True) for a in args]
    try:
        for p in procs:
            p.start()
        values = [results.get(timeout=timeout) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        return values
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(timeout=5)


def stop_processes(procs: list[subprocess.Popen]) -> None:
    """Stop process groups started with ``start_new_session=True``, newest first: SIGTERM,
    then SIGKILL for any still running after 15 s."""
    for proc in procs[::-1]:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
