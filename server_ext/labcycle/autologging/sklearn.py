"""scikit-learn autologging: every estimator's ``fit`` (and ``fit_transform``/``fit_predict``).

Logged for the outermost fit: the estimator's params (``get_params(deep=True)``, so a
pipeline's steps as ``step__param``), per-iteration curves the estimator keeps
(``train_score_``, ``validation_score_``, ``oob_improvement_``, ``loss_curve_``,
``validation_scores_``), then in the background: training metrics, the model
(``lc.log_model``), the training data's fingerprint (``lc.log_dataset``) and, for
GridSearchCV/RandomizedSearchCV, one child run per candidate with its CV scores, the best
tagged ``best = true``.
"""

from __future__ import annotations

import math
import time
from typing import Any

from .options import warn_once
from .runtime import FitRun, Patches, autologged

METHODS = ("fit", "fit_transform", "fit_predict")
# Curves an estimator keeps after fit, one point per iteration: attribute → metric key.
CURVES = {
    "train_score_": "train_score",
    "validation_score_": "validation_score",
    "oob_improvement_": "oob_improvement",
    "loss_curve_": "loss",
    "validation_scores_": "validation_score",
}
SCALARS = {"oob_score_": "oob_score", "n_iter_": "n_iter", "best_score_": "best_cv_score"}


def patch(patches: Patches) -> bool:
    """Patch the ``fit`` methods where scikit-learn's estimators define them."""
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.utils import all_estimators

    classes = [cls for _, cls in all_estimators()] + [Pipeline, GridSearchCV, RandomizedSearchCV]
    owners = {
        owner for cls in classes for owner in cls.__mro__ if owner.__module__.startswith("sklearn.")
    }
    for owner in sorted(owners, key=lambda c: f"{c.__module__}.{c.__qualname__}"):
        for method in METHODS:
            if method in vars(owner) and callable(vars(owner)[method]):
                patches.patch(owner, method, lambda original: autologged(original, _describe))
    return True


def _xy(args: tuple, kwargs: dict) -> tuple[Any, Any]:
    x = args[1] if len(args) > 1 else kwargs.get("X")
    y = args[2] if len(args) > 2 else kwargs.get("y")
    return x, y


def _describe(args: tuple, kwargs: dict) -> tuple[FitRun, Any]:
    from .options import config

    estimator = args[0]
    fit_run = FitRun(type(estimator).__name__)
    fit_run.set_tags(
        {
            "estimator_name": type(estimator).__name__,
            "estimator_class": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        }
    )
    try:
        fit_run.log_params(estimator.get_params(deep=True))
    except Exception as exc:  # a custom estimator may break get_params
        warn_once("params", f"could not read the params of {type(estimator).__name__}: {exc}")
    x, y = _xy(args, kwargs)

    def after(_result: Any) -> None:
        _log_curves(fit_run, estimator)
        fit_run.later(
            lambda: _log_after_fit(fit_run, estimator, x, y, config),
            obj=estimator,
            what=f"logging {type(estimator).__name__}",
        )

    return fit_run, after


def _log_curves(fit_run: FitRun, estimator: Any) -> None:
    for attribute, key in CURVES.items():
        values = getattr(estimator, attribute, None)
        if values is not None and hasattr(values, "__len__") and len(values):
            fit_run.log_series(key, values)
    evals = getattr(estimator, "evals_result_", None)  # XGBoost/LightGBM wrappers
    if isinstance(evals, dict):
        for data, metrics in evals.items():
            for metric, values in (metrics or {}).items():
                fit_run.log_series(f"{data}-{metric}", values)
    for attribute, key in SCALARS.items():
        value = getattr(estimator, attribute, None)
        if isinstance(value, (int, float)) or type(value).__module__ == "numpy":
            fit_run.log_metric(key, value)  # skips what is not a number


def _log_after_fit(fit_run: FitRun, estimator: Any, x: Any, y: Any, config: Any) -> None:
    """In the background: everything that costs time after a fit."""
    from ..api import fluent

    if fit_run.id is None:  # its run could not be created (warned): nowhere to log
        return
    steps = []
    if _is_search(estimator):
        steps.append(("child runs", lambda: _log_candidates(fit_run, estimator, config)))
        best = getattr(estimator, "best_params_", None) or {}
        fit_run.log_params({f"best_{k}": v for k, v in best.items()})
    if config.log_training_metrics and x is not None and y is not None:
        steps.append(("training metrics", lambda: _log_training_metrics(fit_run, estimator, x, y)))
    if config.log_datasets and x is not None:
        steps.append(("the dataset", lambda: _log_dataset(fit_run, x, y)))
    if config.log_models:
        model = getattr(estimator, "best_estimator_", None) if _is_search(estimator) else estimator
        if model is not None:
            steps.append(("the model", lambda: _log_model(fit_run, model, x, config)))
    for what, step in steps:
        try:
            step()
        except Exception as exc:  # one failed part must not lose the others
            warn_once(
                f"sklearn-{what}",
                f"could not log {what} of {type(estimator).__name__}: {type(exc).__name__}: {exc}",
            )
    fluent._state.flusher().flush(fit_run.id)


def _is_search(estimator: Any) -> bool:
    return hasattr(estimator, "cv_results_") and hasattr(estimator, "best_index_")


def _log_training_metrics(fit_run: FitRun, estimator: Any, x: Any, y: Any) -> None:
    from sklearn import metrics
    from sklearn.base import is_classifier, is_regressor

    if not (is_classifier(estimator) or is_regressor(estimator)) or not hasattr(
        estimator, "predict"
    ):
        return
    predicted = estimator.predict(x)
    values: dict[str, float] = {}
    if is_classifier(estimator):
        values["training_accuracy_score"] = metrics.accuracy_score(y, predicted)
        for name, fn in (
            ("precision", metrics.precision_score),
            ("recall", metrics.recall_score),
            ("f1", metrics.f1_score),
        ):
            values[f"training_{name}_score"] = fn(y, predicted, average="weighted", zero_division=0)
        values["training_score"] = values["training_accuracy_score"]
        if hasattr(estimator, "predict_proba"):
            try:
                proba = estimator.predict_proba(x)
                classes = getattr(estimator, "classes_", None)
                values["training_log_loss"] = metrics.log_loss(y, proba, labels=classes)
                if proba.shape[1] == 2:
                    values["training_roc_auc"] = metrics.roc_auc_score(y, proba[:, 1])
                else:
                    values["training_roc_auc"] = metrics.roc_auc_score(
                        y, proba, multi_class="ovr", labels=classes
                    )
            except (ValueError, AttributeError):
                pass  # e.g. one class only in y, or an SVC without probability=True
    else:
        mse = metrics.mean_squared_error(y, predicted)
        values.update(
            training_mean_squared_error=mse,
            training_root_mean_squared_error=math.sqrt(mse),
            training_mean_absolute_error=metrics.mean_absolute_error(y, predicted),
            training_r2_score=metrics.r2_score(y, predicted),
        )
        values["training_score"] = values["training_r2_score"]
    for key, value in values.items():
        fit_run.log_metric(key, value)


def _frame(x: Any) -> Any:
    import pandas as pd

    if hasattr(x, "to_parquet"):
        return x
    if hasattr(x, "toarray"):  # sparse: fingerprint the dense form only when it is small
        return pd.DataFrame(x.toarray()) if x.shape[0] * x.shape[1] <= 10_000_000 else None
    try:
        return pd.DataFrame(x)
    except (ValueError, TypeError):
        return None


def _log_dataset(fit_run: FitRun, x: Any, y: Any) -> None:
    from ..api import fluent

    frame = _frame(x)
    if frame is None:
        return
    fluent.log_dataset(
        frame, name="training-data", context="training", store_content=False, run_id=fit_run.id
    )


def _log_model(fit_run: FitRun, model: Any, x: Any, config: Any) -> None:
    from ..api.models import log_model
    from .native import native_booster, save_booster

    native = native_booster(model)
    if native is not None:  # skops would refuse their types: the library's own format
        save_booster(fit_run, *native)
        return

    name = config.registered_model_name or "model"
    # a few rows of the training data as given (a DataFrame keeps its column names)
    example = x.head(5) if hasattr(x, "head") else x[:5] if hasattr(x, "__getitem__") else None
    log_model(
        model,
        name,
        input_example=example,
        register=bool(config.registered_model_name),
        run_id=fit_run.id,
    )


def _log_candidates(fit_run: FitRun, search: Any, config: Any) -> None:
    """One child run per candidate of a search, with its CV scores; the best tagged."""
    import numpy as np

    from ..api import fluent

    results = search.cv_results_
    count = len(results["params"])
    ranks = results.get("rank_test_score")
    order = list(np.argsort(ranks, kind="stable")) if ranks is not None else list(range(count))
    if config.max_tuning_runs is not None:
        order = order[: max(0, int(config.max_tuning_runs))]
    transport = fluent.current_transport()
    metric_keys = [k for k in results if k.startswith(("mean_", "std_", "rank_"))]
    now = int(time.time() * 1000)
    for index in sorted(int(i) for i in order):
        best = index == search.best_index_
        child = transport.create_run(
            experiment_id=fit_run.experiment_id,
            parent_run_id=fit_run.id,
            name=f"{fit_run.name}-candidate-{index}"[:250],
            source="script",
            tags={
                "labcycle.autolog": "true",
                "candidate_index": str(index),
                "best": "true" if best else "false",
            },
        )
        params = {}
        for key, value in results["params"][index].items():
            params[key] = (
                value
                if isinstance(value, (str, int, float, bool)) or value is None
                else str(value)[:1000]
            )
        points = []
        for key in metric_keys:
            value = results[key][index]
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            points.append((key, number, 0, now))
        transport.log_batch(
            child["id"], params={k: str(v) for k, v in params.items()}, metrics=points, tags={}
        )
        transport.update_run(child["id"], status="finished")
    fit_run.set_tags({"best_candidate_index": str(search.best_index_)})
