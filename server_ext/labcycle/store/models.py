"""Schema of the metadata store.

Times are integer milliseconds since the epoch (UTC): portable across SQLite and
PostgreSQL, cheap to index and to sort. A metric point whose ``value`` is NULL is NaN
(SQLite cannot store NaN; ±inf are stored as they are).
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

ID = String(32)
KEY = String(250)


class SQLiteExactFloat(UserDefinedType):
    """A SQLite column for floats that must round-trip bit for bit (metric values).

    SQLite gives a FLOAT/REAL column REAL affinity, and stores a REAL with an integral
    value as an integer: -0.0 comes back as 0.0. A column declared BLOB has no affinity,
    so the double is kept as it is; comparisons and sorting stay numeric, since only
    floats and NULL (NaN) are ever stored there.
    """

    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "BLOB"


METRIC_VALUE = Float(53).with_variant(SQLiteExactFloat(), "sqlite")


class Base(DeclarativeBase):
    # Every model is mapped to a Table (no mapping to a join or a subquery); saying so lets
    # the services pass ``Model.__table__`` to insert/update/delete as the type checker wants.
    __table__: ClassVar[Table]


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")  # the Markdown README
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    # the hub (migration 0008): tags, active/archived, the git repository, the
    # folder it was imported from, settings ({"require_approval": bool, "approvers": [...]})
    tags: Mapped[list | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    git_url: Mapped[str | None] = mapped_column(String(1000))
    source_path: Mapped[str | None] = mapped_column(Text)
    settings: Mapped[dict | None] = mapped_column(JSON)
    updated_by: Mapped[str | None] = mapped_column(String(200))


class ProjectMember(Base):
    """A user's role in a project (viewer, editor, owner); a project without members is open."""

    __tablename__ = "project_members"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    added_by: Mapped[str] = mapped_column(String(200))
    at: Mapped[int] = mapped_column(BigInteger)


class Experiment(Base):
    __tablename__ = "experiments"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_experiment_start", "experiment_id", "start_time"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    experiment_id: Mapped[str] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    parent_run_id: Mapped[str | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(250))
    status: Mapped[str] = mapped_column(String(16), index=True)
    user: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16), default="script")
    start_time: Mapped[int] = mapped_column(BigInteger, index=True)
    end_time: Mapped[int | None] = mapped_column(BigInteger)
    notebook_path: Mapped[str | None] = mapped_column(Text)
    kernel: Mapped[str | None] = mapped_column(String(200))
    git_remote: Mapped[str | None] = mapped_column(Text)
    git_commit: Mapped[str | None] = mapped_column(String(64))
    git_branch: Mapped[str | None] = mapped_column(String(250))
    git_dirty: Mapped[bool | None] = mapped_column(Boolean)
    git_diff: Mapped[str | None] = mapped_column(Text)
    python_version: Mapped[str | None] = mapped_column(String(64))
    packages: Mapped[dict | None] = mapped_column(JSON)
    out_of_order: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Param(Base):
    __tablename__ = "params"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(KEY, primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Metric(Base):
    """Every logged point; ``LatestMetric`` keeps the newest per (run, key) for search."""

    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_run_key_step", "run_id", "key", "step"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(KEY)
    step: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float | None] = mapped_column(METRIC_VALUE)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    server_time: Mapped[int] = mapped_column(BigInteger)


class LatestMetric(Base):
    __tablename__ = "latest_metrics"
    __table_args__ = (Index("ix_latest_metrics_key_value", "key", "value"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(KEY, primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float | None] = mapped_column(METRIC_VALUE)
    timestamp: Mapped[int] = mapped_column(BigInteger)


class Tag(Base):
    __tablename__ = "tags"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(KEY, primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Artifact(Base):
    __tablename__ = "artifacts"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(1000), primary_key=True)
    digest: Mapped[str] = mapped_column(String(80), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)


class Dataset(Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("name", "digest"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(250))
    digest: Mapped[str] = mapped_column(String(80), index=True)
    schema: Mapped[dict] = mapped_column(JSON)
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str | None] = mapped_column(Text)
    content_digest: Mapped[str | None] = mapped_column(String(80))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)


class RunInput(Base):
    __tablename__ = "run_inputs"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    context: Mapped[str] = mapped_column(String(64), default="input")


class CellExecution(Base):
    __tablename__ = "cell_executions"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    execution_count: Mapped[int | None] = mapped_column(Integer)
    cell_id: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(Text)
    started_at: Mapped[int] = mapped_column(BigInteger)
    duration_ms: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(8))
    error: Mapped[str | None] = mapped_column(Text)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[int] = mapped_column(BigInteger, index=True)
    user: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict | None] = mapped_column(JSON)


# -- jobs (notebook jobs and the job queue; migration 0003) ---------------------


class Job(Base):
    """A notebook execution request and its state; the persisted job queue.

    ``sweep_id``, ``schedule_id`` and ``reproduces_run_id`` carry no foreign key: the
    sweeps/schedules tables belong to other areas and a job outlives them.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(250))
    status: Mapped[str] = mapped_column(String(16))
    notebook: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict] = mapped_column(JSON)
    experiment: Mapped[str | None] = mapped_column(String(200))
    project: Mapped[str | None] = mapped_column(String(200))
    cwd: Mapped[str | None] = mapped_column(Text)
    env: Mapped[dict | None] = mapped_column(JSON)
    timeout_s: Mapped[float | None] = mapped_column(Float)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    resources: Mapped[dict | None] = mapped_column(JSON)
    git_ref: Mapped[str | None] = mapped_column(String(250))
    kernel_name: Mapped[str | None] = mapped_column(String(200))
    sweep_id: Mapped[str | None] = mapped_column(String(32), index=True)
    schedule_id: Mapped[str | None] = mapped_column(String(32), index=True)
    reproduces_run_id: Mapped[str | None] = mapped_column(String(32), index=True)
    run_id: Mapped[str | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    executor: Mapped[str | None] = mapped_column(String(250))
    worker_pid: Mapped[int | None] = mapped_column(Integer)
    worker_host: Mapped[str | None] = mapped_column(String(250))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    progress_cell: Mapped[int | None] = mapped_column(Integer)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    error_detail: Mapped[dict | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[int | None] = mapped_column(BigInteger)
    ended_at: Mapped[int | None] = mapped_column(BigInteger)


# -- sweeps and schedules (migration 0004) ---------------------------------------


class Sweep(Base):
    """Many jobs of one notebook over a parameter space; its jobs carry ``sweep_id``.

    ``trials`` is the expanded list of parameter dicts; ``submitted`` counts how many of
    them have become jobs (the dispatcher submits at most ``parallel`` at a time).
    """

    __tablename__ = "sweeps"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(250))
    notebook: Mapped[str] = mapped_column(Text)
    experiment: Mapped[str | None] = mapped_column(String(200))
    project: Mapped[str | None] = mapped_column(String(200))
    spec: Mapped[dict] = mapped_column(JSON)
    trials: Mapped[list] = mapped_column(JSON)
    job_options: Mapped[dict] = mapped_column(JSON)
    n_trials: Mapped[int] = mapped_column(Integer)
    submitted: Mapped[int] = mapped_column(Integer, default=0)
    parallel: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    ended_at: Mapped[int | None] = mapped_column(BigInteger)


class Schedule(Base):
    """Work of some ``kind`` (a registered plugin: "job", later monitoring checks) on a cron."""

    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_due", "paused", "next_run_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(250))
    kind: Mapped[str] = mapped_column(String(64))
    cron: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[int | None] = mapped_column(BigInteger)
    last_run_at: Mapped[int | None] = mapped_column(BigInteger)
    last_status: Mapped[str | None] = mapped_column(String(16))
    last_result: Mapped[dict | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(Text)
    fire_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


# -- model registry (registered models, versions, aliases; migration 0005) ------


class RegisteredModel(Base):
    """A named model; ``name_key`` is the normalised name (see ``services/registry.py``)
    and is unique, so two names that differ only by encoding, case or Unicode form
    cannot coexist. ``last_version`` is bumped under a row lock to number versions."""

    __tablename__ = "registered_models"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    last_version: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class ModelVersion(Base):
    """An immutable version of a registered model: its files (run artifacts under
    ``artifact_prefix``), flavor, signature, environment, lineage and metrics snapshot.
    Only ``description``, tags and ``status`` change after creation."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    model_id: Mapped[str] = mapped_column(
        ForeignKey("registered_models.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    flavor: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    artifact_prefix: Mapped[str] = mapped_column(String(1000))
    files: Mapped[list] = mapped_column(JSON)
    signature: Mapped[dict | None] = mapped_column(JSON)
    environment: Mapped[dict | None] = mapped_column(JSON)
    metrics: Mapped[dict | None] = mapped_column(JSON)
    lineage: Mapped[dict | None] = mapped_column(JSON)
    flavor_options: Mapped[dict | None] = mapped_column(JSON)
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="ready")
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class ModelAlias(Base):
    """A movable name (``champion``, ``challenger``...) for one version of a model."""

    __tablename__ = "model_aliases"

    model_id: Mapped[str] = mapped_column(
        ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(100), primary_key=True)
    version_id: Mapped[str] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class RegisteredModelTag(Base):
    __tablename__ = "registered_model_tags"

    model_id: Mapped[str] = mapped_column(
        ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(KEY, primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ModelVersionTag(Base):
    __tablename__ = "model_version_tags"

    version_id: Mapped[str] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(KEY, primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# -- deployments (model serving; migration 0006) --------------------------------


class Deployment(Base):
    """A model served over HTTP by ``labcycle serve`` processes that the server supervises.

    ``model_ref`` is what the user deployed (``churn@champion``, ``churn/3``); the serving
    processes resolve it (and ``traffic``, ``{"3": 90, "4": 10}`` by version number) every
    second, so moving an alias or changing the split needs no restart. ``serving`` is what
    the processes report (versions loaded, their readiness and errors). ``desired`` is
    ``running`` or ``stopped``; ``status`` is starting/ready/failed/stopped.
    """

    __tablename__ = "deployments"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    model_ref: Mapped[str] = mapped_column(String(450))
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    traffic: Mapped[dict | None] = mapped_column(JSON)
    host: Mapped[str] = mapped_column(String(100))
    port: Mapped[int] = mapped_column(Integer)
    workers: Mapped[int] = mapped_column(Integer)
    batching: Mapped[dict] = mapped_column(JSON)
    capture: Mapped[bool] = mapped_column(Boolean, default=True)
    desired: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    pids: Mapped[list | None] = mapped_column(JSON)
    url: Mapped[str] = mapped_column(String(300))
    api_key_hash: Mapped[str | None] = mapped_column(String(200))
    #: ids of the versions needing trust (pickle...) that the deployer trusted (migration 0010)
    trusted_versions: Mapped[list | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    serving: Mapped[dict | None] = mapped_column(JSON)
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[int | None] = mapped_column(BigInteger)


# -- monitors (drift and performance checks, alerts; migration 0007) -------------


class Monitor(Base):
    """A watch on a deployment's traffic (or on a pair of datasets) against reference data.

    ``window`` says which current data a check reads (``{"last_n": 1000}`` or
    ``{"last": "1d"}``), ``thresholds`` overrides the statistics' defaults per monitor and
    per feature, ``channels`` holds the alert channels (webhook secrets included: never
    returned by the API), ``alert_state`` is the deduplication state of
    :func:`labcycle.monitoring.alerts.decide`. ``health`` is the status of the last check.
    """

    __tablename__ = "monitors"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    deployment_id: Mapped[str | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    reference_dataset_id: Mapped[str | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL")
    )
    current_dataset_id: Mapped[str | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL")
    )
    target: Mapped[str | None] = mapped_column(String(250))
    window: Mapped[dict] = mapped_column(JSON)
    features: Mapped[list | None] = mapped_column(JSON)
    thresholds: Mapped[dict] = mapped_column(JSON)
    channels: Mapped[list] = mapped_column(JSON)
    cooldown_s: Mapped[int] = mapped_column(Integer)
    schedule_id: Mapped[str | None] = mapped_column(ForeignKey("schedules.id", ondelete="SET NULL"))
    alert_state: Mapped[dict | None] = mapped_column(JSON)
    health: Mapped[str] = mapped_column(String(16))
    last_check_id: Mapped[str | None] = mapped_column(ID)
    last_checked_at: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class MonitorCheck(Base):
    """One check of a monitor: its status, headline figures and every statistic computed."""

    __tablename__ = "monitor_checks"
    __table_args__ = (Index("ix_monitor_checks_monitor_started", "monitor_id", "started_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    dataset_drift: Mapped[bool | None] = mapped_column(Boolean)
    share_drifted: Mapped[float | None] = mapped_column(Float(53))
    current_rows: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[int] = mapped_column(BigInteger)
    finished_at: Mapped[int | None] = mapped_column(BigInteger)


class AlertEvent(Base):
    """The alert log: one row per notice (fired / recovered) per channel, with delivery."""

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_monitor_created", "monitor_id", "created_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    check_id: Mapped[str | None] = mapped_column(
        ForeignKey("monitor_checks.id", ondelete="SET NULL")
    )
    event: Mapped[str] = mapped_column(String(32))
    channel: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[int | None] = mapped_column(BigInteger)


# -- reviews of model versions (the hub; migration 0008) ---------------------------


class ModelReview(Base):
    """A decision (approve, reject) or a comment on a model version; ``role`` is the
    reviewer's role in the version's project when they reviewed (owner, approver, ...)."""

    __tablename__ = "model_reviews"
    __table_args__ = (Index("ix_model_reviews_version_at", "model_version_id", "at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    model_version_id: Mapped[str] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE")
    )
    reviewer: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[int] = mapped_column(BigInteger)


# -- notes and search (the hub; migration 0009) ------------------------------------


class Note(Base):
    """A Markdown note on any entity (``entity_type``/``entity_id``, see services/entities.py);
    a reply has ``parent_id``. ``mentions`` are the ``@users`` of the body (also in
    ``note_mentions``, for filtering); ``anchor`` pins it to a cell of a run's notebook
    snapshot. ``project_id`` is the entity's project when the note was written."""

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_entity", "entity_type", "entity_id", "created_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str | None] = mapped_column(String(32), index=True)
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("notes.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list] = mapped_column(JSON)
    anchor: Mapped[dict | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class NoteMention(Base):
    __tablename__ = "note_mentions"

    note_id: Mapped[str] = mapped_column(
        ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True
    )
    user: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class SearchDoc(Base):
    """One searchable document per entity (services/search_index.py keeps them current).

    The full-text index over title (weighted most), tags and body is dialect-specific and
    built by migration 0009 only: on SQLite the FTS5 table ``search_fts`` (external
    content, kept in sync by triggers), on PostgreSQL the generated column ``tsv`` with a
    GIN index. Both are left out of the model (see ``include_in_autogenerate``)."""

    __tablename__ = "search_docs"
    __table_args__ = (
        UniqueConstraint("entity_type", "entity_id"),
        Index("ix_search_docs_type_updated", "entity_type", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str | None] = mapped_column(String(32), index=True)
    owner: Mapped[str | None] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger, index=True)


class SearchDocTag(Base):
    """The tags of a search document, for the exact ``tag=key`` / ``tag=key=value`` filter
    (values cut to 250 characters)."""

    __tablename__ = "search_doc_tags"
    __table_args__ = (Index("ix_search_doc_tags_key_value", "key", "value"),)

    doc_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("search_docs.id", ondelete="CASCADE"),
        primary_key=True,
    )
    key: Mapped[str] = mapped_column(KEY, primary_key=True)
    value: Mapped[str] = mapped_column(String(250))


class SearchState(Base):
    """Facts about the search index, e.g. ``built`` once a full (re)index has run."""

    __tablename__ = "search_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


#: Database objects that migration 0009 creates outside the models (dialect-specific
#: full-text index); Alembic's autogenerate and the models/migrations test skip them.
FULLTEXT_OBJECTS = ("search_fts", "tsv", "ix_search_docs_tsv")


def include_in_autogenerate(obj, name, type_, reflected, compare_to) -> bool:
    """``include_object`` for Alembic: everything but the full-text index objects."""
    return not (name and (name in FULLTEXT_OBJECTS or name.startswith("search_fts_")))
