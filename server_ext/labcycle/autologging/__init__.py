"""Autologging: ``lc.autolog()`` records training without logging calls.

Off by default. ``lc.autolog()`` (or ``%lc autolog``, or ``LABCYCLE_AUTOLOG=1`` when
``labcycle`` is imported) patches the ``fit`` methods of scikit-learn estimators (pipelines
and search CV included) and ``xgboost.train`` / ``lightgbm.train`` (which their scikit-learn
wrappers call) when those are installed; ``lc.autolog(disable=True)`` puts the originals
back. While a run is active, a background thread samples system metrics.

A fit that has no active run gets a run of its own, named after the estimator, ended when
its logging is done; inside an active run it logs into that run. Only the outermost fit of
a call logs (a pipeline's steps, a search's candidates and a forest's trees are part of it).

**Never blocks training.** During the fit, autologging only reads params and appends to
memory (microseconds a call); everything that touches the store or costs time (creating a
fit's own run, training metrics, which predict on the training data; saving the model; the
dataset fingerprint; a search's child runs; ending the run) runs in one background thread,
in order. ``lc.end_run`` and ``lc.flush`` wait for
it, and so does the interpreter's exit. Fitting the same estimator object again while its
previous fit is still being logged waits for that logging first, so a model is never saved
half-refitted. Any exception inside autologging is reported as a warning and never reaches
the user's ``fit``; an exception from ``fit`` itself propagates unchanged (the run it
started ends as ``failed``).
"""

from __future__ import annotations

import os
from typing import Any

from .options import AutologConfig, config, warn_once
from .runtime import BACKGROUND, Patches

__all__ = ["AutologConfig", "autolog", "config", "enabled", "wait"]


_patches = Patches()


def _interval() -> float:
    try:
        return max(0.1, float(os.environ.get("LABCYCLE_SYSTEM_METRICS_INTERVAL", "10")))
    except ValueError:
        return 10.0


def autolog(
    disable: bool = False,
    *,
    log_models: bool = True,
    log_datasets: bool = True,
    log_training_metrics: bool = True,
    system_metrics: bool = True,
    max_tuning_runs: int | None = None,
    registered_model_name: str | None = None,
    silent: bool = False,
) -> AutologConfig:
    """Turn autologging on (or off with ``disable=True``), as ``mlflow.autolog`` does.

    Parameters
    ----------
    disable : bool
        Restore the original ``fit``/``train`` functions and stop the system-metrics sampler.
    log_models : bool
        Save each fitted model with its run (``lc.log_model(..., register=False)``; XGBoost
        and LightGBM boosters in their native formats).
    log_datasets : bool
        Record the training data's fingerprint (``lc.log_dataset``, content not stored).
    log_training_metrics : bool
        Score the fitted estimator on its training data (accuracy, F1, ... or MSE, R², ...).
    system_metrics : bool
        Sample CPU, memory (and GPU when ``pynvml`` or ``nvidia-smi`` is present) every
        ``LABCYCLE_SYSTEM_METRICS_INTERVAL`` seconds (default 10) while a run is active.
    max_tuning_runs : int, optional
        For GridSearchCV/RandomizedSearchCV: child runs for the best ``max_tuning_runs``
        candidates only (default: every candidate).
    registered_model_name : str, optional
        Also register each logged scikit-learn model as the next version of this name.
    silent : bool
        No warnings from autologging.

    Returns
    -------
    AutologConfig
        What is on now, including ``frameworks`` (the libraries patched).
    """
    from . import system

    if disable:
        _patches.restore()
        system.stop()
        config.enabled = False
        config.frameworks = []
        return config
    config.log_models = bool(log_models)
    config.log_datasets = bool(log_datasets)
    config.log_training_metrics = bool(log_training_metrics)
    config.system_metrics = bool(system_metrics)
    config.system_metrics_interval = _interval()
    config.max_tuning_runs = max_tuning_runs
    config.registered_model_name = registered_model_name
    config.silent = bool(silent)
    frameworks = []
    from . import sklearn as sklearn_patch

    for name, patch in (("sklearn", sklearn_patch.patch), *_optional_frameworks()):
        try:
            if patch(_patches):
                frameworks.append(name)
        except Exception as exc:  # a library we cannot patch must not stop the others
            warn_once(f"patch-{name}", f"could not patch {name}: {exc}")
    config.frameworks = frameworks
    config.enabled = True
    if config.system_metrics:
        system.start(config.system_metrics_interval)
    else:
        system.stop()
    return config


def _optional_frameworks() -> list[tuple[str, Any]]:
    from importlib.util import find_spec

    found = []
    if find_spec("xgboost") is not None:
        from . import boosting

        found.append(("xgboost", boosting.patch_xgboost))
    if find_spec("lightgbm") is not None:
        from . import boosting

        found.append(("lightgbm", boosting.patch_lightgbm))
    return found


def enabled() -> bool:
    return config.enabled


def wait(run_id: str | None = None, timeout: float | None = None) -> bool:
    """Wait until the background logging (of ``run_id``, or all) is done; False on timeout."""
    return BACKGROUND.wait(run_id, timeout)


def enable_from_environment() -> None:
    """``LABCYCLE_AUTOLOG=1`` (or true/yes/on) turns autologging on at ``import labcycle``."""
    if os.environ.get("LABCYCLE_AUTOLOG", "").strip().lower() in ("1", "true", "yes", "on"):
        try:
            autolog()
        except Exception as exc:  # importing labcycle must never fail because of it
            warn_once("env", f"LABCYCLE_AUTOLOG is set but autologging could not start: {exc}")
