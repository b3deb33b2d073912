"""The search index: one document per entity in ``search_docs``, kept current by the writers.

How the index follows the writes (the whole coupling to other services):

1. Every write already calls :func:`services.common.audit` inside its transaction with
   the entity's type and id. ``audit`` calls :func:`mark`, which only remembers
   ``(type, id)`` in the transaction's scratch state (no query; metric-only ``run.log``
   writes, cell logs and monitor checks are not marked at all).
2. ``Store.write()`` calls :func:`flush` (registered in ``store.db.BEFORE_COMMIT``) just
   before the transaction commits: each marked entity's document is rebuilt from the
   database (or deleted when the entity is gone), in a savepoint, so the document and
   the write commit or roll back together. If indexing fails, the write still commits
   and the error is logged (``labcycle search reindex`` repairs the index).
3. Notebook snapshots (run artifacts ``notebook.ipynb`` / ``executed.ipynb``) are read
   from the artifact store, so ``ArtifactService`` calls :func:`index_notebook` itself.

So a new service gets search by calling ``audit(conn, actor, action, type, id)`` (which it
does anyway) for a type that has a builder here (``BUILDERS``). ``reindex_all`` rebuilds
everything (``labcycle search reindex``; also run lazily on the first search of a store
whose index was never built, e.g. one upgraded from before migration 0009).

Documents: ``title`` (weighted most), ``tags`` (tag keys and values, aliases) and ``body``
(descriptions, params, Markdown, notebook cell sources), plus ``owner``, ``project_id``
and ``updated_at`` for the filters. Project and entity titles shown in results are
resolved at query time (services/entities.py), so renaming a project reindexes nothing.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from ..store import db
from ..store.models import (
    Artifact,
    Dataset,
    Deployment,
    Experiment,
    ModelAlias,
    ModelVersion,
    ModelVersionTag,
    Monitor,
    Note,
    Project,
    RegisteredModel,
    RegisteredModelTag,
    Run,
    SearchDoc,
    SearchDocTag,
    SearchState,
    Tag,
)
from ..store.models import Param as ParamRow

log = logging.getLogger(__name__)

SD, SDT, SS = SearchDoc.__table__, SearchDocTag.__table__, SearchState.__table__
P, E, R, PA, T = (
    Project.__table__,
    Experiment.__table__,
    Run.__table__,
    ParamRow.__table__,
    Tag.__table__,
)
RM, MV, RMT, MVT, MA = (
    RegisteredModel.__table__,
    ModelVersion.__table__,
    RegisteredModelTag.__table__,
    ModelVersionTag.__table__,
    ModelAlias.__table__,
)
D, DEP, MON, N, A = (
    Dataset.__table__,
    Deployment.__table__,
    Monitor.__table__,
    Note.__table__,
    Artifact.__table__,
)

#: the types a search can return (``notebook``: a run's notebook snapshot)
SEARCH_TYPES = (
    "project",
    "experiment",
    "run",
    "notebook",
    "note",
    "model",
    "model_version",
    "dataset",
    "deployment",
    "monitor",
)
NOTEBOOK_ARTIFACTS = ("executed.ipynb", "notebook.ipynb")
MAX_TITLE, MAX_TAGS, MAX_BODY, MAX_VALUE = 1_000, 20_000, 200_000, 2_000
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
#: audit actions that change nothing a search shows
SKIPPED_ACTIONS = frozenset(
    {
        "run.cells",
        "run.input",
        "monitor.check",
        "model.load.trusted",
        "model.log.trusted",
        "artifact.put",
    }
)
_CHUNK = 500
# NUL cannot be stored in PostgreSQL text; \x02/\x03 mark highlights in snippets.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: Any, limit: int) -> str:
    if text is None:
        return ""
    text = text if isinstance(text, str) else str(text)
    return _CONTROL.sub(" ", text[:limit])


def _now() -> int:
    return int(time.time() * 1000)


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


def _rows(conn: Connection, stmt: Any, column: Any, ids: list[str] | None) -> Sequence[Any]:
    """``stmt`` for all rows (ids None) or for ``column IN ids``, chunked."""
    if ids is None:
        return conn.execute(stmt).all()
    out: list[Any] = []
    for chunk in _chunks(ids):
        out.extend(conn.execute(stmt.where(column.in_(chunk))).all())
    return out


def _pairs(conn: Connection, table: Any, owner: Any, ids: list[str] | None) -> dict[str, dict]:
    """``{owner id: {key: value}}`` of a key/value table (params, tags)."""
    out: dict[str, dict] = defaultdict(dict)
    for row in _rows(conn, select(owner, table.c.key, table.c.value), owner, ids):
        out[row[0]][row[1]] = row[2]
    return out


def _doc(
    entity_type: str,
    entity_id: str,
    *,
    title: Any,
    body: Iterable[Any] = (),
    tags: dict | Iterable[str] | None = None,
    owner: Any = None,
    project_id: Any = None,
    created_at: Any = None,
    updated_at: Any = None,
) -> dict:
    pairs: list[tuple[str, str]] = []
    if isinstance(tags, dict):
        pairs = [(str(k), "" if v is None else str(v)) for k, v in tags.items()]
    elif tags:
        pairs = [(str(t), "") for t in tags if isinstance(t, (str, int, float))]
    now = _now()
    created = created_at if isinstance(created_at, int) else now
    return {
        "entity_type": entity_type,
        "entity_id": entity_id,
        "project_id": project_id,
        "owner": owner,
        "title": clean(title, MAX_TITLE),
        "tags": clean(" ".join(f"{k} {v}".strip() for k, v in pairs), MAX_TAGS),
        "body": clean("\n".join(clean(b, MAX_VALUE) for b in body if b), MAX_BODY),
        "created_at": created,
        "updated_at": updated_at if isinstance(updated_at, int) else created,
        "tag_pairs": {k[:250]: v[:250] for k, v in pairs if k},
    }


# -- builders: (conn, ids or None for all) → documents of the entities that exist ----------
def _projects(conn: Connection, ids: list[str] | None) -> list[dict]:
    out = []
    for r in _rows(conn, select(P), P.c.id, ids):
        m = r._mapping
        tags = m.get("tags")
        out.append(
            _doc(
                "project",
                r.id,
                title=r.name,
                body=[r.description, m.get("git_url"), m.get("status")],
                tags=tags if isinstance(tags, (list, dict)) else None,
                owner=r.created_by,
                project_id=r.id,
                created_at=r.created_at,
                updated_at=r.updated_at,
            )
        )
    return out


def _experiments(conn: Connection, ids: list[str] | None) -> list[dict]:
    return [
        _doc(
            "experiment",
            r.id,
            title=r.name,
            body=[r.description],
            owner=r.created_by,
            project_id=r.project_id,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in _rows(conn, select(E), E.c.id, ids)
    ]


def _runs(conn: Connection, ids: list[str] | None) -> list[dict]:
    rows = _rows(
        conn,
        select(
            R.c.id,
            R.c.name,
            R.c.user,
            R.c.status,
            R.c.source,
            R.c.notebook_path,
            R.c.git_branch,
            R.c.created_at,
            R.c.updated_at,
            E.c.project_id,
        ).join(E, E.c.id == R.c.experiment_id),
        R.c.id,
        ids,
    )
    found = [r.id for r in rows] if ids is not None else None
    params = _pairs(conn, PA, PA.c.run_id, found)
    tags = _pairs(conn, T, T.c.run_id, found)
    return [
        _doc(
            "run",
            r.id,
            title=r.name,
            body=[
                *(f"{k} {v}" for k, v in params.get(r.id, {}).items()),
                r.notebook_path,
                r.git_branch,
                r.source,
                r.status,
            ],
            tags=tags.get(r.id, {}),
            owner=r.user,
            project_id=r.project_id,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


def _entity_projects(conn: Connection, entity_type: str, ids: list[str]) -> dict[str, str | None]:
    from .entities import describe_many

    out: dict[str, str | None] = {}
    for chunk in _chunks(ids):
        for info in describe_many(conn, [(entity_type, i) for i in chunk], missing="skip"):
            out[info["id"]] = info.get("project_id")
    return out


def _models(conn: Connection, ids: list[str] | None) -> list[dict]:
    rows = _rows(conn, select(RM), RM.c.id, ids)
    found = [r.id for r in rows]
    tags = _pairs(conn, RMT, RMT.c.model_id, found if ids is not None else None)
    aliases: dict[str, list[str]] = defaultdict(list)
    for model_id, alias in _rows(
        conn, select(MA.c.model_id, MA.c.alias), MA.c.model_id, found if ids is not None else None
    ):
        aliases[model_id].append(alias)
    projects = _entity_projects(conn, "model", found)
    return [
        _doc(
            "model",
            r.id,
            title=r.name,
            body=[r.description, *aliases.get(r.id, [])],
            tags=tags.get(r.id, {}),
            owner=r.created_by,
            project_id=projects.get(r.id),
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


def _model_versions(conn: Connection, ids: list[str] | None) -> list[dict]:
    rows = _rows(
        conn,
        select(
            MV.c.id,
            MV.c.version,
            MV.c.description,
            MV.c.flavor,
            MV.c.status,
            MV.c.created_by,
            MV.c.created_at,
            MV.c.updated_at,
            RM.c.name.label("model_name"),
        ).join(RM, RM.c.id == MV.c.model_id),
        MV.c.id,
        ids,
    )
    found = [r.id for r in rows]
    tags = _pairs(conn, MVT, MVT.c.version_id, found if ids is not None else None)
    projects = _entity_projects(conn, "model_version", found)
    return [
        _doc(
            "model_version",
            r.id,
            title=f"{r.model_name} v{r.version}",
            body=[r.description, r.flavor, r.status],
            tags=tags.get(r.id, {}),
            owner=r.created_by,
            project_id=projects.get(r.id),
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


def _datasets(conn: Connection, ids: list[str] | None) -> list[dict]:
    out = []
    for r in _rows(conn, select(D), D.c.id, ids):
        schema = r.schema if isinstance(r.schema, dict) else {}
        columns = schema.get("columns")
        if not isinstance(columns, list):
            columns = []
        names = [c.get("name") for c in columns if isinstance(c, dict) and c.get("name")]
        out.append(
            _doc(
                "dataset",
                r.id,
                title=r.name,
                body=[r.source, " ".join(map(str, names))],
                owner=r.created_by,
                created_at=r.created_at,
                updated_at=r.created_at,
            )
        )
    return out


def _deployments(conn: Connection, ids: list[str] | None) -> list[dict]:
    rows = _rows(
        conn,
        select(
            DEP.c.id,
            DEP.c.name,
            DEP.c.model_ref,
            DEP.c.url,
            DEP.c.status,
            DEP.c.created_by,
            DEP.c.created_at,
            DEP.c.updated_at,
        ),
        DEP.c.id,
        ids,
    )
    projects = _entity_projects(conn, "deployment", [r.id for r in rows])
    return [
        _doc(
            "deployment",
            r.id,
            title=r.name,
            body=[r.model_ref, r.url, r.status],
            owner=r.created_by,
            project_id=projects.get(r.id),
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


def _monitors(conn: Connection, ids: list[str] | None) -> list[dict]:
    rows = _rows(
        conn,
        select(
            MON.c.id,
            MON.c.name,
            MON.c.target,
            MON.c.features,
            MON.c.created_by,
            MON.c.created_at,
            MON.c.updated_at,
            DEP.c.name.label("deployment"),
        ).outerjoin(DEP, DEP.c.id == MON.c.deployment_id),
        MON.c.id,
        ids,
    )
    projects = _entity_projects(conn, "monitor", [r.id for r in rows])
    return [
        _doc(
            "monitor",
            r.id,
            title=r.name,
            body=[
                r.deployment,
                r.target,
                " ".join(map(str, r.features)) if isinstance(r.features, list) else None,
            ],
            owner=r.created_by,
            project_id=projects.get(r.id),
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


def note_title(body: str) -> str:
    for line in (body or "").splitlines():
        line = line.strip().lstrip("#>*-+ ").strip()
        if line:
            return line[:120]
    return "(empty note)"


def _notes(conn: Connection, ids: list[str] | None) -> list[dict]:
    return [
        _doc(
            "note",
            r.id,
            title=note_title(r.body),
            body=[r.body],
            owner=r.created_by,
            project_id=r.project_id,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in _rows(conn, select(N), N.c.id, ids)
    ]


BUILDERS = {
    "project": _projects,
    "experiment": _experiments,
    "run": _runs,
    "model": _models,
    "model_version": _model_versions,
    "dataset": _datasets,
    "deployment": _deployments,
    "monitor": _monitors,
    "note": _notes,
}


# -- notebooks ------------------------------------------------------------------------------
def notebook_text(content: bytes) -> str | None:
    """The cell sources (code and Markdown) of a notebook, or None if it is no notebook."""
    try:
        notebook = json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        return None
    parts = []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if isinstance(source, str) and source.strip():
            parts.append(source)
    return "\n\n".join(parts)


def notebook_doc(
    conn: Connection, run_id: str, artifact: str, content: bytes, updated_at: int | None = None
) -> dict | None:
    text = notebook_text(content)
    run = conn.execute(
        select(R.c.name, R.c.user, R.c.notebook_path, E.c.project_id)
        .join(E, E.c.id == R.c.experiment_id)
        .where(R.c.id == run_id)
    ).first()
    if text is None or run is None:
        return None
    title = run.notebook_path or f"{run.name} · {artifact}"
    return _doc(
        "notebook",
        f"{run_id}/{artifact}",
        title=title,
        body=[text],
        owner=run.user,
        project_id=run.project_id,
        updated_at=updated_at,
    )


def index_notebook(
    conn: Connection, run_id: str, artifact: str, blobs: Any, digest: str, size: int
) -> None:
    """(Re)index a run's notebook snapshot; called by ArtifactService when one is stored."""
    if artifact not in NOTEBOOK_ARTIFACTS:
        return
    try:
        with conn.begin_nested():
            content = blobs.read_bytes(digest) if size <= MAX_NOTEBOOK_BYTES else b""
            doc = notebook_doc(conn, run_id, artifact, content)
            if doc is None:
                _delete(conn, [("notebook", f"{run_id}/{artifact}")])
            else:
                write_docs(conn, [doc])
    except Exception:  # the artifact matters more than its search document
        log.exception(
            "LabCycle search: could not index the notebook %s of run %s", artifact, run_id
        )


# -- writing documents ------------------------------------------------------------------------
def _insert(conn: Connection) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(SD)


def write_docs(conn: Connection, docs: list[dict]) -> None:
    """Upsert documents (by type and id) and replace their tags."""
    if not docs:
        return
    columns = (
        "entity_type",
        "entity_id",
        "project_id",
        "owner",
        "title",
        "tags",
        "body",
        "created_at",
        "updated_at",
    )
    for start in range(0, len(docs), _CHUNK):
        batch = docs[start : start + _CHUNK]
        stmt = _insert(conn)
        stmt = stmt.on_conflict_do_update(
            index_elements=["entity_type", "entity_id"],
            set_={c: stmt.excluded[c] for c in columns[2:] if c != "created_at"},
        ).returning(SD.c.id, SD.c.entity_type, SD.c.entity_id)
        rows = conn.execute(stmt, [{c: d[c] for c in columns} for d in batch]).all()
        ids = {(r.entity_type, r.entity_id): r.id for r in rows}
        conn.execute(delete(SDT).where(SDT.c.doc_id.in_(list(ids.values()))))
        tags = [
            {"doc_id": ids[(d["entity_type"], d["entity_id"])], "key": k, "value": v}
            for d in batch
            for k, v in d["tag_pairs"].items()
        ]
        if tags:
            conn.execute(insert(SDT), tags)


def _delete(conn: Connection, keys: list[tuple[str, str]]) -> None:
    by_type: dict[str, list[str]] = defaultdict(list)
    for entity_type, entity_id in keys:
        by_type[entity_type].append(entity_id)
    for entity_type, ids in by_type.items():
        for chunk in _chunks(ids):
            doc_ids = select(SD.c.id).where(
                SD.c.entity_type == entity_type, SD.c.entity_id.in_(chunk)
            )
            conn.execute(delete(SDT).where(SDT.c.doc_id.in_(doc_ids)))
            conn.execute(
                delete(SD).where(SD.c.entity_type == entity_type, SD.c.entity_id.in_(chunk))
            )


def update(conn: Connection, keys: Iterable[tuple[str, str]]) -> None:
    """Rebuild the documents of these entities; delete those of entities that are gone."""
    by_type: dict[str, set[str]] = defaultdict(set)
    for entity_type, entity_id in keys:
        by_type[entity_type].add(entity_id)
    if by_type.get("model_version"):  # a version's model shows its aliases and project
        for (model_id,) in conn.execute(
            select(MV.c.model_id).where(MV.c.id.in_(sorted(by_type["model_version"])))
        ):
            by_type["model"].add(model_id)
    gone: list[tuple[str, str]] = []
    for entity_type, id_set in by_type.items():
        if entity_type == "_run_notebooks":  # a deleted run: its snapshots' documents
            for run_id in id_set:
                _delete(conn, [("notebook", f"{run_id}/{a}") for a in NOTEBOOK_ARTIFACTS])
            continue
        if entity_type == "_prune":
            prune(conn)
            continue
        ids = sorted(id_set)
        docs = BUILDERS[entity_type](conn, ids)
        write_docs(conn, docs)
        found = {d["entity_id"] for d in docs}
        gone += [(entity_type, i) for i in ids if i not in found]
    _delete(conn, gone)


def prune(conn: Connection) -> None:
    """Delete documents whose entity is gone (after a project or experiment deletion,
    whose runs went with it)."""
    tables = {"project": P, "experiment": E, "run": R, "note": N}
    for entity_type, table in tables.items():
        stale = select(SD.c.id).where(
            SD.c.entity_type == entity_type,
            ~select(table.c.id).where(table.c.id == SD.c.entity_id).exists(),
        )
        conn.execute(delete(SDT).where(SDT.c.doc_id.in_(stale)))
        conn.execute(delete(SD).where(SD.c.id.in_(stale)))
    # notebooks whose run is gone: their id is "<run id>/<artifact>"
    runs = {r for (r,) in conn.execute(select(R.c.id))}
    orphans = [
        (t, i)
        for t, i in conn.execute(
            select(SD.c.entity_type, SD.c.entity_id).where(SD.c.entity_type == "notebook")
        )
        if i.split("/", 1)[0] not in runs
    ]
    _delete(conn, orphans)


# -- marking in the writers' transactions -----------------------------------------------------
def mark(
    conn: Connection, action: str, entity_type: str, entity_id: str, details: dict | None = None
) -> None:
    """Remember that ``entity_type``/``entity_id`` changed (called by ``audit``)."""
    if entity_type not in BUILDERS or action in SKIPPED_ACTIONS:
        return
    if action == "run.log" and not (
        isinstance(details, dict) and (details.get("params") or details.get("tags"))
    ):
        return  # metric points: the hot path of logging, and nothing a search shows
    pending = conn.info.setdefault(db.PENDING_KEY, {}).setdefault("search", set())
    pending.add((entity_type, entity_id))
    if action == "run.delete":
        pending.add(("_run_notebooks", entity_id))
    elif entity_type in ("project", "experiment") and action.endswith("delete"):
        pending.add(("_prune", ""))


def flush(conn: Connection) -> None:
    """Before commit: rebuild the marked documents (``store.db.BEFORE_COMMIT`` hook)."""
    pending = conn.info.get(db.PENDING_KEY, {}).pop("search", None)
    if not pending:
        return
    try:
        with conn.begin_nested():
            update(conn, pending)
    except Exception:  # never fail the user's write for its search document
        log.exception("LabCycle search: could not update the index for %s", sorted(pending)[:10])


if mark not in db.ON_AUDIT:
    db.ON_AUDIT.append(mark)
if flush not in db.BEFORE_COMMIT:
    db.BEFORE_COMMIT.append(flush)


# -- full rebuild -----------------------------------------------------------------------------
def reindex_all(conn: Connection, blobs: Any = None) -> dict[str, int]:
    """Rebuild every document (inside ``conn``'s write transaction); counts per type."""
    conn.execute(delete(SDT))
    conn.execute(delete(SD))
    counts: dict[str, int] = {}
    for entity_type, builder in BUILDERS.items():
        docs = builder(conn, None)
        write_docs(conn, docs)
        counts[entity_type] = len(docs)
    counts["notebook"] = 0
    if blobs is not None:
        rows = conn.execute(
            select(A.c.run_id, A.c.path, A.c.digest, A.c.size, A.c.created_at).where(
                A.c.path.in_(NOTEBOOK_ARTIFACTS)
            )
        ).all()
        docs = []
        for r in rows:
            if r.size > MAX_NOTEBOOK_BYTES:
                continue
            try:
                content = blobs.read_bytes(r.digest)
            except (OSError, FileNotFoundError):
                continue
            doc = notebook_doc(conn, r.run_id, r.path, content, r.created_at)
            if doc:
                docs.append(doc)
            if len(docs) >= _CHUNK:
                write_docs(conn, docs)
                counts["notebook"] += len(docs)
                docs = []
        write_docs(conn, docs)
        counts["notebook"] += len(docs)
    set_state(conn, "built", str(_now()))
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
    return counts


def set_state(conn: Connection, key: str, value: str) -> None:
    stmt = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(SS)
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value}),
        {"key": key, "value": value},
    )


def get_state(conn: Connection, key: str) -> str | None:
    return conn.execute(select(SS.c.value).where(SS.c.key == key)).scalar()


# -- notes as entities (services/entities.py resolves "note" references through this) ---------
def _resolve_notes(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for chunk in _chunks(ids):
        for r in conn.execute(select(N.c.id, N.c.body, N.c.project_id).where(N.c.id.in_(chunk))):
            out[r.id] = {"title": note_title(r.body), "project_id": r.project_id}
    return out


def _register_note_resolver() -> None:
    from . import entities

    entities.register_resolver("note", _resolve_notes)


_register_note_resolver()

__all__ = ["SEARCH_TYPES", "flush", "index_notebook", "mark", "reindex_all", "update", "write_docs"]
