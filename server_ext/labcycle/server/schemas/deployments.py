"""Request models of deployments (shape only; the rules are in services/deployments.py)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .core import Body, Query


class Batching(Body):
    enabled: bool = True
    max_batch_rows: int = Field(256, ge=1, le=100_000)
    max_wait_us: int = Field(2000, ge=0, le=1_000_000)


class CreateDeployment(Body):
    model: str = Field(
        min_length=1,
        max_length=450,
        description="model reference: 'churn@champion', 'churn/3' or 'churn'",
    )
    name: str | None = Field(None, max_length=100)
    workers: int = Field(1, ge=1, le=32)
    host: str = Field(
        "127.0.0.1",
        max_length=100,
        description="address to bind; anything but loopback gets an API key",
    )
    port: int | None = Field(None, ge=1, le=65535, description="default: a free port")
    traffic: dict[str, float] | None = Field(
        None, description='split by version number and percentage, e.g. {"3": 90, "4": 10}'
    )
    batching: Batching | None = None
    capture: bool = True
    trusted: bool = Field(
        False,
        description="you trust the versions deployed: needed for a "
        "pickle, joblib or python model (it runs code when loaded); audited",
    )


class UpdateDeployment(Body):
    """``traffic: null`` follows the model reference again; omit a field to keep it."""

    traffic: dict[str, float] | None = Field(None, description="a new split (null: no split)")
    workers: int | None = Field(None, ge=1, le=32)
    model: str | None = Field(None, min_length=1, max_length=450)
    batching: Batching | None = None
    trusted: bool = Field(
        False,
        description="you trust the versions the deployment serves "
        "after this change (pickle, joblib, python); audited",
    )
    desired: str | None = Field(
        None,
        pattern="^(running|stopped)$",
        description="'running' starts a stopped deployment again",
    )


class ListDeploymentsQuery(Query):
    include_stopped: bool = True


class ListPredictionsQuery(Query):
    since: str | None = Field(None, description="ISO-8601 time or epoch milliseconds")


class GroundTruth(Body):
    prediction_id: str = Field(min_length=1, max_length=64)
    value: Any = Field(description="the true outcome: a number, a string or a boolean")
