"""Data quality of the current data against the reference, and drift of a model's outputs.

:func:`data_quality` reports, per column: the share of missing values on both sides, for
numeric columns the share of current values outside the reference ``[min, max]``, for
categorical columns the current values never seen in the reference; and for the whole frame
the schema changes (columns gone, new columns, a column whose kind of data changed).

It lists what needs attention in ``"issues"``, with these default limits (``LIMITS``):

- ``missing``: the current missing share exceeds the reference's by more than 0.05
  (5 percentage points): a pipeline starts dropping a field.
- ``out_of_range``: more than 0.05 (5%) of the current non-missing values of a numeric column
  lie outside the reference range (±inf included). A few values just past the extremes are
  expected from sampling alone, hence a share rather than "any".
- ``unseen_categories``: more than 0.01 (1%) of the current non-missing values of a
  categorical column are values the reference never had.
- ``schema``: every column missing from the current data, every new column, every column
  whose kind changed (numeric, boolean, text, datetime, timedelta, other; integers and
  floats are both numeric, strings, objects holding strings and categories are all text).

Missing values are None, NaN, NaT and pandas' NA. The limits can be changed per call with
``limits=``. Prediction drift (:func:`prediction_drift`) is :func:`~.drift.compute_drift`
on the output column(s).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidInput
from .drift import (
    CATEGORICAL,
    NUMERIC,
    _frame,
    _label,
    _num,
    _value_counts,
    compute_drift,
    infer_column_type,
)

#: default limits of the issues (see the module docstring)
LIMITS: dict[str, float] = {
    "missing": 0.05,  # current missing share − reference missing share
    "out_of_range": 0.05,  # share of current values outside the reference [min, max]
    "unseen_categories": 0.01,  # share of current values of categories the reference lacks
}
#: unseen categories listed per column (the most frequent first)
MAX_UNSEEN_LISTED = 20


def dtype_kind(series: pd.Series) -> str:
    """The kind of data of a column: numeric, boolean, text, datetime, timedelta or other.

    An object column is judged by its values (numbers in an object column are numeric);
    an object column mixing numbers and strings is "mixed"."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        t = dtype.pyarrow_dtype
        if pa.types.is_boolean(t):
            return "boolean"
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            return "numeric"
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            return "datetime"
        if pa.types.is_duration(t):
            return "timedelta"
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
            return "text"
        return "other"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(dtype)
        and dtype.kind != "O"
    ):
        return "text"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return "numeric"
    if dtype.kind == "O":
        try:
            inferred = pd.api.types.infer_dtype(series, skipna=True)
        except (TypeError, ValueError):
            return "other"
        return {
            "string": "text",
            "empty": "empty",
            "integer": "numeric",
            "floating": "numeric",
            "mixed-integer-float": "numeric",
            "decimal": "numeric",
            "boolean": "boolean",
            "datetime": "datetime",
            "datetime64": "datetime",
            "date": "datetime",
            "timedelta": "timedelta",
            "timedelta64": "timedelta",
            "categorical": "text",
            "mixed-integer": "mixed",
            "mixed": "mixed",
        }.get(inferred, "other")
    return "other"


def _share(part: int | float, whole: int | float) -> float:
    return float(part / whole) if whole else 0.0


def _numeric_range(name: Any, ref: pd.Series, cur: pd.Series) -> dict[str, Any]:
    def values(s: pd.Series) -> np.ndarray:
        if infer_column_type(s) == NUMERIC:
            return s.to_numpy(dtype=np.float64, na_value=np.nan)
        return pd.to_numeric(s.astype(object), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )

    r, c = values(ref), values(cur)
    r_fin = r[np.isfinite(r)]
    c_present = c[~np.isnan(c)]
    out: dict[str, Any] = {
        "reference_min": None,
        "reference_max": None,
        "out_of_range_count": 0,
        "out_of_range_share": 0.0,
        "current_infinite_count": int(np.isinf(c).sum()),
    }
    if not r_fin.size:
        return out
    lo, hi = float(r_fin.min()), float(r_fin.max())
    outside = int(np.count_nonzero((c_present < lo) | (c_present > hi)))
    out.update(
        {
            "reference_min": lo,
            "reference_max": hi,
            "out_of_range_count": outside,
            "out_of_range_share": _share(outside, c_present.size),
            "below_share": _share(int(np.count_nonzero(c_present < lo)), c_present.size),
            "above_share": _share(int(np.count_nonzero(c_present > hi)), c_present.size),
        }
    )
    return out


def _unseen(ref: pd.Series, cur: pd.Series) -> dict[str, Any]:
    rc, cc = _value_counts(ref), _value_counts(cur)
    try:
        new = cc[~cc.index.isin(rc.index)]
    except TypeError:  # values that cannot be compared: compare their text
        seen = {repr(k) for k in rc.index}
        new = cc[[repr(k) not in seen for k in cc.index]]
    total = int(cc.sum())
    new = new.sort_values(ascending=False, kind="stable")
    count = int(new.sum())
    return {
        "unseen_count": count,
        "unseen_share": _share(count, total),
        "unseen_categories": [
            {"value": _label(k), "count": int(v), "share": _share(int(v), total)}
            for k, v in new.head(MAX_UNSEEN_LISTED).items()
        ],
        "unseen_distinct": len(new),
    }


def data_quality(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: list[str] | None = None,
    limits: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Missing values, out-of-range values, unseen categories and schema changes.

    Parameters
    ----------
    reference, current
        The data the model was trained on (or any baseline) and the data to check.
        ``current`` may be empty (every share is then 0 and only the schema is checked).
    columns
        Columns to check; default the union of both frames' columns. Names missing from a
        side are schema issues, not errors.
    limits
        Overrides of :data:`LIMITS`.

    Returns
    -------
    dict
        ``{"reference_rows", "current_rows", "limits", "columns": {name: {...}},
        "schema": {"missing_columns", "new_columns", "type_changes"}, "issues": [...]}``,
        JSON-ready. Each issue is ``{"column", "kind", "message", "value", "limit"}``.
    """
    if isinstance(reference, pd.Series):
        reference = reference.to_frame()
    if isinstance(current, pd.Series):
        current = current.to_frame()
    for value, name in ((reference, "reference"), (current, "current")):
        if not isinstance(value, pd.DataFrame):
            raise InvalidInput(
                f"{name} must be a pandas DataFrame, not {type(value).__name__}.", field=name
            )
        if not value.columns.is_unique:
            raise InvalidInput(f"{name} has a column name more than once.", field=name)
    if len(reference) == 0:
        raise InvalidInput(
            "reference has no rows: data quality compares against it.", field="reference"
        )
    lim = dict(LIMITS)
    for key, value in (limits or {}).items():
        if key not in LIMITS:
            raise InvalidInput(
                f"limits.{key} is not a limit; known: {', '.join(LIMITS)}.", field=f"limits.{key}"
            )
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (math.isfinite(value) and 0 <= value <= 1)
        ):
            raise InvalidInput(
                f"limits.{key} must be a share between 0 and 1.", field=f"limits.{key}"
            )
        lim[key] = float(value)

    if columns is None:
        names = list(reference.columns) + [c for c in current.columns if c not in reference.columns]
    else:
        if isinstance(columns, str) or not hasattr(columns, "__iter__"):
            raise InvalidInput("columns must be a list of column names.", field="columns")
        names = list(dict.fromkeys(columns))
    issues: list[dict[str, Any]] = []
    schema: dict[str, Any] = {"missing_columns": [], "new_columns": [], "type_changes": []}
    out_cols: dict[str, Any] = {}
    n_ref, n_cur = len(reference), len(current)

    def issue(
        column: Any, kind: str, message: str, value: float | None = None, limit: float | None = None
    ) -> None:
        issues.append(
            {
                "column": str(column),
                "kind": kind,
                "message": message,
                "value": _num(value),
                "limit": _num(limit),
            }
        )

    for name in names:
        in_ref, in_cur = name in reference.columns, name in current.columns
        if not in_ref and not in_cur:
            raise InvalidInput(f"Neither frame has the column {name!r}.", field="columns")
        if not in_cur:
            schema["missing_columns"].append(str(name))
            issue(name, "schema", f"{name!r} is missing from the current data.")
            continue
        if not in_ref:
            schema["new_columns"].append(str(name))
            issue(name, "schema", f"{name!r} is new: the reference data has no such column.")
            continue
        ref, cur = reference[name], current[name]
        kind_ref, kind_cur = dtype_kind(ref), dtype_kind(cur)
        col: dict[str, Any] = {
            "reference_dtype": str(ref.dtype),
            "current_dtype": str(cur.dtype),
            "reference_kind": kind_ref,
            "current_kind": kind_cur,
            "reference_missing_share": _share(int(ref.isna().sum()), n_ref),
            "current_missing_share": _share(int(cur.isna().sum()), n_cur),
        }
        if kind_ref != kind_cur and kind_cur != "empty" and n_cur:
            schema["type_changes"].append(
                {
                    "column": str(name),
                    "reference": kind_ref,
                    "current": kind_cur,
                    "reference_dtype": str(ref.dtype),
                    "current_dtype": str(cur.dtype),
                }
            )
            issue(
                name,
                "schema",
                f"{name!r} held {kind_ref} data ({ref.dtype}) in the reference "
                f"and holds {kind_cur} data ({cur.dtype}) now.",
            )
        increase = col["current_missing_share"] - col["reference_missing_share"]
        if increase > lim["missing"]:
            issue(
                name,
                "missing",
                f"{col['current_missing_share']:.1%} of {name!r} is missing "
                f"(reference: {col['reference_missing_share']:.1%}).",
                col["current_missing_share"],
                lim["missing"],
            )
        col_type = infer_column_type(ref)
        col["type"] = col_type or "other"
        if col_type == NUMERIC:
            col.update(_numeric_range(name, ref, cur))
            if col["out_of_range_share"] > lim["out_of_range"]:
                issue(
                    name,
                    "out_of_range",
                    f"{col['out_of_range_share']:.1%} of {name!r} lies outside the reference "
                    f"range [{col['reference_min']:g}, {col['reference_max']:g}].",
                    col["out_of_range_share"],
                    lim["out_of_range"],
                )
        elif col_type == CATEGORICAL:
            col.update(_unseen(ref, cur))
            if col["unseen_share"] > lim["unseen_categories"]:
                shown = ", ".join(u["value"] for u in col["unseen_categories"][:5])
                more = col["unseen_distinct"] - min(5, col["unseen_distinct"])
                issue(
                    name,
                    "unseen_categories",
                    f"{col['unseen_share']:.1%} of {name!r} are values the reference never "
                    f"had: {shown}" + (f" and {more} more" if more > 0 else "") + ".",
                    col["unseen_share"],
                    lim["unseen_categories"],
                )
        out_cols[str(name)] = col
    return {
        "reference_rows": n_ref,
        "current_rows": n_cur,
        "limits": lim,
        "columns": out_cols,
        "schema": schema,
        "issues": issues,
    }


def prediction_drift(
    reference_outputs: pd.Series | pd.DataFrame,
    current_outputs: pd.Series | pd.DataFrame,
    *,
    column_types: dict[str, str] | None = None,
    methods: dict[str, str] | None = None,
    thresholds: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Drift of a model's outputs: :func:`~.drift.compute_drift` on the output column(s).

    Two Series are compared as one column (named after the reference Series, or
    ``"prediction"``); two frames on the columns they share. Labels written as text on one
    side and as numbers on the other ("1" and 1) are compared as numbers. Class labels with at most five
    values are tested as categories (see :mod:`.drift`), scores and regression outputs as
    numbers.

    Returns
    -------
    dict
        The drift report's ``to_dict()`` plus ``"drifted"``: true when any output column
        drifted.
    """
    ref, cur = reference_outputs, current_outputs
    if isinstance(ref, pd.Series) and isinstance(cur, pd.Series):
        name = ref.name if ref.name is not None else "prediction"
        ref, cur = ref.rename(name).to_frame(), cur.rename(name).to_frame()
    ref = _frame(ref, "reference_outputs")
    cur = _frame(cur, "current_outputs")
    shared = [c for c in ref.columns if c in cur.columns]
    if not shared:
        raise InvalidInput(
            "The reference and current outputs share no column; name the output columns alike.",
            field="current_outputs",
        )
    ref, cur = ref[shared].copy(), cur[shared].copy()
    for name in shared:  # labels "1" on one side and 1 on the other are the same class
        kinds = {dtype_kind(ref[name]), dtype_kind(cur[name])}
        if kinds == {"numeric", "text"}:
            for frame in (ref, cur):
                if dtype_kind(frame[name]) == "text":
                    as_numbers = pd.to_numeric(frame[name].astype(object), errors="coerce")
                    if int(as_numbers.isna().sum()) == int(frame[name].isna().sum()):
                        frame[name] = as_numbers
    report = compute_drift(
        ref,
        cur,
        column_types=column_types,
        methods=methods,
        thresholds=thresholds,
        drift_share=1.0 if len(shared) == 1 else 0.5,
    )
    out = report.to_dict()
    out["drifted"] = report.n_drifted > 0
    return out
