"""MLflow's REST API (tracking, registry, logged models, artifacts) on LabCycle's services.

An unmodified MLflow client pointed at ``<base_url>labcycle/mlflow`` talks to this module
through :mod:`labcycle.server.handlers_mlflow`. Each MLflow call becomes one call of the
tracking, projects, registry or artifact service, so everything the client writes is an
ordinary LabCycle run, model or version (validated, audited, searchable) and LabCycle ids
are MLflow's ids. Only the translation lives here:

* **experiments** live in LabCycle's default project unless the experiment tag
  ``labcycle.project`` names another; MLflow's experiment ``"0"`` is the default project's
  ``Default`` experiment. ``artifact_location`` is ``mlflow-artifacts:/<experiment_id>``,
  so the client sends every artifact through this server (the proxy API below).
* **runs**: statuses are upper-case in MLflow, lower-case in LabCycle; the tag
  ``mlflow.runName`` is the run's name. Search filters use MLflow's syntax, translated to
  LabCycle's (``attributes.run_name`` → ``name``, ``attributes.status = 'FINISHED'`` →
  ``status = 'finished'``...), then run by the tracking service's own search.
* **artifacts** (``/api/2.0/mlflow-artifacts/artifacts/<path>``): a run's files are at
  ``<experiment>/<run_id>/artifacts/<path>``; a logged model's at
  ``<experiment>/models/<model_id>/artifacts/<path>``, stored in its source run under
  ``mlflow-models/<model_id>/``. Paths are validated by the artifact service's rules.
* **logged models** (MLflow 3): the id is ``m-<run_id>-<8 hex>``, so it names its run; the
  model's record is the run tag ``labcycle.mlflow.model.<model_id>`` (JSON).
* **model versions** are registered by LabCycle's registry from the logged model's files
  (a skops scikit-learn model, as MLflow 3 saves it by default): the files get a
  ``labcycle-model.json`` (the same as ``labcycle import mlflow`` writes) in a staging
  folder that the registry moves to ``models/<name>/v<n>``. Pickled models are refused
  with a message (LabCycle never accepts them silently).

Errors are :class:`MlflowError` with MLflow's ``error_code``; LabCycle's errors map to
them in :func:`mlflow_error`.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..errors import Conflict, Forbidden, LabCycleError, NotFound, Unavailable
from ..store.artifacts import validate_artifact_path
from ..store.models import Tag
from .common import MAX_PAGE, new_id, now_ms, to_float, to_int, validate_id, validate_key
from .metric_buffer import MetricBuffer
from .mlflow_import import _model_meta
from .mlflow_sources import STATUS_MAP
from .projects import DEFAULT_PROJECT
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
_TO_MLFLOW_STATUS = {"running": "RUNNING", "finished": "FINISHED", "failed": "FAILED",
                     "killed": "KILLED"}
#: MLflow run attributes → LabCycle's (search filters and order_by)
_ATTRIBUTES = {"run_name": "name", "run_id": "id", "run_uuid": "id", "user_id": "user",
               "status": "status", "start_time": "start_time", "end_time": "end_time",
               "created": "start_time", "experiment_id": "experiment_id"}


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
    return MlflowError("INTERNAL_ERROR", "LabCycle hit an unexpected error; the Jupyter "
                       "server's log has the details.", 500)


def invalid(message: str) -> MlflowError:
    return MlflowError("INVALID_PARAMETER_VALUE", message, 400)


# -- small conversions ------------------------------------------------------------------------
def _ms(text: str | None) -> int | None:
    return None if text is None else int(datetime.fromisoformat(text).timestamp() * 1000)


def _text(params: dict, name: str, *, required: bool = True) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise invalid(f"Missing value for required parameter '{name}'.")
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
    return [{"key": k, "value": v} for k, v in sorted(tags.items())
            if not k.startswith(HIDDEN_TAGS)]


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
                f"{', '.join(sorted(_ATTRIBUTES))} (and metrics., params., tags.).")
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
        run_id = _MODEL_ID.match(found.group(1)).group(1)
        return Location(run_id, f"{MODELS_DIR}/{found.group(1)}", found.group(2))
    found = _RUN_PATH.match(path)
    if found:
        return Location(found.group(1), "", found.group(2))
    raise invalid(
        f"Artifact path {path!r} is not one this server issued: expected "
        "'<experiment_id>/<run_id>/artifacts/<path>' or "
        "'<experiment_id>/models/<model_id>/artifacts/<path>'.")


class MlflowCompat:
    """MLflow's API calls as calls of LabCycle's services (module docstring).

    ``flush_interval`` > 0 buffers ``log_metric`` points (:mod:`.metric_buffer`): the
    request is answered once the point is validated and its run known, and every read of
    a run through this class writes the run's pending points first.
    """

    #: seconds a (run, actor) admitted for buffered points stays admitted without a new
    #: check of the run and the actor's role
    ADMIT_TTL = 30.0

    def __init__(self, services: Any, flush_interval: float = 0.0) -> None:
        self.services = services
        self.buffer = MetricBuffer(services.tracking, flush_interval) if flush_interval > 0 else None
        self._admitted: dict[tuple[str, str], float] = {}

    def close(self) -> None:
        if self.buffer is not None:
            self.buffer.close()

    def _settle(self, run_id: str | None = None) -> None:
        """Write the buffered points (of one run) before reading."""
        if self.buffer is not None:
            self.buffer.flush(run_id)

    # -- log_metric's fast path ---------------------------------------------------------
    @staticmethod
    def metric_point(params: dict) -> tuple[str, tuple[str, float, int, int]]:
        """``(run_id, (key, value, step, timestamp))`` of a log-metric request, checked as
        the tracking service checks points (no database needed)."""
        run_id = MlflowCompat._run_id(params)
        validate_id(run_id, "run_id")
        key = validate_key(_text(params, "key"), "key")
        if "value" not in params:
            raise invalid("Missing value for required parameter 'value'.")
        step = to_int(_int(params.get("step") or 0, "step"), "step")
        timestamp = to_int(_int(params.get("timestamp") or now_ms(), "timestamp"), "timestamp")
        return run_id, (key, to_float(params["value"], "value"), step, timestamp)

    def admitted(self, run_id: str, actor: str) -> bool:
        """Whether points of ``run_id`` by ``actor`` may go to the buffer without a check."""
        until = self._admitted.get((run_id, actor))
        return until is not None and until > time.monotonic()

    def buffer_point(self, run_id: str, actor: str, point: tuple[str, float, int, int]) -> None:
        """Buffer a point of an admitted run (the caller checked :meth:`admitted`)."""
        self.buffer.add(run_id, actor, point)

    # -- dispatch ---------------------------------------------------------------------------
    def endpoint(self, method: str, path: str) -> Callable[..., Any]:
        """The function serving ``method path`` (path after ``/api/2.0/mlflow/``)."""
        fn = ROUTES.get((method, path))
        if fn is None and path.startswith("logged-models/"):
            rest = path[len("logged-models/"):]
            if rest.endswith("/tags") and method == "PATCH":
                return lambda params, actor: self.set_logged_model_tags(rest[:-5], params, actor)
            if "/" not in rest and method in ("GET", "PATCH"):
                if method == "GET":
                    return lambda params, actor: self.get_logged_model(rest)
                return lambda params, actor: self.finalize_logged_model(rest, params, actor)
        if fn is None:
            known = sorted({p for m, p in ROUTES})
            raise MlflowError(
                "ENDPOINT_NOT_FOUND",
                f"LabCycle's MLflow endpoint does not serve {method} /api/2.0/mlflow/{path}. "
                f"It serves: {', '.join(known)}, logged-models/<id> (GET, PATCH) and "
                "logged-models/<id>/tags (PATCH); use LabCycle's own API "
                "(labcycle/api/v1) for the rest.", 404)
        return lambda params, actor: fn(self, params, actor)

    # -- experiments ------------------------------------------------------------------------
    def _experiment(self, exp: dict[str, Any]) -> dict[str, Any]:
        return {
            "experiment_id": exp["id"],
            "name": exp["name"],
            "artifact_location": f"mlflow-artifacts:/{exp['id']}",
            "lifecycle_stage": "active",
            "creation_time": _ms(exp["created_at"]),
            "last_update_time": _ms(exp["updated_at"]),
            "tags": [{"key": PROJECT_TAG, "value": exp["project_name"]}],
        }

    def _experiment_id(self, experiment_id: str) -> str:
        """MLflow's ``"0"`` (its default experiment) is the default project's Default."""
        if experiment_id != "0":
            return experiment_id
        projects = self.services.projects
        try:
            return projects.find_experiment(DEFAULT_EXPERIMENT, DEFAULT_PROJECT)["id"]
        except NotFound:
            try:
                return projects.create_experiment(DEFAULT_EXPERIMENT, actor="mlflow",
                                                  project=DEFAULT_PROJECT)["id"]
            except Conflict:  # created meanwhile
                return projects.find_experiment(DEFAULT_EXPERIMENT, DEFAULT_PROJECT)["id"]

    def create_experiment(self, params: dict, actor: str) -> dict:
        name = _text(params, "name")
        if params.get("artifact_location"):
            raise invalid("artifact_location cannot be chosen here: LabCycle stores the "
                          "artifacts (leave it out; they go through mlflow-artifacts:/).")
        tags = _pairs(params.get("tags"), "tags")
        project = tags.pop(PROJECT_TAG, None) or DEFAULT_PROJECT
        try:
            exp = self.services.projects.create_experiment(name, actor=actor, project=project)
        except Conflict:
            raise MlflowError("RESOURCE_ALREADY_EXISTS",
                              f"Experiment '{name}' already exists.") from None
        return {"experiment_id": exp["id"]}

    def get_experiment(self, params: dict, actor: str) -> dict:
        exp_id = self._experiment_id(_text(params, "experiment_id"))
        return {"experiment": self._experiment(self.services.projects.get_experiment(exp_id))}

    def get_experiment_by_name(self, params: dict, actor: str) -> dict:
        name = _text(params, "experiment_name")
        projects = self.services.projects
        try:
            exp = projects.find_experiment(name)
        except Conflict:  # the same name in several projects: MLflow's is the default one
            exp = projects.find_experiment(name, DEFAULT_PROJECT)
        except NotFound:
            if name != DEFAULT_EXPERIMENT:
                raise MlflowError("RESOURCE_DOES_NOT_EXIST",
                                  f"Could not find experiment with name '{name}'", 404) from None
            exp = projects.get_experiment(self._experiment_id("0"))
        return {"experiment": self._experiment(exp)}

    def search_experiments(self, params: dict, actor: str) -> dict:
        limit = _max_results(params, 1000)
        name_filter = _experiment_filter(params.get("filter"))
        page = self.services.projects.list_experiments(max_results=limit,
                                                       page_token=params.get("page_token") or None)
        items = [e for e in page["items"] if name_filter(e["name"])]
        out: dict[str, Any] = {"experiments": [self._experiment(e) for e in items]}
        if page["next_page_token"]:
            out["next_page_token"] = page["next_page_token"]
        return out

    # -- runs -------------------------------------------------------------------------------
    def _run(self, run: dict[str, Any]) -> dict[str, Any]:
        tags = dict(run["tags"])
        tags.setdefault("mlflow.runName", run["name"])
        if run.get("user"):
            tags.setdefault("mlflow.user", run["user"])
        info = {
            "run_id": run["id"],
            "run_uuid": run["id"],
            "run_name": run["name"],
            "experiment_id": run["experiment_id"],
            "user_id": run.get("user") or "",
            "status": _TO_MLFLOW_STATUS.get(run["status"], "RUNNING"),
            "start_time": _ms(run["start_time"]),
            "artifact_uri": f"mlflow-artifacts:/{run['experiment_id']}/{run['id']}/artifacts",
            "lifecycle_stage": "active",
        }
        if run.get("end_time"):
            info["end_time"] = _ms(run["end_time"])
        return {
            "info": info,
            "data": {
                "metrics": [{"key": k, "value": v, "timestamp": 0, "step": 0}
                            for k, v in sorted(run["metrics"].items())],
                "params": [{"key": k, "value": v} for k, v in sorted(run["params"].items())],
                "tags": _tag_list(tags),
            },
            "inputs": {},
            "outputs": {},
        }

    @staticmethod
    def _run_id(params: dict) -> str:
        return _text(params, "run_id", required=False) or _text(params, "run_uuid")

    def create_run(self, params: dict, actor: str) -> dict:
        tags = _pairs(params.get("tags"), "tags")
        name = params.get("run_name") or tags.get("mlflow.runName") or None
        if name is not None and not isinstance(name, str):
            raise invalid("run_name must be a string.")
        start = params.get("start_time")
        run = self.services.tracking.create_run(
            actor=actor,
            experiment_id=self._experiment_id(_text(params, "experiment_id", required=False) or "0"),
            name=name,
            source="script",
            start_time=None if start in (None, "") else to_int(_int(start, "start_time"),
                                                                 "start_time"),
            tags=tags or None,
        )
        return {"run": self._run(run)}

    def get_run(self, params: dict, actor: str) -> dict:
        run_id = self._run_id(params)
        self._settle(run_id)
        return {"run": self._run(self.services.tracking.get_run(run_id))}

    def update_run(self, params: dict, actor: str) -> dict:
        run_id = self._run_id(params)
        self._settle(run_id)  # the run's points are in before it ends
        status = params.get("status")
        if status is not None:
            if not isinstance(status, str) or status.upper() not in STATUS_MAP:
                raise invalid(f"status must be one of {', '.join(STATUS_MAP)}, got {status!r}.")
            status = STATUS_MAP[status.upper()]
        end = params.get("end_time")
        run = self.services.tracking.update_run(
            run_id, actor=actor, status=status,
            end_time=None if end in (None, "") else _int(end, "end_time"),
            name=params.get("run_name") or None)
        return {"run_info": self._run(run)["info"]}

    def log_parameter(self, params: dict, actor: str) -> dict:
        key = _text(params, "key")
        value = params.get("value")
        self.services.tracking.log_params(self._run_id(params), {key: "" if value is None else value},
                                          actor=actor)
        return {}

    def log_metric(self, params: dict, actor: str) -> dict:
        run_id, point = self.metric_point(params)
        if self.buffer is None:
            self.services.tracking.log_metrics(run_id, [point], actor=actor)
            return {}
        if not self.admitted(run_id, actor):
            self.services.tracking.require_run(run_id)  # 404 now, not at the flush
            if len(self._admitted) > 10_000:
                self._admitted.clear()
            self._admitted[(run_id, actor)] = time.monotonic() + self.ADMIT_TTL
        self.buffer_point(run_id, actor, point)
        return {}

    def log_batch(self, params: dict, actor: str) -> dict:
        metrics = params.get("metrics") or []
        if not isinstance(metrics, list) or not all(isinstance(m, dict) for m in metrics):
            raise invalid("'metrics' must be a list of {key, value, timestamp, step} objects.")
        points = _points(metrics)
        self.services.tracking.log_batch(
            self._run_id(params), actor=actor,
            params=_pairs(params.get("params"), "params") or None,
            metrics=points or None,
            tags=_pairs(params.get("tags"), "tags") or None)
        return {}

    def set_tag(self, params: dict, actor: str) -> dict:
        key = _text(params, "key")
        value = params.get("value")
        self.services.tracking.set_tags(self._run_id(params), {key: "" if value is None else value},
                                        actor=actor)
        return {}

    def search_runs(self, params: dict, actor: str) -> dict:
        ids = params.get("experiment_ids") or []
        if isinstance(ids, str):
            ids = [ids]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise invalid("experiment_ids must be a list of experiment ids.")
        if not ids:
            raise invalid("search_runs needs at least one experiment id in experiment_ids.")
        self._settle()
        view = str(params.get("run_view_type") or "ACTIVE_ONLY").upper()
        if view == "DELETED_ONLY":  # LabCycle deletes runs for good
            return {"runs": []}
        page = self.services.tracking.search_runs(
            experiment_ids=[self._experiment_id(i) for i in ids],
            filter=translate_filter(_text(params, "filter", required=False)),
            order_by=translate_order_by(params.get("order_by")) or None,
            max_results=_max_results(params, 1000),
            page_token=params.get("page_token") or None,
        )
        out: dict[str, Any] = {"runs": [self._run(r) for r in page["items"]]}
        if page["next_page_token"]:
            out["next_page_token"] = page["next_page_token"]
        return out

    def metric_history(self, params: dict, actor: str) -> dict:
        key = _text(params, "metric_key")
        run_id = self._run_id(params)
        self._settle(run_id)
        try:
            history = self.services.tracking.metric_history(run_id, key)
        except NotFound as exc:
            if "has no metric" not in exc.message:
                raise
            return {"metrics": []}  # MLflow: a metric never logged has an empty history
        return {"metrics": [{"key": key, "value": p["value"], "timestamp": p["timestamp"],
                             "step": p["step"]} for p in history["points"]]}

    def log_outputs(self, params: dict, actor: str) -> dict:
        run_id = self._run_id(params)
        models = params.get("models") or []
        if not isinstance(models, list):
            raise invalid("models must be a list of {model_id, step}.")
        self.services.tracking.get_run(run_id)  # 404 for an unknown run
        for item in models:
            self._logged_model(item.get("model_id") if isinstance(item, dict) else None)
        return {}

    # -- logged models (MLflow 3) -----------------------------------------------------------
    def _logged_model(self, model_id: Any) -> tuple[str, dict[str, Any]]:
        found = _MODEL_ID.match(model_id) if isinstance(model_id, str) else None
        if found is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Logged model {model_id!r} not found.", 404)
        run_id = found.group(1)
        try:
            run = self.services.tracking.get_run(run_id)
        except NotFound:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST",
                              f"Logged model {model_id!r} not found.", 404) from None
        record = run["tags"].get(MODEL_TAG + model_id)
        if record is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Logged model {model_id!r} not found.", 404)
        return run_id, {**json.loads(record), "experiment_id": run["experiment_id"]}

    @staticmethod
    def _logged_model_view(model_id: str, run_id: str, record: dict[str, Any]) -> dict:
        return {
            "info": {
                "model_id": model_id,
                "experiment_id": record["experiment_id"],
                "name": record["name"],
                "artifact_uri": (f"mlflow-artifacts:/{record['experiment_id']}/models/"
                                 f"{model_id}/artifacts"),
                "creation_timestamp_ms": record["created"],
                "last_updated_timestamp_ms": record["updated"],
                "status": record["status"],
                "model_type": record.get("model_type") or "",
                "source_run_id": run_id,
                "tags": [{"key": k, "value": v} for k, v in sorted(record["tags"].items())],
            },
            "data": {"params": [{"key": k, "value": v}
                                for k, v in sorted(record["params"].items())],
                     "metrics": []},
        }

    def _save_logged_model(self, run_id: str, model_id: str, record: dict, actor: str) -> None:
        stored = {k: v for k, v in record.items() if k != "experiment_id"}
        self.services.tracking.set_tags(run_id, {MODEL_TAG + model_id: json.dumps(stored)},
                                        actor=actor)

    def create_logged_model(self, params: dict, actor: str) -> dict:
        experiment_id = self._experiment_id(_text(params, "experiment_id"))
        name = _text(params, "name", required=False) or "model"
        run_id = _text(params, "source_run_id", required=False)
        tracking = self.services.tracking
        if run_id is None:  # a model logged outside a run: it gets a run of its own
            run_id = tracking.create_run(actor=actor, experiment_id=experiment_id,
                                         name=f"model-{name}"[:250])["id"]
            tracking.update_run(run_id, actor=actor, status="finished")
        elif tracking.get_run(run_id)["experiment_id"] != experiment_id:
            raise invalid(f"Run {run_id} is not in experiment {experiment_id}.")
        model_id = f"m-{run_id}-{new_id()[:8]}"
        now = now_ms()
        record = {"name": name, "status": "LOGGED_MODEL_PENDING", "created": now, "updated": now,
                  "model_type": params.get("model_type") or "",
                  "params": _pairs(params.get("params"), "params"),
                  "tags": _pairs(params.get("tags"), "tags"), "experiment_id": experiment_id}
        self._save_logged_model(run_id, model_id, record, actor)
        return {"model": self._logged_model_view(model_id, run_id, record)}

    def get_logged_model(self, model_id: str) -> dict:
        run_id, record = self._logged_model(model_id)
        return {"model": self._logged_model_view(model_id, run_id, record)}

    def finalize_logged_model(self, model_id: str, params: dict, actor: str) -> dict:
        run_id, record = self._logged_model(model_id)
        status = params.get("status")
        if status not in ("LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED", "READY",
                          "FAILED"):
            raise invalid(f"status must be LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED, "
                          f"got {status!r}.")
        record.update(status=("LOGGED_MODEL_READY" if "READY" in status
                              else "LOGGED_MODEL_UPLOAD_FAILED"), updated=now_ms())
        self._save_logged_model(run_id, model_id, record, actor)
        return {"model": self._logged_model_view(model_id, run_id, record)}

    def set_logged_model_tags(self, model_id: str, params: dict, actor: str) -> dict:
        run_id, record = self._logged_model(model_id)
        record["tags"].update(_pairs(params.get("tags"), "tags"))
        record["updated"] = now_ms()
        self._save_logged_model(run_id, model_id, record, actor)
        return {}

    def search_logged_models(self, params: dict, actor: str) -> dict:
        ids = params.get("experiment_ids") or []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise invalid("experiment_ids must be a list of experiment ids.")
        wanted = _logged_model_filter(params.get("filter"))
        ids = [self._experiment_id(i) for i in ids]
        limit = _max_results(params, 100)
        T = Tag.__table__
        store = self.services.store
        from ..store.models import Run

        R = Run.__table__
        query = (select(T.c.run_id, T.c.key, T.c.value, R.c.experiment_id)
                 .join(R, R.c.id == T.c.run_id).where(T.c.key.startswith(MODEL_TAG)))
        if ids:
            query = query.where(R.c.experiment_id.in_(ids))
        if "source_run_id" in wanted:
            query = query.where(T.c.run_id == wanted.pop("source_run_id"))
        with store.read() as conn:
            rows = conn.execute(query).all()
        models = []
        for run_id, key, value, experiment_id in rows:
            record = {**json.loads(value), "experiment_id": experiment_id}
            if all(record.get(k) == v for k, v in wanted.items()):
                models.append(self._logged_model_view(key[len(MODEL_TAG):], run_id, record))
        models.sort(key=lambda m: -m["info"]["creation_timestamp_ms"])
        return {"models": models[:limit]}

    # -- registry ---------------------------------------------------------------------------
    def _version(self, v: dict[str, Any]) -> dict[str, Any]:
        tags = v["tags"]
        out = {
            "name": v["model_name"],
            "version": str(v["version"]),
            "creation_timestamp": _ms(v["created_at"]),
            "last_updated_timestamp": _ms(v["updated_at"]),
            "user_id": v.get("created_by") or "",
            "current_stage": "None",
            "description": v.get("description") or "",
            "source": tags.get(SOURCE_TAG) or self._version_uri(v),
            "run_id": v["run_id"],
            "status": "READY",
            "tags": _tag_list(tags),
            "aliases": list(v["aliases"]),
        }
        if tags.get(MODEL_ID_TAG):
            out["model_id"] = tags[MODEL_ID_TAG]
        return out

    def _version_uri(self, v: dict[str, Any]) -> str:
        """Where the version's files are, for the client's download."""
        experiment = v["lineage"].get("experiment_id") or "0"
        model_id = v["tags"].get(MODEL_ID_TAG)
        if model_id:
            return f"mlflow-artifacts:/{experiment}/models/{model_id}/artifacts"
        return f"mlflow-artifacts:/{experiment}/{v['run_id']}/artifacts/{v['artifact_prefix']}"

    def _registered(self, model: dict[str, Any]) -> dict[str, Any]:
        registry = self.services.registry
        out = {
            "name": model["name"],
            "creation_timestamp": _ms(model["created_at"]),
            "last_updated_timestamp": _ms(model["updated_at"]),
            "user_id": model.get("created_by") or "",
            "description": model.get("description") or "",
            "tags": _tag_list(model["tags"]),
            "aliases": [{"alias": a, "version": str(n)} for a, n in sorted(model["aliases"].items())],
        }
        if model.get("latest_version"):
            latest = registry.get_version(model["name"], model["latest_version"])
            out["latest_versions"] = [self._version(latest)]
        return out

    def create_registered_model(self, params: dict, actor: str) -> dict:
        name = _text(params, "name")
        try:
            model = self.services.registry.create_model(
                name, actor=actor, description=params.get("description") or None,
                tags=_pairs(params.get("tags"), "tags") or None)
        except Conflict as exc:  # the client's register_model expects this code
            raise MlflowError("RESOURCE_ALREADY_EXISTS", exc.message) from None
        return {"registered_model": self._registered(model)}

    def get_registered_model(self, params: dict, actor: str) -> dict:
        return {"registered_model": self._registered(
            self.services.registry.get_model(_text(params, "name")))}

    def update_registered_model(self, params: dict, actor: str) -> dict:
        model = self.services.registry.update_model(
            _text(params, "name"), actor=actor, description=params.get("description") or "")
        return {"registered_model": self._registered(model)}

    def set_registered_model_tag(self, params: dict, actor: str) -> dict:
        self.services.registry.update_model(_text(params, "name"), actor=actor,
                                            tags={_text(params, "key"): params.get("value") or ""})
        return {}

    def search_registered_models(self, params: dict, actor: str) -> dict:
        wanted = _name_filter(params.get("filter"))
        limit = _max_results(params, 100)
        page = self.services.registry.list_models(max_results=limit,
                                                  page_token=params.get("page_token") or None)
        out: dict[str, Any] = {"registered_models": [
            self._registered(m) for m in page["items"] if wanted(m["name"])]}
        if page["next_page_token"]:
            out["next_page_token"] = page["next_page_token"]
        return out

    def get_latest_versions(self, params: dict, actor: str) -> dict:
        model = self.services.registry.get_model(_text(params, "name"))
        stages = params.get("stages") or []
        if model.get("latest_version") is None or (stages and "None" not in stages):
            return {"model_versions": []}  # LabCycle has aliases, not stages
        latest = self.services.registry.get_version(model["name"], model["latest_version"])
        return {"model_versions": [self._version(latest)]}

    def create_model_version(self, params: dict, actor: str) -> dict:
        name = _text(params, "name")
        source = _text(params, "source")
        run_id, folder, model_id = self._model_source(source, params)
        self._settle(run_id)  # the version's metrics snapshot has every point
        tags = _pairs(params.get("tags"), "tags")
        tags[SOURCE_TAG] = source
        if model_id:
            tags[MODEL_ID_TAG] = model_id
        staging = self._stage_model(run_id, folder, actor)
        version = self.services.registry.create_version(
            name, run_id=run_id, source_path=staging, actor=actor,
            description=params.get("description") or "", tags=tags)
        return {"model_version": self._version(version)}

    def _model_source(self, source: str, params: dict) -> tuple[str, str, str | None]:
        """(run id, folder in the run, logged model id) of a version's source URI."""
        model_id = params.get("model_id") or None
        if source.startswith("models:/m-"):
            model_id = source[len("models:/"):].strip("/")
        if source.startswith("mlflow-artifacts:/"):
            location = parse_artifact_path(source[len("mlflow-artifacts:/"):])
            if location.prefix:
                model_id = location.prefix.split("/", 1)[1]
            elif location.path:
                return location.run_id, location.path, None
        if source.startswith("runs:/"):
            run_id, _, path = source[len("runs:/"):].partition("/")
            if not path:
                raise invalid(f"source {source!r} names a run but no folder in it.")
            return run_id, validate_artifact_path(path.strip("/"), "source"), None
        if model_id:
            run_id, _ = self._logged_model(model_id)
            return run_id, f"{MODELS_DIR}/{model_id}", model_id
        raise invalid(f"source {source!r} is not a model this server stores: use "
                      "models:/<model_id>, runs:/<run_id>/<path> or an mlflow-artifacts:/ URI.")

    def _stage_model(self, run_id: str, folder: str, actor: str) -> str:
        """The model's files and a ``labcycle-model.json`` in a fresh staging folder of the
        run (artifact rows only: the blobs are shared), for the registry to move."""
        artifacts = self.services.artifacts
        files = [a for a in artifacts.list_artifacts(run_id) if a["path"].startswith(folder + "/")]
        if not files:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST",
                              f"Run {run_id} has no model files under {folder!r}.", 404)
        staging = f"{STAGING}/{new_id()}"
        with tempfile.TemporaryDirectory(prefix="labcycle-mlflow-") as tmp:
            local: dict[str, Path] = {}
            for item in files:
                relative = item["path"][len(folder) + 1:]
                if relative in ("MLmodel",) or relative.endswith((".skops", ".pkl")):
                    target = Path(tmp) / relative.replace("/", "_")
                    target.write_bytes(artifacts.read_artifact(run_id, item["path"]))
                    local[relative] = target
            meta, why = _model_meta(local, trust_pickled=False)
        if meta is None:
            raise invalid(f"LabCycle cannot register this model: {why}. It registers "
                          "scikit-learn models saved with skops (MLflow 3's default).")
        for item in files:
            relative = item["path"][len(folder) + 1:]
            artifacts.record_blob(run_id, f"{staging}/{relative}", item["digest"], item["size"],
                                  actor=actor, media_type=item.get("media_type"))
        artifacts.log_bytes(run_id, f"{staging}/labcycle-model.json",
                            json.dumps(meta, indent=2, default=str).encode(), actor=actor)
        return staging

    def get_model_version(self, params: dict, actor: str) -> dict:
        version = self.services.registry.get_version(_text(params, "name"),
                                                     _int(params.get("version"), "version"))
        return {"model_version": self._version(version)}

    def update_model_version(self, params: dict, actor: str) -> dict:
        version = self.services.registry.update_version(
            _text(params, "name"), _int(params.get("version"), "version"), actor=actor,
            description=params.get("description") or "")
        return {"model_version": self._version(version)}

    def set_model_version_tag(self, params: dict, actor: str) -> dict:
        self.services.registry.update_version(
            _text(params, "name"), _int(params.get("version"), "version"), actor=actor,
            tags={_text(params, "key"): params.get("value") or ""})
        return {}

    def get_download_uri(self, params: dict, actor: str) -> dict:
        version = self.services.registry.get_version(_text(params, "name"),
                                                     _int(params.get("version"), "version"))
        return {"artifact_uri": self._version_uri(version)}

    def search_model_versions(self, params: dict, actor: str) -> dict:
        wanted = _name_filter(params.get("filter"), allow_missing=False)
        name = wanted.name  # type: ignore[attr-defined]
        page = self.services.registry.list_versions(name, max_results=_max_results(params, 100),
                                                    page_token=params.get("page_token") or None)
        out: dict[str, Any] = {"model_versions": [self._version(v) for v in page["items"]]}
        if page["next_page_token"]:
            out["next_page_token"] = page["next_page_token"]
        return out

    def set_alias(self, params: dict, actor: str) -> dict:
        self.services.registry.set_alias(_text(params, "name"), _text(params, "alias"),
                                         _int(params.get("version"), "version"), actor=actor)
        return {}

    def get_alias(self, params: dict, actor: str) -> dict:
        name, alias = _text(params, "name"), _text(params, "alias")
        version = self.services.registry.resolve(f"{name}@{alias}")
        return {"model_version": self._version(version)}

    def delete_alias(self, params: dict, actor: str) -> dict:
        self.services.registry.delete_alias(_text(params, "name"), _text(params, "alias"),
                                            actor=actor)
        return {}

    # -- artifacts (the mlflow-artifacts proxy) --------------------------------------------
    def list_artifacts(self, path: str) -> dict:
        location = parse_artifact_path(path)
        base = location.full
        files: dict[str, dict[str, Any]] = {}
        for item in self.services.artifacts.list_artifacts(location.run_id):
            full = item["path"]
            if base:
                if not full.startswith(base + "/"):
                    continue
                rest = full[len(base) + 1:]
            else:
                if full.startswith((MODELS_DIR + "/", STAGING + "/")):
                    continue
                rest = full
            head, sep, _ = rest.partition("/")
            if sep:
                files.setdefault(head, {"path": head, "is_dir": True})
            else:
                files[head] = {"path": head, "is_dir": False, "file_size": item["size"]}
        return {"files": [files[k] for k in sorted(files)]}

    def open_artifact(self, path: str) -> tuple[dict[str, Any], Iterator[bytes]]:
        location = parse_artifact_path(path)
        if not location.path:
            raise invalid(f"{path!r} is a folder: name a file to download.")
        return self.services.artifacts.open_artifact(location.run_id, location.full)

    def upload_artifact(self, path: str, data: bytes, actor: str) -> dict:
        location = parse_artifact_path(path)
        if not location.path:
            raise invalid(f"{path!r} is a folder: name the file to upload.")
        if location.prefix:
            self._logged_model(location.prefix.split("/", 1)[1])  # 404 for an unknown model
        self.services.artifacts.log_bytes(location.run_id, location.full, data, actor=actor)
        return {}

    # -- project roles ----------------------------------------------------------------------
    def write_scope(self, path: str, params: dict) -> list[tuple[str, str]]:
        """The entities an MLflow write touches, for LabCycle's project roles."""
        entities: list[tuple[str, str]] = []
        run_id = params.get("run_id") or params.get("run_uuid") or params.get("source_run_id")
        if isinstance(run_id, str) and run_id:
            entities.append(("run", run_id))
        experiment_id = params.get("experiment_id")
        if isinstance(experiment_id, str) and experiment_id and experiment_id != "0":
            entities.append(("experiment", experiment_id))
        name = params.get("name")
        if path.startswith(("registered-models", "model-versions")) and isinstance(name, str) \
                and name and path != "registered-models/create":
            entities.append(("model", name))
        found = _MODEL_ID.match(path.split("/")[1]) if path.startswith("logged-models/") \
            and path.count("/") >= 1 else None
        if found:
            entities.append(("run", found.group(1)))
        return entities

    def artifact_scope(self, path: str) -> list[tuple[str, str]]:
        return [("run", parse_artifact_path(path).run_id)]


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
        points = [(m["key"], float(m["value"]), _whole(m.get("step") or 0),
                   _whole(m.get("timestamp") or now)) for m in metrics]
        if all(type(p[0]) is str and type(m["value"]) is not bool
               for p, m in zip(points, metrics, strict=True)):
            return points
    except (KeyError, TypeError, ValueError, OverflowError):
        pass
    for i, m in enumerate(metrics):
        if "value" not in m:
            raise invalid(f"metrics[{i}] has no value.")
    return [{"key": m.get("key"), "value": m.get("value"),
             "step": _int(m.get("step") or 0, "step"),
             "timestamp": _int(m.get("timestamp") or now, "timestamp")} for m in metrics]


def _whole(value: Any) -> int:
    """An int64 field as protobuf's JSON sends it (a number or a string of digits)."""
    if type(value) is int:
        return value
    if type(value) is str:
        return int(value)
    raise TypeError(value)


_EQUALS = re.compile(r"^\s*(?:attributes\.)?(\w+)\s*(=|LIKE|ILIKE)\s*'((?:[^']|'')*)'\s*$",
                     re.IGNORECASE)


def _match(op: str, pattern: str, value: str) -> bool:
    if op == "=":
        return value == pattern
    regex = "^" + ".*".join(".".join(map(re.escape, p.split("_"))) for p in pattern.split("%")) + "$"
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
    if not found or found.group(1).lower() != "name" or (not allow_missing and found.group(2) != "="):
        raise invalid(f"Unsupported filter {text!r}: LabCycle's MLflow endpoint filters by "
                      "name = '...'" + ("" if not allow_missing else " or name LIKE '...'") + ".")
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
            raise invalid(f"Unsupported logged-model filter {text!r}: LabCycle's MLflow "
                          "endpoint filters logged models by source_run_id = '...' and name = '...'.")
        wanted[found.group(1)] = found.group(3).replace("''", "'")
    return wanted


#: (method, path after /api/2.0/mlflow/) → MlflowCompat method
ROUTES: dict[tuple[str, str], Callable[..., Any]] = {
    ("POST", "experiments/create"): MlflowCompat.create_experiment,
    ("GET", "experiments/get"): MlflowCompat.get_experiment,
    ("GET", "experiments/get-by-name"): MlflowCompat.get_experiment_by_name,
    ("POST", "experiments/search"): MlflowCompat.search_experiments,
    ("GET", "experiments/search"): MlflowCompat.search_experiments,
    ("POST", "runs/create"): MlflowCompat.create_run,
    ("GET", "runs/get"): MlflowCompat.get_run,
    ("POST", "runs/update"): MlflowCompat.update_run,
    ("POST", "runs/log-parameter"): MlflowCompat.log_parameter,
    ("POST", "runs/log-metric"): MlflowCompat.log_metric,
    ("POST", "runs/log-batch"): MlflowCompat.log_batch,
    ("POST", "runs/set-tag"): MlflowCompat.set_tag,
    ("POST", "runs/search"): MlflowCompat.search_runs,
    ("POST", "runs/outputs"): MlflowCompat.log_outputs,
    ("GET", "metrics/get-history"): MlflowCompat.metric_history,
    ("POST", "logged-models"): MlflowCompat.create_logged_model,
    ("POST", "logged-models/search"): MlflowCompat.search_logged_models,
    ("POST", "registered-models/create"): MlflowCompat.create_registered_model,
    ("GET", "registered-models/get"): MlflowCompat.get_registered_model,
    ("PATCH", "registered-models/update"): MlflowCompat.update_registered_model,
    ("POST", "registered-models/set-tag"): MlflowCompat.set_registered_model_tag,
    ("GET", "registered-models/search"): MlflowCompat.search_registered_models,
    ("POST", "registered-models/get-latest-versions"): MlflowCompat.get_latest_versions,
    ("GET", "registered-models/get-latest-versions"): MlflowCompat.get_latest_versions,
    ("POST", "registered-models/alias"): MlflowCompat.set_alias,
    ("GET", "registered-models/alias"): MlflowCompat.get_alias,
    ("DELETE", "registered-models/alias"): MlflowCompat.delete_alias,
    ("POST", "model-versions/create"): MlflowCompat.create_model_version,
    ("GET", "model-versions/get"): MlflowCompat.get_model_version,
    ("PATCH", "model-versions/update"): MlflowCompat.update_model_version,
    ("POST", "model-versions/set-tag"): MlflowCompat.set_model_version_tag,
    ("GET", "model-versions/get-download-uri"): MlflowCompat.get_download_uri,
    ("GET", "model-versions/search"): MlflowCompat.search_model_versions,
}
