"""Configuration shared by the server extension, the CLI and the Python API.

One object for two modes (as Voila's ``VoilaConfiguration``): traitlets config
(``c.LabCycle.db_url = ...``) for the server, environment variables for everything.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from traitlets import Dict, Int, List, Unicode, default
from traitlets.config import Configurable

from .errors import Unavailable

#: JSON of the fsspec options of the artifact store, for every process that touches it
STORAGE_OPTIONS_ENV = "LABCYCLE_STORAGE_OPTIONS"


def parse_storage_options(raw: str, source: str = STORAGE_OPTIONS_ENV) -> dict[str, Any]:
    """The options in ``raw`` (a JSON object; empty means none), or Unavailable saying what
    is wrong with them."""
    if not raw.strip():
        return {}
    try:
        options = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise Unavailable(
            f"{source} is not valid JSON ({exc.msg} at character {exc.pos}); set it to a JSON "
            'object such as {"endpoint_url": "http://127.0.0.1:9000"}.',
            field=source,
        ) from None
    return check_storage_options(options, source)


def check_storage_options(options: Any, source: str = STORAGE_OPTIONS_ENV) -> dict[str, Any]:
    if not isinstance(options, dict):
        raise Unavailable(
            f"{source} must be a JSON object of fsspec storage options, not "
            f'{type(options).__name__}; e.g. {{"endpoint_url": "http://127.0.0.1:9000"}}.',
            field=source,
        )
    return dict(options)


def storage_options_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    return parse_storage_options(env.get(STORAGE_OPTIONS_ENV, ""))


def local_user() -> str:
    """Who acts outside a server: ``LABCYCLE_USER``, the JupyterHub user of this terminal or
    kernel, else the OS user (one Unix user may run every hub user's server)."""
    try:
        return (
            os.environ.get("LABCYCLE_USER")
            or os.environ.get("JUPYTERHUB_USER")
            or getpass.getuser()
        )
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


def hub_user() -> str | None:
    """The JupyterHub user whose single-user server (or kernel, or terminal) this is, if any:
    JupyterHub's spawners set ``JUPYTERHUB_USER``. Under a hub nobody owns everything."""
    return os.environ.get("JUPYTERHUB_USER") or None


class LabCycleConfig(Configurable):
    """Where LabCycle keeps its data."""

    home = Unicode(
        help="Folder for the embedded store (env LABCYCLE_HOME, default ~/.labcycle)."
    ).tag(config=True)
    db_url = Unicode(
        help="SQLAlchemy URL of the metadata store (env LABCYCLE_DB_URL); default: SQLite in home."
    ).tag(config=True)
    artifact_url = Unicode(
        help="fsspec URL of the artifact store (env LABCYCLE_ARTIFACT_URL); default: home/artifacts."
    ).tag(config=True)
    storage_options = Dict(
        help="fsspec storage options of the artifact store and the prediction logs (env "
        "LABCYCLE_STORAGE_OPTIONS, a JSON object), e.g. {'endpoint_url': "
        "'http://127.0.0.1:9000', 'profile': 'team', 'client_kwargs': {'region_name': "
        "'eu-west-1'}}. Every process LabCycle starts gets them (docs/scale-out.md)."
    ).tag(config=True)

    executor = Unicode(
        help="Where notebook jobs run (env LABCYCLE_EXECUTOR): 'local' (a pool of worker "
        "processes on this machine) or 'dask://host:8786' (a Dask distributed cluster whose "
        "workers reach the same store)."
    ).tag(config=True)
    max_concurrent_jobs = Int(
        help="How many notebook jobs run at once (env LABCYCLE_MAX_JOBS, default 2)."
    ).tag(config=True)

    public_url = Unicode(
        help="The Jupyter server's URL as users open it (env LABCYCLE_PUBLIC_URL), for links in "
        "alerts; default: the address the server listens on."
    ).tag(config=True)
    webhook_allow = List(
        Unicode(),
        help="Hosts ('hooks.example.com', '*.corp.example') and networks ('10.0.0.0/8') that "
        "alert webhooks may reach besides public addresses (env LABCYCLE_WEBHOOK_ALLOW, comma "
        "separated). Link-local and cloud metadata addresses are refused unless listed here.",
    ).tag(config=True)

    @default("public_url")
    def _public_url_default(self) -> str:
        return os.environ.get("LABCYCLE_PUBLIC_URL", "")

    @default("webhook_allow")
    def _webhook_allow_default(self) -> list[str]:
        raw = os.environ.get("LABCYCLE_WEBHOOK_ALLOW", "")
        return [item.strip() for item in raw.split(",") if item.strip()]

    @default("executor")
    def _executor_default(self) -> str:
        return os.environ.get("LABCYCLE_EXECUTOR") or "local"

    @default("max_concurrent_jobs")
    def _max_jobs_default(self) -> int:
        try:
            return max(1, int(os.environ.get("LABCYCLE_MAX_JOBS") or 2))
        except ValueError:
            return 2

    @default("home")
    def _home_default(self) -> str:
        return os.environ.get("LABCYCLE_HOME") or str(Path.home() / ".labcycle")

    @default("db_url")
    def _db_url_default(self) -> str:
        url = os.environ.get("LABCYCLE_DB_URL")
        if url:
            return url
        return f"sqlite:///{Path(self.home).expanduser().resolve() / 'labcycle.db'}"

    @default("storage_options")
    def _storage_options_default(self) -> dict:
        return storage_options_from_env()

    @default("artifact_url")
    def _artifact_url_default(self) -> str:
        url = os.environ.get("LABCYCLE_ARTIFACT_URL")
        if url:
            return url
        return str(Path(self.home).expanduser().resolve() / "artifacts")
