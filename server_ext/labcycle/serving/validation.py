"""Parse and check prediction requests against a model's signature.

A request body is JSON records (``[{...}]`` or ``{"records": [...]}``), pandas split
orient (``{"columns": [...], "data": [[...]]}``) or CSV (``text/csv``, a header row first).
It becomes one numpy array per input column; the batcher joins the columns of many
requests and builds a DataFrame once per batch. Every problem is a :class:`BadRequest`
(4xx) whose ``field`` names the column (and ``row`` the row), never a 500.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

try:  # orjson is 3-5x faster at both ends; plain json works the same
    import orjson

    def loads(data: bytes) -> Any:
        return orjson.loads(data)

    def dumps(value: Any) -> bytes:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)

except ImportError:  # pragma: no cover - orjson is optional

    def loads(data: bytes) -> Any:
        return json.loads(data)

    def dumps(value: Any) -> bytes:
        return json.dumps(value, default=_json_default, allow_nan=False).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


class BadRequest(Exception):
    """A request the server refuses; ``status`` is a 4xx."""

    def __init__(
        self,
        message: str,
        *,
        field: str = "body",
        status: int = 400,
        code: str = "invalid_input",
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = {"field": field, **{k: v for k, v in details.items() if v is not None}}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


FLOAT, INT, BOOL, STRING, ANY = "float", "int", "bool", "string", "any"


def dtype_kind(dtype: str | None) -> str:
    d = (dtype or "").lower()
    if d.startswith(("float", "double", "decimal")):
        return FLOAT
    if d.startswith(("int", "uint", "long")):
        return INT
    if d.startswith(("bool",)):
        return BOOL
    if d.startswith(("object", "str", "category", "unicode")):
        return STRING
    return ANY


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    nullable: bool


class Schema:
    """The input columns of a signature, ready for fast checks."""

    def __init__(self, signature: dict[str, Any] | None) -> None:
        inputs = (signature or {}).get("inputs") or []
        self.columns = [
            Column(
                str(c["name"]),
                dtype_kind(c.get("dtype") or c.get("type")),
                bool(c.get("nullable", False)),
            )
            for c in inputs
        ]
        self.names = [c.name for c in self.columns]
        self.by_name = {c.name: c for c in self.columns}

    def __bool__(self) -> bool:
        return bool(self.columns)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _bad_value(col: Column, row: int, value: Any, want: str) -> BadRequest:
    return BadRequest(
        f"Column {col.name!r}, row {row}: expected {want}, got {_type_name(value)} "
        f"({str(value)[:40]!r}).",
        field=col.name,
        row=row,
    )


def _convert(col: Column, values: list[Any]) -> np.ndarray:
    """One column's JSON values → a numpy array, checking every value's type."""
    kind = col.kind
    if kind == FLOAT:
        # type() checks are the fast path: bool is an int subclass and must be refused.
        for i, v in enumerate(values):
            t = type(v)
            if t is float or t is int:
                continue
            if v is None and col.nullable:
                continue
            if v is None:
                raise BadRequest(
                    f"Column {col.name!r}, row {i}: a value is required "
                    "(null is not allowed for this column).",
                    field=col.name,
                    row=i,
                )
            raise _bad_value(col, i, v, "a number")
        arr = np.array(
            [math.nan if v is None else v for v in values] if col.nullable else values,
            dtype=np.float64,
        )
        if (
            not col.nullable and arr.size and np.isnan(arr).any()
        ):  # NaN from CSV or a bare NaN token
            row = int(np.flatnonzero(np.isnan(arr))[0])
            raise BadRequest(
                f"Column {col.name!r}, row {row}: NaN is not allowed for this column.",
                field=col.name,
                row=row,
            )
        if arr.size and np.isinf(arr).any():
            row = int(np.flatnonzero(np.isinf(arr))[0])
            raise BadRequest(
                f"Column {col.name!r}, row {row}: infinite values are not allowed.",
                field=col.name,
                row=row,
            )
        return arr
    if kind == INT:
        has_null = False
        for i, v in enumerate(values):
            t = type(v)
            if t is int:
                continue
            if t is float and v.is_integer():
                continue
            if v is None:
                if col.nullable:
                    has_null = True
                    continue
                raise BadRequest(
                    f"Column {col.name!r}, row {i}: a value is required "
                    "(null is not allowed for this column).",
                    field=col.name,
                    row=i,
                )
            raise _bad_value(col, i, v, "an integer")
        if has_null:
            return np.array([math.nan if v is None else v for v in values], dtype=np.float64)
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:
            raise BadRequest(
                f"Column {col.name!r}: an integer is out of the 64-bit range.", field=col.name
            ) from None
    if kind == BOOL:
        for i, v in enumerate(values):
            if type(v) is bool or (v is None and col.nullable):
                continue
            raise _bad_value(col, i, v, "true or false")
        return np.array(values, dtype=object if col.nullable else np.bool_)
    if kind == STRING:
        for i, v in enumerate(values):
            if type(v) is str or (v is None and col.nullable):
                continue
            raise _bad_value(col, i, v, "a string")
        return np.array(values, dtype=object)
    for i, v in enumerate(values):
        if v is None and not col.nullable:
            raise BadRequest(
                f"Column {col.name!r}, row {i}: a value is required.", field=col.name, row=i
            )
        if isinstance(v, (list, dict)):
            raise _bad_value(col, i, v, "a scalar")
    return np.array(values, dtype=object)


def _check_names(schema: Schema, names: list[Any], where: str) -> None:
    for n in names:
        if not isinstance(n, str):
            raise BadRequest(
                f"Column names must be strings; {where} has {_type_name(n)}.", field=where
            )
    if not schema:
        return
    extra = [n for n in names if n not in schema.by_name]
    if extra:
        raise BadRequest(
            f"Unknown column {extra[0]!r}: the model takes "
            f"{', '.join(schema.names[:20])}{'…' if len(schema.names) > 20 else ''}.",
            field=extra[0],
            extra=extra[:20],
        )
    missing = [n for n in schema.names if n not in set(names)]
    if missing:
        raise BadRequest(
            f"Missing column {missing[0]!r} (every input column of the model is "
            "required; send null for a nullable one).",
            field=missing[0],
            missing=missing[:20],
        )


def columns_from_records(
    schema: Schema, records: Any, max_rows: int
) -> tuple[dict[str, np.ndarray], int]:
    if not isinstance(records, list):
        raise BadRequest(
            f"'records' must be an array of objects, not {_type_name(records)}.", field="records"
        )
    n = len(records)
    if n == 0:
        raise BadRequest("The batch is empty: send at least one row.", field="records")
    if n > max_rows:
        raise BadRequest(
            f"At most {max_rows} rows per request; this one has {n}.",
            field="records",
            status=413,
            code="too_large",
        )
    first = records[0]
    if not isinstance(first, dict):
        raise BadRequest(
            f"records[0] must be an object, not {_type_name(first)}.", field="records[0]"
        )
    names = schema.names if schema else list(first)
    name_set = set(names)
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise BadRequest(
                f"records[{i}] must be an object, not {_type_name(rec)}.", field=f"records[{i}]"
            )
        if len(rec) != len(names) or rec.keys() != name_set:
            keys = list(rec)
            try:
                _check_names(schema, keys, f"records[{i}]")
            except BadRequest as exc:
                exc.details.setdefault("row", i)
                raise
            if set(keys) != name_set:
                missing = sorted(name_set - set(keys))
                raise BadRequest(
                    f"records[{i}] lacks column {missing[0]!r}.", field=missing[0], row=i
                )
    out = {}
    for name in names:
        col = schema.by_name.get(name) or Column(name, ANY, True)
        out[name] = _convert(col, [rec[name] for rec in records])
    return out, n


def columns_from_split(
    schema: Schema, body: dict[str, Any], max_rows: int
) -> tuple[dict[str, np.ndarray], int]:
    columns, data = body.get("columns"), body.get("data")
    unknown = [k for k in body if k not in ("columns", "data", "index")]
    if unknown:
        raise BadRequest(
            f"Unknown field {unknown[0]!r}: split orient has 'columns' and 'data'.",
            field=unknown[0],
        )
    if not isinstance(columns, list):
        raise BadRequest("'columns' must be an array of column names.", field="columns")
    if not isinstance(data, list):
        raise BadRequest("'data' must be an array of rows (arrays).", field="data")
    if len(set(map(str, columns))) != len(columns):
        raise BadRequest("'columns' names a column twice.", field="columns")
    n = len(data)
    if n == 0:
        raise BadRequest("The batch is empty: send at least one row.", field="data")
    _check_names(schema, columns, "columns")
    if n > max_rows:
        raise BadRequest(
            f"At most {max_rows} rows per request; this one has {n}.",
            field="data",
            status=413,
            code="too_large",
        )
    width = len(columns)
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != width:
            raise BadRequest(
                f"data[{i}] must be an array of {width} values.", field=f"data[{i}]", row=i
            )
    out = {}
    for j, name in enumerate(columns):
        col = schema.by_name.get(name) or Column(name, ANY, True)
        out[name] = _convert(col, [row[j] for row in data])
    return out, n


def _csv_value(col: Column, text: str, row: int) -> Any:
    if text == "" or text.lower() in ("nan", "null", "na"):
        if col.kind == STRING and text != "":
            return text
        return None
    if col.kind == FLOAT:
        try:
            return float(text)
        except ValueError:
            raise BadRequest(
                f"Column {col.name!r}, row {row}: expected a number, got {text[:40]!r}.",
                field=col.name,
                row=row,
            ) from None
    if col.kind == INT:
        try:
            return int(text)
        except ValueError:
            raise BadRequest(
                f"Column {col.name!r}, row {row}: expected an integer, got {text[:40]!r}.",
                field=col.name,
                row=row,
            ) from None
    if col.kind == BOOL:
        low = text.lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise BadRequest(
            f"Column {col.name!r}, row {row}: expected true or false, got {text[:40]!r}.",
            field=col.name,
            row=row,
        )
    return text


def columns_from_csv(
    schema: Schema, raw: bytes, max_rows: int
) -> tuple[dict[str, np.ndarray], int]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("The CSV body is not UTF-8 text.", field="body") from None
    try:
        rows = list(csv.reader(io.StringIO(text), strict=True))
    except csv.Error as exc:
        raise BadRequest(f"The body is not valid CSV: {exc}.", field="body") from None
    rows = [r for r in rows if r]
    if not rows:
        raise BadRequest(
            "The CSV body is empty: send a header row and at least one row.", field="body"
        )
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        raise BadRequest("The CSV header names a column twice.", field="header")
    data = rows[1:]
    if not data:
        raise BadRequest(
            "The batch is empty: send at least one row after the header.", field="body"
        )
    _check_names(schema, header, "header")
    if len(data) > max_rows:
        raise BadRequest(
            f"At most {max_rows} rows per request; this one has {len(data)}.",
            field="body",
            status=413,
            code="too_large",
        )
    width = len(header)
    for i, row in enumerate(data):  # once, not once per column
        if len(row) != width:
            raise BadRequest(
                f"CSV row {i} has {len(row)} values; the header has {width}.",
                field=f"row {i}",
                row=i,
            )
    out = {}
    for j, name in enumerate(header):
        col = schema.by_name.get(name) or Column(name, ANY, True)
        out[name] = _convert(col, [_csv_value(col, row[j], i) for i, row in enumerate(data)])
    return out, len(data)


def parse_request(
    schema: Schema, raw: bytes, content_type: str, max_rows: int
) -> tuple[dict[str, np.ndarray], int]:
    """The body of ``POST /predict`` → ``({column: array}, rows)``; raises :class:`BadRequest`."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype in ("text/csv", "application/csv"):
        return columns_from_csv(schema, raw, max_rows)
    if ctype and ctype not in ("application/json", "text/json") and not ctype.endswith("+json"):
        raise BadRequest(
            f"Unsupported Content-Type {ctype!r}: send application/json or text/csv.",
            field="Content-Type",
            status=415,
            code="unsupported_media_type",
        )
    if not raw.strip():
        raise BadRequest("The body is empty: send JSON records, split orient or CSV.", field="body")
    try:
        body = loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}.", field="body") from None
    if isinstance(body, list):
        return columns_from_records(schema, body, max_rows)
    if isinstance(body, dict):
        if "records" in body:
            extra = [k for k in body if k != "records"]
            if extra:
                raise BadRequest(f"Unknown field {extra[0]!r} next to 'records'.", field=extra[0])
            return columns_from_records(schema, body["records"], max_rows)
        if "columns" in body or "data" in body:
            return columns_from_split(schema, body, max_rows)
        raise BadRequest(
            'A JSON body is an array of records, {"records": [...]} or split orient '
            '{"columns": [...], "data": [[...]]}.',
            field="body",
        )
    raise BadRequest(
        f"The body must be a JSON array or object, not {_type_name(body)}.", field="body"
    )
