"""Fixtures of the monitoring suite.

``services`` is the unit suite's fixture (the service layer over SQLite and PostgreSQL,
emptied before each test), so monitor rules are checked on both backends. ``receiver`` is
a real webhook endpoint on 127.0.0.1 (:class:`._support.Receiver`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from unit.conftest import services, shared_services  # noqa: F401

from ._support import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
