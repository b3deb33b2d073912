"""LabCycle: the whole data science lifecycle inside Jupyter.

``import labcycle as lc`` gives the Python API (``lc.start_run``, ``lc.log_metric``, ...);
``%load_ext labcycle`` the notebook magics; the package is also a jupyter_server
extension and ships the JupyterLab extension.
"""

from ._version import __version__
from .api.fluent import (
    ActiveRun,
    Run,
    active_run,
    configure,
    end_run,
    flush,
    get_run,
    log_artifact,
    log_dataset,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    search_runs,
    set_tag,
    set_tags,
    start_run,
)
from .api.hub import add_note, delete_note, edit_note, notes, search
from .api.jobs import Job, get_job, submit
from .api.lineage import compare_runs, format_lineage, lineage, notebook_diff, print_lineage
from .api.models import (
    ModelVersion,
    RegisteredModel,
    delete_alias,
    get_model,
    list_models,
    load_model,
    log_model,
    set_alias,
)
from .api.monitors import Monitor, get_monitor, list_monitors, monitor
from .api.projects import (
    audit_log,
    get_project,
    import_project,
    list_projects,
    project_members,
    review,
    review_bundle,
    reviews,
    set_member,
    update_project,
)
from .api.serving import Deployment, deploy, get_deployment, list_deployments, log_ground_truth
from .api.sweeps import Reproduction, Schedule, Sweep, reproduce, schedule, schedules, sweep
from .autologging import autolog


def load_ipython_extension(ipython):
    """``%load_ext labcycle``: the ``%lc`` magics and cell-execution tracking."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython):
    from .magics import unload_ipython_extension as unload

    unload(ipython)


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "labcycle"}]


def _jupyter_server_extension_points():
    from .server import LabCycleApp

    return [{"module": "labcycle.server", "app": LabCycleApp}]


__all__ = [
    "ActiveRun",
    "autolog",
    "ModelVersion",
    "RegisteredModel",
    "delete_alias",
    "get_model",
    "list_models",
    "load_model",
    "log_model",
    "set_alias",
    "Job",
    "get_job",
    "submit",
    "Reproduction",
    "Schedule",
    "Sweep",
    "reproduce",
    "schedule",
    "schedules",
    "sweep",
    "Deployment",
    "deploy",
    "get_deployment",
    "list_deployments",
    "log_ground_truth",
    "Monitor",
    "get_monitor",
    "list_monitors",
    "monitor",
    "add_note",
    "delete_note",
    "edit_note",
    "notes",
    "search",
    "audit_log",
    "get_project",
    "import_project",
    "list_projects",
    "project_members",
    "review",
    "review_bundle",
    "reviews",
    "set_member",
    "update_project",
    "compare_runs",
    "format_lineage",
    "lineage",
    "notebook_diff",
    "print_lineage",
    "Run",
    "__version__",
    "active_run",
    "configure",
    "end_run",
    "flush",
    "get_run",
    "log_artifact",
    "log_dataset",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "search_runs",
    "set_tag",
    "set_tags",
    "start_run",
]

from .autologging import enable_from_environment as _enable_autolog_from_environment  # noqa: E402

_enable_autolog_from_environment()  # LABCYCLE_AUTOLOG=1: on from the start
