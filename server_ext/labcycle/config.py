"""Configuration shared by the server extension, the CLI and the Python API.

One object for two modes (as Voila's ``VoilaConfiguration``): traitlets config
(``c.LabCycle.db_url = ...``) for the server, environment variables for everything.
"""

from __future__ import annotations

import os
from pathlib import Path

from traitlets import Unicode, default
from traitlets.config import Configurable


class LabCycleConfig(Configurable):
    """Where LabCycle keeps its data."""

    home = Unicode(help="Folder for the embedded store (env LABCYCLE_HOME, default ~/.labcycle).").tag(
        config=True
    )
    db_url = Unicode(
        help="SQLAlchemy URL of the metadata store (env LABCYCLE_DB_URL); default: SQLite in home."
    ).tag(config=True)
    artifact_url = Unicode(
        help="fsspec URL of the artifact store (env LABCYCLE_ARTIFACT_URL); default: home/artifacts."
    ).tag(config=True)

    @default("home")
    def _home_default(self) -> str:
        return os.environ.get("LABCYCLE_HOME") or str(Path.home() / ".labcycle")

    @default("db_url")
    def _db_url_default(self) -> str:
        url = os.environ.get("LABCYCLE_DB_URL")
        if url:
            return url
        return f"sqlite:///{Path(self.home).expanduser().resolve() / 'labcycle.db'}"

    @default("artifact_url")
    def _artifact_url_default(self) -> str:
        url = os.environ.get("LABCYCLE_ARTIFACT_URL")
        if url:
            return url
        return str(Path(self.home).expanduser().resolve() / "artifacts")
