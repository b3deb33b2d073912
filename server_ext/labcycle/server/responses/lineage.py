"""Response models of lineage and run comparison (see responses.py for why they exist)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .core import MetricValueOut, Out


# -- lineage -------------------------------------------------------------------------------
class LineageNode(Out):
    id: str = Field(
        description='"type:id", e.g. "run:3f2a…"; a notebook snapshot is "notebook:<run_id>/<path>"'
    )
    type: str = Field(description="an entity type, or notebook")
    entity_id: str
    title: str | None
    status: str | None = Field(
        description="run/job/sweep status, deployment status, monitor "
        "health, model version status; deleted for a missing run"
    )
    project: str | None
    project_id: str | None
    url_hint: str | None = Field(description="REST path relative to /labcycle/api/v1/")
    level: int = Field(description="0 for the entity, -n upstream, +n downstream")
    missing: bool | None = Field(
        None, description="known only from a model version's lineage JSON (the row is gone)"
    )


class LineageEdge(Out):
    source: str
    target: str
    relation: str = Field(
        description="contains, input_of, produced, snapshot_of, parent_of, "
        "reproduced_by, executed, launched, logged, has_version, served_by, "
        "watched_by, reference_of, current_of"
    )
    context: str | None = Field(None, description="dataset edges: the run input's context")
    via: str | None = Field(None, description='"lineage" when read from the version\'s JSON')


class LineageGraph(Out):
    root: str
    direction: Literal["up", "down", "both"]
    depth: int
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    truncated: bool
    max_nodes: int


# -- run comparison ------------------------------------------------------------------------
class RunBrief(Out):
    id: str
    name: str
    status: str
    user: str
    experiment_id: str
    experiment: str
    project: str
    start_time: str | None
    end_time: str | None
    duration_s: float | None


class CompareRow(Out):
    key: str
    values: dict[str, Any] = Field(description="run id → value (null when the run lacks it)")
    differs: bool


class CompareTable(Out):
    keys: list[str]
    rows: list[CompareRow]
    differing: list[str]
    constant: list[str]


class PackageRow(Out):
    name: str
    values: dict[str, str | None]


class Packages(Out):
    differing: list[PackageRow]
    same: int = Field(description="packages with one version in every run")


class Series(Out):
    steps: list[int]
    values: list[MetricValueOut]
    points: int = Field(description="points stored")
    downsampled: bool


class Dimension(Out):
    key: str
    kind: Literal["numeric", "categorical"]
    min: float | None = None
    max: float | None = None
    categories: list[str] | None = None


class ParallelRow(Out):
    run_id: str
    values: dict[str, float | int | None]
    metric: MetricValueOut | None


class Parallel(Out):
    metric: str | None
    metric_range: list[float] | None
    dimensions: list[Dimension]
    rows: list[ParallelRow]


class RunComparison(Out):
    run_ids: list[str]
    runs: list[RunBrief]
    params: CompareTable
    metrics: CompareTable
    tags: CompareTable
    attributes: CompareTable
    packages: Packages
    histories: dict[str, dict[str, Series]] = Field(description="metric key → run id → series")
    history_keys_truncated: bool
    max_points: int
    parallel: Parallel


# -- notebook diff -------------------------------------------------------------------------
class SnapshotRef(Out):
    id: str
    name: str
    snapshot: str = Field(description="executed.ipynb or notebook.ipynb")


class CellDiff(Out):
    status: Literal["unchanged", "modified", "added", "removed"]
    a_index: int | None
    b_index: int | None
    id: str | None
    cell_type: str
    cell_type_a: str | None = None
    moved: bool
    parameters: bool
    source_changed: bool
    outputs_changed: bool
    source_diff: list[str] | None = None
    source_diff_truncated: bool | None = None
    outputs_diff: list[str] | None = None
    outputs_truncated: bool | None = None
    outputs_note: str | None = None
    source: str | None = None
    source_truncated: bool | None = None
    outputs_text: str | None = None
    detail_omitted: bool | None = None


class ParameterValue(Out):
    name: str
    a: str | None
    b: str | None
    changed: bool


class ParametersDiff(Out):
    a_index: int | None
    b_index: int | None
    a_source: str | None
    b_source: str | None
    values: list[ParameterValue] | None
    changed: bool


class NotebookDiff(Out):
    run_a: SnapshotRef
    run_b: SnapshotRef
    alignment: Literal["id", "source"]
    cells: list[CellDiff]
    summary: dict[str, int]
    identical: bool
    counts: dict[str, int]
    parameters: ParametersDiff
    truncated: bool
    limits: dict[str, int]
