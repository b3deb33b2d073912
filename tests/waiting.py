"""Polling until something is true, shared by the suites (``from waiting import wait_for``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.1) -> Any:
    """Call ``predicate`` every ``interval`` seconds until it returns something truthy and
    return that; fail the test (AssertionError) when ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout:g} s")
