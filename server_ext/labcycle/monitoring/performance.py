"""Model performance once ground truth arrives, over time, and against training time.

:func:`performance` computes the metrics with scikit-learn:

- classification: accuracy, precision, recall, F1 and, when scores are given, ROC AUC.
  Two classes: the positive class is the larger label (the second of the sorted labels:
  1 of 0/1, True of False, "yes" of "no"), precision/recall/F1 are those of that class
  (``average="binary"``), and a 1-D ``y_score`` is the probability of that class (a 2-D one
  uses its second column). More classes: macro averages (every class weighs the same,
  whatever its frequency) and, given an (n, k) probability array whose columns follow the
  sorted labels, one-vs-rest macro ROC AUC. ROC AUC is None (with a note) when the ground
  truth holds one class only or the scores do not fit.
- regression: MAE, RMSE and R².

The task, when not given, is inferred: **regression** when both ``y_true`` and ``y_pred``
are numbers (not booleans) and either some value is not a whole number or ``y_true`` and
``y_pred`` together hold more than 20 distinct values; **classification** otherwise (strings,
booleans, or whole numbers with at most 20 distinct values). Pass ``task=`` to override
(integer-valued regression targets with few values, classifiers with many classes).

:func:`compare_to_reference` compares with the metrics logged for the model version at
training time; see its docstring for the rule (absolute drop for the bounded metrics,
relative increase for the error metrics).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from ..errors import InvalidInput

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = (CLASSIFICATION, REGRESSION)
#: at most this many distinct whole-number values → classification (when task is None)
MAX_CLASSES_INFERRED = 20

#: metrics where higher is better and that live in [0, 1] (R² at most 1): absolute drop
HIGHER_IS_BETTER = ("accuracy", "precision", "recall", "f1", "roc_auc", "r2")
#: error metrics (lower is better, any scale): relative increase
LOWER_IS_BETTER = ("mae", "rmse")

#: names a training script may log for each metric (lower-case, before any prefix)
ALIASES: dict[str, tuple[str, ...]] = {
    "accuracy": ("accuracy", "acc", "accuracy_score"),
    "precision": ("precision", "precision_score"),
    "recall": ("recall", "recall_score"),
    "f1": ("f1", "f1_score", "f1_macro", "f1score"),
    "roc_auc": ("roc_auc", "auc", "roc_auc_score", "auroc", "roc_auc_ovr"),
    "mae": ("mae", "mean_absolute_error", "l1"),
    "rmse": ("rmse", "root_mean_squared_error"),
    "r2": ("r2", "r2_score", "r_squared"),
}
#: prefixes of logged metric names, most preferred first: held-out scores before plain
#: names (Keras logs training "accuracy" next to "val_accuracy"); "train_" never used
PREFIXES = ("test_", "val_", "validation_", "valid_", "eval_", "")


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _py(value: Any) -> Any:
    """A JSON-friendly label (NumPy scalars to Python)."""
    return value.item() if isinstance(value, np.generic) else value


def _array(values: Any, field: str) -> np.ndarray:
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise InvalidInput(f"{field} must be one column.", field=field)
        values = values.iloc[:, 0]
    if isinstance(values, pd.Series):
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        ):
            return values.to_numpy(dtype=np.float64, na_value=np.nan)
        return values.astype(object).to_numpy(dtype=object, na_value=None)
    if isinstance(values, str | bytes) or not hasattr(values, "__len__"):
        raise InvalidInput(f"{field} must be a list or array of values.", field=field)
    try:
        arr = np.asarray(values)
    except ValueError:
        raise InvalidInput(f"{field} must be a flat list of values.", field=field) from None
    if arr.ndim != 1:
        raise InvalidInput(f"{field} must be one-dimensional.", field=field)
    if arr.dtype.kind not in "iufb":
        arr = arr.astype(object)
    return arr


def _missing(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind == "f":
        return np.isnan(arr)
    return np.array(
        [v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA for v in arr],
        dtype=bool,
    )


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Number) and not isinstance(v, bool | np.bool_)


def _to_number(v: Any) -> float | None:
    if _is_number(v):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _labels_alike(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bring labels to one type: numbers when every value is (or reads as) a number, else
    text (so feedback "1" matches a prediction 1). Whole floats become ints."""
    both = np.concatenate([y_true, y_pred])
    if both.dtype.kind in "iuf":
        nums = both.astype(np.float64)
    elif all(isinstance(v, bool | np.bool_) for v in both):
        return y_true.astype(bool), y_pred.astype(bool)
    else:
        converted = [_to_number(v) for v in both]
        if any(c is None for c in converted):
            text = np.array([str(v) for v in both], dtype=object)
            return text[: len(y_true)], text[len(y_true) :]
        nums = np.array(converted, dtype=np.float64)
    if (
        np.all(np.isfinite(nums))
        and np.all(nums == np.round(nums))
        and np.all(np.abs(nums) < 2**53)
    ):
        nums = nums.astype(np.int64)
    return nums[: len(y_true)], nums[len(y_true) :]


def infer_task(y_true: Any, y_pred: Any) -> str:
    """Regression for non-whole numbers or more than 20 distinct numbers; else
    classification (see the module docstring)."""
    a, b = np.asarray(y_true), np.asarray(y_pred)
    both = np.concatenate([a.ravel(), b.ravel()])
    if (
        both.dtype.kind == "b"
        or both.dtype.kind not in "iuf"
        and not all(_is_number(v) for v in both)
    ):
        return CLASSIFICATION
    nums = both.astype(np.float64)
    nums = nums[np.isfinite(nums)]
    if np.any(nums != np.round(nums)) or np.unique(nums).size > MAX_CLASSES_INFERRED:
        return REGRESSION
    return CLASSIFICATION


def _prepare(
    y_true: Any, y_pred: Any, y_score: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
    t = _array(y_true, "y_true")
    p = _array(y_pred, "y_pred")
    if len(t) != len(p):
        raise InvalidInput(
            f"y_true has {len(t)} values and y_pred {len(p)}: they must pair up.", field="y_pred"
        )
    s = None
    if y_score is not None:
        s = np.asarray(
            y_score.to_numpy() if isinstance(y_score, pd.Series | pd.DataFrame) else y_score,
            dtype=object,
        )
        if s.ndim not in (1, 2) or len(s) != len(t):
            raise InvalidInput(
                f"y_score must hold one score (or one row of class "
                f"probabilities) per value of y_true ({len(t)}).",
                field="y_score",
            )
        try:
            s = s.astype(np.float64)
        except (TypeError, ValueError):
            raise InvalidInput("y_score must hold numbers.", field="y_score") from None
    keep = ~(_missing(t) | _missing(p))
    if s is not None:
        keep &= np.isfinite(s).all(axis=1) if s.ndim == 2 else np.isfinite(s)
    dropped = int((~keep).sum())
    t, p = t[keep], p[keep]
    if s is not None:
        s = s[keep]
    if not len(t):
        raise InvalidInput(
            "No pair of y_true and y_pred without missing values: nothing to measure.",
            field="y_true",
        )
    return t, p, s, dropped


def _classification(
    t: np.ndarray, p: np.ndarray, s: np.ndarray | None, labels: list[Any] | None = None
) -> dict[str, Any]:
    t, p = _labels_alike(t, p)
    if labels is None:
        labels = sorted(set(t.tolist()) | set(p.tolist()), key=lambda v: (str(type(v)), v))
    out: dict[str, Any] = {
        "task": CLASSIFICATION,
        "n": len(t),
        "labels": [_py(v) for v in labels],
        "accuracy": _num(skm.accuracy_score(t, p)),
    }
    if len(labels) <= 2:
        positive = labels[-1]
        kw: dict[str, Any] = {
            "pos_label": positive,
            "average": "binary",
            "zero_division": 0,
            "labels": labels,
        }
        out.update({"average": "binary", "positive_label": _py(positive)})
    else:
        kw = {"average": "macro", "zero_division": 0, "labels": labels}
        out.update({"average": "macro", "positive_label": None})
    out["precision"] = _num(skm.precision_score(t, p, **kw))
    out["recall"] = _num(skm.recall_score(t, p, **kw))
    out["f1"] = _num(skm.f1_score(t, p, **kw))
    out["roc_auc"] = None
    if s is not None:
        present = set(t.tolist())
        if len(present) < 2:
            out["roc_auc_note"] = "ROC AUC needs both classes in the ground truth."
        elif len(labels) <= 2:
            score = s if s.ndim == 1 else (s[:, 1] if s.shape[1] == 2 else None)
            if score is None:
                out["roc_auc_note"] = (
                    f"y_score has {s.shape[1]} columns for 2 classes; give the "
                    "positive class's probability."
                )
            else:
                out["roc_auc"] = _num(skm.roc_auc_score(t == labels[-1], score))
        elif s.ndim != 2 or s.shape[1] != len(labels):
            out["roc_auc_note"] = (
                f"{len(labels)} classes need an (n, {len(labels)}) array of "
                "class probabilities in the order of the sorted labels."
            )
        else:
            try:
                out["roc_auc"] = _num(
                    skm.roc_auc_score(t, s, multi_class="ovr", average="macro", labels=labels)
                )
            except ValueError as exc:
                out["roc_auc_note"] = f"ROC AUC not computed: {exc}"
    return out


def _regression(t: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    try:
        tt = t.astype(np.float64)
        pp = p.astype(np.float64)
    except (TypeError, ValueError):
        raise InvalidInput("Regression needs numbers in y_true and y_pred.", field="task") from None
    out: dict[str, Any] = {
        "task": REGRESSION,
        "n": len(tt),
        "mae": _num(skm.mean_absolute_error(tt, pp)),
        "rmse": _num(math.sqrt(skm.mean_squared_error(tt, pp))),
    }
    out["r2"] = _num(skm.r2_score(tt, pp)) if len(tt) >= 2 else None
    return out


def performance(
    y_true: Any, y_pred: Any, *, y_score: Any = None, task: str | None = None
) -> dict[str, Any]:
    """Metrics of predictions against the ground truth (scikit-learn's).

    Parameters
    ----------
    y_true, y_pred
        Lists, arrays or Series of the same length. Pairs with a missing value on either
        side are left out (``"dropped"`` counts them).
    y_score
        Classification only: the probability of the positive class (binary, 1-D) or an
        (n, k) array of class probabilities (multiclass, columns in sorted-label order).
    task
        ``"classification"`` or ``"regression"``; inferred when None (module docstring).

    Returns
    -------
    dict
        ``task``, ``n``, ``dropped`` and the metrics; JSON-ready (None for undefined values).
    """
    if task is not None and task not in TASKS:
        raise InvalidInput(
            f'task must be "classification" or "regression", not {task!r}.', field="task"
        )
    t, p, s, dropped = _prepare(y_true, y_pred, y_score)
    task = task or infer_task(t, p)
    out = _classification(t, p, s) if task == CLASSIFICATION else _regression(t, p)
    out["dropped"] = dropped
    return out


def _times(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        ts = values
        if getattr(ts.dt, "tz", None) is None:
            ts = ts.dt.tz_localize("UTC")
        return ts.dt.tz_convert("UTC")
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        return pd.to_datetime(values, unit="ms", utc=True, errors="coerce")  # ms since epoch
    return pd.to_datetime(values, utc=True, errors="coerce", format="mixed")


def performance_over_time(
    frame: pd.DataFrame,
    *,
    freq: str = "1D",
    time_col: str = "ts",
    y_true: str = "y_true",
    y_pred: str = "y_pred",
    y_score: str | None = None,
    task: str | None = None,
) -> list[dict[str, Any]]:
    """The metrics of :func:`performance` per time window.

    ``frame[time_col]`` holds datetimes, ISO strings or milliseconds since the epoch (UTC).
    Windows follow ``freq`` (a pandas frequency: "1h", "6h", "1D", "1W"...); windows without
    a row are left out. The task and, for classifiers, the label set are decided once over
    the whole frame so every window uses the same positive class.

    Returns
    -------
    list of dict
        Oldest first: ``{"start", "end" (ISO), "start_ms", "end_ms", "count", "metrics"}``.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput("frame must be a pandas DataFrame.", field="frame")
    for col, field in ((time_col, "time_col"), (y_true, "y_true"), (y_pred, "y_pred")):
        if col not in frame.columns:
            raise InvalidInput(
                f"frame has no column {col!r} ({field}); it has "
                f"{', '.join(map(str, frame.columns[:20]))}.",
                field=field,
            )
    if y_score is not None and y_score not in frame.columns:
        raise InvalidInput(f"frame has no column {y_score!r} (y_score).", field="y_score")
    if task is not None and task not in TASKS:
        raise InvalidInput(
            f'task must be "classification" or "regression", not {task!r}.', field="task"
        )
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except (TypeError, ValueError):
        raise InvalidInput(
            f'freq {freq!r} is not a frequency; use e.g. "1h", "1D" or "1W".', field="freq"
        ) from None
    if len(frame) == 0:
        return []
    work = pd.DataFrame({"_ts": _times(frame[time_col]).to_numpy()}, index=frame.index)
    t_all, p_all, s_all, _ = _prepare(
        frame[y_true], frame[y_pred], frame[y_score] if y_score else None
    )
    task = task or infer_task(t_all, p_all)
    labels = None
    if task == CLASSIFICATION:
        tt, pp = _labels_alike(t_all, p_all)
        labels = sorted(set(tt.tolist()) | set(pp.tolist()), key=lambda v: (str(type(v)), v))
    work = work[work["_ts"].notna()]
    windows: list[dict[str, Any]] = []
    for start, group in work.groupby(pd.Grouper(key="_ts", freq=offset), sort=True):
        if not len(group):
            continue
        rows = frame.loc[group.index]
        end = start + offset
        entry: dict[str, Any] = {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "start_ms": int(start.value // 10**6),
            "end_ms": int(end.value // 10**6),
            "count": len(rows),
        }
        try:
            t, p, s, dropped = _prepare(
                rows[y_true], rows[y_pred], rows[y_score] if y_score else None
            )
        except InvalidInput:
            entry.update({"count": 0, "metrics": None})
            windows.append(entry)
            continue
        metrics = _classification(t, p, s, labels) if task == CLASSIFICATION else _regression(t, p)
        metrics["dropped"] = dropped
        entry["metrics"] = metrics
        windows.append(entry)
    return windows


def _reference_value(reference: dict[str, Any], metric: str) -> tuple[str, float] | None:
    lowered = {str(k).lower(): k for k in reference}
    for prefix in PREFIXES:
        for alias in ALIASES[metric]:
            key = lowered.get(prefix + alias)
            if key is None:
                continue
            value = reference[key]
            if isinstance(value, dict):
                value = value.get("value", value.get("last"))
            elif isinstance(value, list | tuple) and value:
                value = value[-1]
                value = value.get("value") if isinstance(value, dict) else value
            number = _num(value) if _is_number(value) else None
            if number is not None:
                return str(key), number
    return None


def compare_to_reference(
    current: dict[str, Any], reference: dict[str, Any], *, max_drop: float = 0.05
) -> dict[str, Any]:
    """Which metrics got worse than at training time by more than ``max_drop``.

    The rule: accuracy, precision, recall, F1, ROC AUC and R² are scored in [0, 1] (R² at
    most 1), so a drop is **absolute**: ``reference - current > max_drop`` (0.05 = five
    points of accuracy). MAE and RMSE have the target's units, so their rise is
    **relative**: ``(current - reference) / reference > max_drop`` (0.05 = 5% larger errors).

    ``reference`` is the model version's logged metrics. Each metric is looked up under its
    common names (:data:`ALIASES`, case-insensitive), preferring held-out scores:
    ``test_`` then ``val_``/``validation_``/``valid_``/``eval_`` then the plain name
    (``train_`` names are never used). A value may be a number, ``{"value": x}`` or a
    history list (its last value).

    Returns
    -------
    dict
        ``{"max_drop", "compared": [...], "drops": [...], "degraded", "unmatched"}``; each
        entry ``{"metric", "current", "reference", "reference_key", "change", "rule",
        "dropped"}`` where ``change`` is the absolute (or relative) worsening.
    """
    if (
        isinstance(max_drop, bool)
        or not isinstance(max_drop, int | float)
        or not (math.isfinite(max_drop) and max_drop >= 0)
    ):
        raise InvalidInput("max_drop must be a number at least 0.", field="max_drop")
    if not isinstance(current, dict) or not isinstance(reference, dict):
        raise InvalidInput(
            "current and reference must be dicts of metric values.", field="reference"
        )
    compared, unmatched = [], []
    for metric in HIGHER_IS_BETTER + LOWER_IS_BETTER:
        now = _num(current.get(metric)) if _is_number(current.get(metric)) else None
        if now is None:
            continue
        found = _reference_value(reference, metric)
        if found is None:
            unmatched.append(metric)
            continue
        key, before = found
        if metric in HIGHER_IS_BETTER:
            change, rule = before - now, "absolute"
        elif before > 0:
            change, rule = (now - before) / before, "relative"
        else:
            change, rule = (math.inf if now > before else 0.0), "relative"
        compared.append(
            {
                "metric": metric,
                "current": now,
                "reference": before,
                "reference_key": key,
                "change": _num(change),
                "rule": rule,
                "dropped": bool(change > max_drop),
            }
        )
    drops = [c for c in compared if c["dropped"]]
    return {
        "max_drop": float(max_drop),
        "compared": compared,
        "drops": drops,
        "degraded": bool(drops),
        "unmatched": unmatched,
    }
