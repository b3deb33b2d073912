"""Run search: the filter and order-by language, compiled to SQLAlchemy.

Grammar (case-insensitive keywords)::

    expr    := term (OR term)*
    term    := factor (AND factor)*
    factor  := '(' expr ')' | clause
    clause  := field op value | field [NOT] IN '(' value (',' value)* ')' | field IS [NOT] NULL
    field   := metrics.KEY | params.KEY | tags.KEY | ATTRIBUTE   (KEY may be `back quoted`)
    op      := = | != | <> | < | <= | > | >= | LIKE | ILIKE
    value   := 'string' | "string" | number | NaN | Infinity | -Infinity | true | false

Every value is a bound parameter: nothing the user types becomes SQL text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Numeric,
    String,
    Table,
    and_,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..errors import InvalidInput
from .common import INT64_MAX, INT64_MIN

ATTRIBUTES = {
    "id",
    "name",
    "status",
    "user",
    "start_time",
    "end_time",
    "notebook_path",
    "experiment_id",
    "parent_run_id",
    "source",
}
TIME_ATTRIBUTES = {"start_time", "end_time"}
_ENTITY_ALIASES = {
    "metric": "metrics",
    "metrics": "metrics",
    "param": "params",
    "params": "params",
    "parameter": "params",
    "parameters": "params",
    "tag": "tags",
    "tags": "tags",
    "attribute": "attributes",
    "attributes": "attributes",
    "run": "attributes",
}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<number>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf(?:inity)?\b|nan\b))
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<field>(?:[A-Za-z_][\w]*\.)?(?:`[^`]+`|[A-Za-z_][\w.\-]*))
    """,
    re.VERBOSE | re.IGNORECASE,
)
_KEYWORDS = {"and", "or", "not", "in", "like", "ilike", "is", "null", "true", "false"}


@dataclass(frozen=True)
class Field:
    entity: str  # metrics | params | tags | attributes
    key: str

    def __str__(self) -> str:
        return self.key if self.entity == "attributes" else f"{self.entity}.{self.key}"


@dataclass
class Clause:
    field: Field
    op: str
    value: Any


@dataclass
class BoolOp:
    op: str  # and | or
    items: list


@dataclass(frozen=True)
class OrderBy:
    field: Field
    descending: bool


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise InvalidInput(
                f"Cannot read the filter at position {pos}: {text[pos : pos + 20]!r}.",
                field="filter",
            )
        pos = m.end()
        kind = m.lastgroup
        assert kind is not None  # every alternative of _TOKEN is a named group
        if kind == "ws":
            continue
        value = m.group()
        if kind == "field" and value.lower() in _KEYWORDS:
            kind = "kw"
            value = value.lower()
        tokens.append((kind, value))
    return tokens


def parse_field(raw: str, field_name: str = "filter") -> Field:
    if "." in raw.split("`", 1)[0]:
        prefix, key = raw.split(".", 1)
        alias = _ENTITY_ALIASES.get(prefix.lower())
        if alias is None:
            raise InvalidInput(
                f"Unknown field {raw!r}: use metrics.KEY, params.KEY, tags.KEY or a run attribute "
                f"({', '.join(sorted(ATTRIBUTES))}).",
                field=field_name,
            )
        entity = alias
    else:
        entity, key = "attributes", raw
    if key.startswith("`") and key.endswith("`"):
        key = key[1:-1]
    if not key:
        raise InvalidInput(f"Empty key in field {raw!r}.", field=field_name)
    if entity == "attributes" and key not in ATTRIBUTES:
        raise InvalidInput(
            f"Unknown run attribute {key!r}; known: {', '.join(sorted(ATTRIBUTES))}. "
            "For a metric, param or tag write metrics.KEY, params.KEY or tags.KEY.",
            field=field_name,
        )
    return Field(entity, key)


def _literal(kind: str, value: str) -> Any:
    if kind == "string":
        quote = value[0]
        return value[1:-1].replace(quote * 2, quote)
    if kind == "number":
        low = value.lower().lstrip("+")
        if low in ("nan", "-nan"):
            return math.nan
        if low.lstrip("-") in ("inf", "infinity"):
            return -math.inf if low.startswith("-") else math.inf
        if re.fullmatch(r"[-+]?\d+", value):
            digits = value.lstrip("+-").lstrip("0")
            number = int(value) if len(digits) <= 19 else None  # no 4,300-digit parse
            if number is None or not INT64_MIN <= number <= INT64_MAX:
                raise InvalidInput(
                    f"filter: the integer {value[:30]}{'...' if len(value) > 30 else ''} is out "
                    f"of range; integers must lie between {INT64_MIN} and {INT64_MAX} (use a "
                    "decimal such as 1e19 for larger numbers).",
                    field="filter",
                )
            return number
        decimal = float(value)
        if not math.isfinite(decimal):
            raise InvalidInput(
                f"filter: the number {value[:30]} is too large for a 64-bit float (at most "
                "about 1.8e308); write Infinity for an unbounded comparison.",
                field="filter",
            )
        return decimal
    if kind == "kw" and value in ("true", "false"):
        return value == "true"
    raise InvalidInput(f"Expected a value (a 'string' or a number), got {value!r}.", field="filter")


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise InvalidInput("The filter ends too early.", field="filter")
        self.pos += 1
        return tok

    def accept_kw(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "kw" and tok[1] == word:
            self.pos += 1
            return True
        return False

    def expect(self, kind: str, value: str | None = None) -> str:
        tok = self.take()
        if tok[0] != kind or (value is not None and tok[1] != value):
            raise InvalidInput(
                f"Expected {value or kind} in the filter, got {tok[1]!r}.", field="filter"
            )
        return tok[1]

    def parse(self) -> Clause | BoolOp:
        node = self.expr()
        extra = self.peek()
        if extra is not None:
            raise InvalidInput(f"Unexpected {extra[1]!r} in the filter.", field="filter")
        return node

    def expr(self) -> Clause | BoolOp:
        items = [self.term()]
        while self.accept_kw("or"):
            items.append(self.term())
        return items[0] if len(items) == 1 else BoolOp("or", items)

    def term(self) -> Clause | BoolOp:
        items = [self.factor()]
        while self.accept_kw("and"):
            items.append(self.factor())
        return items[0] if len(items) == 1 else BoolOp("and", items)

    def factor(self) -> Clause | BoolOp:
        tok = self.peek()
        if tok == ("punct", "("):
            self.take()
            node = self.expr()
            self.expect("punct", ")")
            return node
        kind, raw = self.take()
        if kind != "field":
            raise InvalidInput(
                f"Expected a field such as metrics.acc, got {raw!r}.", field="filter"
            )
        field = parse_field(raw)
        if self.accept_kw("is"):
            negate = self.accept_kw("not")
            self.expect("kw", "null")
            return Clause(field, "is not null" if negate else "is null", None)
        negate = self.accept_kw("not")
        if self.accept_kw("in"):
            self.expect("punct", "(")
            values = [_literal(*self.take())]
            while self.peek() == ("punct", ","):
                self.take()
                values.append(_literal(*self.take()))
            self.expect("punct", ")")
            return Clause(field, "not in" if negate else "in", values)
        if negate:
            raise InvalidInput("'not' must be followed by 'in' in the filter.", field="filter")
        tok = self.take()
        if tok[0] == "op":
            op = "!=" if tok[1] == "<>" else tok[1]
        elif tok[0] == "kw" and tok[1] in ("like", "ilike"):
            op = tok[1]
        else:
            raise InvalidInput(
                f"Expected an operator after {field}, got {tok[1]!r}.", field="filter"
            )
        return Clause(field, op, _literal(*self.take()))


def parse_filter(text: str | None) -> Clause | BoolOp | None:
    if text is None or not text.strip():
        return None
    if len(text) > 10_000:
        raise InvalidInput("The filter is longer than 10,000 characters.", field="filter")
    return _Parser(text).parse()


def parse_order_by(items: list[str] | str | None) -> list[OrderBy]:
    if not items:
        return []
    if isinstance(items, str):
        items = [part for part in items.split(",") if part.strip()]
    result = []
    for item in items:
        words = item.strip().rsplit(None, 1)
        descending = False
        if len(words) == 2 and words[1].lower() in ("asc", "desc"):
            descending = words[1].lower() == "desc"
            raw = words[0]
        else:
            raw = item.strip()
        result.append(OrderBy(parse_field(raw, "order_by"), descending))
    return result


def to_millis(value: Any, field: str) -> int:
    """Accept epoch milliseconds or an ISO-8601 string for time attributes."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInput(
                f"{field} must be compared with a date or finite epoch ms, not {value}.",
                field="filter",
            )
        if not INT64_MIN <= value <= INT64_MAX:
            raise InvalidInput(
                f"{field} must be compared with epoch ms between {INT64_MIN} and "
                f"{INT64_MAX}, not {value}.",
                field="filter",
            )
        return int(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"{field} must be compared with an ISO date such as '2026-11-27' or epoch ms.",
                field="filter",
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return int(parsed.timestamp() * 1000)
    raise InvalidInput(f"{field} must be compared with a date or a number.", field="filter")


def _compare(column: ColumnElement, op: str, value: Any) -> ColumnElement:
    if op == "is null":
        return column.is_(None)
    if op == "is not null":
        return column.is_not(None)
    if op == "in":
        return column.in_(value)
    if op == "not in":
        return column.not_in(value)
    if op == "like":
        return column.like(value)
    if op == "ilike":
        return column.ilike(value)
    return {
        "=": column.__eq__,
        "!=": column.__ne__,
        "<": column.__lt__,
        "<=": column.__le__,
        ">": column.__gt__,
        ">=": column.__ge__,
    }[op](value)


class _number_text(FunctionElement):
    """A param or tag value if it spells a number (JSON number syntax, which is what
    ``repr`` gives for Python ints and finite floats), else NULL.

    Numeric filters compare ``CAST(_number_text(value) AS NUMERIC)``: a value such as
    'auto' then matches no comparison, where a bare CAST would make it 0 on SQLite and
    fail the whole query on PostgreSQL.
    """

    type = String()
    inherit_cache = True
    name = "labcycle_number_text"


@compiles(_number_text)
def _number_text_sqlite(element: _number_text, compiler: Any, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    # Nested CASE: json_type() raises on malformed JSON, so it runs only on valid JSON.
    return (
        f"CASE WHEN json_valid({arg}) THEN CASE WHEN json_type({arg}) IN ('integer', 'real') "
        f"THEN {arg} END END"
    )


@compiles(_number_text, "postgresql")
def _number_text_postgresql(element: _number_text, compiler: Any, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    # A three-digit exponent at most: NUMERIC holds every such value, so the CAST cannot fail.
    pattern = r"^[[:space:]]*-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][-+]?[0-9]{1,3})?[[:space:]]*$"
    return f"CASE WHEN {arg} ~ '{pattern}' THEN {arg} END"


def _as_number(value: Any) -> Any:
    """A bound filter value compared as NUMERIC (PostgreSQL cannot compare NUMERIC to float8
    without converting the column to float8, which fails for values beyond its range)."""
    if isinstance(value, list):
        return [cast(literal(v), Numeric) for v in value]
    return cast(literal(value), Numeric)


class RunQueryCompiler:
    """Turns parsed filters and orderings into SQL over the run tables."""

    def __init__(self, runs: Table, params: Table, latest: Table, tags: Table) -> None:
        self.runs, self.params, self.latest, self.tags = runs, params, latest, tags

    def _runs_with(self, table: Table, key: str, *conditions: ColumnElement) -> ColumnElement:
        """Runs that have ``key`` in ``table`` with a value meeting ``conditions``.

        Written ``runs.id IN (SELECT run_id ...)`` rather than a correlated EXISTS: SQLite
        then reads the matching rows once (through ``ix_latest_metrics_key_value`` for
        metrics) instead of probing the table once per run; PostgreSQL plans both forms as
        the same semi-join. Negated clauses keep NOT EXISTS.
        """
        return self.runs.c.id.in_(select(table.c.run_id).where(table.c.key == key, *conditions))

    def where(self, node: Clause | BoolOp | None) -> ColumnElement | None:
        return None if node is None else self._where(node)

    def _where(self, node: Clause | BoolOp) -> ColumnElement:
        if isinstance(node, BoolOp):
            parts = [self._where(item) for item in node.items]
            return and_(*parts) if node.op == "and" else or_(*parts)
        return self._clause(node)

    def _clause(self, clause: Clause) -> ColumnElement:
        field, op, value = clause.field, clause.op, clause.value
        column: ColumnElement[Any]
        if field.entity == "attributes":
            column = self.runs.c[field.key]
            if field.key in TIME_ATTRIBUTES and value is not None:
                value = (
                    [to_millis(v, field.key) for v in value]
                    if isinstance(value, list)
                    else to_millis(value, field.key)
                )
            elif field.key not in TIME_ATTRIBUTES and op not in ("is null", "is not null"):
                # text columns: PostgreSQL refuses to compare VARCHAR with a number
                value = [str(v) for v in value] if isinstance(value, list) else str(value)
            return _compare(column, op, value)
        if field.entity == "metrics":
            return self._metric_clause(field.key, op, value)
        table = self.params if field.entity == "params" else self.tags
        column = table.c.value
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if isinstance(value, list):
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            if not numeric:
                value = [str(v) for v in value]
        if numeric and op not in ("like", "ilike"):
            column, value = cast(_number_text(column), Numeric), _as_number(value)
        elif isinstance(value, bool):
            # Python's True is stored as "True" (common.param_value); JSON clients send "true".
            column, value = func.lower(column), str(value).lower()
        if op in ("is null", "not in", "!="):
            # A run without the key satisfies "is null", and counts as "different".
            present = exists().where(table.c.run_id == self.runs.c.id, table.c.key == field.key)
            if op == "is null":
                return not_(present)
            inner = exists().where(
                table.c.run_id == self.runs.c.id,
                table.c.key == field.key,
                _compare(column, "in" if op == "not in" else "=", value),
            )
            return not_(inner)
        if op == "is not null":
            return self._runs_with(table, field.key)
        return self._runs_with(table, field.key, _compare(column, op, value))

    def _metric_clause(self, key: str, op: str, value: Any) -> ColumnElement:
        latest = self.latest
        base = [latest.c.run_id == self.runs.c.id, latest.c.key == key]
        values = value if isinstance(value, list) else [value]
        if op not in ("is null", "is not null") and not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
        ):
            raise InvalidInput(f"metrics.{key} must be compared with a number.", field="filter")
        if op == "is null":
            return not_(exists().where(*base))
        if op == "is not null":
            return self._runs_with(latest, key)
        if op in ("like", "ilike"):
            raise InvalidInput(f"metrics.{key} cannot be compared with {op}.", field="filter")
        nan = any(isinstance(v, float) and math.isnan(v) for v in values)
        if nan:
            # NaN is stored as NULL: "= NaN" finds NaN values, "!= NaN" the others.
            if op in ("=", "in"):
                return self._runs_with(latest, key, latest.c.value.is_(None))
            if op in ("!=", "not in"):
                return self._runs_with(latest, key, latest.c.value.is_not(None))
            return false()
        if op == "!=":
            return self._runs_with(
                latest, key, or_(latest.c.value != value, latest.c.value.is_(None))
            )
        if op == "not in":
            return self._runs_with(
                latest, key, or_(latest.c.value.not_in(value), latest.c.value.is_(None))
            )
        return self._runs_with(latest, key, _compare(latest.c.value, op, value))

    def order_column(self, order: OrderBy) -> ColumnElement:
        field = order.field
        if field.entity == "attributes":
            return self.runs.c[field.key]
        table = {"metrics": self.latest, "params": self.params, "tags": self.tags}[field.entity]
        return (
            select(table.c.value)
            .where(table.c.run_id == self.runs.c.id, table.c.key == field.key)
            .scalar_subquery()
        )
