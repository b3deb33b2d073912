"""The metadata store (SQLAlchemy) and the artifact store (fsspec)."""

from .artifacts import ArtifactStore
from .db import Store

__all__ = ["ArtifactStore", "Store"]
