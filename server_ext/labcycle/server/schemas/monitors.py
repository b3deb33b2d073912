"""Request models of monitors (shape only; the rules are in services/monitors.py)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .core import Body, Query

WINDOW_DOC = '{"last_n": 1000} (the newest N predictions) or {"last": "1d"} ("6h", "1d", "1w")'
THRESHOLDS_DOC = (
    '{"drift_share"?: 0.5, "method"?: "ks"|"wasserstein"|"chisquare"|"jensenshannon"'
    '|"psi"|..., "threshold"?: number, "performance_drop"?: 0.05, "columns"?: '
    '{"<feature>": {"method"?, "threshold"?}}}'
)
CHANNELS_DOC = (
    '[{"type": "webhook", "url": "https://...", "secret"?: "HMAC key"}, '
    '{"type": "email", "to": ["owner@example.com"]}]'
)


class CreateMonitor(Body):
    name: str | None = Field(None, max_length=200, description="default: '<deployment>-monitor'")
    deployment: str | None = Field(
        None, max_length=200, description="id or name of the deployment to watch"
    )
    reference_dataset: str | None = Field(
        None,
        max_length=250,
        description="dataset id or name; default: the deployed version's training dataset",
    )
    current_dataset: str | None = Field(
        None, max_length=250, description="instead of a deployment: a dataset to compare"
    )
    target: str | None = Field(
        None, max_length=250, description="the reference data's label column (prediction drift)"
    )
    window: dict[str, Any] | None = Field(None, description=WINDOW_DOC)
    features: list[str] | None = Field(None, description="default: the model's input columns")
    thresholds: dict[str, Any] | None = Field(None, description=THRESHOLDS_DOC)
    channels: list[dict[str, Any]] | None = Field(None, description=CHANNELS_DOC)
    cooldown_s: int | None = Field(
        None, ge=0, le=30 * 86400, description="no new alert within this time after one"
    )
    cron: str | None = Field(None, max_length=200, description="check schedule, e.g. '0 * * * *'")
    timezone: str | None = Field(None, max_length=64)


class UpdateMonitor(Body):
    """Omit a field to keep it; ``cron: null`` removes the schedule."""

    window: dict[str, Any] | None = Field(None, description=WINDOW_DOC)
    features: list[str] | None = None
    thresholds: dict[str, Any] | None = Field(None, description=THRESHOLDS_DOC)
    channels: list[dict[str, Any]] | None = Field(None, description=CHANNELS_DOC)
    cooldown_s: int | None = Field(None, ge=0, le=30 * 86400)
    cron: str | None = Field(None, max_length=200)
    timezone: str | None = Field(None, max_length=64)
    paused: bool | None = Field(None, description="pause or resume the schedule")


class ListMonitorsQuery(Query):
    deployment: str | None = Field(None, max_length=200, description="only this deployment's")


class ListChecksQuery(Query):
    full: bool = Field(False, description="include every statistic (histograms, quality...)")


class PerformanceQuery(Query):
    freq: str = Field("1D", max_length=8, description='window length: "1h", "1D" or "1W"')
