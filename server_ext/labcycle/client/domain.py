"""What every domain client of the Python API is built on.

Each domain of ``lc.*`` (hub, lineage, serving, monitors, sweeps, jobs) has one interface and
two implementations: over the local services (scripts, tests, papermill jobs) and over the
REST API (kernels of a Jupyter server with LabCycle). A transport hands out the
implementations that fit it (``transport.hub``...), so the API never asks which one it has.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from ..services import Services

#: ``request(method, path, body=None, params=None)``: the HTTP transport's call to the API
Request = Callable[..., Any]


#: how JSON carries the floats it has no literal for
_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def decode_float(value: Any) -> Any:
    """The float a JSON string stands for ("NaN", "Infinity"...); other values unchanged."""
    return _SPECIAL.get(value, value) if isinstance(value, str) else value


def q(value: Any) -> str:
    """One path segment of the REST API."""
    return quote(str(value), safe="")


class LocalDomain:
    """A domain client over the services, acting as ``user``."""

    def __init__(self, services: Services, user: str) -> None:
        self.services = services
        self.user = user


class HttpDomain:
    """A domain client over the REST API (the server decides who acts)."""

    def __init__(self, request: Request) -> None:
        self.request = request
