"""Model signatures (input columns and output) and the environment recorded with a model.

A signature is plain JSON::

    {"input_type": "dataframe" | "ndarray",
     "inputs":  [{"name", "dtype", "nullable", "min"?, "max"?, "categories"?}],
     "outputs": [{"name", "dtype", "classes"?}]}

``dtype`` is one of ``int64``, ``float64`` (any width), ``bool``, ``string``, ``category``,
``datetime`` or ``object``. ``min``/``max`` are the numeric range seen in the example or
the training data; ``categories`` lists the distinct values of a string or categorical
column when there are at most 50 of them. An ndarray example gets columns ``x0``, ``x1``...
"""

from __future__ import annotations

import math
from typing import Any

MAX_CATEGORIES = 50


def _dtype_name(series: Any) -> str:
    import pandas as pd
    from pandas.api import types

    dtype = series.dtype
    if types.is_bool_dtype(dtype):
        return "bool"
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if types.is_integer_dtype(dtype):
        return "int64"
    if types.is_float_dtype(dtype):
        return "float64"
    if types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if types.is_string_dtype(dtype):
        values = series.dropna()
        if values.map(lambda v: isinstance(v, str)).all():
            return "string"
    return "object"


def _number(value: Any) -> float | int | None:
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _column_spec(name: str, series: Any, extra: Any = None) -> dict[str, Any]:
    import pandas as pd

    dtype = _dtype_name(series)
    values = series if extra is None else pd.concat([series, extra], ignore_index=True)
    spec: dict[str, Any] = {"name": name, "dtype": dtype, "nullable": bool(values.isna().any())}
    present = values.dropna()
    if dtype in ("int64", "float64") and len(present):
        spec["min"] = _number(present.min())
        spec["max"] = _number(present.max())
    elif dtype in ("string", "category"):
        distinct = {str(v) for v in pd.unique(present)}
        if dtype == "category":
            distinct |= {str(v) for v in series.cat.categories}
        if len(distinct) <= MAX_CATEGORIES:
            spec["categories"] = sorted(distinct)
    return spec


def to_frame(data: Any) -> tuple[Any, str]:
    """``data`` as a DataFrame, and whether it came as a ``dataframe`` or an ``ndarray``."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        frame = data.copy()
        frame.columns = [str(c) for c in frame.columns]
        return frame, "dataframe"
    if isinstance(data, pd.Series):
        return data.to_frame().T.reset_index(drop=True), "dataframe"
    array = np.asarray(data)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        from ..errors import InvalidInput

        raise InvalidInput(
            "input_example must be a DataFrame or a 1- or 2-D array.", field="input_example"
        )
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])]), "ndarray"


def infer_signature(
    input_example: Any, model: Any = None, training_data: Any = None
) -> dict[str, Any] | None:
    """The signature of a model from an example of its input (and optional training data).

    The model, when given, is run on the example to learn the output's dtype and, for
    classifiers, its classes.
    """
    if input_example is None:
        return None
    frame, kind = to_frame(input_example)
    extra = None
    if training_data is not None:
        extra, _ = to_frame(training_data)
        extra.columns = list(frame.columns)[: len(extra.columns)]
    inputs = [
        _column_spec(name, frame[name], None if extra is None or name not in extra else extra[name])
        for name in frame.columns
    ]
    outputs: list[dict[str, Any]] = [{"name": "prediction", "dtype": "object"}]
    if model is not None:
        import numpy as np
        import pandas as pd

        try:
            data = frame if kind == "dataframe" else frame.to_numpy()
            predicted = np.asarray(model.predict(data))
            outputs[0]["dtype"] = _dtype_name(pd.Series(predicted.ravel()))
        except Exception:  # the signature is a description, not a test
            pass
        classes = getattr(model, "classes_", None)
        if classes is not None:
            outputs[0]["classes"] = [_number(c) for c in np.asarray(classes).tolist()]
        if callable(getattr(model, "predict_proba", None)) and hasattr(model, "classes_"):
            outputs.append({"name": "probability", "dtype": "float64"})
    return {"input_type": kind, "inputs": inputs, "outputs": outputs}


def current_environment() -> dict[str, Any]:
    """Python version and installed distributions (name → version), as runs record them.

    Scanning the distributions takes about a second, so ``installed_packages`` keeps the
    result until a folder on ``sys.path`` changes (a ``pip install`` in the notebook does that).
    """
    from ..provenance.environment import installed_packages, python_version

    return {"python": python_version(), "packages": installed_packages()}
