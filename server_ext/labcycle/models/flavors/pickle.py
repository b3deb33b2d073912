"""pickle and joblib: any Python object, but loading executes code chosen by the file.

Both flavors require ``trusted=True`` when a model is logged and again when it is loaded;
the file is not even opened otherwise.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from ...errors import Forbidden
from .base import Flavor


def _refuse(name: str) -> Forbidden:
    return Forbidden(
        f"A {name} model runs arbitrary code when it is loaded, so LabCycle loads it only with "
        "an explicit trust decision: pass trusted=True (recorded in the audit log) if you trust "
        "the model's author, or re-log the model with the sklearn (skops) flavor.",
        flavor=name,
    )


class PickleFlavor(Flavor):
    requires_trust = True
    packages = ("cloudpickle",)
    file = "model.pkl"

    def save(self, model: Any, folder: Path, **options: Any) -> dict[str, Any]:
        with open(folder / self.file, "wb") as fh:
            pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return {"file": self.file}

    def load(self, folder: Path, options: dict[str, Any], *, trusted: bool) -> Any:
        if not trusted:
            raise _refuse(self.name)
        with open(folder / options.get("file", self.file), "rb") as fh:
            return pickle.load(fh)  # only ever reached with trusted=True


class JoblibFlavor(PickleFlavor):
    packages = ("joblib",)
    file = "model.joblib"

    def save(self, model: Any, folder: Path, **options: Any) -> dict[str, Any]:
        import joblib

        joblib.dump(model, folder / self.file)
        return {"file": self.file}

    def load(self, folder: Path, options: dict[str, Any], *, trusted: bool) -> Any:
        if not trusted:
            raise _refuse(self.name)
        import joblib

        return joblib.load(folder / options.get("file", self.file))
