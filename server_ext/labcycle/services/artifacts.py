"""Run artifacts, cell executions and the notebook snapshot."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from typing import Any, BinaryIO

from sqlalchemy import Connection, delete, func, insert, select, update

from ..errors import InvalidInput, NotFound
from ..store import ArtifactStore, Store
from ..store.artifacts import validate_artifact_path
from ..store.models import Artifact, CellExecution, Run
from . import search_index
from .common import audit, iso, now_ms, to_int, validate_id
from .ownership import readable

A, C, R = Artifact.__table__, CellExecution.__table__, Run.__table__
NOTEBOOK_ARTIFACT = "notebook.ipynb"
MAX_CELLS_PER_BATCH = 10_000


def artifact_dict(row: Any) -> dict[str, Any]:
    return {
        "run_id": row.run_id,
        "path": row.path,
        "digest": row.digest,
        "size": row.size,
        "media_type": row.media_type,
        "created_at": iso(row.created_at),
    }


def _guess_media_type(path: str) -> str:
    if path.endswith(".ipynb"):
        return "application/x-ipynb+json"
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def out_of_order(executed: list[dict[str, Any]], notebook: dict) -> bool | None:
    """True when cells ran in an order other than top to bottom.

    Each executed cell is placed in the saved notebook by its cell id (JupyterLab sends
    one) or, failing that, by identical source; a step backwards from one executed cell
    to the next means later numbers may depend on state that a fresh top-to-bottom run
    would not have. None when no executed cell can be placed.
    """
    cells = notebook.get("cells", [])
    by_id: dict[Any, int] = {cell.get("id"): i for i, cell in enumerate(cells) if cell.get("id")}
    by_source: dict[Any, int] = {}
    for i, cell in enumerate(cells):
        source = cell.get("source", "")
        by_source.setdefault("".join(source) if isinstance(source, list) else source, i)
    seen = []
    for cell in executed:
        position = by_id.get(cell.get("cell_id"))
        if position is None:
            position = by_source.get(cell.get("source"))
        if position is not None:
            seen.append(position)
    if not seen:
        return None
    return any(b < a for a, b in zip(seen, seen[1:], strict=False))


def _storable(text: str) -> str:
    """Captured text as a store can hold it: a lone UTF-16 surrogate (which no encoder
    takes) is kept visible as its escape, so the cell is recorded rather than refused."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode()
    return text


class ArtifactService:
    def __init__(self, store: Store, blobs: ArtifactStore) -> None:
        self.store = store
        self.blobs = blobs

    def _require_run(self, conn: Connection, run_id: str) -> None:
        if not conn.execute(
            select(R.c.id).where(
                R.c.id == validate_id(run_id, "run_id"), readable(conn, "run", R.c.id)
            )
        ).first():
            raise NotFound(f"No run with id {run_id!r}.", field="run_id")

    def _record(
        self, run_id: str, path: str, digest: str, size: int, media_type: str | None, actor: str
    ) -> dict[str, Any]:
        media_type = media_type or _guess_media_type(path)
        with self.store.write() as conn:
            self._require_run(conn, run_id)
            previous = conn.execute(
                select(A.c.digest).where(A.c.run_id == run_id, A.c.path == path)
            ).scalar()
            conn.execute(delete(A).where(A.c.run_id == run_id, A.c.path == path))
            conn.execute(
                insert(A).values(
                    run_id=run_id,
                    path=path,
                    digest=digest,
                    size=size,
                    media_type=media_type,
                    created_at=now_ms(),
                )
            )
            audit(
                conn,
                actor,
                "artifact.put",
                "run",
                run_id,
                {"path": path, "digest": digest, "size": size, "replaced": previous},
            )
            if path in search_index.NOTEBOOK_ARTIFACTS:  # a notebook snapshot: make it searchable
                search_index.index_notebook(conn, run_id, path, self.blobs, digest, size)
            row = conn.execute(select(A).where(A.c.run_id == run_id, A.c.path == path)).one()
        return artifact_dict(row)

    def log_file(
        self, run_id: str, path: str, local_file: str, *, actor: str, media_type: str | None = None
    ) -> dict[str, Any]:
        path = validate_artifact_path(path)
        digest, size = self.blobs.put_file(local_file)
        return self._record(run_id, path, digest, size, media_type, actor)

    def log_bytes(
        self, run_id: str, path: str, data: bytes, *, actor: str, media_type: str | None = None
    ) -> dict[str, Any]:
        path = validate_artifact_path(path)
        digest, size = self.blobs.put_bytes(data)
        return self._record(run_id, path, digest, size, media_type, actor)

    def log_stream(
        self, run_id: str, path: str, stream: BinaryIO, *, actor: str, media_type: str | None = None
    ) -> dict[str, Any]:
        path = validate_artifact_path(path)
        digest, size = self.blobs.put_stream(stream)
        return self._record(run_id, path, digest, size, media_type, actor)

    def record_blob(
        self,
        run_id: str,
        path: str,
        digest: str,
        size: int,
        *,
        actor: str,
        media_type: str | None = None,
    ) -> dict[str, Any]:
        """Attach a blob that is already in the store (uploaded by a streaming handler)."""
        path = validate_artifact_path(path)
        if not self.blobs.exists(digest):
            raise NotFound(f"The blob {digest} is not in the artifact store.")
        return self._record(run_id, path, digest, size, media_type, actor)

    def list_artifacts(self, run_id: str) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            self._require_run(conn, run_id)
            rows = conn.execute(select(A).where(A.c.run_id == run_id).order_by(A.c.path)).all()
        return [artifact_dict(r) for r in rows]

    def get_artifact(self, run_id: str, path: str) -> dict[str, Any]:
        validate_id(run_id, "run_id")
        path = validate_artifact_path(path)
        with self.store.read() as conn:
            row = conn.execute(
                select(A).where(
                    A.c.run_id == run_id, A.c.path == path, readable(conn, "run", A.c.run_id)
                )
            ).first()
        if row is None:
            raise NotFound(f"Run {run_id} has no artifact {path!r}.")
        return artifact_dict(row)

    def open_artifact(self, run_id: str, path: str) -> tuple[dict[str, Any], Iterator[bytes]]:
        meta = self.get_artifact(run_id, path)
        return meta, self.blobs.iter_chunks(meta["digest"])

    def read_artifact(self, run_id: str, path: str) -> bytes:
        return self.blobs.read_bytes(self.get_artifact(run_id, path)["digest"])

    # -- cells and the notebook -----------------------------------------------------------
    def log_cells(self, run_id: str, cells: list, *, actor: str) -> int:
        if not isinstance(cells, list):
            raise InvalidInput("cells must be a list.", field="cells")
        if len(cells) > MAX_CELLS_PER_BATCH:
            raise InvalidInput(f"At most {MAX_CELLS_PER_BATCH} cells per batch.", field="cells")
        rows = []
        for i, cell in enumerate(cells):
            if not isinstance(cell, dict):
                raise InvalidInput(f"cells[{i}] must be an object.", field=f"cells[{i}]")
            source = cell.get("source", "")
            status = cell.get("status", "ok")
            if not isinstance(source, str):
                raise InvalidInput(
                    f"cells[{i}].source must be a string.", field=f"cells[{i}].source"
                )
            if status not in ("ok", "error"):
                raise InvalidInput(
                    f"cells[{i}].status must be 'ok' or 'error'.", field=f"cells[{i}].status"
                )
            duration = cell.get("duration_ms", 0)
            if isinstance(duration, bool) or not isinstance(duration, (int, float)):
                raise InvalidInput(
                    f"cells[{i}].duration_ms must be a number.", field=f"cells[{i}].duration_ms"
                )
            count = cell.get("execution_count")
            rows.append(
                {
                    "execution_count": None
                    if count is None
                    else to_int(count, f"cells[{i}].execution_count"),
                    "cell_id": _storable(cell["cell_id"])
                    if isinstance(cell.get("cell_id"), str)
                    else None,
                    "source": _storable(source),
                    "started_at": to_int(
                        cell.get("started_at"), f"cells[{i}].started_at", now_ms()
                    ),
                    "duration_ms": float(duration),
                    "status": status,
                    "error": _storable(str(cell["error"])) if cell.get("error") else None,
                }
            )
        if not rows:
            return 0
        with self.store.write() as conn:
            self._require_run(conn, run_id)
            seq = conn.execute(
                select(func.coalesce(func.max(C.c.seq), 0)).where(C.c.run_id == run_id)
            ).scalar_one()
            for offset, row in enumerate(rows, start=1):
                row.update(run_id=run_id, seq=seq + offset)
            conn.execute(insert(C), rows)
            audit(conn, actor, "run.cells", "run", run_id, {"cells": len(rows)})
        return len(rows)

    def list_cells(self, run_id: str) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            self._require_run(conn, run_id)
            rows = conn.execute(select(C).where(C.c.run_id == run_id).order_by(C.c.seq)).all()
        return [
            {
                "seq": r.seq,
                "execution_count": r.execution_count,
                "cell_id": r.cell_id,
                "source": r.source,
                "started_at": iso(r.started_at),
                "duration_ms": r.duration_ms,
                "status": r.status,
                "error": r.error,
            }
            for r in rows
        ]

    def attach_notebook(
        self, run_id: str, content: bytes, *, actor: str, name: str = NOTEBOOK_ARTIFACT
    ) -> dict[str, Any]:
        """Store the notebook snapshot and flag the run if its cells ran out of order."""
        try:
            notebook = json.loads(content)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput(
                "The notebook snapshot is not valid JSON.", field="notebook"
            ) from None
        if not isinstance(notebook, dict) or "cells" not in notebook:
            raise InvalidInput("The notebook snapshot has no cells.", field="notebook")
        artifact = self.log_bytes(
            run_id, name, content, actor=actor, media_type="application/x-ipynb+json"
        )
        flag = out_of_order(self.list_cells(run_id), notebook)
        with self.store.write() as conn:
            conn.execute(
                update(R).where(R.c.id == run_id).values(out_of_order=flag, updated_at=now_ms())
            )
        return artifact
