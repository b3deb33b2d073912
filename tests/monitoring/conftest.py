"""Fixtures of the monitoring suite.

``services`` is the unit suite's fixture (the service layer over SQLite and PostgreSQL,
emptied before each test), so monitor rules are checked on both backends.
"""

from __future__ import annotations

from unit.conftest import services, shared_services, sqlite_template  # noqa: F401
