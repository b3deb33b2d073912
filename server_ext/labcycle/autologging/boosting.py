"""XGBoost and LightGBM autologging: their ``train`` functions, which the scikit-learn
wrappers (``XGBClassifier.fit``, ``LGBMClassifier.fit``...) call too.

Logged: the training params and ``num_boost_round``, every evaluation result per iteration
(``<data>-<metric>``, e.g. ``validation_0-logloss``) through a callback added to the
user's, ``best_iteration`` with early stopping, and in the background the booster in the
library's native format (``model/model.json`` for XGBoost, ``model/model.txt`` for
LightGBM), which loads without unpickling.
"""

from __future__ import annotations

from typing import Any

from .native import save_booster
from .runtime import FitRun, Patches, autologged


def _train_params(args: tuple, kwargs: dict, default_rounds: int) -> tuple[dict, int]:
    params = kwargs.get("params", args[0] if args else None) or {}
    rounds = kwargs.get("num_boost_round", args[2] if len(args) > 2 else default_rounds)
    return dict(params), int(rounds)


def _after(fit_run: FitRun, library: str, file: str) -> Any:
    from .options import config

    def after(booster: Any) -> None:
        best = getattr(booster, "best_iteration", None)
        if isinstance(best, int) and best >= 0:
            fit_run.log_metric("best_iteration", best)
        if config.log_models and booster is not None:
            fit_run.later(
                lambda: save_booster(fit_run, booster, file),
                obj=booster,
                what=f"saving the {library} model",
            )

    return after


# -- XGBoost ------------------------------------------------------------------------------
def patch_xgboost(patches: Patches) -> bool:
    import xgboost
    import xgboost.sklearn
    import xgboost.training

    for owner in (xgboost.training, xgboost.sklearn, xgboost):
        if hasattr(owner, "train"):
            patches.patch(owner, "train", lambda original: autologged(original, _describe_xgboost))
    _patch_wrappers(patches, xgboost.sklearn.XGBModel)
    return True


def _patch_wrappers(patches: Patches, base: type) -> None:
    """The scikit-learn API classes log as estimators do (params, training metrics, data);
    the ``train`` they call inside is then part of their fit."""
    from . import sklearn as sklearn_patch

    for cls in {base, *_subclasses(base)}:
        if "fit" in vars(cls):
            patches.patch(
                cls, "fit", lambda original: autologged(original, sklearn_patch._describe)
            )


def _subclasses(cls: type[Any]) -> set[type]:
    found: set[type] = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def _describe_xgboost(args: tuple, kwargs: dict) -> tuple[FitRun, Any]:
    import xgboost

    params, rounds = _train_params(args, kwargs, 10)
    fit_run = FitRun("xgboost")
    fit_run.set_tags({"estimator_name": "xgboost.Booster"})
    fit_run.log_params({**params, "num_boost_round": rounds})

    class Recorder(xgboost.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
            for data, metrics in evals_log.items():
                for metric, values in metrics.items():
                    if values:
                        value = values[-1]
                        fit_run.log_metric(
                            f"{data}-{metric}",
                            value[0] if isinstance(value, tuple) else value,
                            epoch,
                        )
            return False

    kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), Recorder()]
    return fit_run, _after(fit_run, "XGBoost", "model.json")


# -- LightGBM -----------------------------------------------------------------------------
def patch_lightgbm(patches: Patches) -> bool:
    import lightgbm
    import lightgbm.engine
    import lightgbm.sklearn

    for owner in (lightgbm.engine, lightgbm.sklearn, lightgbm):
        if hasattr(owner, "train"):
            patches.patch(owner, "train", lambda original: autologged(original, _describe_lightgbm))
    _patch_wrappers(patches, lightgbm.sklearn.LGBMModel)
    return True


def _describe_lightgbm(args: tuple, kwargs: dict) -> tuple[FitRun, Any]:
    params, rounds = _train_params(args, kwargs, 100)
    fit_run = FitRun("lightgbm")
    fit_run.set_tags({"estimator_name": "lightgbm.Booster"})
    fit_run.log_params({**params, "num_boost_round": rounds})

    def record(env: Any) -> None:
        for data, metric, value, *_ in env.evaluation_result_list or []:
            fit_run.log_metric(f"{data}-{metric}", value, env.iteration)

    # LightGBM sorts callbacks by their order attribute: after its own (early stopping's is 30)
    record.__dict__["order"] = 100
    if len(args) > 9:  # callbacks given by position: add ours to that list
        args[9].append(record)
    else:
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), record]
    return fit_run, _after(fit_run, "LightGBM", "model.txt")
