"""XGBoost and LightGBM boosters saved in their library's own format, which loads without
unpickling (skops would refuse their types)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from .runtime import FitRun


def native_booster(estimator: Any) -> tuple[Any, str] | None:
    """The booster of an XGBoost/LightGBM scikit-learn wrapper and its native file name."""
    module = type(estimator).__module__
    if module.startswith("xgboost") and hasattr(estimator, "get_booster"):
        return estimator.get_booster(), "model.json"
    if module.startswith("lightgbm") and getattr(estimator, "booster_", None) is not None:
        return estimator.booster_, "model.txt"
    return None


def save_booster(fit_run: FitRun, booster: Any, file: str) -> None:
    from ..api import fluent

    if fit_run.id is None:  # its run could not be created (warned)
        return

    with tempfile.TemporaryDirectory(prefix="labcycle-booster-") as tmp:
        path = Path(tmp) / file
        booster.save_model(str(path))
        fluent.current_transport().upload_artifact(fit_run.id, f"model/{file}", path)
