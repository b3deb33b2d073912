"""Request models of the model registry (shape only; the rules are in services/registry.py)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .core import Body, Id

Tags = dict[str, Any]


class CreateModelVersion(Body):
    """Register a version from model files already uploaded as artifacts of a run."""

    run_id: Id = Field(description="the run holding the model files")
    source_path: str = Field(
        min_length=1,
        max_length=1000,
        description="artifact folder of the run holding labcycle-model.json and the flavor's files; "
        "moved to models/<name>/v<version>/",
    )
    description: str | None = Field(None, max_length=65_535)
    tags: Tags | None = None
    trusted: bool = Field(
        False, description="required for flavors that run code when loaded (pickle, joblib, python)"
    )
    keep_source: bool = Field(False, description="keep the artifacts under source_path too")


class UpdateModelVersion(Body):
    description: str | None = Field(None, max_length=65_535)
    tags: dict[str, Any] | None = Field(None, description="set tags; a null value removes the tag")


class UpdateModel(Body):
    description: str | None = Field(None, max_length=65_535)
    tags: dict[str, Any] | None = Field(None, description="set tags; a null value removes the tag")


class SetAlias(Body):
    version: int = Field(ge=1, lt=2**31, description="the version the alias names from now on")


class RecordTrustedLoad(Body):
    purpose: str = Field("load", max_length=64, description="what the trusted load is for")
