"""Response models of monitors (see responses.py for why they exist)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .core import Out


class ScheduleBrief(Out):
    id: str
    cron: str
    timezone: str
    paused: bool
    next_run_at: str | None
    last_run_at: str | None
    last_status: str | None


class CheckBrief(Out):
    id: str
    monitor_id: str
    trigger: str = Field(description="manual or schedule")
    status: str = Field(description="ok, drift, degraded, no_data or error")
    dataset_drift: bool | None
    share_drifted: float | None
    current_rows: int | None
    summary: str
    error: str | None
    created_by: str
    started_at: str | None
    finished_at: str | None
    columns: dict[str, Any] | None = Field(None, description="per feature: score and drifted")
    result: dict[str, Any] | None = Field(
        None,
        description="every statistic: drift (per column: method, why, score, threshold, "
        "histograms), quality, prediction_drift, performance",
    )


class Monitor(Out):
    id: str
    name: str
    deployment_id: str | None
    reference_dataset_id: str | None
    current_dataset_id: str | None
    target: str | None
    window: dict[str, Any]
    features: list[str] | None
    thresholds: dict[str, Any]
    channels: list[dict[str, Any]] = Field(description="webhook secrets are never returned")
    cooldown_s: int
    schedule_id: str | None
    health: str = Field(description="unknown, ok, drift, degraded, no_data or error")
    alerting: bool
    last_check_id: str | None
    last_checked_at: str | None
    created_by: str
    created_at: str | None
    updated_at: str | None
    latest_check: CheckBrief | None
    schedule: ScheduleBrief | None


class MonitorList(Out):
    items: list[Monitor]
    next_page_token: str | None


class CheckList(Out):
    items: list[CheckBrief]
    next_page_token: str | None


class Alert(Out):
    id: str
    monitor_id: str
    check_id: str | None
    event: str = Field(description="fire, recover or remind")
    channel: dict[str, Any]
    status: str = Field(description="sent, failed or skipped")
    attempts: int
    error: str | None
    summary: str
    created_at: str | None
    sent_at: str | None


class AlertList(Out):
    items: list[Alert]
    next_page_token: str | None


class PerformanceHistory(Out):
    monitor_id: str
    freq: str
    labelled_rows: int
    reference: dict[str, Any] = Field(description="the model version's metrics at training")
    windows: list[dict[str, Any]]
