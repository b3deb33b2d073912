"""The LabCycle jupyter_server extension (REST API); see :mod:`labcycle.server.app`."""

from __future__ import annotations

from typing import Any

from .app import LabCycle, LabCycleApp


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "labcycle.server", "app": LabCycleApp}]


__all__ = ["LabCycle", "LabCycleApp", "_jupyter_server_extension_points"]
