"""Load a model for serving: from the registry (``labcycle.models.load_model``) or a folder.

A served model exposes ``predict(df)``, ``predict_proba(df)`` (or None), ``signature`` and
``version``. When the model is a known scikit-learn classifier whose ``predict`` is the
argmax of ``predict_proba`` (trees and forests), :class:`ServedModel` computes the
probabilities once and derives the labels from them: one pass over the forest, not two.

Such an estimator, when its ``feature_names_in_`` are the signature's input columns in the
same order, also takes the batch as one float matrix (:meth:`ServedModel.predict_matrix`):
the server has checked every column name and type against the signature already, so
scikit-learn's per-call DataFrame checks (about 0.7 ms of a 3 ms one-row forest predict)
are skipped and no DataFrame is built. The results are the same: a forest reads
DataFrames as this very matrix.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

_ARGMAX_CLASSIFIERS = {
    "RandomForestClassifier",
    "ExtraTreesClassifier",
    "DecisionTreeClassifier",
    "ExtraTreeClassifier",
}


def _estimator_of(model: Any) -> Any:
    inner = getattr(model, "raw", None)  # labcycle.models.LoadedModel wraps the estimator
    return inner if inner is not None and hasattr(inner, "predict") else model


class ServedModel:
    def __init__(
        self, loaded: Any, version: dict[str, Any], signature: dict[str, Any] | None
    ) -> None:
        self.loaded = loaded
        self.version = version
        self.signature = signature or {"inputs": [], "outputs": []}
        est = _estimator_of(loaded)
        self._classes: np.ndarray | None = None
        if type(est).__name__ in _ARGMAX_CLASSIFIERS and getattr(est, "n_outputs_", 1) == 1:
            self._classes = np.asarray(est.classes_)
            if (signature or {}).get("input_type") == "ndarray":
                self._proba = lambda frame: est.predict_proba(frame.to_numpy())
            else:
                self._proba = est.predict_proba
        self.has_proba = self._classes is not None or callable(
            getattr(loaded, "predict_proba", None)
        )
        self.matrix_ok = False
        if self._classes is not None:
            fitted = getattr(est, "feature_names_in_", None)
            inputs = [c.get("name") for c in self.signature.get("inputs") or []]
            same = (
                list(fitted) == inputs
                if fitted is not None
                else (
                    self.signature.get("input_type") == "ndarray"
                    and getattr(est, "n_features_in_", None) == len(inputs)
                )
            )
            if same and inputs:
                self.matrix_ok = True
                self._proba_matrix = est.predict_proba
                # the matrix has no names on purpose (checked above, and per request)
                warnings.filterwarnings(
                    "ignore", message="X does not have valid feature names", category=UserWarning
                )

    @property
    def key(self) -> str:
        return str(self.version.get("id") or self.version.get("version") or "local")

    @property
    def name(self) -> str:
        return str(self.version.get("model_name") or self.version.get("name") or "model")

    @property
    def number(self) -> int | None:
        v = self.version.get("version")
        return (
            int(v)
            if isinstance(v, (int, np.integer)) or (isinstance(v, str) and v.isdigit())
            else None
        )

    def predict(self, frame: Any, want_proba: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        proba: np.ndarray | None
        if self._classes is not None:
            proba = np.asarray(self._proba(frame))
            return self._classes.take(proba.argmax(axis=1)), (proba if want_proba else None)
        preds = np.asarray(self.loaded.predict(frame))
        proba = None
        if want_proba and callable(getattr(self.loaded, "predict_proba", None)):
            try:
                proba = self.loaded.predict_proba(frame)
            except (AttributeError, NotImplementedError):
                proba = None
            proba = None if proba is None else np.asarray(proba)
        return preds, proba

    def predict_matrix(
        self, block: np.ndarray, want_proba: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """A (rows × signature columns) float matrix, when :attr:`matrix_ok`."""
        proba = np.asarray(self._proba_matrix(block))
        assert self._classes is not None  # matrix_ok holds for argmax classifiers only
        return self._classes.take(proba.argmax(axis=1)), (proba if want_proba else None)

    def example_frame(self) -> Any:
        """A one-row frame that satisfies the signature, to warm the model up."""
        import pandas as pd

        row = {}
        for col in self.signature.get("inputs") or []:
            dtype = str(col.get("dtype") or "").lower()
            cats = col.get("categories")
            if cats:
                row[col["name"]] = [cats[0]]
            elif dtype.startswith("float"):
                lo, hi = col.get("min"), col.get("max")
                row[col["name"]] = [
                    float((lo + hi) / 2) if lo is not None and hi is not None else 0.0
                ]
            elif dtype.startswith(("int", "uint")):
                row[col["name"]] = [int(col.get("min") or 0)]
            elif dtype.startswith("bool"):
                row[col["name"]] = [False]
            else:
                row[col["name"]] = [""]
        return pd.DataFrame(row)


def _signature_from_estimator(est: Any) -> dict[str, Any]:
    names = getattr(est, "feature_names_in_", None)
    if names is None:
        n = int(getattr(est, "n_features_in_", 0))
        names = [f"x{i}" for i in range(n)]
    return {
        "inputs": [{"name": str(n), "dtype": "float64", "nullable": False} for n in names],
        "outputs": [{"name": "prediction", "dtype": "object"}],
    }


def load_path(path: str | Path) -> ServedModel:
    """A model folder (a ``*.skops`` file and optionally ``signature.json``) or a .skops file,
    for ``labcycle serve DIR`` in a container. Only skops: nothing is unpickled."""
    import skops.io as sio

    path = Path(path)
    folder = path if path.is_dir() else path.parent
    files = [path] if path.is_file() else sorted(path.glob("**/*.skops"))
    if not files:
        raise FileNotFoundError(f"No .skops model file in {path}.")
    untrusted = sio.get_untrusted_types(file=files[0])
    # Types of scikit-learn and numpy themselves (a tree's Tree, ...) are safe to rebuild;
    # anything else needs the registry's explicit trust decision.
    foreign = [t for t in untrusted if not t.startswith(("sklearn.", "numpy.", "scipy."))]
    if foreign:
        raise PermissionError(
            f"{files[0]} needs untrusted types {foreign}; load it through the "
            "registry with an explicit trust decision."
        )
    est = sio.load(files[0], trusted=untrusted)
    sig_file = folder / "signature.json"
    signature = (
        json.loads(sig_file.read_text()) if sig_file.is_file() else _signature_from_estimator(est)
    )
    meta_file = folder / "version.json"
    version = (
        json.loads(meta_file.read_text())
        if meta_file.is_file()
        else {"id": "local", "model_name": folder.name or "model", "version": None}
    )
    return ServedModel(est, version, signature)


def load(ref: Any, services: Any = None) -> ServedModel:
    """A registry reference or version dict (through ``labcycle.models``), or a path."""
    from ..models import load_model  # the registry's API

    if isinstance(ref, (str, Path)) and Path(str(ref)).exists():
        if not (Path(str(ref)) / "labcycle-model.json").is_file():
            return load_path(ref)
        loaded = load_model(str(ref), services=None)
    else:
        # Trust is the deployer's decision (DeploymentService.target marks the versions its
        # deployer trusted), never the flag its author logged it with.
        trusted = bool(isinstance(ref, dict) and ref.get("deployer_trusted") is True)
        owned = services is None
        if owned:
            from ..services import Services

            services = Services.from_config()
        try:
            loaded = load_model(
                ref, services=services, trusted=trusted, actor="labcycle-serve" if trusted else None
            )
        finally:
            if owned:
                services.close()
    version = dict(getattr(loaded, "version", None) or (ref if isinstance(ref, dict) else {}))
    return ServedModel(loaded, version, getattr(loaded, "signature", None))
