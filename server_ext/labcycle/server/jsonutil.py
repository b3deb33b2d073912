"""JSON for the REST API: strict JSON out, with non-finite floats as strings.

JSON has no NaN or infinities, yet metrics are often NaN (a diverged loss) or infinite.
The API writes them as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (the
spelling JavaScript's ``Number()`` and Python's ``float()`` both read back), so every
response is valid JSON for ``JSON.parse`` and every value round-trips exactly.
"""

from __future__ import annotations

import json
import math
from typing import Any

NAN, POS_INF, NEG_INF = "NaN", "Infinity", "-Infinity"
_FROM_TEXT = {NAN: math.nan, POS_INF: math.inf, NEG_INF: -math.inf}


def float_to_json(value: float) -> float | str:
    """``value`` itself when finite, else its string spelling."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return NAN
    return POS_INF if value > 0 else NEG_INF


def jsonable(obj: Any) -> Any:
    """A copy of ``obj`` in which every non-finite float is replaced by its string spelling.

    Only containers that can hold floats are copied; other values are returned as they
    are (the encoder rejects what it cannot write).
    """
    if isinstance(obj, float):
        return float_to_json(obj)
    if isinstance(obj, dict):
        return {key: jsonable(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(value) for value in obj]
    return obj


def dumps(obj: Any) -> str:
    """Encode ``obj`` as strict JSON (``allow_nan=False`` guards against a missed float)."""
    return json.dumps(jsonable(obj), allow_nan=False, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """Decode a request body.

    Python's bare ``NaN``/``Infinity`` tokens (what ``json.dumps`` writes by default) are
    accepted as floats, so a naive client still works; the documented form is the string.
    """
    return json.loads(text)


def text_to_float(value: str) -> float | None:
    """The float that ``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` stands for, else None."""
    return _FROM_TEXT.get(value)
