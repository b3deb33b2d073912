"""Request models of notebook jobs (shape only; the rules are in ``services/jobs.py``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from .core import Body, Id, Name, Query, split_list

JobStatus = Literal["pending", "queued", "running", "succeeded", "failed", "cancelled"]


class SubmitJob(Body):
    notebook: str = Field(
        min_length=1,
        description="path of the .ipynb: relative to the server's contents root (or absolute "
        "inside it); relative to the repository when git_ref is given",
    )
    parameters: dict[str, Any] | None = Field(
        None,
        description="injected after the `parameters` cell as Python literals; names must "
        "be identifiers, values JSON (string, number, boolean, null, array, object)",
    )
    experiment: Name | None = None
    project: Name | None = None
    name: Name | None = None
    cwd: str | None = Field(
        None,
        description="the kernel's folder, under the contents root (default: the notebook's folder)",
    )
    env: dict[str, str] | None = Field(None, description="extra environment of the kernel")
    timeout_s: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="limit for the whole execution, in seconds"
    )
    retries: int = Field(0, ge=0, le=100, description="re-runs when the worker dies")
    resources: dict[str, Any] | None = Field(
        None, description='hints for the executor: {"cpus": 2, "memory": "4GB", "gpus": 1}'
    )
    git_ref: str | None = Field(
        None, description="run the notebook as committed at this ref, in a temporary git worktree"
    )
    kernel_name: str | None = None
    sweep_id: Id | None = None
    schedule_id: Id | None = None
    reproduces_run_id: Id | None = None


class ListJobsQuery(Query):
    status: list[JobStatus] = Field(
        default_factory=list, description="repeatable, or comma-separated"
    )
    sweep_id: str | None = None
    schedule_id: str | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return split_list(value)
