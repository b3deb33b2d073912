"""The LabCycle jupyter_server extension: REST API under ``<base_url>labcycle/api/v1/``.

Configuration
-------------
Every option lives in one traitlets section, ``LabCycle``::

    c.LabCycle.home = "/data/labcycle"                  # env LABCYCLE_HOME
    c.LabCycle.db_url = "postgresql://db/labcycle"      # env LABCYCLE_DB_URL
    c.LabCycle.artifact_url = "s3://bucket/labcycle"    # env LABCYCLE_ARTIFACT_URL
    c.LabCycle.storage_options = {"endpoint_url": "http://minio:9000"}  # env LABCYCLE_STORAGE_OPTIONS
    c.LabCycle.max_upload_bytes = 10 * 1024**3
    c.LabCycle.services_class = "mypkg.FakeServices"    # tests, alternative backends

(or ``jupyter lab --LabCycle.db_url=...``). :class:`LabCycle` is the shared
:class:`~labcycle.config.LabCycleConfig` (the data location, with its environment-variable
defaults, the same object the CLI and the Python API use) plus the options that only
the server has. The extension app builds it from its own config
(``LabCycle(parent=app)``), which holds everything the server loaded, so the section
works in ``jupyter_server_config.py``, ``jupyter_labcycle_config.py`` and on the command
line. ``c.LabCycleConfig.*`` works too, as the parent class's section.

Kernels find the API without a pasted token
-------------------------------------------
When the extension starts it sets, in the server process's environment,
``LABCYCLE_API_URL`` (the server's own URL on this machine plus its base_url, e.g.
``http://127.0.0.1:8888/``), ``LABCYCLE_API_TOKEN`` (the server's token, when it has
one) and ``LABCYCLE_SERVER_ROOT`` (the contents root, so that a kernel can turn a notebook's
absolute path into the server-relative one ``POST runs/{id}/notebook`` takes). Kernels and terminals started by the server inherit its environment, so the
LabCycle client inside a kernel talks to this server over HTTP with no set-up. The
token is the one the user already holds for this server; a kernel can read it from the
server's runtime file in any case (under JupyterHub: the server's own hub token, which
authenticates as its user). Both are refreshed once the server has bound its port (which
may differ from the configured one) and removed when the extension stops.

``LABCYCLE_DB_URL`` is taken out of the server's environment once read, so kernels and
terminals never hold the database's credentials: they write through the API, where the
project roles apply (docs/security.md).
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.serverapp import ServerApp
from traitlets import Bool, Float, Int, Type, Unicode, default

from ..config import LabCycleConfig, hub_user
from ..errors import LabCycleError, Unavailable
from ..services import Services
from ..store.storage import STORAGE_OPTIONS_ENV
from .app_kernels import APP_KERNELS_KEY, AppKernels
from .base import OPTIONS_KEY, SERVICES_KEY
from .handlers.core import OPENAPI_KEY

API_URL_ENV = "LABCYCLE_API_URL"
API_TOKEN_ENV = "LABCYCLE_API_TOKEN"
SERVER_ROOT_ENV = "LABCYCLE_SERVER_ROOT"
DB_URL_ENV = "LABCYCLE_DB_URL"


class LabCycle(LabCycleConfig):
    """The ``c.LabCycle`` section: where LabCycle keeps its data and how the server serves it."""

    services_class = Type(
        default_value=Services,
        klass=object,
        help="Class whose from_config(LabCycle) builds the services (swap in a fake or "
        "another backend).",
    ).tag(config=True)
    job_dispatcher_class = Type(
        default_value="labcycle.jobs.dispatcher.Dispatcher",
        klass=object,
        help="Class of the job queue's dispatcher (claims pending jobs and runs them on "
        "c.LabCycle.executor, at most c.LabCycle.max_concurrent_jobs at once).",
    ).tag(config=True)
    max_upload_bytes = Int(
        2 * 1024**3, help="Largest artifact, in bytes, that PUT runs/{id}/artifacts/{path} accepts."
    ).tag(config=True)
    upload_tmp_dir = Unicode(
        "", help="Folder for uploads in progress (default: the system's temp folder)."
    ).tag(config=True)
    scheduler_interval = Float(
        1.0, help="Seconds between two ticks of the scheduler (due schedules, sweep dispatch)."
    ).tag(config=True)
    owner = Unicode(
        help="Who acts on a single-user server whose identity provider names nobody (the stock "
        "token/password login gives every request a random anonymous name), and is an owner "
        "of every project. Default: env LABCYCLE_USER, else the OS user running the server; "
        "under JupyterHub (JUPYTERHUB_USER set) nobody: the hub names every user, and owners "
        "come from each project's members."
    ).tag(config=True)

    max_app_kernels = Int(
        4,
        help="How many kernels the Voila apps (labcycle/apps/<name>) may hold at once; each "
        "page view starts one (100-200 MB). Beyond it an app page answers 503 with "
        "Retry-After.",
    ).tag(config=True)
    app_kernel_cull_s = Float(
        60.0,
        help="Seconds an app kernel may go without a connected page (a page fetched by a "
        "script, a browser gone) before it is shut down.",
    ).tag(config=True)

    mlflow_metric_flush_s = Float(
        0.2,
        help="Seconds between two writes of the metric points that MLflow clients log one "
        "request at a time (labcycle/mlflow runs/log-metric): they are buffered, and every "
        "read through the MLflow endpoint writes them first. A hard crash of the server "
        "loses at most this much. 0 writes each point in its own request.",
    ).tag(config=True)

    project_roles = Bool(
        True,
        help="Enforce project roles (viewer, editor, owner) on writes through the REST API "
        "(docs/security.md). Projects without members stay open to every user either way.",
    ).tag(config=True)

    @default("owner")
    def _owner_default(self) -> str:
        if hub_user():  # each user has a server of their own: owners come from the projects
            return ""
        from ..config import local_user

        return local_user()


def server_api_url(serverapp: ServerApp) -> str | None:
    """The server's URL as seen from this machine, with its base_url; None on a UNIX socket."""
    if getattr(serverapp, "sock", ""):
        return None
    ip = serverapp.ip
    if ip in ("", "localhost", "0.0.0.0", "*"):  # loopback reaches all of these
        ip = "127.0.0.1"
    elif ip == "::":
        ip = "::1"
    host = f"[{ip}]" if ":" in ip else ip
    scheme = "https" if serverapp.certfile else "http"
    return f"{scheme}://{host}:{serverapp.port}{serverapp.base_url}"


class LabCycleApp(ExtensionApp):
    """The LabCycle server extension (module docstring: configuration, kernel environment)."""

    name = "labcycle"
    load_other_extensions = True
    classes = [ServerApp, LabCycle]

    options: LabCycle
    services: Any = None
    dispatcher: Any = None
    scheduler: Any = None
    app_kernels: Any = None
    mlflow: Any = None
    _exported: dict[str, str]
    _withheld: dict[str, str]

    @property
    def _server(self) -> ServerApp:
        assert self.serverapp is not None  # jupyter_server sets it before any of our hooks
        return self.serverapp

    def initialize_settings(self) -> None:
        from .openapi import build_document

        self._exported, self._withheld = {}, {}
        self.options = LabCycle(parent=self)
        self.settings[OPTIONS_KEY] = self.options
        self.settings[OPENAPI_KEY] = build_document(self._server.base_url)
        self.app_kernels = AppKernels(
            self._server.kernel_manager,
            limit=self.options.max_app_kernels,
            cull_after_s=self.options.app_kernel_cull_s,
        )
        self.settings[APP_KERNELS_KEY] = self.app_kernels
        try:
            factory: Any = self.options.services_class  # any class with a from_config
            self.services = factory.from_config(self.options)
        except Exception as exc:  # keep the routes up: they answer 503 with the reason
            # a LabCycle error says what to fix (install psycopg, s3fs...): no traceback
            self.log.error(
                "LabCycle cannot open its store: %s",
                exc,
                exc_info=not isinstance(exc, LabCycleError),
            )
            self.settings[SERVICES_KEY] = Unavailable(
                f"LabCycle cannot open its store at {_safe_url(self.options.db_url)}: "
                f"{getattr(exc, 'message', None) or exc}. Fix LABCYCLE_DB_URL / c.LabCycle.db_url "
                "(or start the database; for artifacts LABCYCLE_ARTIFACT_URL and "
                "LABCYCLE_STORAGE_OPTIONS) and restart the Jupyter server."
            )
            return
        self.settings[SERVICES_KEY] = self.services
        if getattr(self.services, "tracking", None) is not None:
            from ..services.mlflow_compat import MlflowCompat
            from .handlers.mlflow import COMPAT_KEY

            self.mlflow = MlflowCompat(self.services, self.options.mlflow_metric_flush_s)
            self.settings[COMPAT_KEY] = self.mlflow
        access = getattr(self.services, "access", None)
        if access is not None:  # the server owner (none under JupyterHub) owns every project
            access.server_owners = {self.options.owner} - {""}
        jobs = getattr(self.services, "jobs", None)
        if jobs is not None:  # notebooks and cwds of jobs, sweeps, schedules stay in the root
            jobs.contents_root = os.path.abspath(
                os.path.expanduser(self._server.root_dir or os.getcwd())
            )
        self.log.info(
            "LabCycle: metadata at %s, artifacts at %s",
            _safe_url(self.options.db_url),
            self.options.artifact_url,
        )
        self.export_api_environment()

    def initialize_handlers(self) -> None:
        from .handlers.apps import app_handlers
        from .handlers.mlflow import mlflow_handlers
        from .routes import tornado_handlers

        self.handlers.extend(tornado_handlers())
        self.handlers.extend(mlflow_handlers())  # labcycle/mlflow: MLflow's API, not in OpenAPI
        self.handlers.extend(app_handlers(self.serverapp))  # labcycle/apps/<name> (Voila apps)

    async def _start_jupyter_server_extension(self, serverapp: ServerApp) -> None:
        # The port is final only now (ServerApp.port_retries may have moved it).
        self.export_api_environment()
        from ..jobs.server import start_dispatcher  # the job queue

        self.dispatcher = start_dispatcher(self)
        self.start_deployment_supervisor()
        self.start_scheduler()
        self.app_kernels.start()  # culls app kernels whose page never connected

    def start_deployment_supervisor(self) -> None:
        """Model servers: start, health-check, restart and re-adopt deployments.
        Their processes outlive this server; the next one adopts them."""
        from ..serving.supervisor import Supervisor
        from .handlers.deployments import SUPERVISOR_KEY

        if getattr(self.services, "deployments", None) is None:
            return
        self.supervisor: Supervisor | None = Supervisor(self.services, self.options.home).start()
        self.settings[SUPERVISOR_KEY] = self.supervisor

    def start_scheduler(self) -> None:
        """One loop for timed work: job schedules, sweeps, monitor checks."""
        from ..services.scheduler import Scheduler

        if getattr(self.services, "schedules", None) is None:
            return
        monitors = getattr(self.services, "monitors", None)
        if monitors is not None:  # links in alerts and the webhook policy come from the config
            monitors.app_base_url = self.options.public_url or server_api_url(self._server)
            monitors.webhook_allow = list(self.options.webhook_allow)
        self.scheduler = Scheduler(self.services, interval=self.options.scheduler_interval)
        self.scheduler.start()

    def export_api_environment(self) -> None:
        """Tell kernels (which inherit our environment) where the API is and how to log in,
        and keep the database URL (credentials included) to this process: kernels and
        terminals write through the API, whose roles apply, never to the store itself."""
        if DB_URL_ENV in os.environ and self.options.db_url:  # the trait has read it first
            self._withheld[DB_URL_ENV] = os.environ.pop(DB_URL_ENV)
        values = {}
        url = server_api_url(self._server)
        if url:
            values[API_URL_ENV] = url
        token = getattr(self._server.identity_provider, "token", "")
        if not token and hub_user():  # JupyterHub's server token authenticates as its user
            token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
        if token:
            values[API_TOKEN_ENV] = token
        root = getattr(self.serverapp, "root_dir", "")
        if root:
            values[SERVER_ROOT_ENV] = os.path.abspath(os.path.expanduser(root))
        # Job workers, deployments and their compactors get c.LabCycle.storage_options
        # explicitly. Kernels get them too, except under JupyterHub: there, what may hold the
        # storage's credentials stays with the database URL in this process.
        options = getattr(getattr(self.services, "blobs", None), "storage_options", None)
        if hub_user():
            if STORAGE_OPTIONS_ENV in os.environ:
                self._withheld[STORAGE_OPTIONS_ENV] = os.environ.pop(STORAGE_OPTIONS_ENV)
        elif options:
            values[STORAGE_OPTIONS_ENV] = json.dumps(options, sort_keys=True)
        os.environ.update(values)
        self._exported.update(values)

    async def stop_extension(self) -> None:
        if getattr(self, "app_kernels", None) is not None:
            await self.app_kernels.stop()
        if getattr(self, "scheduler", None) is not None:
            await self.scheduler.stop()
            self.scheduler = None
        if getattr(self, "dispatcher", None) is not None:  # stops job workers; may take seconds
            await asyncio.get_running_loop().run_in_executor(None, self.dispatcher.stop)
            self.dispatcher = None
        supervisor = getattr(self, "supervisor", None)
        if supervisor is not None:  # deployments keep running
            await asyncio.get_running_loop().run_in_executor(None, supervisor.stop)
            self.supervisor = None
        for name, value in getattr(self, "_exported", {}).items():
            if os.environ.get(name) == value:
                del os.environ[name]
        for name, value in getattr(self, "_withheld", {}).items():
            os.environ.setdefault(name, value)
        self._withheld = {}
        if getattr(self, "mlflow", None) is not None:  # the buffered MLflow metric points
            await asyncio.get_running_loop().run_in_executor(None, self.mlflow.close)
            self.mlflow = None
        if self.services is not None:
            self.services.close()
            self.services = None


def _safe_url(url: str) -> str:
    """A database URL without its password, for the log."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # only for a log line
        return "(unparsable URL)"
