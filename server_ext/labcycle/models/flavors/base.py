"""What every model flavor is (the registry is in the package, ``labcycle.models.flavors``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Flavor:
    """Save a model object into a folder and load it back.

    Attributes
    ----------
    name : str
        The registry key, recorded with every model version.
    requires_trust : bool
        Loading executes code of the model's author (pickle, imports).
    packages : tuple of str
        Distributions the flavor needs to load a model (pinned in exported images from the
        environment recorded at log time).
    """

    name = "base"
    requires_trust = False
    packages: tuple[str, ...] = ()

    @classmethod
    def can_handle(cls, model: Any) -> bool:
        """Whether this flavor is a sensible default for ``model``."""
        return False

    def save(self, model: Any, folder: Path, **options: Any) -> dict[str, Any]:
        """Write ``model`` into ``folder``; returns the options needed to load it."""
        raise NotImplementedError

    def load(self, folder: Path, options: dict[str, Any], *, trusted: bool) -> Any:
        """The model object from ``folder`` (as written by :meth:`save`)."""
        raise NotImplementedError
