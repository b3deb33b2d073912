"""The Python API of the model registry: ``lc.log_model``, ``lc.load_model``, aliases.

Works over both transports: in a kernel of a LabCycle-enabled Jupyter server the files are
uploaded and the version registered through the REST API (the server records the user);
anywhere else through the local store.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from ..client import Transport
from ..client.objects import describe_object
from ..errors import InvalidInput
from ..models import LoadedModel, load_model_dir, materialize, save_model_dir
from ..models import _is_model_dir as is_model_dir
from ..services.registry import name_segment, normalise_name
from .fluent import Run, _state, active_run, current_transport, end_run, log_dataset, start_run

__all__ = [
    "ModelVersion",
    "RegisteredModel",
    "delete_alias",
    "get_model",
    "list_models",
    "load_model",
    "log_model",
    "set_alias",
]


class ModelVersion:
    """A registered model version: ``.name``, ``.version``, ``.ref``, ``.flavor``,
    ``.signature``, ``.aliases``, ``.run_id``, ``.metrics``, ``.lineage``; ``.load()``."""

    def __init__(self, data: dict[str, Any], transport: Transport | None = None) -> None:
        self.data = data
        self._transport = transport

    id = property(lambda self: self.data.get("id"))
    name = property(lambda self: self.data.get("model_name"))
    version = property(lambda self: self.data.get("version"))
    flavor = property(lambda self: self.data.get("flavor"))
    signature = property(lambda self: self.data.get("signature"))
    aliases = property(lambda self: list(self.data.get("aliases") or []))
    run_id = property(lambda self: self.data.get("run_id"))
    metrics = property(lambda self: dict(self.data.get("metrics") or {}))
    lineage = property(lambda self: dict(self.data.get("lineage") or {}))
    artifact_prefix = property(lambda self: self.data.get("artifact_prefix"))

    @property
    def ref(self) -> str | None:
        return f"{self.name}/{self.version}" if self.version is not None else None

    def load(self, trusted: bool = False) -> LoadedModel:
        return load_model(self.data, trusted=trusted)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)

    def __repr__(self) -> str:
        if self.version is None:
            return f"<ModelVersion unregistered at {self.artifact_prefix} (run {self.run_id})>"
        return (
            f"<ModelVersion {self.name}/{self.version} flavor={self.flavor} aliases={self.aliases}>"
        )


class RegisteredModel:
    """A registered model: ``.name``, ``.aliases`` (alias → version), ``.latest_version``,
    ``.description``, ``.tags``; ``.versions()`` lists its versions, newest first."""

    def __init__(self, data: dict[str, Any], transport: Transport) -> None:
        self.data = data
        self._transport = transport

    name = property(lambda self: self.data["name"])
    aliases = property(lambda self: dict(self.data.get("aliases") or {}))
    latest_version = property(lambda self: self.data.get("latest_version"))
    description = property(lambda self: self.data.get("description"))
    tags = property(lambda self: dict(self.data.get("tags") or {}))

    def versions(self) -> list[ModelVersion]:
        items, token = [], None
        while True:
            page = self._transport.list_model_versions(
                self.name, max_results=1000, page_token=token
            )
            items += [ModelVersion(v, self._transport) for v in page["items"]]
            token = page.get("next_page_token")
            if not token:
                return items

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)

    def __repr__(self) -> str:
        return (
            f"<RegisteredModel {self.name!r} latest={self.latest_version} aliases={self.aliases}>"
        )


def log_model(
    model: Any,
    name: str,
    *,
    input_example: Any = None,
    flavor: str | None = None,
    trusted: bool = False,
    code_paths: list | None = None,
    description: str | None = None,
    tags: dict[str, Any] | None = None,
    register: bool = True,
    training_data: Any = None,
    run_id: str | None = None,
) -> ModelVersion:
    """Save ``model`` with the active run and register it as the next version of ``name``.

    Parameters
    ----------
    model : object
        A scikit-learn estimator or pipeline (saved with skops: loading never runs
        code), or anything with ``predict`` (``flavor="python"`` with ``code_paths``, or
        ``flavor="pickle"``/``"joblib"``; these need ``trusted=True``).
    name : str
        The registered model; created on first use. Names that differ only by case,
        Unicode form or URL-encoding are the same name (see ``services/registry.py``).
    input_example : DataFrame or array, optional
        A few input rows: the signature (columns, dtypes, nullability, numeric ranges,
        categories) is inferred from it, and it is stored with the model.
    flavor : str, optional
        ``sklearn`` (default for estimators), ``python``, ``pickle``, ``joblib``, or a
        registered plugin flavor.
    trusted : bool
        Required for flavors that run the model's code when it is loaded; audited.
    code_paths : list of paths, optional
        Files or folders the ``python`` flavor needs to import the model.
    description, tags : optional
        Of the new version.
    register : bool
        False stores the files with the run only (no registry entry).
    training_data : DataFrame or array, optional
        Widens the signature's ranges, categories and nullability to the training data.
        A DataFrame is also logged as the run's ``training`` dataset (with its content,
        stored once however often it is logged): monitors of the model's deployments
        compare live traffic with it by default.
    run_id : str, optional
        Save with this run instead of the active one (autologging's background thread).

    Returns
    -------
    ModelVersion

    Notes
    -----
    Without an active run, a run named ``log-model-<name>`` is started in the default
    experiment and ended (``finished``) once the model is logged. The active run's
    buffered metrics are flushed first, so the version's metrics snapshot includes them.
    """
    display, _ = normalise_name(name)
    own_run = run_id is None and active_run() is None
    if run_id is not None:
        run = Run({"id": run_id}, current_transport())
    else:
        current = None if own_run else active_run()
        run = start_run(name=f"log-model-{display}"[:250]) if current is None else current
    transport = current_transport()
    status = "failed"
    folder = Path(tempfile.mkdtemp(prefix="labcycle-model-"))
    try:
        _state.flusher().flush(run.id)
        if register and describe_object(training_data) == "dataframe":
            log_dataset(
                training_data, name=f"{display}-training", context="training", run_id=run.id
            )
        save_model_dir(
            model,
            folder / "model",
            flavor=flavor,
            input_example=input_example,
            training_data=training_data,
            code_paths=code_paths,
            trusted=trusted,
        )
        source = f"models/{name_segment(display)}/pending-{uuid.uuid4().hex[:12]}"
        files = sorted(p for p in (folder / "model").rglob("*") if p.is_file())
        for path in files:
            transport.upload_artifact(
                run.id, f"{source}/{path.relative_to(folder / 'model').as_posix()}", path
            )
        if not register:
            status = "finished"
            return ModelVersion(
                {
                    "model_name": display,
                    "version": None,
                    "run_id": run.id,
                    "artifact_prefix": source,
                    "flavor": flavor,
                },
                transport,
            )
        data = transport.create_model_version(
            display,
            run_id=run.id,
            source_path=source,
            description=description,
            tags=tags,
            trusted=trusted,
        )
        status = "finished"
        return ModelVersion(data, transport)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if own_run:
            end_run(status)


def _fetcher(transport: Transport, version: dict[str, Any]):
    services = getattr(transport, "services", None)
    if services is not None:  # local store: read blobs by digest (also after a run is deleted)
        return lambda entry: services.blobs.read_bytes(entry["digest"])
    prefix = version["artifact_prefix"]
    if not version.get("run_id"):
        raise InvalidInput(
            f"Model version {version.get('ref')} lost its run; its files cannot "
            "be downloaded over the REST API."
        )
    return lambda entry: transport.download_artifact(version["run_id"], f"{prefix}/{entry['path']}")


def load_model(ref: Any, trusted: bool = False) -> LoadedModel:
    """Load a registered model for prediction.

    Parameters
    ----------
    ref : str, dict, ModelVersion or path
        ``"churn@champion"``, ``"churn/3"``, ``"churn"`` (latest), a version, or a model folder.
    trusted : bool
        Needed for pickle/joblib/python flavors (they run code when loaded) and for skops
        files with types outside the scikit-learn/numpy/scipy allow-list. Each trusted load
        is recorded in the audit log (``model.load.trusted``) before the file is opened.

    Returns
    -------
    LoadedModel
        ``.predict(df)``, ``.predict_proba(df)``, ``.signature``, ``.version``, ``.flavor``.
    """
    if isinstance(ref, ModelVersion):
        ref = ref.data
    if is_model_dir(ref):
        return load_model_dir(ref, trusted=trusted)
    transport = current_transport()
    version = transport.resolve_model(ref)
    if trusted:
        transport.record_trusted_load(version)
    folder = materialize(version, _fetcher(transport, version))
    return load_model_dir(folder, trusted=trusted, version=version)


def set_alias(name: str, alias: str, version: int) -> ModelVersion:
    """Point ``alias`` (``champion``, ``challenger``...) at ``version`` of model ``name``."""
    transport = current_transport()
    return ModelVersion(transport.set_model_alias(name, alias, version), transport)


def delete_alias(name: str, alias: str) -> None:
    current_transport().delete_model_alias(name, alias)


def get_model(name: str) -> RegisteredModel:
    """The registered model ``name`` (any spelling that normalises to it)."""
    transport = current_transport()
    return RegisteredModel(transport.get_model(name), transport)


def list_models() -> list[RegisteredModel]:
    transport = current_transport()
    items, token = [], None
    while True:
        page = transport.list_models(max_results=1000, page_token=token)
        items += [RegisteredModel(m, transport) for m in page["items"]]
        token = page.get("next_page_token")
        if not token:
            return items
