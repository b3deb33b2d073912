"""Response models of the REST API: the shapes of docs/rest-api.md, as Pydantic v2 models.

Handlers do not build responses through these models (services already return plain
data, and validating 100,000 metric points per response would be waste); they exist
so that the OpenAPI document describes what is really sent, and the API tests validate
real responses against them (``extra="forbid"``: a new field fails the tests until it
is documented here and in docs/rest-api.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from ..jsonutil import NAN, NEG_INF, POS_INF

MetricValueOut = Annotated[
    float | Literal["NaN", "Infinity", "-Infinity"],
    WithJsonSchema({"anyOf": [{"type": "number"}, {"enum": [NAN, POS_INF, NEG_INF]}]}),
]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Version(Out):
    version: str
    api: Literal["v1"]


class ErrorInfo(Out):
    code: str = Field(description="not_found, conflict, invalid_input, forbidden, ...")
    message: str
    details: dict[str, Any] = Field(description="`field` names the offending input, when known")


class Error(Out):
    error: ErrorInfo


class ProjectSettings(Out):
    require_approval: bool = Field(description="deploy only approved model versions")
    approvers: list[str] = Field(description="users whose review decisions count, besides owners")


class Project(Out):
    id: str
    name: str
    description: str = Field(description="the README, in Markdown")
    created_by: str
    created_at: datetime
    updated_at: datetime
    tags: list[str]
    status: Literal["active", "archived"]
    git_url: str | None
    source_path: str | None = Field(description="the folder it was imported from, under the root")
    owners: list[str]
    member_count: int = Field(description="0: an open project (every user acts as an owner)")
    settings: ProjectSettings
    updated_by: str


class Experiment(Out):
    id: str
    project_id: str
    project_name: str
    name: str
    description: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    run_count: int
    last_run_at: datetime | None


class Run(Out):
    id: str
    experiment_id: str
    parent_run_id: str | None
    name: str
    status: Literal["running", "finished", "failed", "killed"]
    user: str
    source: Literal["notebook", "script", "job"]
    start_time: datetime
    end_time: datetime | None
    duration_s: float
    notebook_path: str | None
    params: dict[str, str]
    metrics: dict[str, MetricValueOut]
    tags: dict[str, str]


class GitOut(Out):
    remote: str | None
    commit: str | None
    branch: str | None
    dirty: bool | None
    diff: str | None


class Dataset(Out):
    id: str
    name: str
    digest: str
    schema_: dict[str, Any] = Field(alias="schema")
    row_count: int | None
    source: str | None
    content_digest: str | None
    created_by: str
    created_at: datetime


class DatasetUse(Out):
    dataset: Dataset
    context: str


class RunDetail(Run):
    experiment_name: str
    project_name: str
    kernel: str | None
    git: GitOut
    python_version: str | None
    packages: dict[str, Any]
    out_of_order: bool | None
    datasets: list[DatasetUse]
    metric_keys: list[str]
    artifact_count: int
    cell_count: int
    code_files: list[str] = Field(
        description="artifact paths (code/...) of the local .py modules the notebook imported"
    )


class Logged(Out):
    logged: int


class MetricPointOut(Out):
    step: int
    value: MetricValueOut
    timestamp: int = Field(description="milliseconds since the epoch, as logged")
    server_time: int = Field(description="milliseconds since the epoch, when the server stored it")


class MetricHistory(Out):
    key: str
    points: list[MetricPointOut]


class Artifact(Out):
    run_id: str
    path: str
    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    size: int
    media_type: str
    created_at: datetime


class CellExecution(Out):
    seq: int
    execution_count: int | None
    cell_id: str | None
    source: str
    started_at: datetime
    duration_ms: float
    status: Literal["ok", "error"]
    error: str | None


class RunInput(Out):
    run_id: str
    dataset_id: str
    context: str


class AuditEvent(Out):
    id: int
    at: datetime
    user: str
    action: str
    entity_type: str
    entity_id: str
    details: dict[str, Any] | None


class _Page(Out):
    next_page_token: str | None


class ProjectList(_Page):
    items: list[Project]


class ExperimentList(_Page):
    items: list[Experiment]


class RunList(_Page):
    items: list[Run]


class DatasetList(_Page):
    items: list[Dataset]


class AuditEventList(_Page):
    items: list[AuditEvent]


class ArtifactList(Out):
    items: list[Artifact]


class CellExecutionList(Out):
    items: list[CellExecution]
