"""How the Python API reaches a LabCycle store: directly (local) or through the REST API (http)."""

from __future__ import annotations

import os

from .http import HttpTransport
from .local import LocalTransport
from .transport import Transport

__all__ = ["HttpTransport", "LocalTransport", "Transport", "default_transport"]


def default_transport() -> Transport:
    """HTTP when a LabCycle server is announced in the environment, else the local store."""
    url = os.environ.get("LABCYCLE_API_URL")
    if url and os.environ.get("LABCYCLE_TRANSPORT", "auto") != "local":
        return HttpTransport(url, os.environ.get("LABCYCLE_API_TOKEN"))
    return LocalTransport.from_config()
