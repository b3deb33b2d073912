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

from . import responses as out
from . import schemas as body
from .base import API_PREFIX, LabCycleHandler, NotFoundHandler
from .handlers import (
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
from .handlers_artifacts import ArtifactHandler, ArtifactsHandler
from .handlers_runs import (
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
        query=body.Query,
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
    R(
        "GET",
        "projects/{project_id}",
        ProjectHandler,
        "get_project",
        "Get a project",
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
