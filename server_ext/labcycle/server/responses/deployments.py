"""Response models of deployments (see responses.py for why they exist)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .core import Out


class Deployment(Out):
    id: str
    name: str
    model_ref: str
    model_name: str
    traffic: dict[str, float] | None
    host: str
    port: int
    workers: int
    batching: dict[str, Any]
    capture: bool
    desired: str = Field(description="running, stopped, or external (exported to Kubernetes)")
    status: str = Field(description="starting, ready, failed, stopped or exported")
    pids: list[int]
    url: str
    api_key_required: bool
    trusted_versions: list[str] = Field(
        description="ids of the versions needing trust (pickle...) that the deployer trusted"
    )
    error: str | None
    serving: dict[str, Any] = Field(description="what the processes report: versions, routes")
    restarts: int
    created_by: str
    created_at: int
    updated_at: int
    started_at: int | None
    api_key: str | None = Field(None, description="only in the reply that created the key")
    curl_example: str | None = Field(None, description="a curl command that calls /predict")
    try_url: str | None = Field(None, description='the "try it" page (Voila) of this deployment')
    request_rate: float | None = Field(
        None,
        description="requests per second over the last minute (null: not running or "
        "its process did not answer)",
    )
    latency_ms: float | None = Field(None, description="p50 latency over the last minute, ms")
    latency_p99_ms: float | None = Field(None, description="p99 latency over the last minute, ms")
    stats: dict[str, Any] | None = Field(None, description="the process's GET /stats answer")


class DeploymentList(Out):
    items: list[Deployment]
    next_page_token: str | None


class Prediction(Out):
    prediction_id: str
    request_id: str | None
    ts: str
    model_version: int | None
    version_id: str | None
    latency_ms: float | None
    prediction: Any
    probability: list[float] | None
    inputs: dict[str, Any]
    ground_truth: Any


class PredictionList(Out):
    items: list[Prediction]
    next_page_token: str | None


class FeedbackLogged(Out):
    logged: int
