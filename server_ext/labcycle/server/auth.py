"""Project roles in the REST API, through jupyter_server's authorizer (users & roles).

Every LabCycle handler method is decorated with jupyter_server's ``@authorized``, which asks
``handler.authorizer.is_authorized(handler, user, action, resource)``. For LabCycle
handlers that authorizer is a :class:`ProjectRoleAuthorizer`: a jupyter_server
:class:`~jupyter_server.auth.Authorizer` that **wraps the server's own authorizer**
(``c.ServerApp.authorizer_class``: the default one, JupyterHub's, or any custom one) and
adds LabCycle's project roles on top:

1. the server's authorizer decides first; if it refuses, the answer is its 403;
2. a read of an entity named in the path (``run_id``, ``project_id``, model ``name``...)
   in a private project (one with members) the user is not a member of is a 404, as if
   it did not exist; every listing filters the same projects out in SQL
   (:mod:`labcycle.services.ownership`, the services read as ``handler.actor``);
3. a write (POST, PUT, PATCH, DELETE) finds the entity it touches from the route's path
   parameters (``run_id``, ``deployment_id``, ``monitor_id``, model ``name``...) or, when
   it creates something, from the body (the experiment/project of a new run, the model of
   a new deployment, the deployment of a new monitor...), finds that entity's projects
   (:meth:`labcycle.services.access.AccessService.project_ids`) and requires ``editor``
   in each (``owner`` to change members or the approval policy). A refusal is a 403 whose
   message names the role needed, the user's role and the project's owners.

Projects without members are open, and the server owner (``c.LabCycle.owner``) is an owner
of every project, so a single-user server behaves as before. Reviews are checked by the
review service itself (approvers may review without being editors). Set
``c.LabCycle.project_roles = False`` to turn the role checks off (the server's authorizer
still applies).
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth import Authorizer

AUTHORIZER_KEY = "labcycle_authorizer"

#: path parameter → entity type (``name`` is a model on the models routes)
PATH_ENTITIES = {
    "project_id": "project",
    "experiment_id": "experiment",
    "run_id": "run",
    "deployment_id": "deployment",
    "monitor_id": "monitor",
    "job_id": "job",
    "sweep_id": "sweep",
}
#: resources whose writes carry no project rule here (datasets are shared; reviews are
#: checked by the review service; schedules name their work in a free-form payload)
UNSCOPED = {"labcycle:datasets", "labcycle:reviews", "labcycle:schedules", "labcycle:api"}


def _body(handler: Any) -> dict[str, Any]:
    raw = handler.request.body
    if not raw or len(raw) > 10_000_000:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return {}  # the handler answers 400 itself
    return data if isinstance(data, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def read_scope(handler: Any) -> list[tuple[str, str]]:
    """The ``[(entity type, id)]`` a read request names in its path."""
    kwargs = handler.path_kwargs or {}
    entities = [
        (kind, kwargs[param]) for param, kind in PATH_ENTITIES.items() if _text(kwargs.get(param))
    ]
    if handler.auth_resource == "labcycle:models" and _text(kwargs.get("name")):
        entities.append(("model", kwargs["name"]))
    return entities


def write_scope(handler: Any) -> tuple[str, list[tuple[str, str]], str]:
    """``(role needed, [(entity type, id)], what it does)`` for a write request."""
    resource = handler.auth_resource
    kwargs = handler.path_kwargs or {}
    method = handler.request.method
    entities: list[tuple[str, str]] = []
    for param, kind in PATH_ENTITIES.items():
        if _text(kwargs.get(param)):
            entities.append((kind, kwargs[param]))
    if resource == "labcycle:models" and _text(kwargs.get("name")):
        entities.append(("model", kwargs["name"]))
    needed, what = "editor", f"{method} {handler.request.path.split('/api/v1/', 1)[-1]}"
    if resource == "labcycle:projects" and "project_id" in kwargs:
        body = _body(handler) if method == "PATCH" else {}
        if "user" in kwargs or {"require_approval", "approvers"} & set(body):
            needed = "owner"
            what = (
                "change the project's members"
                if "user" in kwargs
                else "change the project's approval policy"
            )
        return needed, entities, what
    if entities or method != "POST":
        if resource == "labcycle:models" and method == "POST" and "version" not in kwargs:
            run_id = _text(_body(handler).get("run_id"))  # a new version from this run
            if run_id:
                entities.append(("run", run_id))
        return needed, entities, what
    # creating something: its project comes from the body
    body = _body(handler)
    if resource == "labcycle:experiments":
        project = _text(body.get("project_id")) or _text(body.get("project")) or "default"
        entities.append(("project", project))
    elif resource == "labcycle:runs":
        if _text(body.get("experiment_id")):
            entities.append(("experiment", body["experiment_id"]))
        else:
            entities.append(("project", _text(body.get("project")) or "default"))
    elif resource in ("labcycle:jobs", "labcycle:sweeps"):
        entities.append(("project", _text(body.get("project")) or "default"))
    elif resource == "labcycle:deployments" and _text(body.get("model")):
        from ..services.deployments import model_name_of

        entities.append(("model", model_name_of(body["model"].strip())))
    elif resource == "labcycle:monitors" and _text(body.get("deployment")):
        entities.append(("deployment", body["deployment"]))
    return needed, entities, what


class ProjectRoleAuthorizer(Authorizer):
    """The server's authorizer, then LabCycle's project roles (module docstring)."""

    def __init__(self, inner: Authorizer, **kwargs: Any) -> None:
        super().__init__(identity_provider=inner.identity_provider, **kwargs)
        self.inner = inner

    async def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        if not await ensure_async(self.inner.is_authorized(handler, user, action, resource)):
            return False
        if not resource.startswith("labcycle"):
            return True
        if not getattr(handler.labcycle_options, "project_roles", True):
            return True
        if action == "read":
            entities = read_scope(handler)
            if entities:  # a private project's entity answers 404 to a non-member
                await handler.call(handler.services.access.require_read, entities, handler.actor)
            return True
        if resource in UNSCOPED:
            return True
        needed, entities, what = write_scope(handler)
        if entities:
            services = handler.services
            # raises Forbidden: a 403 whose message names the role needed
            await handler.call(services.access.require, entities, handler.actor, needed, what=what)
        return True


def authorizer_for(handler: Any) -> Authorizer:
    """The (cached) role-checking authorizer around the server's authorizer."""
    settings = handler.settings
    inner = settings.get("authorizer")
    wrapped = settings.get(AUTHORIZER_KEY)
    if wrapped is None or wrapped.inner is not inner:
        wrapped = ProjectRoleAuthorizer(inner)
        settings[AUTHORIZER_KEY] = wrapped
    return wrapped
