"""Response models of the model registry (see responses.py for why they exist)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .core import Out


class ModelFile(Out):
    path: str
    digest: str
    size: int


class ModelVersion(Out):
    id: str
    model_id: str
    model_name: str
    version: int
    ref: str
    flavor: str
    run_id: str | None
    artifact_prefix: str
    files: list[ModelFile]
    signature: dict[str, Any] | None
    environment: dict[str, Any] | None
    metrics: dict[str, Any]
    lineage: dict[str, Any]
    flavor_options: dict[str, Any]
    aliases: list[str]
    tags: dict[str, str]
    trusted: bool
    status: str
    description: str
    created_by: str
    created_at: datetime
    updated_at: datetime


class RegisteredModel(Out):
    id: str
    name: str
    description: str
    tags: dict[str, str]
    aliases: dict[str, int]
    latest_version: int | None
    version_count: int
    created_by: str
    created_at: datetime
    updated_at: datetime


class RegisteredModelList(Out):
    items: list[RegisteredModel]
    next_page_token: str | None


class ModelVersionList(Out):
    items: list[ModelVersion]
    next_page_token: str | None
