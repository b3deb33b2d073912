"""scikit-learn models (and anything with its estimator API) saved with skops.

skops writes a zip of JSON schemas and numpy arrays, not a pickle: loading builds only
objects of types that are explicitly trusted. LabCycle trusts the types that
``skops.io.get_untrusted_types`` reports only when they come from scikit-learn, numpy or
scipy (minus their file-reading and testing helpers); any other type (a custom
transformer, a function from user code) is refused unless the load is ``trusted=True``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import Forbidden
from .base import Flavor

FILE = "model.skops"
ALLOWED_ROOTS = ("sklearn.", "numpy.", "scipy.")
# Inside the allowed packages, names that read or write files or exist only for tests.
DENIED_PARTS = (
    "load",
    "save",
    "memmap",
    "fromfile",
    "tofile",
    "ctypeslib",
    "f2py",
    "distutils",
    "testing",
    "_testing",
    "externals",
    "exec",
    "eval",
    "system",
)


def allowed_type(name: str) -> bool:
    """Whether a type (or function) name reported by skops may be loaded without trust."""
    if not name.startswith(ALLOWED_ROOTS):
        return False
    parts = name.lower().split(".")
    return not any(denied in part for part in parts for denied in DENIED_PARTS)


class SklearnFlavor(Flavor):
    requires_trust = False
    packages = ("scikit-learn", "skops", "numpy", "scipy", "pandas")

    @classmethod
    def can_handle(cls, model: Any) -> bool:
        try:
            from sklearn.base import BaseEstimator
        except ImportError:
            return False
        if isinstance(model, BaseEstimator):
            return True
        # The estimator API without inheriting from BaseEstimator (duck typing).
        return all(callable(getattr(model, m, None)) for m in ("fit", "predict", "get_params"))

    def save(self, model: Any, folder: Path, **options: Any) -> dict[str, Any]:
        import skops.io as sio

        sio.dump(model, folder / FILE)
        return {"file": FILE, "untrusted_types": sio.get_untrusted_types(file=folder / FILE)}

    def load(self, folder: Path, options: dict[str, Any], *, trusted: bool) -> Any:
        import skops.io as sio

        path = folder / options.get("file", FILE)
        found = sio.get_untrusted_types(file=path)
        refused = [name for name in found if not allowed_type(name)]
        if refused and not trusted:
            raise Forbidden(
                "This model file contains types outside LabCycle's allow-list of scikit-learn, "
                f"numpy and scipy types: {', '.join(refused)}. Loading them could run their "
                "code. If you trust the model's author, load it with trusted=True (audited).",
                untrusted_types=refused,
            )
        return sio.load(path, trusted=found)
