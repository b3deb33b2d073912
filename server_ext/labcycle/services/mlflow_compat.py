"""MLflow's REST API (tracking, registry, logged models, artifacts) on LabCycle's services.

An unmodified MLflow client pointed at ``<base_url>labcycle/mlflow`` talks to this module
through :mod:`labcycle.server.handlers.core.mlflow`. Each MLflow call becomes one call of the
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
them in :func:`mlflow_error`. This module has the dispatch, experiments, runs and
artifacts; :mod:`.mlflow_models` the logged models and the registry; :mod:`.mlflow_wire`
MLflow's wire format (errors, ids, artifact paths, filters); :mod:`.metric_buffer` the
buffered ``log_metric`` points.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import Conflict, NotFound
from .common import now_ms, to_float, to_int, validate_id, validate_key
from .metric_buffer import MetricBuffer
from .mlflow_models import MlflowModels
from .mlflow_sources import STATUS_MAP
from .mlflow_wire import (
    _MODEL_ID,
    _TO_MLFLOW_STATUS,
    DEFAULT_EXPERIMENT,
    MODELS_DIR,
    PROJECT_TAG,
    STAGING,
    Location,
    MlflowError,
    _experiment_filter,
    _int,
    _max_results,
    _ms,
    _optional_text,
    _pairs,
    _points,
    _tag_list,
    _text,
    invalid,
    mlflow_error,
    parse_artifact_path,
    translate_filter,
    translate_order_by,
)
from .projects import DEFAULT_PROJECT

__all__ = [
    "ROUTES",
    "Location",
    "MlflowCompat",
    "MlflowError",
    "invalid",
    "mlflow_error",
    "parse_artifact_path",
    "translate_filter",
    "translate_order_by",
]


class MlflowCompat(MlflowModels):
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
        self.buffer = (
            MetricBuffer(services.tracking, flush_interval) if flush_interval > 0 else None
        )
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
        assert self.buffer is not None  # admitted() is True only with a buffer
        self.buffer.add(run_id, actor, point)

    # -- dispatch ---------------------------------------------------------------------------
    def endpoint(self, method: str, path: str) -> Callable[..., Any]:
        """The function serving ``method path`` (path after ``/api/2.0/mlflow/``)."""
        fn = ROUTES.get((method, path))
        if fn is None and path.startswith("logged-models/"):
            rest = path[len("logged-models/") :]
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
                "(labcycle/api/v1) for the rest.",
                404,
            )
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
                return projects.create_experiment(
                    DEFAULT_EXPERIMENT, actor="mlflow", project=DEFAULT_PROJECT
                )["id"]
            except Conflict:  # created meanwhile
                return projects.find_experiment(DEFAULT_EXPERIMENT, DEFAULT_PROJECT)["id"]

    def create_experiment(self, params: dict, actor: str) -> dict:
        name = _text(params, "name")
        if params.get("artifact_location"):
            raise invalid(
                "artifact_location cannot be chosen here: LabCycle stores the "
                "artifacts (leave it out; they go through mlflow-artifacts:/)."
            )
        tags = _pairs(params.get("tags"), "tags")
        project = tags.pop(PROJECT_TAG, None) or DEFAULT_PROJECT
        try:
            exp = self.services.projects.create_experiment(name, actor=actor, project=project)
        except Conflict:
            raise MlflowError(
                "RESOURCE_ALREADY_EXISTS", f"Experiment '{name}' already exists."
            ) from None
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
                raise MlflowError(
                    "RESOURCE_DOES_NOT_EXIST", f"Could not find experiment with name '{name}'", 404
                ) from None
            exp = projects.get_experiment(self._experiment_id("0"))
        return {"experiment": self._experiment(exp)}

    def search_experiments(self, params: dict, actor: str) -> dict:
        limit = _max_results(params, 1000)
        name_filter = _experiment_filter(params.get("filter"))
        page = self.services.projects.list_experiments(
            max_results=limit, page_token=params.get("page_token") or None
        )
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
                # latest values only (MLflow's get-history has the points): timestamp and
                # step are left to protobuf's default, 0, which halves what the client
                # parses for a search of many runs
                "metrics": [{"key": k, "value": v} for k, v in sorted(run["metrics"].items())],
                "params": [{"key": k, "value": v} for k, v in sorted(run["params"].items())],
                "tags": _tag_list(tags),
            },
        }

    @staticmethod
    def _run_id(params: dict) -> str:
        return _optional_text(params, "run_id") or _text(params, "run_uuid")

    def create_run(self, params: dict, actor: str) -> dict:
        tags = _pairs(params.get("tags"), "tags")
        name = params.get("run_name") or tags.get("mlflow.runName") or None
        if name is not None and not isinstance(name, str):
            raise invalid("run_name must be a string.")
        start = params.get("start_time")
        run = self.services.tracking.create_run(
            actor=actor,
            experiment_id=self._experiment_id(_optional_text(params, "experiment_id") or "0"),
            name=name,
            source="script",
            start_time=None
            if start in (None, "")
            else to_int(_int(start, "start_time"), "start_time"),
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
            run_id,
            actor=actor,
            status=status,
            end_time=None if end in (None, "") else _int(end, "end_time"),
            name=params.get("run_name") or None,
        )
        return {"run_info": self._run(run)["info"]}

    def log_parameter(self, params: dict, actor: str) -> dict:
        key = _text(params, "key")
        value = params.get("value")
        self.services.tracking.log_params(
            self._run_id(params), {key: "" if value is None else value}, actor=actor
        )
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
            self._run_id(params),
            actor=actor,
            params=_pairs(params.get("params"), "params") or None,
            metrics=points or None,
            tags=_pairs(params.get("tags"), "tags") or None,
        )
        return {}

    def set_tag(self, params: dict, actor: str) -> dict:
        key = _text(params, "key")
        value = params.get("value")
        self.services.tracking.set_tags(
            self._run_id(params), {key: "" if value is None else value}, actor=actor
        )
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
            filter=translate_filter(_optional_text(params, "filter")),
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
        return {
            "metrics": [
                {"key": key, "value": p["value"], "timestamp": p["timestamp"], "step": p["step"]}
                for p in history["points"]
            ]
        }

    def log_outputs(self, params: dict, actor: str) -> dict:
        run_id = self._run_id(params)
        models = params.get("models") or []
        if not isinstance(models, list):
            raise invalid("models must be a list of {model_id, step}.")
        self.services.tracking.get_run(run_id)  # 404 for an unknown run
        for item in models:
            self._logged_model(item.get("model_id") if isinstance(item, dict) else None)
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
                rest = full[len(base) + 1 :]
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
        if (
            path.startswith(("registered-models", "model-versions"))
            and isinstance(name, str)
            and name
            and path != "registered-models/create"
        ):
            entities.append(("model", name))
        found = (
            _MODEL_ID.match(path.split("/")[1])
            if path.startswith("logged-models/") and path.count("/") >= 1
            else None
        )
        if found:
            entities.append(("run", found.group(1)))
        return entities

    def artifact_scope(self, path: str) -> list[tuple[str, str]]:
        return [("run", parse_artifact_path(path).run_id)]


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
