"""The Python API of the hub's projects, roles, reviews and audit log.

Same transport as the rest of ``lc``: REST in a kernel of a Jupyter server with LabCycle
(so the server's roles apply), the local store elsewhere::

    lc.import_project()                                  # this folder: README.md, git remote
    lc.update_project("churn", tags=["retail"], require_approval=True)
    lc.set_member("churn", "bob", "viewer")
    lc.review("churn-model/3", "approve", "Checked the data and the metrics.")
    lc.review_bundle("churn-model/3", out="churn-v3-review.html")
    lc.audit_log(user="bob", action="model", since="2026-11-01")
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..services.registry import parse_version_ref
from .fluent import current_transport

__all__ = [
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
]


def get_project(project: str) -> dict[str, Any]:
    """A project (by id or name): README, tags, status, repository, owners, policy."""
    return current_transport().hub.get_project(project)


def list_projects(
    *, status: str | None = None, tag: str | None = None, member: str | None = None
) -> list[dict[str, Any]]:
    """Every project (up to 1000), optionally by status, tag or member."""
    filters = {k: v for k, v in (("status", status), ("tag", tag), ("member", member)) if v}
    return current_transport().hub.list_projects(1000, **filters)["items"]


def update_project(project: str, **changes: Any) -> dict[str, Any]:
    """Change ``name``, ``description`` (Markdown README), ``tags``, ``status`` (active,
    archived), ``git_url``; owners: ``require_approval``, ``approvers``."""
    return current_transport().hub.update_project(project, changes)


def import_project(path: str | os.PathLike = ".", *, name: str | None = None) -> dict[str, Any]:
    """Create or update the project of a folder (default: the current one) from its
    README.md and git remote; in a kernel the folder must be under the server's root."""
    return current_transport().hub.import_project(str(Path(path).expanduser().resolve()), name)


def project_members(project: str) -> dict[str, Any]:
    """``{"open": bool, "items": [{"user", "role", ...}]}``."""
    return current_transport().hub.members(project)


def set_member(project: str, user: str, role: str | None) -> dict[str, Any] | None:
    """Give ``user`` a ``role`` (viewer, editor, owner) in the project; ``None`` removes them."""
    if role is None:
        current_transport().hub.remove_member(project, user)
        return None
    return current_transport().hub.set_member(project, user, role)


def review(ref: str, decision: str = "comment", comment: str = "") -> dict[str, Any]:
    """Review model version ``ref`` ("churn/3"): ``approve``, ``reject`` (say why) or
    ``comment``; returns the review with the version's new state."""
    name, version = parse_version_ref(ref)
    return current_transport().hub.add_review(name, version, decision, comment)


def reviews(ref: str) -> dict[str, Any]:
    """The reviews of ``ref``, its state (approved, rejected, pending) and the policy."""
    return current_transport().hub.reviews(*parse_version_ref(ref))


def review_bundle(ref: str, out: str | os.PathLike | None = None) -> str:
    """The review bundle (self-contained HTML) of ``ref``; written to ``out`` if given."""
    html = current_transport().hub.review_bundle(*parse_version_ref(ref))
    if out is not None:
        Path(out).write_text(html, encoding="utf-8")
    return html


def audit_log(
    *,
    user: str | None = None,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    project: str | None = None,
    since: Any = None,
    until: Any = None,
    max_results: int = 100,
) -> Any:
    """Audit events, newest first, as a DataFrame (who, what, when, before/after details)."""
    import pandas as pd

    filters = {
        "user": user,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "project": project,
        "since": since,
        "until": until,
    }
    items = current_transport().hub.audit(
        max_results, **{k: v for k, v in filters.items() if v is not None}
    )
    return pd.DataFrame(
        items["items"],
        columns=["id", "at", "user", "action", "entity_type", "entity_id", "details"],
    )
