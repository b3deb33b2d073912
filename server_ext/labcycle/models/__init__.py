"""Models: flavors, signatures, and loading a registered model for prediction.

Interface (for serving, deployments, the CLI and the Python API)
----------------------------------------------------------------
``load_model(ref, *, services, trusted=False, actor=None) -> LoadedModel``
    ``ref`` is ``"name@alias"``, ``"name/3"`` (version 3), ``"name"`` (the latest
    version), a model-version dict (as the registry returns it) or a model folder (one
    holding ``labcycle-model.json``, e.g. from ``labcycle deploy export``). ``services``
    is the store of the version (None for a folder). A flavor that executes code when loading
    (pickle, joblib, python) needs ``trusted=True``; each such load is audited as
    ``model.load.trusted`` with ``actor`` (default: the local user).

``LoadedModel``
    ``.predict(df: pandas.DataFrame) -> numpy.ndarray``;
    ``.predict_proba(df) -> numpy.ndarray | None`` (None when the model has none);
    ``.signature`` = ``{"input_type", "inputs": [{"name", "dtype", "nullable", "min"?,
    "max"?, "categories"?}], "outputs": [{"name", "dtype", "classes"?}]}`` or None;
    ``.version`` (the model-version dict; for a folder, what the folder records);
    ``.flavor`` (str); ``.classes`` (list or None); ``.raw`` (the underlying object).

``services.registry`` (``labcycle.services.registry.RegistryService``)
    ``resolve(ref) -> version dict``, ``get_version(name, version)``,
    ``set_alias(name, alias, version, *, actor)``, ``delete_alias(name, alias, *, actor)``,
    ``get_model(name)``, ``list_models(max_results=None, page_token=None)`` and
    ``list_versions(name, max_results=None, page_token=None)`` (both
    ``{"items": [...], "next_page_token"}``), ``create_version(name, *, run_id,
    source_path, actor, ...)``, ``record_trusted_load(version_id, *, actor)``; a version dict has
    ``id, model_id, model_name, version, flavor, run_id, artifact_prefix, files,
    signature, environment, metrics, lineage, aliases, created_at, created_by,
    description, tags, trusted, status``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from .flavors import FLAVORS, Flavor, get_flavor, guess_flavor, register_flavor
from .package import META_FILE, file_digest, load_object, read_meta, save_model_dir
from .signature import infer_signature, to_frame


class LoadedModel:
    """A model ready to predict, with its signature and registry record."""

    def __init__(
        self,
        raw: Any,
        meta: dict[str, Any],
        version: dict[str, Any] | None = None,
        folder: Path | None = None,
    ) -> None:
        self.raw = raw
        self.meta = meta
        self.flavor: str = meta["flavor"]
        self.signature: dict[str, Any] | None = (version or {}).get("signature") or meta.get(
            "signature"
        )
        self.version: dict[str, Any] = version or {
            "id": None,
            "model_name": None,
            "version": None,
            "flavor": self.flavor,
            "signature": self.signature,
            "environment": meta.get("environment"),
            "trusted": bool(meta.get("requires_trust")),
        }
        self.folder = folder
        classes = getattr(raw, "classes_", None)
        self.classes: list | None = (
            list(classes.tolist() if hasattr(classes, "tolist") else classes)
            if classes is not None
            else None
        )

    def _input(self, df: Any) -> Any:
        """The DataFrame as the model was trained on it: signature column order, or a matrix."""
        import numpy as np
        import pandas as pd

        sig = self.signature
        if not isinstance(df, pd.DataFrame):
            if not sig or sig.get("input_type") != "dataframe":
                return np.asarray(df)  # an array for a model that takes arrays
            df, _ = to_frame(df)
            df.columns = [c["name"] for c in sig["inputs"]][: len(df.columns)]
        if not sig:
            return df
        names = [c["name"] for c in sig.get("inputs", [])]
        columns = [str(c) for c in df.columns]
        if names and set(names) <= set(columns):
            df = df.rename(columns=dict(zip(df.columns, columns, strict=True)))[names]
        if sig.get("input_type") == "ndarray":
            return df.to_numpy()
        return df

    def predict(self, df: Any) -> Any:
        """Predictions for the rows of ``df``, as a numpy array."""
        import numpy as np

        return np.asarray(self.raw.predict(self._input(df)))

    def predict_proba(self, df: Any) -> Any:
        """Class probabilities (rows × classes), or None when the model gives none."""
        import numpy as np

        method = getattr(self.raw, "predict_proba", None)
        if not callable(method):
            return None
        try:
            return np.asarray(method(self._input(df)))
        except AttributeError:  # e.g. a pipeline whose final step has no predict_proba
            return None

    @property
    def has_proba(self) -> bool:
        return callable(getattr(self.raw, "predict_proba", None))

    def __repr__(self) -> str:
        v = self.version
        name = f"{v.get('model_name')}/{v.get('version')}" if v.get("model_name") else self.folder
        return f"<LoadedModel {name} flavor={self.flavor}>"


def load_model_dir(
    folder: str | os.PathLike, *, trusted: bool = False, version: dict[str, Any] | None = None
) -> LoadedModel:
    """Load the model stored in ``folder`` (see :mod:`labcycle.models.package`).

    The folder is loaded as trusted when ``trusted=True`` or when the environment variable
    ``LABCYCLE_TRUST_MODEL_DIR`` names it (images exported with ``--trusted`` set it).
    """
    folder = Path(folder)
    meta = read_meta(folder)
    trusted_dir = os.environ.get("LABCYCLE_TRUST_MODEL_DIR")
    if not trusted and trusted_dir and Path(trusted_dir).resolve() == folder.resolve():
        trusted = True  # set by an image that `labcycle deploy export --trusted` wrote
    if version is None and (folder / "version.json").is_file():
        import json

        version = json.loads((folder / "version.json").read_text())
    return LoadedModel(load_object(folder, meta, trusted=trusted), meta, version, folder)


def _is_model_dir(ref: Any) -> bool:
    if isinstance(ref, os.PathLike):
        return True
    return isinstance(ref, str) and (Path(ref) / META_FILE).is_file()


def cache_root() -> Path:
    from ..config import LabCycleConfig

    return Path(LabCycleConfig().home).expanduser() / "cache" / "models"


def materialize(version: dict[str, Any], fetch: Any, root: Path | None = None) -> Path:
    """The folder holding ``version``'s files, downloading them with ``fetch(file) -> bytes``.

    Files are kept in a cache keyed by version id (versions are immutable); each file's
    digest is checked, and a folder only appears once complete (written aside, renamed).
    """
    root = root or cache_root()
    target = root / version["id"]
    if (target / META_FILE).is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version['id']}-", dir=root))
    try:
        for entry in version["files"]:
            relative = Path(entry["path"])
            if relative.is_absolute() or ".." in relative.parts:
                raise InvalidInput(f"Model file path {entry['path']!r} is not relative.")
            destination = staging / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(fetch(entry))
            if entry.get("digest") and file_digest(destination) != entry["digest"]:
                raise InvalidInput(
                    f"Model file {entry['path']} does not match its recorded digest; the "
                    "artifact store may be corrupt."
                )
        try:
            staging.rename(target)
        except OSError:  # another process finished first
            if not (target / META_FILE).is_file():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def load_model(
    ref: Any, *, services: Any, trusted: bool = False, actor: str | None = None
) -> LoadedModel:
    """Load a registered model (or a model folder) ready to predict.

    Parameters
    ----------
    ref : str, dict or path
        ``"name@alias"``, ``"name/3"``, ``"name"`` (latest), a version dict, or a folder
        with ``labcycle-model.json``.
    services : Services
        The store the version is in (not needed for a folder).
    trusted : bool
        Allow flavors that run the model's code on load (pickle, joblib, python) and
        skops files with types outside the allow-list. Audited as ``model.load.trusted``.
    actor : str, optional
        The user recorded in the audit log (default: the local user).
    """
    if _is_model_dir(ref):
        return load_model_dir(ref, trusted=trusted)
    version = ref if isinstance(ref, dict) else services.registry.resolve(ref)
    if trusted:
        if actor is None:
            from ..config import local_user

            actor = local_user()
        services.registry.record_trusted_load(version["id"], actor=actor)
    folder = materialize(version, lambda f: services.blobs.read_bytes(f["digest"]))
    return load_model_dir(folder, trusted=trusted, version=version)


__all__ = [
    "FLAVORS",
    "Flavor",
    "LoadedModel",
    "get_flavor",
    "guess_flavor",
    "infer_signature",
    "load_model",
    "load_model_dir",
    "materialize",
    "register_flavor",
    "save_model_dir",
]
