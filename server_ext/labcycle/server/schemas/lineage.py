"""Request models of lineage and run comparison (shape only; rules in services/lineage.py,
services/compare.py and services/nbdiff.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .core import split_list


class _Query(BaseModel):
    """Query-string parameters; others (``token``, ``_xsrf``...) belong to Jupyter."""

    model_config = ConfigDict(extra="ignore")


class LineageQuery(_Query):
    direction: Literal["up", "down", "both"] | None = Field(
        None, description="up (what it came from), down (what came of it) or both (default)"
    )
    depth: int | None = Field(None, ge=1, le=10, description="edges from the entity, default 3")
    max_nodes: int | None = Field(
        None, ge=1, le=5000, description="node cap, default 500 (truncated: true beyond)"
    )


class CompareRunsQuery(_Query):
    run_id: list[str] = Field(
        default_factory=list, description="2–50 run ids: repeat run_id=, or comma-separate"
    )
    metric: str | None = Field(
        None,
        max_length=250,
        description="the metric of the parallel-coordinates view "
        "(default: the first key every run logs)",
    )
    key: list[str] = Field(
        default_factory=list,
        description="metric keys whose histories to return (repeatable; default: all, at most 50)",
    )
    max_points: int | None = Field(
        None, ge=2, le=1000, description="points per run per key, default 1000"
    )

    @field_validator("run_id", "key", mode="before")
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        return split_list(value)


class NotebookDiffQuery(_Query):
    run_a: str = Field(max_length=64, description="the baseline run")
    run_b: str = Field(max_length=64, description="the run compared with it")
    max_output_chars: int | None = Field(
        None, ge=0, le=1_000_000, description="output text shown per cell, default 10,000"
    )
    max_detailed_cells: int | None = Field(
        None, ge=0, le=100_000, description="changed cells given diffs, default 2,000"
    )
