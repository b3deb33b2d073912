"""MLflow 3's logged models and MLflow's model registry, on LabCycle's registry.

Part of the MLflow endpoint (:mod:`.mlflow_compat` has the overview). A logged model's id
is ``m-<run_id>-<8 hex>`` and its record the run tag ``labcycle.mlflow.model.<id>``; its
files are in that run under ``mlflow-models/<id>/``. A model version is registered by
LabCycle's registry from those files plus a ``labcycle-model.json`` (as ``labcycle import
mlflow`` writes it), so only skops scikit-learn models (MLflow 3's default) are accepted.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..errors import Conflict, NotFound
from ..store.artifacts import validate_artifact_path
from ..store.models import Run, Tag
from .common import new_id, now_ms
from .mlflow_import import _model_meta
from .mlflow_wire import (
    _MODEL_ID,
    MODEL_ID_TAG,
    MODEL_TAG,
    MODELS_DIR,
    SOURCE_TAG,
    STAGING,
    MlflowError,
    _int,
    _logged_model_filter,
    _max_results,
    _ms,
    _name_filter,
    _optional_text,
    _pairs,
    _tag_list,
    _text,
    invalid,
    parse_artifact_path,
)


class MlflowModels:
    """The logged-model and registry calls of :class:`~.mlflow_compat.MlflowCompat`."""

    services: Any

    def _experiment_id(self, experiment_id: str) -> str:  # pragma: no cover - see MlflowCompat
        raise NotImplementedError

    def _settle(self, run_id: str | None = None) -> None:  # pragma: no cover - see MlflowCompat
        raise NotImplementedError

    # -- logged models (MLflow 3) -----------------------------------------------------------
    def _logged_model(self, model_id: Any) -> tuple[str, dict[str, Any]]:
        found = _MODEL_ID.match(model_id) if isinstance(model_id, str) else None
        if found is None:
            raise MlflowError(
                "RESOURCE_DOES_NOT_EXIST", f"Logged model {model_id!r} not found.", 404
            )
        run_id = found.group(1)
        try:
            run = self.services.tracking.get_run(run_id)
        except NotFound:
            raise MlflowError(
                "RESOURCE_DOES_NOT_EXIST", f"Logged model {model_id!r} not found.", 404
            ) from None
        record = run["tags"].get(MODEL_TAG + model_id)
        if record is None:
            raise MlflowError(
                "RESOURCE_DOES_NOT_EXIST", f"Logged model {model_id!r} not found.", 404
            )
        return run_id, {**json.loads(record), "experiment_id": run["experiment_id"]}

    @staticmethod
    def _logged_model_view(model_id: str, run_id: str, record: dict[str, Any]) -> dict:
        return {
            "info": {
                "model_id": model_id,
                "experiment_id": record["experiment_id"],
                "name": record["name"],
                "artifact_uri": (
                    f"mlflow-artifacts:/{record['experiment_id']}/models/{model_id}/artifacts"
                ),
                "creation_timestamp_ms": record["created"],
                "last_updated_timestamp_ms": record["updated"],
                "status": record["status"],
                "model_type": record.get("model_type") or "",
                "source_run_id": run_id,
                "tags": [{"key": k, "value": v} for k, v in sorted(record["tags"].items())],
            },
            "data": {
                "params": [{"key": k, "value": v} for k, v in sorted(record["params"].items())],
                "metrics": [],
            },
        }

    def _save_logged_model(self, run_id: str, model_id: str, record: dict, actor: str) -> None:
        stored = {k: v for k, v in record.items() if k != "experiment_id"}
        self.services.tracking.set_tags(
            run_id, {MODEL_TAG + model_id: json.dumps(stored)}, actor=actor
        )

    def create_logged_model(self, params: dict, actor: str) -> dict:
        experiment_id = self._experiment_id(_text(params, "experiment_id"))
        name = _optional_text(params, "name") or "model"
        run_id = _optional_text(params, "source_run_id")
        tracking = self.services.tracking
        if run_id is None:  # a model logged outside a run: it gets a run of its own
            run_id = tracking.create_run(
                actor=actor, experiment_id=experiment_id, name=f"model-{name}"[:250]
            )["id"]
            tracking.update_run(run_id, actor=actor, status="finished")
        elif tracking.get_run(run_id)["experiment_id"] != experiment_id:
            raise invalid(f"Run {run_id} is not in experiment {experiment_id}.")
        model_id = f"m-{run_id}-{new_id()[:8]}"
        now = now_ms()
        record = {
            "name": name,
            "status": "LOGGED_MODEL_PENDING",
            "created": now,
            "updated": now,
            "model_type": params.get("model_type") or "",
            "params": _pairs(params.get("params"), "params"),
            "tags": _pairs(params.get("tags"), "tags"),
            "experiment_id": experiment_id,
        }
        self._save_logged_model(run_id, model_id, record, actor)
        return {"model": self._logged_model_view(model_id, run_id, record)}

    def get_logged_model(self, model_id: str) -> dict:
        run_id, record = self._logged_model(model_id)
        return {"model": self._logged_model_view(model_id, run_id, record)}

    def finalize_logged_model(self, model_id: str, params: dict, actor: str) -> dict:
        run_id, record = self._logged_model(model_id)
        status = params.get("status")
        if status not in ("LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED", "READY", "FAILED"):
            raise invalid(
                f"status must be LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED, got {status!r}."
            )
        record.update(
            status=("LOGGED_MODEL_READY" if "READY" in status else "LOGGED_MODEL_UPLOAD_FAILED"),
            updated=now_ms(),
        )
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
        T, R = Tag.__table__, Run.__table__
        store = self.services.store
        query = (
            select(T.c.run_id, T.c.key, T.c.value, R.c.experiment_id)
            .join(R, R.c.id == T.c.run_id)
            .where(T.c.key.startswith(MODEL_TAG))
        )
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
                models.append(self._logged_model_view(key[len(MODEL_TAG) :], run_id, record))
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
            "aliases": [
                {"alias": a, "version": str(n)} for a, n in sorted(model["aliases"].items())
            ],
        }
        if model.get("latest_version"):
            latest = registry.get_version(model["name"], model["latest_version"])
            out["latest_versions"] = [self._version(latest)]
        return out

    def create_registered_model(self, params: dict, actor: str) -> dict:
        name = _text(params, "name")
        try:
            model = self.services.registry.create_model(
                name,
                actor=actor,
                description=params.get("description") or None,
                tags=_pairs(params.get("tags"), "tags") or None,
            )
        except Conflict as exc:  # the client's register_model expects this code
            raise MlflowError("RESOURCE_ALREADY_EXISTS", exc.message) from None
        return {"registered_model": self._registered(model)}

    def get_registered_model(self, params: dict, actor: str) -> dict:
        return {
            "registered_model": self._registered(
                self.services.registry.get_model(_text(params, "name"))
            )
        }

    def update_registered_model(self, params: dict, actor: str) -> dict:
        model = self.services.registry.update_model(
            _text(params, "name"), actor=actor, description=params.get("description") or ""
        )
        return {"registered_model": self._registered(model)}

    def set_registered_model_tag(self, params: dict, actor: str) -> dict:
        self.services.registry.update_model(
            _text(params, "name"),
            actor=actor,
            tags={_text(params, "key"): params.get("value") or ""},
        )
        return {}

    def search_registered_models(self, params: dict, actor: str) -> dict:
        wanted = _name_filter(params.get("filter"))
        limit = _max_results(params, 100)
        page = self.services.registry.list_models(
            max_results=limit, page_token=params.get("page_token") or None
        )
        out: dict[str, Any] = {
            "registered_models": [self._registered(m) for m in page["items"] if wanted(m["name"])]
        }
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
            name,
            run_id=run_id,
            source_path=staging,
            actor=actor,
            description=params.get("description") or "",
            tags=tags,
        )
        return {"model_version": self._version(version)}

    def _model_source(self, source: str, params: dict) -> tuple[str, str, str | None]:
        """(run id, folder in the run, logged model id) of a version's source URI."""
        model_id = params.get("model_id") or None
        if source.startswith("models:/m-"):
            model_id = source[len("models:/") :].strip("/")
        if source.startswith("mlflow-artifacts:/"):
            location = parse_artifact_path(source[len("mlflow-artifacts:/") :])
            if location.prefix:
                model_id = location.prefix.split("/", 1)[1]
            elif location.path:
                return location.run_id, location.path, None
        if source.startswith("runs:/"):
            run_id, _, path = source[len("runs:/") :].partition("/")
            if not path:
                raise invalid(f"source {source!r} names a run but no folder in it.")
            return run_id, validate_artifact_path(path.strip("/"), "source"), None
        if model_id:
            run_id, _ = self._logged_model(model_id)
            return run_id, f"{MODELS_DIR}/{model_id}", model_id
        raise invalid(
            f"source {source!r} is not a model this server stores: use "
            "models:/<model_id>, runs:/<run_id>/<path> or an mlflow-artifacts:/ URI."
        )

    def _stage_model(self, run_id: str, folder: str, actor: str) -> str:
        """The model's files and a ``labcycle-model.json`` in a fresh staging folder of the
        run (artifact rows only: the blobs are shared), for the registry to move."""
        artifacts = self.services.artifacts
        files = [a for a in artifacts.list_artifacts(run_id) if a["path"].startswith(folder + "/")]
        if not files:
            raise MlflowError(
                "RESOURCE_DOES_NOT_EXIST", f"Run {run_id} has no model files under {folder!r}.", 404
            )
        staging = f"{STAGING}/{new_id()}"
        with tempfile.TemporaryDirectory(prefix="labcycle-mlflow-") as tmp:
            local: dict[str, Path] = {}
            for item in files:
                relative = item["path"][len(folder) + 1 :]
                if relative in ("MLmodel",) or relative.endswith((".skops", ".pkl")):
                    target = Path(tmp) / relative.replace("/", "_")
                    target.write_bytes(artifacts.read_artifact(run_id, item["path"]))
                    local[relative] = target
            meta, why = _model_meta(local, trust_pickled=False)
        if meta is None:
            raise invalid(
                f"LabCycle cannot register this model: {why}. It registers "
                "scikit-learn models saved with skops (MLflow 3's default)."
            )
        for item in files:
            relative = item["path"][len(folder) + 1 :]
            artifacts.record_blob(
                run_id,
                f"{staging}/{relative}",
                item["digest"],
                item["size"],
                actor=actor,
                media_type=item.get("media_type"),
            )
        artifacts.log_bytes(
            run_id,
            f"{staging}/labcycle-model.json",
            json.dumps(meta, indent=2, default=str).encode(),
            actor=actor,
        )
        return staging

    def get_model_version(self, params: dict, actor: str) -> dict:
        version = self.services.registry.get_version(
            _text(params, "name"), _int(params.get("version"), "version")
        )
        return {"model_version": self._version(version)}

    def update_model_version(self, params: dict, actor: str) -> dict:
        version = self.services.registry.update_version(
            _text(params, "name"),
            _int(params.get("version"), "version"),
            actor=actor,
            description=params.get("description") or "",
        )
        return {"model_version": self._version(version)}

    def set_model_version_tag(self, params: dict, actor: str) -> dict:
        self.services.registry.update_version(
            _text(params, "name"),
            _int(params.get("version"), "version"),
            actor=actor,
            tags={_text(params, "key"): params.get("value") or ""},
        )
        return {}

    def get_download_uri(self, params: dict, actor: str) -> dict:
        version = self.services.registry.get_version(
            _text(params, "name"), _int(params.get("version"), "version")
        )
        return {"artifact_uri": self._version_uri(version)}

    def search_model_versions(self, params: dict, actor: str) -> dict:
        wanted = _name_filter(params.get("filter"), allow_missing=False)
        name = wanted.name  # type: ignore[attr-defined]
        page = self.services.registry.list_versions(
            name, max_results=_max_results(params, 100), page_token=params.get("page_token") or None
        )
        out: dict[str, Any] = {"model_versions": [self._version(v) for v in page["items"]]}
        if page["next_page_token"]:
            out["next_page_token"] = page["next_page_token"]
        return out

    def set_alias(self, params: dict, actor: str) -> dict:
        self.services.registry.set_alias(
            _text(params, "name"),
            _text(params, "alias"),
            _int(params.get("version"), "version"),
            actor=actor,
        )
        return {}

    def get_alias(self, params: dict, actor: str) -> dict:
        name, alias = _text(params, "name"), _text(params, "alias")
        version = self.services.registry.resolve(f"{name}@{alias}")
        return {"model_version": self._version(version)}

    def delete_alias(self, params: dict, actor: str) -> dict:
        self.services.registry.delete_alias(
            _text(params, "name"), _text(params, "alias"), actor=actor
        )
        return {}
