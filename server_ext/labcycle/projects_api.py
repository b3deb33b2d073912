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
from urllib.parse import quote

from .services.registry import parse_version_ref
from .serving_api import _call, _is_http, _transport

__all__ = ["audit_log", "get_project", "import_project", "list_projects", "project_members",
           "review", "review_bundle", "reviews", "set_member", "update_project"]


def _q(text: Any) -> str:
    return quote(str(text), safe="")


def get_project(project: str) -> dict[str, Any]:
    """A project (by id or name): README, tags, status, repository, owners, policy."""
    t = _transport()
    if _is_http(t):
        return _call("GET", f"projects/{_q(project)}")
    return t.services.projects.get_project(project)


def list_projects(*, status: str | None = None, tag: str | None = None,
                  member: str | None = None) -> list[dict[str, Any]]:
    """Every project (up to 1000), optionally by status, tag or member."""
    t = _transport()
    params = {k: v for k, v in (("status", status), ("tag", tag), ("member", member)) if v}
    if _is_http(t):
        return _call("GET", "projects", params={**params, "max_results": 1000})["items"]
    return t.services.projects.list_projects(1000, None, **params)["items"]


def update_project(project: str, **changes: Any) -> dict[str, Any]:
    """Change ``name``, ``description`` (Markdown README), ``tags``, ``status`` (active,
    archived), ``git_url``; owners: ``require_approval``, ``approvers``."""
    t = _transport()
    if _is_http(t):
        return _call("PATCH", f"projects/{_q(project)}", body=changes)
    return t.services.projects.update_project(project, actor=t.user, **changes)


def import_project(path: str | os.PathLike = ".", *, name: str | None = None) -> dict[str, Any]:
    """Create or update the project of a folder (default: the current one) from its
    README.md and git remote; in a kernel the folder must be under the server's root."""
    t = _transport()
    folder = str(Path(path).expanduser().resolve())
    if _is_http(t):
        return _call("POST", "projects/import", body={"path": folder, "name": name})
    root = os.environ.get("LABCYCLE_SERVER_ROOT") or folder
    return t.services.projects.import_folder(folder, root=root, actor=t.user, name=name)


def project_members(project: str) -> dict[str, Any]:
    """``{"open": bool, "items": [{"user", "role", ...}]}``."""
    t = _transport()
    if _is_http(t):
        return _call("GET", f"projects/{_q(project)}/members")
    return t.services.projects.list_members(project)


def set_member(project: str, user: str, role: str | None) -> dict[str, Any] | None:
    """Give ``user`` a ``role`` (viewer, editor, owner) in the project; ``None`` removes them."""
    t = _transport()
    if _is_http(t):
        path = f"projects/{_q(project)}/members/{_q(user)}"
        return _call("DELETE", path) if role is None else _call("PUT", path, body={"role": role})
    if role is None:
        t.services.projects.remove_member(project, user, actor=t.user)
        return None
    return t.services.projects.set_member(project, user, role, actor=t.user)


def review(ref: str, decision: str = "comment", comment: str = "") -> dict[str, Any]:
    """Review model version ``ref`` ("churn/3"): ``approve``, ``reject`` (say why) or
    ``comment``; returns the review with the version's new state."""
    name, version = parse_version_ref(ref)
    t = _transport()
    if _is_http(t):
        return _call("POST", f"models/{_q(name)}/versions/{version}/reviews",
                     body={"decision": decision, "comment": comment})
    return t.services.reviews.add_review(name, version, decision=decision, comment=comment,
                                         actor=t.user)


def reviews(ref: str) -> dict[str, Any]:
    """The reviews of ``ref``, its state (approved, rejected, pending) and the policy."""
    name, version = parse_version_ref(ref)
    t = _transport()
    if _is_http(t):
        return _call("GET", f"models/{_q(name)}/versions/{version}/reviews")
    return t.services.reviews.list_reviews(name, version)


def review_bundle(ref: str, out: str | os.PathLike | None = None) -> str:
    """The review bundle (self-contained HTML) of ``ref``; written to ``out`` if given."""
    name, version = parse_version_ref(ref)
    t = _transport()
    if _is_http(t):
        html = t._request("GET", f"models/{_q(name)}/versions/{version}/review-bundle")
        html = html.decode() if isinstance(html, bytes) else html
    else:
        html = t.services.reviews.bundle(name, version)
    if out is not None:
        Path(out).write_text(html, encoding="utf-8")
    return html


def audit_log(*, user: str | None = None, action: str | None = None,
              entity_type: str | None = None, entity_id: str | None = None,
              project: str | None = None, since: Any = None, until: Any = None,
              max_results: int = 100) -> Any:
    """Audit events, newest first, as a DataFrame (who, what, when, before/after details)."""
    import pandas as pd

    filters = {"user": user, "action": action, "entity_type": entity_type,
               "entity_id": entity_id, "project": project, "since": since, "until": until}
    filters = {k: v for k, v in filters.items() if v is not None}
    t = _transport()
    if _is_http(t):
        items = _call("GET", "audit", params={**filters, "max_results": max_results})["items"]
    else:
        items = t.services.audit.list(max_results=max_results, **filters)["items"]
    return pd.DataFrame(items, columns=["id", "at", "user", "action", "entity_type",
                                        "entity_id", "details"])
