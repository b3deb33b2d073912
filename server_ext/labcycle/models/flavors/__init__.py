"""Model flavors: how a kind of model is saved to files and loaded back.

A plugin registry (a dict plus :func:`register_flavor`), as papermill does for engines:
``sklearn`` (skops, the default for anything with the scikit-learn estimator API),
``pickle`` and ``joblib`` (trusted only), ``python`` (an object with ``predict`` plus its
code files; trusted only). Another flavor is a :class:`Flavor` subclass registered under
a name, or an entry point in the ``labcycle.model_flavors`` group.

Trust: a flavor with ``requires_trust = True`` executes code of the model's author when it
loads (unpickling, importing code files). Such a model can only be logged with
``trusted=True`` and only loaded with ``trusted=True``; both decisions are audited.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from ...errors import InvalidInput
from .base import Flavor
from .pickle import JoblibFlavor, PickleFlavor
from .python import PythonFlavor
from .sklearn import SklearnFlavor

FLAVORS: dict[str, type[Flavor]] = {}


def register_flavor(name: str, cls: type[Flavor]) -> type[Flavor]:
    """Make ``cls`` available as flavor ``name`` (replacing any flavor of that name)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise InvalidInput("A flavor name must be an identifier such as 'sklearn'.", field="flavor")
    if not (isinstance(cls, type) and issubclass(cls, Flavor)):
        raise InvalidInput(
            "A flavor must be a subclass of labcycle.models.flavors.Flavor.", field="flavor"
        )
    cls.name = name
    FLAVORS[name] = cls
    return cls


_entry_points_loaded = False


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group="labcycle.model_flavors"):
        try:
            register_flavor(ep.name, ep.load())
        except Exception:  # a broken plugin must not break the built-ins
            import logging

            logging.getLogger(__name__).warning(
                "Cannot load model flavor plugin %s", ep.name, exc_info=True
            )


def get_flavor(name: str) -> Flavor:
    """An instance of the flavor registered as ``name``."""
    _load_entry_points()
    cls = FLAVORS.get(name)
    if cls is None:
        raise InvalidInput(
            f"Unknown model flavor {name!r}; known flavors: {', '.join(sorted(FLAVORS))}.",
            field="flavor",
        )
    return cls()


def guess_flavor(model: Any) -> str:
    """The default flavor for ``model``: the first registered flavor that handles it."""
    _load_entry_points()
    for name, cls in FLAVORS.items():
        if cls.can_handle(model):
            return name
    raise InvalidInput(
        f"No flavor knows how to save a {type(model).__module__}.{type(model).__qualname__}: "
        "pass flavor='python' with code_paths=[...] (an object with predict()), or "
        "flavor='pickle' with trusted=True.",
        field="flavor",
    )


register_flavor("sklearn", SklearnFlavor)
register_flavor("python", PythonFlavor)
register_flavor("pickle", PickleFlavor)
register_flavor("joblib", JoblibFlavor)

__all__ = ["FLAVORS", "Flavor", "get_flavor", "guess_flavor", "register_flavor"]
