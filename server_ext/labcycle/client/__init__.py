"""How the Python API reaches a LabCycle store: directly (local) or through the REST API (http)."""

from .transport import Transport, default_transport

__all__ = ["Transport", "default_transport"]
