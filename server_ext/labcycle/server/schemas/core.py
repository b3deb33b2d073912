"""Request models of the REST API (Pydantic v2).

They check the *shape* of what a client sends: types, required fields, unknown fields,
allowed values. The *rules* (key syntax, name lengths, immutable params...) stay in the
service layer, which every face shares. A failed check becomes a 400 whose
``details.field`` is the path of the offending value, e.g. ``metrics[0].value`` or
``params.lr`` (see :func:`field_path`).

The same models produce the request schemas of the OpenAPI document.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..jsonutil import NAN, NEG_INF, POS_INF

MAX_PAGE = 1000
_SPECIAL_FLOATS = {
    "nan": float("nan"),
    "infinity": float("inf"),
    "-infinity": float("-inf"),
    "+infinity": float("inf"),
    "inf": float("inf"),
    "-inf": float("-inf"),
}


def split_list(value: Any) -> Any:
    """A query parameter given once or repeated, each possibly comma-separated → a list."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [part.strip() for item in value for part in str(item).split(",") if part.strip()]
    return value


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for messages."""
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


def _param_value(value: Any) -> str | int | float | bool:
    if isinstance(value, (str, int, float)):  # bool is an int
        return value
    raise PydanticCustomError(
        "param_type",
        "must be a string, number or boolean, not {kind}",
        {"kind": json_type(value)},
    )


def _metric_value(value: Any) -> float:
    if isinstance(value, bool):
        raise PydanticCustomError("metric_type", "must be a number, not a boolean")
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            raise PydanticCustomError("metric_range", "is too large for a 64-bit float") from None
    if isinstance(value, str) and value.strip().lower() in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value.strip().lower()]
    raise PydanticCustomError(
        "metric_type",
        'must be a number or one of "NaN", "Infinity", "-Infinity", not {kind}',
        {"kind": json_type(value) if not isinstance(value, str) else f"the string {value!r}"},
    )


_MIN_MS, _MAX_MS = -62135596800000, 253402300799999  # 0001-01-01 .. 9999-12-31T23:59:59.999Z


def _millis(value: Any) -> int:
    if isinstance(value, bool):
        raise PydanticCustomError("time_type", "must be epoch milliseconds or an ISO-8601 string")
    if isinstance(value, (int, float)):
        if not _MIN_MS <= value <= _MAX_MS:  # also refuses NaN
            raise PydanticCustomError("time_range", "is not a time between the years 1 and 9999")
        return int(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError(
                "time_format",
                "must be an ISO-8601 time such as '2026-11-27T10:18:47Z' or epoch milliseconds",
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return max(_MIN_MS, min(_MAX_MS, int(parsed.timestamp() * 1000)))
    raise PydanticCustomError(
        "time_type",
        "must be epoch milliseconds or an ISO-8601 string, not {kind}",
        {"kind": json_type(value)},
    )


ParamValue = Annotated[
    Any,
    PlainValidator(_param_value),
    WithJsonSchema({"type": ["string", "number", "boolean"]}),
]
MetricValue = Annotated[
    Any,
    PlainValidator(_metric_value),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"enum": [NAN, POS_INF, NEG_INF]}]}),
]
Millis = Annotated[
    Any,
    PlainValidator(_millis),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "description": "milliseconds since the epoch (UTC)"},
                {"type": "string", "format": "date-time"},
            ]
        }
    ),
]
Name = Annotated[str, Field(min_length=1, max_length=250)]
BigInt = Annotated[int, Field(ge=-(2**63), lt=2**63)]  # what a BIGINT column holds
Id = Annotated[str, Field(min_length=1, max_length=64)]


class Body(BaseModel):
    """A JSON request body: unknown fields are refused, so a typo does not pass silently."""

    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    """Query-string parameters; others (``token``, ``_xsrf``...) belong to Jupyter and are ignored."""

    model_config = ConfigDict(extra="ignore")

    max_results: int | None = Field(None, ge=1, le=MAX_PAGE, description="page size, default 100")
    page_token: str | None = Field(None, description="next_page_token of the previous page")


# -- projects and experiments ------------------------------------------------------------
class CreateProject(Body):
    name: Name
    description: str = Field("", description="the README, in Markdown")
    tags: list[str] | None = None
    git_url: str | None = Field(None, description="the repository the project lives in")


class CreateExperiment(Body):
    name: Name
    project_id: Id | None = Field(None, description="the project; or give its name as `project`")
    project: Name | None = Field(
        None, description="project name, created if missing (default 'default')"
    )
    description: str = ""

    @model_validator(mode="after")
    def _one_project(self) -> CreateExperiment:
        if self.project_id and self.project:
            raise PydanticCustomError("ambiguous", "give project_id or project, not both")
        return self


class ListExperimentsQuery(Query):
    project_id: str | None = None


# -- runs ----------------------------------------------------------------------------------
class GitInfo(Body):
    remote: str | None = None
    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None
    diff: str | None = None


class CreateRun(Body):
    experiment_id: Id | None = Field(
        None, description="the experiment; or name it with `experiment`"
    )
    experiment: Name | None = Field(
        None, description="experiment name, created if missing (default 'Default')"
    )
    project: Name | None = Field(None, description="project of `experiment` (default 'default')")
    name: Name | None = None
    parent_run_id: Id | None = None
    notebook_path: str | None = None
    kernel: str | None = None
    source: Literal["notebook", "script", "job"] = "script"
    start_time: Millis | None = None
    git: GitInfo | None = None
    python_version: str | None = None
    packages: dict[str, str | None] | None = None
    tags: dict[str, ParamValue] | None = None

    @model_validator(mode="after")
    def _one_experiment(self) -> CreateRun:
        if self.experiment_id and (self.experiment or self.project):
            raise PydanticCustomError(
                "ambiguous", "give experiment_id, or experiment (and project), not both"
            )
        return self


class UpdateRun(Body):
    status: Literal["running", "finished", "failed", "killed"] | None = None
    end_time: Millis | None = None
    name: Name | None = None

    @model_validator(mode="after")
    def _something(self) -> UpdateRun:
        if self.status is None and self.end_time is None and self.name is None:
            raise PydanticCustomError("empty", "give at least one of status, end_time, name")
        return self


class ListRunsQuery(Query):
    experiment_id: list[str] = Field(
        default_factory=list, description="repeatable, or comma-separated ids"
    )
    filter: str | None = Field(None, description="e.g. metrics.acc > 0.9 and params.model = 'rf'")
    order_by: str | None = Field(
        None, description="comma-separated, e.g. metrics.acc DESC,start_time"
    )

    @field_validator("experiment_id", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return split_list(value)


class LogParams(Body):
    params: dict[str, ParamValue]


class MetricPoint(Body):
    key: str
    value: MetricValue
    step: BigInt = 0
    timestamp: BigInt | None = Field(None, description="milliseconds since the epoch; default now")


class LogMetrics(Body):
    metrics: list[MetricPoint] = Field(max_length=100_000)


class SetTags(Body):
    tags: dict[str, ParamValue]


class CellExecutionIn(Body):
    execution_count: Annotated[int, Field(ge=0, lt=2**31)] | None = None
    cell_id: str | None = Field(None, max_length=100)
    source: str = ""
    started_at: Millis | None = None
    duration_ms: float = Field(0, ge=0, allow_inf_nan=False)
    status: Literal["ok", "error"] = "ok"
    error: str | None = None


class LogCells(Body):
    cells: list[CellExecutionIn] = Field(max_length=10_000)


class AttachNotebook(Body):
    path: str = Field(min_length=1, description="notebook path relative to the server's root")


class LinkInput(Body):
    dataset_id: Id
    context: Annotated[str, Field(min_length=1, max_length=64)] = "input"


# -- datasets and audit --------------------------------------------------------------------
class RegisterDataset(Body):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Name
    digest: str = Field(min_length=1, max_length=80, description="content fingerprint")
    schema_: dict[str, str] | None = Field(None, alias="schema", description="column → dtype")
    row_count: int | None = Field(None, ge=0, lt=2**63)
    source: str | None = None
    content_digest: str | None = Field(None, max_length=80)


class ListAuditQuery(Query):
    entity_type: str | None = None
    entity_id: str | None = None
    user: str | None = Field(None, description="who acted")
    action: str | None = Field(
        None, description="an action or a dotted prefix: 'model' finds 'model.alias.set'"
    )
    project: str | None = Field(
        None, description="a project (id or name): its events and those of everything in it"
    )
    since: str | None = Field(None, description="ISO-8601 time, date or epoch ms (inclusive)")
    until: str | None = Field(None, description="ISO-8601 time, date or epoch ms (exclusive)")


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("metrics", 0, "value")`` → ``metrics[0].value``; ``("params", "lr")`` → ``params.lr``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path
