"""Small helpers shared by the services: ids, clocks, validation, pagination, audit."""

from __future__ import annotations

import base64
import math
import re
import sys
import time
import uuid
from datetime import datetime, timezone
from datetime import time as day_time
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from ..errors import InvalidInput, NotFound
from ..store import db
from ..store.models import AuditEvent

MAX_KEY_LENGTH = 250
MAX_PAGE = 1000


def insert_on_conflict(conn: Connection, table: Table) -> Any:
    """An INSERT that supports ``on_conflict_do_nothing/_update`` on the connection's dialect.

    Check-then-insert races on PostgreSQL (two transactions both see no row, both insert);
    ``ON CONFLICT`` resolves it atomically on both backends.
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def new_id() -> str:
    return uuid.uuid4().hex


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()


def check_encodable(text: str, field: str) -> str:
    """Refuse a lone UTF-16 surrogate ("\\ud800"): no store can encode it, and a buffered
    write holding one would be retried for ever."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        field = field.encode("utf-8", "backslashreplace").decode()  # a key may hold it too
        raise InvalidInput(
            f"{field} holds a lone UTF-16 surrogate at position {exc.start} (a half of a "
            "surrogate pair, such as '\\ud800'); remove it or pass the whole character.",
            field=field,
        ) from None
    return text


def validate_key(key: Any, field: str) -> str:
    """Keys name params, metrics and tags: short, printable, no path syntax."""
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"{field} must be a non-empty string.", field=field)
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"{field} may have at most {MAX_KEY_LENGTH} characters.", field=field)
    if key != key.strip():
        raise InvalidInput(f"{field} {key!r} may not start or end with white space.", field=field)
    if any(ord(ch) < 32 or ch in "/\\" for ch in key) or ".." in key:
        raise InvalidInput(
            f"{field} {key!r} may not contain '/', '\\', '..' or control characters such as NUL; "
            "use letters, digits, '_', '-', '.', ':' or spaces.",
            field=field,
        )
    return check_encodable(key, field)


def validate_name(name: Any, field: str, max_length: int = 200) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"{field} must be a non-empty string.", field=field)
    name = name.strip()
    if len(name) > max_length:
        raise InvalidInput(f"{field} may have at most {max_length} characters.", field=field)
    if any(ord(ch) < 32 for ch in name):
        raise InvalidInput(f"{field} may not contain control characters.", field=field)
    return check_encodable(name, field)


def validate_id(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise InvalidInput(f"{field} must be an id string.", field=field)
    return value


_SPECIAL_FLOATS = {
    "nan": math.nan,
    "infinity": math.inf,
    "-infinity": -math.inf,
    "inf": math.inf,
    "-inf": -math.inf,
    "+infinity": math.inf,
}


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _is_bool(value: Any) -> bool:
    """True for Python and numpy booleans (``numpy.bool_`` is not a ``bool`` subclass)."""
    if isinstance(value, bool):
        return True
    numpy = sys.modules.get("numpy")  # if numpy is not imported, value is no numpy bool
    return numpy is not None and isinstance(value, numpy.bool_)


def to_float(value: Any, field: str) -> float:
    """A metric value: a real number, or "NaN"/"Infinity"/"-Infinity" from JSON."""
    if _is_bool(value):
        raise InvalidInput(f"{field} must be a number, not a boolean.", field=field)
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an int beyond the float range
            raise InvalidInput(f"{field} is too large for a 64-bit float.", field=field) from None
    if isinstance(value, str) and value.strip().lower() in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value.strip().lower()]
    # numpy scalars and the like
    if hasattr(value, "__float__") and not isinstance(value, (str, bytes)):
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            pass
    raise InvalidInput(
        f'{field} must be a number (or "NaN", "Infinity", "-Infinity"), got {type(value).__name__}.',
        field=field,
    )


def to_int(value: Any, field: str, default: int | None = None) -> int:
    """An integer that fits the database's 64-bit columns; booleans are refused."""
    if value is None and default is not None:
        return default
    if _is_bool(value):
        raise InvalidInput(f"{field} must be an integer, not a boolean.", field=field)
    if not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif hasattr(value, "__index__"):
            value = int(value.__index__())
        else:
            raise InvalidInput(
                f"{field} must be an integer, got {type(value).__name__}.", field=field
            )
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidInput(f"{field} must be between -2**63 and 2**63 - 1.", field=field)
    return int(value)


def time_ms(value: Any, field: str, *, end_of_day: bool = False) -> int | None:
    """Epoch milliseconds from an ISO date or date-time (UTC unless it says otherwise) or
    from epoch milliseconds; None for None or "".

    A bare date is the start of that day, or its last millisecond with ``end_of_day``.
    """
    if value is None or value == "":
        return None
    if _is_bool(value):
        raise InvalidInput(f"{field} must be a date, not a boolean.", field=field)
    if isinstance(value, float) and math.isfinite(value):
        value = int(value)
    if isinstance(value, int):
        return to_int(value, field)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return to_int(int(text), field)
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                day = datetime.fromisoformat(text).date()
                moment = datetime.combine(
                    day, day_time.max if end_of_day else day_time.min, timezone.utc
                )
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=timezone.utc)
            return int(moment.timestamp() * 1000)
        except (ValueError, OverflowError):
            pass
    raise InvalidInput(
        f"{field} must be an ISO date or date-time (2026-12-01, 2026-12-01T09:30:00Z) "
        "or milliseconds since the epoch.",
        field=field,
    )


def param_value(value: Any, field: str) -> str:
    if not isinstance(value, str) and callable(getattr(value, "item", None)):
        # A numpy scalar; checked first because np.float64 is also a float, whose repr is
        # "np.float64(0.5)" under numpy 2. An array has item() too, but is not a value.
        try:
            value = value.item()
        except (TypeError, ValueError):
            raise InvalidInput(
                f"{field} must be a string, number or boolean, got {type(value).__name__}.",
                field=field,
            ) from None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (str, int, float)):
        text = value if isinstance(value, str) else repr(value)
    elif value is None:
        text = "None"
    else:
        raise InvalidInput(
            f"{field} must be a string, number or boolean, got {type(value).__name__}.", field=field
        )
    if len(text) > 65_535:
        raise InvalidInput(f"{field} may have at most 65,535 characters.", field=field)
    if "\x00" in text:  # PostgreSQL text cannot hold NUL; refused on every store alike
        raise InvalidInput(f"{field} may not contain NUL characters.", field=field)
    return check_encodable(text, field)


def page_bounds(max_results: Any, page_token: str | None, default: int = 100) -> tuple[int, int]:
    limit = default if max_results is None else to_int(max_results, "max_results")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"max_results must be between 1 and {MAX_PAGE}.", field="max_results")
    offset = 0
    if page_token:
        try:
            offset = int(base64.urlsafe_b64decode(page_token.encode()).decode())
            if offset < 0:
                raise ValueError
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput(
                "page_token is not one that LabCycle issued.", field="page_token"
            ) from None
    return limit, offset


def next_token(offset: int, limit: int, got: int) -> str | None:
    if got <= limit:
        return None
    return base64.urlsafe_b64encode(str(offset + limit).encode()).decode()


def load_by_ref(conn: Connection, table: Table, ref: Any, kind: str) -> Any:
    """The row of ``table`` whose id, else whose name, is ``ref`` (a ``kind``: "monitor", …).

    A ref that is not a short non-empty string is InvalidInput; none found is NotFound, with
    the ``labcycle <kind>s ls`` command that lists them.
    """
    if not isinstance(ref, str) or not ref or len(ref) > 200:
        raise InvalidInput(f"A {kind} is named by its id or name.", field=kind)
    row = conn.execute(select(table).where(table.c.id == ref)).one_or_none()
    if row is None:
        row = conn.execute(select(table).where(table.c.name == ref)).one_or_none()
    from .ownership import can_read

    if row is not None and not can_read(conn, kind, row.id):
        row = None  # a private project's entity: as if it did not exist (404)
    if row is None:
        raise NotFound(f"No {kind} {ref!r}; `labcycle {kind}s ls` lists them.", field=kind)
    return row


_AUDIT_INSERT = insert(AuditEvent.__table__)


def audit(
    conn: Connection,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    details: dict | None = None,
) -> None:
    """Record one write in the audit log, inside the writer's transaction.

    The ``store.db.ON_AUDIT`` hooks see it too: the search index marks the entity and
    rebuilds its document just before the transaction commits.
    """
    conn.execute(  # the Core table, not the ORM class: no ORM bulk-insert path per write
        _AUDIT_INSERT,
        {
            "at": now_ms(),
            "user": actor,
            "action": action,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "details": details,
        },
    )
    for hook in db.ON_AUDIT:
        hook(conn, action, entity_type, entity_id, details)


#: where the server extension serves the Voila apps (``{base_url}labcycle/apps/<name>``)
APPS_ROUTE = "labcycle/apps"


def app_url(base_url: str, name: str, **params: str | None) -> str:
    """``{base_url}labcycle/apps/{name}?k=v`` (parameters that are None are left out)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{base_url.rstrip('/')}/{APPS_ROUTE}/{name}" + (f"?{query}" if query else "")
