"""JSON for the REST API: strict JSON out, with non-finite floats as strings.

JSON has no NaN or infinities, yet metrics are often NaN (a diverged loss) or infinite.
The API writes them as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (the
spelling JavaScript's ``Number()`` and Python's ``float()`` both read back), so every
response is valid JSON for ``JSON.parse`` and every value round-trips exactly.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

NAN, POS_INF, NEG_INF = "NaN", "Infinity", "-Infinity"
_FROM_TEXT = {NAN: math.nan, POS_INF: math.inf, NEG_INF: -math.inf}
#: a \\uD800-\\uDFFF escape: the only way a surrogate gets into decoded JSON (raw UTF-8 cannot
#: encode one), so bodies without it need no walk
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


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


def lone_surrogate_path(body: bytes, data: Any) -> str | None:
    """The field path (``params.lr``, ``cells[0].source``) of the first string, key or value,
    holding a lone UTF-16 surrogate such as ``"\\ud800"``; None when there is none.

    JSON allows such escapes, but they are not text: no database or file can store them.
    """
    if not _SURROGATE_ESCAPE.search(body):
        return None
    return _find_surrogate(data, "")


def _bad_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _find_surrogate(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return (path or "body") if _bad_text(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if _bad_text(key):
                return child.encode("utf-8", "backslashreplace").decode()
            found = _find_surrogate(item, child)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_surrogate(item, f"{path}[{index}]")
            if found:
                return found
    return None


def text_to_float(value: str) -> float | None:
    """The float that ``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` stands for, else None."""
    return _FROM_TEXT.get(value)
