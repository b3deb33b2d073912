"""Response models of notebook jobs (see responses.py for why they exist)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from .core import Out


class JobProgress(Out):
    cell: int | None
    total: int | None


class Job(Out):
    id: str
    name: str
    status: Literal["pending", "queued", "running", "succeeded", "failed", "cancelled"]
    notebook: str
    parameters: dict[str, Any]
    experiment: str | None
    project: str | None
    cwd: str | None
    env: dict[str, str]
    timeout_s: float | None
    retries: int
    attempt: int
    resources: dict[str, float]
    git_ref: str | None
    kernel_name: str | None
    sweep_id: str | None
    schedule_id: str | None
    reproduces_run_id: str | None
    run_id: str | None
    executor: str | None
    worker_pid: int | None
    worker_host: str | None
    progress: JobProgress
    cancel_requested: bool
    error: str | None
    error_detail: dict[str, Any] | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


class JobList(Out):
    items: list[Job]
    next_page_token: str | None
