"""Response models of sweeps, schedules and reproduce (see responses.py for why they exist)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from .core import MetricValueOut, Out


class SweepProgress(Out):
    total: int
    not_submitted: int
    pending: int
    queued: int = 0
    running: int
    succeeded: int
    failed: int
    cancelled: int
    done: int


class Sweep(Out):
    id: str
    name: str
    notebook: str
    experiment: str | None
    project: str | None
    status: Literal["running", "succeeded", "failed", "cancelled"]
    parallel: int
    n_trials: int
    spec: dict[str, Any]
    progress: SweepProgress
    error: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None


class SweepTrial(Out):
    trial: int
    parameters: dict[str, Any]
    job_id: str | None
    status: Literal[
        "not_submitted", "pending", "queued", "running", "succeeded", "failed", "cancelled"
    ]
    run_id: str | None
    run_status: str | None
    metrics: dict[str, MetricValueOut]
    error: str | None
    duration_s: float | None


class SweepDetail(Sweep):
    runs: list[SweepTrial]


class SweepList(Out):
    items: list[Sweep]
    next_page_token: str | None


class Schedule(Out):
    id: str
    name: str
    kind: str
    cron: str
    timezone: str
    payload: dict[str, Any]
    paused: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_status: str | None
    last_result: dict[str, Any] | None
    last_error: str | None
    fire_count: int
    created_by: str
    created_at: datetime
    updated_at: datetime


class ScheduleDetail(Schedule):
    history: list[dict[str, Any]]


class ScheduleList(Out):
    items: list[Schedule]
    next_page_token: str | None


class ReproduceStarted(Out):
    original_run_id: str
    job: dict[str, Any]


class ReportRun(Out):
    id: str
    name: str
    status: str


class MetricDiff(Out):
    key: str
    a: MetricValueOut | None
    b: MetricValueOut | None
    abs_change: MetricValueOut | None
    rel_change: MetricValueOut | None
    changed: bool


class ReproductionReport(Out):
    run_a: ReportRun
    run_b: ReportRun
    python: dict[str, Any]
    packages: dict[str, Any]
    datasets: list[dict[str, Any]]
    git: dict[str, Any]
    params: list[dict[str, Any]]
    metrics: list[MetricDiff]
    differences: int
    identical: bool
    job: dict[str, Any] | None
