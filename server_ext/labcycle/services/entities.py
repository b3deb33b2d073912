"""Entity references: ``{"type": ..., "id": ...}`` → what the hub shows about the entity.

Every hub feature (lineage, notes, search results, reviews) points at entities by
reference. This module checks a reference (:func:`validate_ref`), checks that the entity
exists and describes it (:func:`describe`, :func:`describe_many`), in a few queries per
*type* whatever the number of references, so a page of 500 references costs ~a dozen
SELECTs, not 500.

A description is::

    {"type": "run", "id": "…", "title": "lr=0.1", "status": "finished",
     "project_id": "…" | None, "project": "churn" | None, "url_hint": "runs/…"}

``url_hint`` is the REST path of the entity relative to ``/labcycle/api/v1/``.
``status`` is the entity's state when it has one (run/job/sweep status, deployment
status, monitor health, model version status), else None.

How the project is found (entities that carry no project column):

- experiment → its project; run → its experiment's project;
- model_version → its run's project, else the project named in its ``lineage`` JSON;
- model → the project of its newest version (as above); deployment → its model's;
  monitor → its deployment's (a dataset-pair monitor has none);
- job → its run's project, else the project named in its ``project`` column;
  sweep → the project named in its ``project`` column (None if unset);
  schedule → ``payload["project"]`` if the payload names one;
- dataset → None (a dataset can feed runs of several projects).

Other areas can add types (e.g. ``note``) with :func:`register_resolver`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, func, select

from ..errors import InvalidInput, NotFound
from ..store import Store
from ..store.models import (
    Dataset,
    Deployment,
    Experiment,
    Job,
    ModelVersion,
    Monitor,
    Project,
    RegisteredModel,
    Run,
    Schedule,
    Sweep,
)

ENTITY_TYPES: tuple[str, ...] = (
    "project",
    "experiment",
    "run",
    "model",
    "model_version",
    "dataset",
    "deployment",
    "monitor",
    "job",
    "sweep",
    "schedule",
    "note",
)
MAX_ID_LENGTH = 64
#: how many ids go into one ``IN (...)`` (SQLite's variable limit is 32,766; stay modest)
_CHUNK = 500

P, E, R = Project.__table__, Experiment.__table__, Run.__table__
RM, MV = RegisteredModel.__table__, ModelVersion.__table__
D, DEP, MON = Dataset.__table__, Deployment.__table__, Monitor.__table__
J, SW, SCH = Job.__table__, Sweep.__table__, Schedule.__table__

#: A resolver gets the connection and distinct ids of one type; it returns, for each id
#: that exists, a dict with ``title`` and optionally ``status``, ``project_id``,
#: ``project_name`` (when only the name is known) and ``url_hint``.
Resolver = Callable[[Connection, list[str]], dict[str, dict[str, Any]]]
_RESOLVERS: dict[str, Resolver] = {}


def register_resolver(entity_type: str, resolver: Resolver) -> None:
    """Add (or replace) how entities of ``entity_type`` are found; for types owned by other
    areas, e.g. ``note``: ``register_resolver("note", my_fn)`` at import of their service."""
    if entity_type not in ENTITY_TYPES:
        raise ValueError(f"unknown entity type {entity_type!r}; add it to ENTITY_TYPES first")
    _RESOLVERS[entity_type] = resolver


# -- validation -------------------------------------------------------------------------
def validate_type(value: Any, field: str = "type") -> str:
    if not isinstance(value, str) or value not in ENTITY_TYPES:
        shown = repr(value) if isinstance(value, str) else type(value).__name__
        raise InvalidInput(
            f"{field} must be one of {', '.join(ENTITY_TYPES)}; got {shown[:80]}.", field=field
        )
    return value


def validate_entity_id(value: Any, field: str = "id") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must be a non-empty id string.", field=field)
    if len(value) > MAX_ID_LENGTH or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidInput(
            f"{field} must be an id of at most {MAX_ID_LENGTH} printable characters.", field=field
        )
    return value


def validate_ref(ref: Any, field: str = "ref") -> tuple[str, str]:
    """``(type, id)`` of a reference given as ``{"type", "id"}``, ``(type, id)`` or
    ``"type:id"``; InvalidInput names ``field.type`` / ``field.id`` when one is wrong."""
    if isinstance(ref, dict):
        unknown = sorted(set(ref) - {"type", "id"})
        if unknown:
            raise InvalidInput(
                f"{field} may only have the keys 'type' and 'id'; remove {', '.join(unknown)[:200]}.",
                field=field,
            )
        entity_type, entity_id = ref.get("type"), ref.get("id")
    elif isinstance(ref, (tuple, list)) and len(ref) == 2:
        entity_type, entity_id = ref
    elif isinstance(ref, str) and ":" in ref:
        entity_type, entity_id = ref.split(":", 1)
    else:
        raise InvalidInput(
            f'{field} must be {{"type": ..., "id": ...}} (or "type:id"), got {type(ref).__name__}.',
            field=field,
        )
    return validate_type(entity_type, f"{field}.type"), validate_entity_id(entity_id, f"{field}.id")


# -- resolvers, one batch per type ------------------------------------------------------
def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


def _rows(conn: Connection, stmt_for: Callable[[list[str]], Any], ids: list[str]) -> list[Any]:
    out: list[Any] = []
    for chunk in _chunks(ids):
        out.extend(conn.execute(stmt_for(chunk)).all())
    return out


def _projects(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = _rows(conn, lambda c: select(P.c.id, P.c.name).where(P.c.id.in_(c)), ids)
    return {r.id: {"title": r.name, "project_id": r.id} for r in rows}


def _experiments(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = _rows(conn, lambda c: select(E.c.id, E.c.name, E.c.project_id).where(E.c.id.in_(c)), ids)
    return {r.id: {"title": r.name, "project_id": r.project_id} for r in rows}


def _runs(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = _rows(
        conn,
        lambda c: (
            select(R.c.id, R.c.name, R.c.status, E.c.project_id)
            .join(E, E.c.id == R.c.experiment_id)
            .where(R.c.id.in_(c))
        ),
        ids,
    )
    return {
        r.id: {"title": r.name or r.id, "status": r.status, "project_id": r.project_id}
        for r in rows
    }


def _version_projects(
    conn: Connection, rows: Sequence[Any]
) -> dict[str, tuple[str | None, str | None]]:
    """version id → (project_id, project_name): the owning project (:mod:`.ownership`),
    else the project name its lineage JSON names (a project that no longer exists)."""
    from .ownership import project_map

    pids = project_map(conn, "model_version", sorted({r.id for r in rows}))
    out: dict[str, tuple[str | None, str | None]] = {}
    for r in rows:
        owners = pids.get(r.id)
        pid = owners[0] if owners else None
        name = None
        if pid is None and isinstance(r.lineage, dict):
            name = (
                r.lineage.get("project_name")
                if isinstance(r.lineage.get("project_name"), str)
                else None
            )
        out[r.id] = (pid, name)
    return out


def _model_versions(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = _rows(
        conn,
        lambda c: (
            select(
                MV.c.id,
                MV.c.version,
                MV.c.status,
                MV.c.run_id,
                MV.c.lineage,
                RM.c.name.label("model_name"),
            )
            .join(RM, RM.c.id == MV.c.model_id)
            .where(MV.c.id.in_(c))
        ),
        ids,
    )
    projects = _version_projects(conn, rows)
    return {
        r.id: {
            "title": f"{r.model_name} v{r.version}",
            "status": r.status,
            "project_id": projects[r.id][0],
            "project_name": projects[r.id][1],
            "url_hint": f"models/{quote(r.model_name, safe='')}/versions/{r.version}",
        }
        for r in rows
    }


def _model_projects(
    conn: Connection, model_ids: list[str]
) -> dict[str, tuple[str | None, str | None]]:
    """model id → project of its newest version."""
    if not model_ids:
        return {}
    newest = (
        select(MV.c.model_id, func.max(MV.c.version).label("v"))
        .where(MV.c.model_id.in_(model_ids))
        .group_by(MV.c.model_id)
        .subquery()
    )
    rows = conn.execute(
        select(MV.c.id, MV.c.model_id, MV.c.run_id, MV.c.lineage).join(
            newest, (newest.c.model_id == MV.c.model_id) & (newest.c.v == MV.c.version)
        )
    ).all()
    by_version = _version_projects(conn, rows)
    return {r.model_id: by_version[r.id] for r in rows}


def _models(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = _rows(conn, lambda c: select(RM.c.id, RM.c.name).where(RM.c.id.in_(c)), ids)
    projects: dict[str, tuple[str | None, str | None]] = {}
    for chunk in _chunks([r.id for r in rows]):
        projects.update(_model_projects(conn, chunk))
    return {
        r.id: {
            "title": r.name,
            "project_id": projects.get(r.id, (None, None))[0],
            "project_name": projects.get(r.id, (None, None))[1],
            "url_hint": f"models/{quote(r.name, safe='')}",
        }
        for r in rows
    }


def _datasets(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = _rows(conn, lambda c: select(D.c.id, D.c.name).where(D.c.id.in_(c)), ids)
    return {r.id: {"title": r.name} for r in rows}


def _deployment_projects(
    conn: Connection, rows: Sequence[Any]
) -> dict[str, tuple[str | None, str | None]]:
    from .registry import normalise_name

    keys: dict[str, str] = {}
    for r in rows:
        try:
            keys[r.id] = normalise_name(r.model_name)[1]
        except InvalidInput:
            continue
    models: dict[str, str] = {}
    if keys:
        models = dict(
            conn.execute(
                select(RM.c.name_key, RM.c.id).where(RM.c.name_key.in_(sorted(set(keys.values()))))
            ).all()
        )
    by_model = _model_projects(conn, sorted(set(models.values())))
    return {dep: by_model.get(models.get(key, ""), (None, None)) for dep, key in keys.items()}


def _deployments(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = _rows(
        conn,
        lambda c: select(DEP.c.id, DEP.c.name, DEP.c.status, DEP.c.model_name).where(
            DEP.c.id.in_(c)
        ),
        ids,
    )
    projects = _deployment_projects(conn, rows)
    return {
        r.id: {
            "title": r.name,
            "status": r.status,
            "project_id": projects.get(r.id, (None, None))[0],
            "project_name": projects.get(r.id, (None, None))[1],
        }
        for r in rows
    }


def _monitors(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = _rows(
        conn,
        lambda c: select(MON.c.id, MON.c.name, MON.c.health, MON.c.deployment_id).where(
            MON.c.id.in_(c)
        ),
        ids,
    )
    deps = _deployments(conn, sorted({r.deployment_id for r in rows if r.deployment_id}))
    out = {}
    for r in rows:
        dep = deps.get(r.deployment_id) or {}
        out[r.id] = {
            "title": r.name,
            "status": r.health,
            "project_id": dep.get("project_id"),
            "project_name": dep.get("project_name"),
        }
    return out


def _jobs(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = _rows(
        conn,
        lambda c: (
            select(J.c.id, J.c.name, J.c.status, J.c.project, E.c.project_id)
            .outerjoin(R, R.c.id == J.c.run_id)
            .outerjoin(E, E.c.id == R.c.experiment_id)
            .where(J.c.id.in_(c))
        ),
        ids,
    )
    return {
        r.id: {
            "title": r.name,
            "status": r.status,
            "project_id": r.project_id,
            "project_name": r.project,
        }
        for r in rows
    }


def _sweeps(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = _rows(
        conn,
        lambda c: select(SW.c.id, SW.c.name, SW.c.status, SW.c.project).where(SW.c.id.in_(c)),
        ids,
    )
    return {r.id: {"title": r.name, "status": r.status, "project_name": r.project} for r in rows}


def _schedules(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = _rows(
        conn,
        lambda c: select(SCH.c.id, SCH.c.name, SCH.c.paused, SCH.c.payload).where(SCH.c.id.in_(c)),
        ids,
    )
    out = {}
    for r in rows:
        payload = r.payload if isinstance(r.payload, dict) else {}
        project = payload.get("project")
        out[r.id] = {
            "title": r.name,
            "status": "paused" if r.paused else "active",
            "project_name": project if isinstance(project, str) else None,
        }
    return out


_RESOLVERS.update(
    {
        "project": _projects,
        "experiment": _experiments,
        "run": _runs,
        "model": _models,
        "model_version": _model_versions,
        "dataset": _datasets,
        "deployment": _deployments,
        "monitor": _monitors,
        "job": _jobs,
        "sweep": _sweeps,
        "schedule": _schedules,
    }
)

_URL_BASE = {
    "project": "projects",
    "experiment": "experiments",
    "run": "runs",
    "dataset": "datasets",
    "deployment": "deployments",
    "monitor": "monitors",
    "job": "jobs",
    "sweep": "sweeps",
    "schedule": "schedules",
    "note": "notes",
}


# -- public API -------------------------------------------------------------------------
def describe_many(
    conn: Connection, refs: Iterable[Any], *, missing: str = "raise", field: str = "refs"
) -> list[dict[str, Any]]:
    """Describe every reference, in the order given (duplicates described once each time).

    ``missing="raise"`` raises NotFound naming the first unknown reference (details carry
    all of them, as ``"type:id"`` strings); ``missing="skip"`` leaves them out.
    """
    if missing not in ("raise", "skip"):
        raise ValueError("missing must be 'raise' or 'skip'")
    clean = [validate_ref(ref, f"{field}[{i}]") for i, ref in enumerate(refs)]
    by_type: dict[str, list[str]] = {}
    for entity_type, entity_id in clean:
        by_type.setdefault(entity_type, [])
        if entity_id not in by_type[entity_type]:
            by_type[entity_type].append(entity_id)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for entity_type, ids in by_type.items():
        resolver = _RESOLVERS.get(entity_type)
        if resolver is None:  # e.g. notes before their area registered a resolver
            continue
        for entity_id, resolved in resolver(conn, ids).items():
            found[(entity_type, entity_id)] = resolved
    absent = [ref for ref in dict.fromkeys(clean) if ref not in found]
    if absent and missing == "raise":
        entity_type, entity_id = absent[0]
        raise NotFound(
            f"No {entity_type.replace('_', ' ')} with id {entity_id!r}"
            + (f" (and {len(absent) - 1} more missing)." if len(absent) > 1 else "."),
            field=field if len(clean) > 1 else None,
            missing=[f"{t}:{i}" for t, i in absent[:50]],
        )
    # Projects: fill names from ids, and ids from names, in one query each.
    pids = {info["project_id"] for info in found.values() if info.get("project_id")}
    pnames = {
        info["project_name"]
        for info in found.values()
        if not info.get("project_id") and info.get("project_name")
    }
    names_by_id: dict[str, str] = {}
    ids_by_name: dict[str, str] = {}
    for chunk in _chunks(sorted(pids)):
        names_by_id.update(conn.execute(select(P.c.id, P.c.name).where(P.c.id.in_(chunk))).all())
    for chunk in _chunks(sorted(pnames)):
        ids_by_name.update(conn.execute(select(P.c.name, P.c.id).where(P.c.name.in_(chunk))).all())
    out = []
    for entity_type, entity_id in clean:
        info = found.get((entity_type, entity_id))
        if info is None:
            continue
        project_id = info.get("project_id")
        project = names_by_id.get(project_id) if project_id else None
        if project_id is None and info.get("project_name"):
            project = info["project_name"]
            project_id = ids_by_name.get(project)
        out.append(
            {
                "type": entity_type,
                "id": entity_id,
                "title": info.get("title") or entity_id,
                "status": info.get("status"),
                "project_id": project_id,
                "project": project,
                "url_hint": info.get("url_hint")
                or f"{_URL_BASE[entity_type]}/{quote(entity_id, safe='')}",
            }
        )
    return out


def describe(
    conn: Connection, entity_type: Any, entity_id: Any, *, field: str = "ref"
) -> dict[str, Any]:
    """One entity's description; InvalidInput for a malformed reference, NotFound if absent."""
    ref = (
        validate_type(entity_type, f"{field}.type"),
        validate_entity_id(entity_id, f"{field}.id"),
    )
    return describe_many(conn, [ref], field=field)[0]


def exists(conn: Connection, entity_type: Any, entity_id: Any) -> bool:
    return bool(describe_many(conn, [(entity_type, entity_id)], missing="skip"))


def key(entity_type: str, entity_id: str) -> str:
    """The node id used by lineage and the panel: ``"type:id"``."""
    return f"{entity_type}:{entity_id}"


class EntityService:
    """The same functions, each in its own read transaction (for faces and other services)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def describe(self, entity_type: Any, entity_id: Any) -> dict[str, Any]:
        with self.store.read() as conn:
            return describe(conn, entity_type, entity_id)

    def describe_many(self, refs: Iterable[Any], *, missing: str = "raise") -> list[dict[str, Any]]:
        refs = list(refs)
        with self.store.read() as conn:
            return describe_many(conn, refs, missing=missing)

    def exists(self, entity_type: Any, entity_id: Any) -> bool:
        with self.store.read() as conn:
            return exists(conn, entity_type, entity_id)


__all__ = [
    "ENTITY_TYPES",
    "EntityService",
    "describe",
    "describe_many",
    "exists",
    "key",
    "register_resolver",
    "validate_entity_id",
    "validate_ref",
    "validate_type",
]
