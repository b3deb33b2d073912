"""Request models of sweeps, schedules and reproduce (shape only; the rules are in the services)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .core import Body, Id, Name, Query

Parallel = Field(2, ge=1, le=256, description="at most this many of the sweep's jobs at once")


class JobOptions(Body):
    """What every job of a sweep (or a reproduction) is submitted with."""

    experiment: Name | None = None
    project: Name | None = None
    cwd: str | None = None
    env: dict[str, str] | None = None
    timeout_s: float | None = Field(None, gt=0, allow_inf_nan=False)
    retries: int = Field(0, ge=0, le=100)
    resources: dict[str, Any] | None = None
    git_ref: str | None = None
    kernel_name: str | None = None


class CreateSweep(JobOptions):
    notebook: str = Field(min_length=1, description="path of the .ipynb to run")
    grid: dict[str, Any] | None = Field(
        None, description='{"lr": [0.01, 0.1], "depth": [3, 5, 8]}: every combination'
    )
    random: dict[str, Any] | None = Field(
        None,
        description='{"lr": {"distribution": "loguniform", "low": 1e-4, "high": 0.1}, '
        '"depth": {"choice": [3, 5, 8]}, "n": {"randint": [1, 10]}}, with n_trials and seed',
    )
    trials: list[dict[str, Any]] | None = Field(None, description="explicit parameter sets")
    n_trials: int | None = Field(None, description="draws of a random search")
    seed: int | None = None
    parameters: dict[str, Any] | None = Field(None, description="fixed parameters of every trial")
    parallel: int = Parallel
    name: Name | None = None


class ListSweepsQuery(Query):
    status: Literal["running", "finished", "cancelled"] | None = None


class BestQuery(Query):
    metric: str = Field(min_length=1)
    mode: Literal["max", "min"] = "max"


class CreateSchedule(Body):
    kind: str = Field("job", description="a registered schedule kind; 'job' runs a notebook")
    cron: str = Field(description="5-field cron expression, e.g. '0 3 * * *'")
    timezone: str = Field("UTC", description="IANA zone the cron is read in")
    payload: dict[str, Any] = Field(
        default_factory=dict,
        description="for 'job': {notebook, parameters?, experiment?, project?, cwd?, env?, "
        "timeout_s?, retries?, resources?, git_ref?, kernel_name?}",
    )
    name: Name | None = None
    paused: bool = False


class UpdateSchedule(Body):
    paused: bool | None = None
    cron: str | None = None
    timezone: str | None = None
    payload: dict[str, Any] | None = None
    name: Name | None = None


class ListSchedulesQuery(Query):
    kind: str | None = None


class ReproduceRun(Body):
    timeout_s: float | None = Field(None, gt=0, allow_inf_nan=False)


class ReportQuery(Query):
    against: Id | None = Field(
        None, description="the run to compare with (default: the newest finished reproduction)"
    )
