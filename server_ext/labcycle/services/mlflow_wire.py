"""MLflow's wire format for the MLflow endpoint: its errors, ids, artifact paths, filters.

Shared by :mod:`.mlflow_compat` (tracking, artifacts) and :mod:`.mlflow_models` (logged
models, registry); no service is called here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import Conflict, Forbidden, LabCycleError, NotFound, Unavailable
from ..store.artifacts import validate_artifact_path
from .common import MAX_PAGE, now_ms, to_int
from .query import _tokenize

DEFAULT_EXPERIMENT = "Default"
PROJECT_TAG = "labcycle.project"
MODEL_TAG = "labcycle.mlflow.model."  # + model id: the logged model's record (JSON)
SOURCE_TAG = "labcycle.mlflow.source"  # a version's MLflow source URI
MODEL_ID_TAG = "labcycle.mlflow.model_id"  # the logged model a version was registered from
MODELS_DIR = "mlflow-models"  # a logged model's files, in its source run
STAGING = "_mlflow_register"
HIDDEN_TAGS = ("labcycle.mlflow.",)
_MODEL_ID = re.compile(r"^m-([0-9a-f]{32})-[0-9a-f]{8}$")
_RUN_PATH = re.compile(r"^[^/]+/([0-9a-f]{32})/artifacts(?:/(.*))?$")
_MODEL_PATH = re.compile(r"^[^/]+/models/(m-[0-9a-f]{32}-[0-9a-f]{8})/artifacts(?:/(.*))?$")
_TO_MLFLOW_STATUS = {
    "running": "RUNNING",
    "finished": "FINISHED",
    "failed": "FAILED",
    "killed": "KILLED",
}
#: MLflow run attributes → LabCycle's (search filters and order_by)
_ATTRIBUTES = {
    "run_name": "name",
    "run_id": "id",
    "run_uuid": "id",
    "user_id": "user",
    "status": "status",
    "start_time": "start_time",
    "end_time": "end_time",
    "created": "start_time",
    "experiment_id": "experiment_id",
}


class MlflowError(Exception):
    """An answer in MLflow's error shape: ``{"error_code", "message"}`` with an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def body(self) -> dict[str, str]:
        return {"error_code": self.code, "message": self.message}


def mlflow_error(exc: BaseException) -> MlflowError:
    """Any exception as MLflow's error (LabCycle's messages are kept)."""
    if isinstance(exc, MlflowError):
        return exc
    if isinstance(exc, NotFound):
        return MlflowError("RESOURCE_DOES_NOT_EXIST", exc.message, 404)
    if isinstance(exc, Conflict):  # a param logged again with another value...
        return MlflowError("INVALID_PARAMETER_VALUE", exc.message, 400)
    if isinstance(exc, Forbidden):
        return MlflowError("PERMISSION_DENIED", exc.message, 403)
    if isinstance(exc, Unavailable):
        return MlflowError("TEMPORARILY_UNAVAILABLE", exc.message, 503)
    if isinstance(exc, LabCycleError) and exc.status < 500:
        return MlflowError("INVALID_PARAMETER_VALUE", exc.message, 400)
    return MlflowError(
        "INTERNAL_ERROR",
        "LabCycle hit an unexpected error; the Jupyter server's log has the details.",
        500,
    )


def invalid(message: str) -> MlflowError:
    return MlflowError("INVALID_PARAMETER_VALUE", message, 400)


# -- small conversions ------------------------------------------------------------------------
def _ms(text: str | None) -> int | None:
    return None if text is None else int(datetime.fromisoformat(text).timestamp() * 1000)


def _text(params: dict, name: str) -> str:
    """A required string parameter."""
    value = _optional_text(params, name)
    if value is None:
        raise invalid(f"Missing value for required parameter '{name}'.")
    return value


def _optional_text(params: dict, name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid(f"Parameter '{name}' must be a string, not {type(value).__name__}.")
    return value


def _pairs(items: Any, name: str) -> dict[str, str]:
    """MLflow's ``[{"key", "value"}]`` lists as a dict."""
    if items is None:
        return {}
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise invalid(f"'{name}' must be a list of {{key, value}} objects.")
    out = {}
    for item in items:
        key = item.get("key")
        if not isinstance(key, str) or not key:
            raise invalid(f"Every item of '{name}' needs a non-empty string 'key'.")
        out[key] = item.get("value", "")
    return out


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [
        {"key": k, "value": v} for k, v in sorted(tags.items()) if not k.startswith(HIDDEN_TAGS)
    ]


def _max_results(params: dict, default: int) -> int:
    """MLflow clients ask for up to 50,000 per page: pages here hold at most MAX_PAGE."""
    value = params.get("max_results")
    if value is None or value == "":
        return min(default, MAX_PAGE)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(f"max_results must be an integer, got {value!r}.") from None
    if number < 1:
        raise invalid(f"max_results must be at least 1, got {number}.")
    return min(number, MAX_PAGE)


def translate_filter(text: str | None) -> str | None:
    """An MLflow run filter in LabCycle's filter language (services/query.py).

    Field names change (``attributes.run_name`` → ``name``...); a string compared with the
    status becomes lower-case. Everything else (operators, quoting, AND/OR) is the same
    language; what LabCycle does not know is refused by its parser with a message.
    """
    if not text or not text.strip():
        return None
    out = []
    status_clause = False
    for kind, value in _tokenize(text):
        if kind == "field":
            value, status_clause = _field(value)
        elif kind == "string" and status_clause:
            value = value.lower()
        out.append(value)
    return " ".join(out)


def _field(raw: str) -> tuple[str, bool]:
    entity, _, key = raw.partition(".")
    if not key or entity.lower() in ("attribute", "attributes", "run"):
        name = key if key else raw
        mapped = _ATTRIBUTES.get(name.strip("`"))
        if mapped is None:
            raise invalid(
                f"Invalid attribute key {name!r}: searchable attributes are "
                f"{', '.join(sorted(_ATTRIBUTES))} (and metrics., params., tags.)."
            )
        return mapped, mapped == "status"
    if entity.lower() in ("dataset", "datasets"):
        raise invalid("Filtering runs by dataset is not supported by LabCycle's MLflow endpoint.")
    return raw, False


def translate_order_by(items: Any) -> list[str]:
    if items is None:
        return []
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise invalid("order_by must be a list of strings such as 'metrics.acc DESC'.")
    out = []
    for item in items:
        words = item.strip().rsplit(None, 1)
        direction = ""
        if len(words) == 2 and words[1].lower() in ("asc", "desc"):
            item, direction = words[0], " " + words[1].lower()
        field, _ = _field(item.strip())
        out.append(field + direction)
    return out


@dataclass
class Location:
    """Where an mlflow-artifacts path points: a run and a path in it (None: its root)."""

    run_id: str
    prefix: str  # "" for a run's own files, "mlflow-models/<id>" for a logged model's
    path: str | None

    @property
    def full(self) -> str | None:
        parts = [p for p in (self.prefix, self.path) if p]
        return "/".join(parts) or None


def parse_artifact_path(path: str) -> Location:
    """``<exp>/<run>/artifacts[/p]`` or ``<exp>/models/<model>/artifacts[/p]``; anything else,
    and any ``..``, is a 400."""
    path = (path or "").strip("/")
    if path:
        validate_artifact_path(path)  # no '..', no absolute paths, no encoded separators
    found = _MODEL_PATH.match(path)
    if found:
        model = _MODEL_ID.match(found.group(1))
        assert model is not None  # _MODEL_PATH's first group is a model id
        run_id = model.group(1)
        return Location(run_id, f"{MODELS_DIR}/{found.group(1)}", found.group(2))
    found = _RUN_PATH.match(path)
    if found:
        return Location(found.group(1), "", found.group(2))
    raise invalid(
        f"Artifact path {path!r} is not one this server issued: expected "
        "'<experiment_id>/<run_id>/artifacts/<path>' or "
        "'<experiment_id>/models/<model_id>/artifacts/<path>'."
    )


def _int(value: Any, name: str) -> int:
    """MLflow sends int64 fields as numbers or as strings (protobuf's JSON)."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise invalid(f"{name} must be an integer, got {value!r}.") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(f"{name} must be an integer, got {value!r}.")
    return to_int(value, name)


def _points(metrics: list[dict]) -> list:
    """log-batch's metrics as the ``(key, value, step, timestamp)`` tuples of exact types that
    the tracking service checks at C speed (1,000 per request); anything unusual goes as
    dicts through its general checks, which name the bad field."""
    now = now_ms()
    try:
        points = [
            (
                m["key"],
                float(m["value"]),
                _whole(m.get("step") or 0),
                _whole(m.get("timestamp") or now),
            )
            for m in metrics
        ]
        if all(
            type(p[0]) is str and type(m["value"]) is not bool
            for p, m in zip(points, metrics, strict=True)
        ):
            return points
    except (KeyError, TypeError, ValueError, OverflowError):
        pass
    for i, m in enumerate(metrics):
        if "value" not in m:
            raise invalid(f"metrics[{i}] has no value.")
    return [
        {
            "key": m.get("key"),
            "value": m.get("value"),
            "step": _int(m.get("step") or 0, "step"),
            "timestamp": _int(m.get("timestamp") or now, "timestamp"),
        }
        for m in metrics
    ]


def _whole(value: Any) -> int:
    """An int64 field as protobuf's JSON sends it (a number or a string of digits)."""
    if type(value) is int:
        return value
    if type(value) is str:
        return int(value)
    raise TypeError(value)


_EQUALS = re.compile(
    r"^\s*(?:attributes\.)?(\w+)\s*(=|LIKE|ILIKE)\s*'((?:[^']|'')*)'\s*$", re.IGNORECASE
)


def _match(op: str, pattern: str, value: str) -> bool:
    if op == "=":
        return value == pattern
    regex = (
        "^" + ".*".join(".".join(map(re.escape, p.split("_"))) for p in pattern.split("%")) + "$"
    )
    return re.match(regex, value, re.IGNORECASE if op.upper() == "ILIKE" else 0) is not None


class _NameFilter:
    def __init__(self, op: str, name: str) -> None:
        self.op, self.name = op, name

    def __call__(self, value: str) -> bool:
        return _match(self.op, self.name, value)


def _name_filter(text: Any, *, allow_missing: bool = True) -> Callable[[str], bool]:
    """``name = 'x'`` / ``name LIKE 'x%'``: the filters of registered models and versions."""
    if not text and allow_missing:
        return lambda name: True
    found = _EQUALS.match(text) if isinstance(text, str) else None
    if (
        not found
        or found.group(1).lower() != "name"
        or (not allow_missing and found.group(2) != "=")
    ):
        raise invalid(
            f"Unsupported filter {text!r}: LabCycle's MLflow endpoint filters by "
            "name = '...'" + ("" if not allow_missing else " or name LIKE '...'") + "."
        )
    return _NameFilter(found.group(2), found.group(3).replace("''", "'"))


def _experiment_filter(text: Any) -> Callable[[str], bool]:
    return _name_filter(text)


def _logged_model_filter(text: Any) -> dict[str, str]:
    """``source_run_id = 'x'`` and/or ``name = 'x'`` (joined by AND)."""
    if not text:
        return {}
    if not isinstance(text, str):
        raise invalid("filter must be a string.")
    wanted = {}
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        found = _EQUALS.match(part)
        if not found or found.group(2) != "=" or found.group(1) not in ("source_run_id", "name"):
            raise invalid(
                f"Unsupported logged-model filter {text!r}: LabCycle's MLflow "
                "endpoint filters logged models by source_run_id = '...' and name = '...'."
            )
        wanted[found.group(1)] = found.group(3).replace("''", "'")
    return wanted
