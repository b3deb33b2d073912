"""The ``labcycle`` command line: the same services as the REST API, for terminals and scripts.

Each module attaches its commands to ``base.main``; importing them here builds the
whole command line."""

from . import (  # noqa: F401 - each attaches its commands to main
    apps,
    hub,
    imports,
    jobs,
    lineage,
    models,
    monitors,
    notes,
    runs,
    serving,
    sweeps,
)
from .base import main

__all__ = ["main"]
