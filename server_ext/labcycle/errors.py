"""One exception hierarchy for every LabCycle service.

Services raise these; each face maps them once: REST to a status code and a JSON error
body, the CLI to a message and an exit code, the Python API lets them propagate.
"""

from __future__ import annotations

from typing import Any


class LabCycleError(Exception):
    """Base class of every error LabCycle raises on purpose."""

    code = "internal"
    status = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(LabCycleError):
    """The caller sent something malformed; `details["field"]` names it when known."""

    code = "invalid_input"
    status = 400


class NotFound(LabCycleError):
    code = "not_found"
    status = 404


class Conflict(LabCycleError):
    """The request contradicts what is stored (a param logged twice with another value...)."""

    code = "conflict"
    status = 409


class Forbidden(LabCycleError):
    code = "forbidden"
    status = 403


class SchemaError(LabCycleError):
    """The database schema cannot be used by this version of LabCycle."""

    code = "schema"
    status = 500


class Unavailable(LabCycleError):
    """The store cannot be reached or used; retrying later (or fixing the config) helps."""

    code = "unavailable"
    status = 503
