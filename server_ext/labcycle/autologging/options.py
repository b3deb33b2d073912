"""The options of the last ``lc.autolog()`` call, and the warnings autologging gives."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field


@dataclass
class AutologConfig:
    """The options of the last ``lc.autolog()`` call."""

    enabled: bool = False
    log_models: bool = True
    log_datasets: bool = True
    log_training_metrics: bool = True
    system_metrics: bool = True
    system_metrics_interval: float = 10.0
    max_tuning_runs: int | None = None
    registered_model_name: str | None = None
    silent: bool = False
    frameworks: list[str] = field(default_factory=list)


config = AutologConfig()


# -- warnings -----------------------------------------------------------------------------
_warned: set[str] = set()


def warn_once(key: str, message: str) -> None:
    """A warning per kind of failure, once per process (``silent=True`` mutes them)."""
    if key in _warned or config.silent:
        return
    _warned.add(key)
    warnings.warn(f"LabCycle autolog: {message}", RuntimeWarning, stacklevel=3)
