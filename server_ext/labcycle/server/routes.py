"""The route table: the one list that both registers the handlers and writes the OpenAPI document.

Each :class:`Route` is one method on one path, with its request and response models.
:func:`tornado_handlers` turns the table into Tornado URL specs; :mod:`.openapi` turns the
same table into the OpenAPI document, so the two cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from jupyter_server.utils import url_path_join
from pydantic import BaseModel

from .base import API_PREFIX, LabCycleHandler, NotFoundHandler
from .handlers.artifacts import ArtifactHandler, ArtifactsHandler
from .handlers.core import (
    AuditHandler,
    DatasetHandler,
    DatasetsHandler,
    ExperimentHandler,
    ExperimentsHandler,
    OpenAPIHandler,
    ProjectHandler,
    ProjectsHandler,
    VersionHandler,
)
from .handlers.deployments import (
    DeploymentHandler,
    DeploymentsHandler,
    FeedbackHandler,
    PredictionsHandler,
)
from .handlers.hub import (
    ProjectActivityHandler,
    ProjectImportHandler,
    ProjectMemberHandler,
    ProjectMembersHandler,
    ReviewBundleHandler,
    ReviewsHandler,
)
from .handlers.jobs import JobCancelHandler, JobHandler, JobsHandler
from .handlers.lineage import CompareNotebooksHandler, CompareRunsHandler, LineageHandler
from .handlers.models import (
    ModelAliasHandler,
    ModelHandler,
    ModelsHandler,
    ModelVersionHandler,
    ModelVersionsHandler,
    TrustedLoadHandler,
)
from .handlers.monitors import (
    MonitorAlertsHandler,
    MonitorCheckHandler,
    MonitorChecksHandler,
    MonitorHandler,
    MonitorPerformanceHandler,
    MonitorsHandler,
)
from .handlers.notes import NoteHandler, NotesHandler, SearchHandler, SearchReindexHandler
from .handlers.runs import (
    CellsHandler,
    InputsHandler,
    MetricHistoryHandler,
    MetricsHandler,
    NotebookHandler,
    ParamsHandler,
    RunHandler,
    RunsHandler,
    TagsHandler,
)
from .handlers.sweeps import (
    ReproduceHandler,
    ReproductionReportHandler,
    ScheduleHandler,
    SchedulesHandler,
    SweepBestHandler,
    SweepCancelHandler,
    SweepHandler,
    SweepsHandler,
)
from .responses import core as out
from .responses import deployments as deploy_out
from .responses import hub as hub_out
from .responses import jobs as job_out
from .responses import lineage as lineage_out
from .responses import models as model_out
from .responses import monitors as monitor_out
from .responses import notes as note_out
from .responses import sweeps as sweep_out
from .schemas import core as body
from .schemas import deployments as deploy_body
from .schemas import hub as hub_body
from .schemas import jobs as job_body
from .schemas import lineage as lineage_query
from .schemas import models as model_body
from .schemas import monitors as monitor_body
from .schemas import notes as note_body
from .schemas import sweeps as sweep_body

Binary = Literal["binary"]
BINARY: Binary = "binary"
#: regular expressions of path parameters; the default is one path segment
PARAM_PATTERNS = {"path": ".+"}
_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # relative to labcycle/api/v1/, with {name} parameters
    handler: type[LabCycleHandler]
    operation_id: str
    summary: str
    body: type[BaseModel] | Binary | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | Binary | None = None
    status: int = 200
    #: another success status with the same body (e.g. 200 for "already there")
    alt_status: int | None = None

    @property
    def resource(self) -> str:
        """The jupyter_server authorization resource (the handler's, so it cannot differ)."""
        return self.handler.auth_resource

    @property
    def action(self) -> str:
        return "read" if self.method in ("GET", "HEAD") else "write"

    @property
    def params(self) -> list[str]:
        return _PARAM.findall(self.path)


def path_regex(path: str) -> str:
    """``runs/{run_id}`` → ``runs/(?P<run_id>[^/]+)``; literal parts are escaped."""
    parts, last = [], 0
    for match in _PARAM.finditer(path):
        parts.append(re.escape(path[last : match.start()]))
        name = match.group(1)
        parts.append(f"(?P<{name}>{PARAM_PATTERNS.get(name, '[^/]+')})")
        last = match.end()
    parts.append(re.escape(path[last:]))
    return "".join(parts)


R = Route
ROUTES: tuple[Route, ...] = (
    R(
        "GET",
        "version",
        VersionHandler,
        "get_version",
        "Server version and API version",
        response=out.Version,
    ),
    R("GET", "openapi.json", OpenAPIHandler, "get_openapi", "This OpenAPI document"),
    # projects and experiments
    R(
        "GET",
        "projects",
        ProjectsHandler,
        "list_projects",
        "List projects",
        query=hub_body.ListProjectsQuery,
        response=out.ProjectList,
    ),
    R(
        "POST",
        "projects",
        ProjectsHandler,
        "create_project",
        "Create a project",
        body=body.CreateProject,
        response=out.Project,
        status=201,
    ),
    # (before projects/{project_id}, so that "import" is not taken for an id)
    R(
        "POST",
        "projects/import",
        ProjectImportHandler,
        "import_project",
        "Create or update the project of a folder under the server's root: its README.md "
        "becomes the description, its git remote the repository (201 created, 200 updated)",
        body=hub_body.ImportProject,
        response=hub_out.ImportedProject,
        status=201,
        alt_status=200,
    ),
    R(
        "GET",
        "projects/{project_id}",
        ProjectHandler,
        "get_project",
        "Get a project (by id, or by name)",
        response=out.Project,
    ),
    R(
        "PATCH",
        "projects/{project_id}",
        ProjectHandler,
        "update_project",
        "Change a project's README, tags, status, repository or name (editor); its approval "
        "policy: require_approval, approvers (owner)",
        body=hub_body.UpdateProject,
        response=out.Project,
    ),
    R(
        "GET",
        "experiments",
        ExperimentsHandler,
        "list_experiments",
        "List experiments",
        query=body.ListExperimentsQuery,
        response=out.ExperimentList,
    ),
    R(
        "POST",
        "experiments",
        ExperimentsHandler,
        "create_experiment",
        "Create an experiment",
        body=body.CreateExperiment,
        response=out.Experiment,
        status=201,
    ),
    R(
        "GET",
        "experiments/{experiment_id}",
        ExperimentHandler,
        "get_experiment",
        "Get an experiment",
        response=out.Experiment,
    ),
    # runs
    R(
        "GET",
        "runs",
        RunsHandler,
        "search_runs",
        "Search runs with a filter and an order",
        query=body.ListRunsQuery,
        response=out.RunList,
    ),
    R(
        "POST",
        "runs",
        RunsHandler,
        "create_run",
        "Start a run",
        body=body.CreateRun,
        response=out.RunDetail,
        status=201,
    ),
    R(
        "GET",
        "runs/{run_id}",
        RunHandler,
        "get_run",
        "Get a run with its details",
        response=out.RunDetail,
    ),
    R(
        "PATCH",
        "runs/{run_id}",
        RunHandler,
        "update_run",
        "End, rename or change a run's status",
        body=body.UpdateRun,
        response=out.RunDetail,
    ),
    R(
        "DELETE",
        "runs/{run_id}",
        RunHandler,
        "delete_run",
        "Delete a run and everything it logged",
        status=204,
    ),
    R(
        "POST",
        "runs/{run_id}/params",
        ParamsHandler,
        "log_params",
        "Log params (immutable: another value for a logged key is a 409)",
        body=body.LogParams,
        response=out.Logged,
    ),
    R(
        "POST",
        "runs/{run_id}/metrics",
        MetricsHandler,
        "log_metrics",
        "Log metric points",
        body=body.LogMetrics,
        response=out.Logged,
    ),
    R(
        "GET",
        "runs/{run_id}/metrics/{key}",
        MetricHistoryHandler,
        "get_metric_history",
        "Every point of one metric",
        response=out.MetricHistory,
    ),
    R(
        "POST",
        "runs/{run_id}/tags",
        TagsHandler,
        "set_tags",
        "Set tags (replacing values)",
        body=body.SetTags,
        response=out.Logged,
    ),
    R(
        "GET",
        "runs/{run_id}/artifacts",
        ArtifactsHandler,
        "list_artifacts",
        "List a run's artifacts",
        response=out.ArtifactList,
    ),
    R(
        "PUT",
        "runs/{run_id}/artifacts/{path}",
        ArtifactHandler,
        "put_artifact",
        "Upload an artifact (raw bytes, streamed)",
        body=BINARY,
        response=out.Artifact,
        status=201,
    ),
    R(
        "GET",
        "runs/{run_id}/artifacts/{path}",
        ArtifactHandler,
        "get_artifact",
        "Download an artifact (raw bytes with its media type)",
        response=BINARY,
    ),
    R(
        "GET",
        "runs/{run_id}/cells",
        CellsHandler,
        "list_cells",
        "List cell executions",
        response=out.CellExecutionList,
    ),
    R(
        "POST",
        "runs/{run_id}/cells",
        CellsHandler,
        "log_cells",
        "Log cell executions",
        body=body.LogCells,
        response=out.Logged,
    ),
    R(
        "POST",
        "runs/{run_id}/notebook",
        NotebookHandler,
        "attach_notebook",
        "Snapshot a notebook from the server's contents into the run",
        body=body.AttachNotebook,
        response=out.Artifact,
        status=201,
    ),
    R(
        "POST",
        "runs/{run_id}/inputs",
        InputsHandler,
        "link_input",
        "Record a dataset as an input of the run",
        body=body.LinkInput,
        response=out.RunInput,
    ),
    # datasets and audit
    R(
        "GET",
        "datasets",
        DatasetsHandler,
        "list_datasets",
        "List datasets",
        query=body.Query,
        response=out.DatasetList,
    ),
    R(
        "POST",
        "datasets",
        DatasetsHandler,
        "register_dataset",
        "Register a dataset (idempotent by name and digest: 200 when it is known)",
        body=body.RegisterDataset,
        response=out.Dataset,
        status=201,
        alt_status=200,
    ),
    R(
        "GET",
        "datasets/{dataset_id}",
        DatasetHandler,
        "get_dataset",
        "Get a dataset",
        response=out.Dataset,
    ),
    R(
        "GET",
        "audit",
        AuditHandler,
        "list_audit_events",
        "Read the audit log, newest first",
        query=body.ListAuditQuery,
        response=out.AuditEventList,
    ),
    # notebook jobs
    R(
        "GET",
        "jobs",
        JobsHandler,
        "list_jobs",
        "List notebook jobs, newest first",
        query=job_body.ListJobsQuery,
        response=job_out.JobList,
    ),
    R(
        "POST",
        "jobs",
        JobsHandler,
        "submit_job",
        "Queue a notebook job (papermill, a real kernel, tracked as a run)",
        body=job_body.SubmitJob,
        response=job_out.Job,
        status=201,
    ),
    R(
        "GET",
        "jobs/{job_id}",
        JobHandler,
        "get_job",
        "A job with its status and progress",
        response=job_out.Job,
    ),
    R(
        "POST",
        "jobs/{job_id}/cancel",
        JobCancelHandler,
        "cancel_job",
        "Cancel a pending or running job (the kernel is stopped)",
        response=job_out.Job,
    ),
    # sweeps, schedules, reproduce
    R(
        "GET",
        "sweeps",
        SweepsHandler,
        "list_sweeps",
        "List sweeps, newest first",
        query=sweep_body.ListSweepsQuery,
        response=sweep_out.SweepList,
    ),
    R(
        "POST",
        "sweeps",
        SweepsHandler,
        "create_sweep",
        "Run a notebook over a grid, a seeded random space or explicit trials",
        body=sweep_body.CreateSweep,
        response=sweep_out.Sweep,
        status=201,
    ),
    R(
        "GET",
        "sweeps/{sweep_id}",
        SweepHandler,
        "get_sweep",
        "A sweep with its progress and one row per trial (parameters, job, run, metrics)",
        response=sweep_out.SweepDetail,
    ),
    R(
        "POST",
        "sweeps/{sweep_id}/cancel",
        SweepCancelHandler,
        "cancel_sweep",
        "Stop a sweep: no more jobs, and its pending and running jobs cancelled",
        response=sweep_out.Sweep,
    ),
    R(
        "GET",
        "sweeps/{sweep_id}/best",
        SweepBestHandler,
        "best_sweep_trial",
        "The trial with the best value of a metric",
        query=sweep_body.BestQuery,
        response=sweep_out.SweepTrial,
    ),
    R(
        "GET",
        "schedules",
        SchedulesHandler,
        "list_schedules",
        "List schedules",
        query=sweep_body.ListSchedulesQuery,
        response=sweep_out.ScheduleList,
    ),
    R(
        "POST",
        "schedules",
        SchedulesHandler,
        "create_schedule",
        "Schedule work (kind 'job': a notebook job) on a cron expression",
        body=sweep_body.CreateSchedule,
        response=sweep_out.Schedule,
        status=201,
    ),
    R(
        "GET",
        "schedules/{schedule_id}",
        ScheduleHandler,
        "get_schedule",
        "A schedule with its next run time and history",
        response=sweep_out.ScheduleDetail,
    ),
    R(
        "PATCH",
        "schedules/{schedule_id}",
        ScheduleHandler,
        "update_schedule",
        "Pause, resume or change a schedule",
        body=sweep_body.UpdateSchedule,
        response=sweep_out.Schedule,
    ),
    R(
        "DELETE",
        "schedules/{schedule_id}",
        ScheduleHandler,
        "delete_schedule",
        "Delete a schedule (its jobs and runs stay)",
        status=204,
    ),
    R(
        "POST",
        "runs/{run_id}/reproduce",
        ReproduceHandler,
        "reproduce_run",
        "Re-execute the run's notebook snapshot with the same parameters as a new job",
        body=sweep_body.ReproduceRun,
        response=sweep_out.ReproduceStarted,
        status=201,
    ),
    R(
        "GET",
        "runs/{run_id}/reproduction-report",
        ReproductionReportHandler,
        "get_reproduction_report",
        "What differs between the run and its reproduction (or any run: against=RUN_ID)",
        query=sweep_body.ReportQuery,
        response=sweep_out.ReproductionReport,
    ),
    # model registry
    R(
        "GET",
        "models",
        ModelsHandler,
        "list_models",
        "List registered models, last changed first",
        query=body.Query,
        response=model_out.RegisteredModelList,
    ),
    R(
        "GET",
        "models/{name}",
        ModelHandler,
        "get_model",
        "A registered model with its aliases (any spelling of its name finds it)",
        response=model_out.RegisteredModel,
    ),
    R(
        "PATCH",
        "models/{name}",
        ModelHandler,
        "update_model",
        "Change a model's description or tags",
        body=model_body.UpdateModel,
        response=model_out.RegisteredModel,
    ),
    R(
        "GET",
        "models/{name}/versions",
        ModelVersionsHandler,
        "list_model_versions",
        "List a model's versions, newest first",
        query=body.Query,
        response=model_out.ModelVersionList,
    ),
    R(
        "POST",
        "models/{name}/versions",
        ModelVersionsHandler,
        "create_model_version",
        "Register a version from model files already uploaded to a run (the model is created "
        "on first use)",
        body=model_body.CreateModelVersion,
        response=model_out.ModelVersion,
        status=201,
    ),
    R(
        "GET",
        "models/{name}/versions/{version}",
        ModelVersionHandler,
        "get_model_version",
        "A model version: flavor, signature, environment, lineage, metrics, files",
        response=model_out.ModelVersion,
    ),
    R(
        "PATCH",
        "models/{name}/versions/{version}",
        ModelVersionHandler,
        "update_model_version",
        "Change a version's description or tags (versions are otherwise immutable)",
        body=model_body.UpdateModelVersion,
        response=model_out.ModelVersion,
    ),
    R(
        "POST",
        "models/{name}/versions/{version}/trusted-loads",
        TrustedLoadHandler,
        "record_trusted_load",
        "Record (audit) a decision to load this version with trusted=True",
        body=model_body.RecordTrustedLoad,
        status=204,
    ),
    R(
        "PUT",
        "models/{name}/aliases/{alias}",
        ModelAliasHandler,
        "set_model_alias",
        "Point an alias at a version (moving it); audited with before and after",
        body=model_body.SetAlias,
        response=model_out.ModelVersion,
    ),
    R(
        "DELETE",
        "models/{name}/aliases/{alias}",
        ModelAliasHandler,
        "delete_model_alias",
        "Remove an alias",
        status=204,
    ),
    # deployments (serving)
    R(
        "GET",
        "deployments",
        DeploymentsHandler,
        "list_deployments",
        "List deployments, newest first",
        query=deploy_body.ListDeploymentsQuery,
        response=deploy_out.DeploymentList,
    ),
    R(
        "POST",
        "deployments",
        DeploymentsHandler,
        "create_deployment",
        "Deploy a model as an HTTP API (started by the server's supervisor)",
        body=deploy_body.CreateDeployment,
        response=deploy_out.Deployment,
        status=201,
    ),
    R(
        "GET",
        "deployments/{deployment_id}",
        DeploymentHandler,
        "get_deployment",
        "A deployment with its status, URL and the versions it serves",
        response=deploy_out.Deployment,
    ),
    R(
        "PATCH",
        "deployments/{deployment_id}",
        DeploymentHandler,
        "update_deployment",
        "Change the traffic split, model reference, workers or batching; start or stop",
        body=deploy_body.UpdateDeployment,
        response=deploy_out.Deployment,
    ),
    R(
        "DELETE",
        "deployments/{deployment_id}",
        DeploymentHandler,
        "stop_deployment",
        "Stop a deployment (it drains requests and writes its prediction log)",
        response=deploy_out.Deployment,
    ),
    R(
        "GET",
        "deployments/{deployment_id}/predictions",
        PredictionsHandler,
        "list_predictions",
        "Captured predictions, newest first, with their ground truth",
        query=deploy_body.ListPredictionsQuery,
        response=deploy_out.PredictionList,
    ),
    R(
        "POST",
        "deployments/{deployment_id}/feedback",
        FeedbackHandler,
        "log_ground_truth",
        "Record the ground truth of a prediction by its id",
        body=deploy_body.GroundTruth,
        response=deploy_out.FeedbackLogged,
        status=201,
    ),
    # monitors (drift and performance checks, alerts)
    R(
        "GET",
        "monitors",
        MonitorsHandler,
        "list_monitors",
        "List monitors, newest first, with their health and latest check",
        query=monitor_body.ListMonitorsQuery,
        response=monitor_out.MonitorList,
    ),
    R(
        "POST",
        "monitors",
        MonitorsHandler,
        "create_monitor",
        "Watch a deployment's traffic (or a dataset) for drift and performance loss",
        body=monitor_body.CreateMonitor,
        response=monitor_out.Monitor,
        status=201,
    ),
    R(
        "GET",
        "monitors/{monitor_id}",
        MonitorHandler,
        "get_monitor",
        "A monitor with its settings, health, latest check and schedule",
        response=monitor_out.Monitor,
    ),
    R(
        "PATCH",
        "monitors/{monitor_id}",
        MonitorHandler,
        "update_monitor",
        "Change the window, thresholds, channels or schedule; pause or resume",
        body=monitor_body.UpdateMonitor,
        response=monitor_out.Monitor,
    ),
    R(
        "DELETE",
        "monitors/{monitor_id}",
        MonitorHandler,
        "delete_monitor",
        "Delete a monitor, its schedule, checks and alert log",
        status=204,
    ),
    R(
        "GET",
        "monitors/{monitor_id}/checks",
        MonitorChecksHandler,
        "list_monitor_checks",
        "The monitor's checks, newest first (the drift timeline)",
        query=monitor_body.ListChecksQuery,
        response=monitor_out.CheckList,
    ),
    R(
        "POST",
        "monitors/{monitor_id}/checks",
        MonitorChecksHandler,
        "run_monitor_check",
        "Run a check now: drift, data quality and performance; alerts if needed",
        response=monitor_out.CheckBrief,
        status=201,
    ),
    R(
        "GET",
        "monitors/{monitor_id}/checks/{check_id}",
        MonitorCheckHandler,
        "get_monitor_check",
        "One check with every statistic it computed",
        response=monitor_out.CheckBrief,
    ),
    R(
        "GET",
        "monitors/{monitor_id}/alerts",
        MonitorAlertsHandler,
        "list_monitor_alerts",
        "The monitor's alert log, newest first",
        query=body.Query,
        response=monitor_out.AlertList,
    ),
    R(
        "GET",
        "monitors/{monitor_id}/performance",
        MonitorPerformanceHandler,
        "get_monitor_performance",
        "Model performance per time window, from the ground truth",
        query=monitor_body.PerformanceQuery,
        response=monitor_out.PerformanceHistory,
    ),
    # hub: projects' members and activity, reviews of model versions
    R(
        "GET",
        "projects/{project_id}/activity",
        ProjectActivityHandler,
        "get_project_activity",
        "What happened in the project and everything in it (audit events), newest first",
        query=hub_body.ActivityQuery,
        response=hub_out.Activity,
    ),
    R(
        "GET",
        "projects/{project_id}/members",
        ProjectMembersHandler,
        "list_project_members",
        "The project's members and roles (none: the project is open)",
        response=hub_out.MemberList,
    ),
    R(
        "GET",
        "projects/{project_id}/members/{user}",
        ProjectMemberHandler,
        "get_project_member",
        "One member's role",
        response=hub_out.Member,
    ),
    R(
        "PUT",
        "projects/{project_id}/members/{user}",
        ProjectMemberHandler,
        "set_project_member",
        "Add a member or change their role (owner)",
        body=hub_body.SetMember,
        response=hub_out.Member,
    ),
    R(
        "DELETE",
        "projects/{project_id}/members/{user}",
        ProjectMemberHandler,
        "remove_project_member",
        "Remove a member (owner; the last owner stays)",
        status=204,
    ),
    R(
        "GET",
        "models/{name}/versions/{version}/reviews",
        ReviewsHandler,
        "list_reviews",
        "A version's reviews (oldest first), its review state and the approval policy",
        response=hub_out.ReviewList,
    ),
    R(
        "POST",
        "models/{name}/versions/{version}/reviews",
        ReviewsHandler,
        "create_review",
        "Approve, reject or comment on a version (editors and approvers; owners' and approvers' "
        "decisions set the state)",
        body=hub_body.CreateReview,
        response=hub_out.CreatedReview,
        status=201,
    ),
    R(
        "GET",
        "models/{name}/versions/{version}/review-bundle",
        ReviewBundleHandler,
        "get_review_bundle",
        "The review bundle: a self-contained HTML model card with data, "
        "metrics, lineage, deployments, monitoring status, reviews and audit trail",
        response=BINARY,
    ),
    # hub: notes and comments, full-text search
    R(
        "GET",
        "notes",
        NotesHandler,
        "list_notes",
        "Notes oldest first, by entity, author, mentioned user, parent or anchored run",
        query=note_body.ListNotesQuery,
        response=note_out.NoteList,
    ),
    R(
        "POST",
        "notes",
        NotesHandler,
        "create_note",
        "Write a Markdown note on an entity, a reply (parent_id) or a note anchored on a cell "
        "of a run's notebook snapshot",
        body=note_body.CreateNote,
        response=note_out.Note,
        status=201,
    ),
    R(
        "GET",
        "notes/{note_id}",
        NoteHandler,
        "get_note",
        "A note with its rendered HTML",
        response=note_out.Note,
    ),
    R(
        "PATCH",
        "notes/{note_id}",
        NoteHandler,
        "update_note",
        "Edit a note's body or anchor (its author only)",
        body=note_body.UpdateNote,
        response=note_out.Note,
    ),
    R(
        "DELETE",
        "notes/{note_id}",
        NoteHandler,
        "delete_note",
        "Delete a note and its replies (its author only)",
        status=204,
    ),
    R(
        "GET",
        "search",
        SearchHandler,
        "search",
        "Full-text search across projects, experiments, runs, notebooks, notes, models, "
        "datasets, deployments and monitors: ranked hits with highlighted snippets",
        query=note_body.SearchQuery,
        response=note_out.SearchResults,
    ),
    R(
        "POST",
        "search/reindex",
        SearchReindexHandler,
        "reindex_search",
        "Rebuild the search index from the store",
        response=note_out.Reindexed,
    ),
    # hub: lineage of any entity, run comparison and notebook diff
    R(
        "GET",
        "lineage/{entity_type}/{entity_id}",
        LineageHandler,
        "get_lineage",
        "The lineage graph around an entity, from the recorded links: upstream (datasets, "
        "notebook, run, job...), downstream (model versions, deployments, monitors...) or both",
        query=lineage_query.LineageQuery,
        response=lineage_out.LineageGraph,
    ),
    R(
        "GET",
        "compare/runs",
        CompareRunsHandler,
        "compare_runs",
        "Compare 2–50 runs: params (differing/constant), latest metrics, tags, attributes, "
        "packages, downsampled metric histories and parallel-coordinates data",
        query=lineage_query.CompareRunsQuery,
        response=lineage_out.RunComparison,
    ),
    R(
        "GET",
        "compare/notebooks",
        CompareNotebooksHandler,
        "compare_notebooks",
        "Cell-by-cell diff of two runs' notebook snapshots",
        query=lineage_query.NotebookDiffQuery,
        response=lineage_out.NotebookDiff,
    ),
)


def tornado_handlers(routes: tuple[Route, ...] = ROUTES) -> list[tuple[str, type]]:
    """URL specs relative to the server's base_url (ExtensionApp prepends it)."""
    by_path: dict[str, type] = {}
    for route in routes:
        known = by_path.setdefault(route.path, route.handler)
        if known is not route.handler:
            raise ValueError(f"{route.path} has two handlers: {known} and {route.handler}")
    specs: list[tuple[str, type]] = [
        (url_path_join(API_PREFIX, path_regex(path)), handler) for path, handler in by_path.items()
    ]
    specs.append((API_PREFIX + "(?P<path>(?:/.*)?)", NotFoundHandler))
    return specs
