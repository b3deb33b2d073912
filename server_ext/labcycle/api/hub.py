"""The Python API of the hub's search and notes: ``lc.search``, ``lc.add_note``, ``lc.notes``.

Same transport as the rest of ``lc``: REST in a kernel of a Jupyter server with LabCycle,
the local store elsewhere::

    lc.search("churn")                                   # ranked hits as a DataFrame
    lc.search("xgboost", type="run", tag="team=growth", since="2026-11-01")
    note = lc.add_note("Baseline to beat, @bob", entity=("run", run_id))
    lc.add_note("Why drop these rows?", anchor={"run_id": run_id, "cell_id": "a1b2"})
    lc.notes(mentioned="bob")
"""

from __future__ import annotations

from typing import Any

from .fluent import current_transport

__all__ = ["add_note", "delete_note", "edit_note", "notes", "search"]


def _ref(entity: Any) -> dict[str, str] | None:
    if entity is None or isinstance(entity, dict):
        return entity
    if isinstance(entity, (tuple, list)) and len(entity) == 2:
        return {"type": entity[0], "id": entity[1]}
    if isinstance(entity, str) and ":" in entity:
        entity_type, entity_id = entity.split(":", 1)
        return {"type": entity_type, "id": entity_id}
    raise TypeError('entity must be {"type", "id"}, a (type, id) pair or "type:id"')


def search(
    q: str = "",
    *,
    type: str | list[str] | None = None,
    user: str | None = None,
    tag: str | None = None,
    project: str | None = None,
    since: Any = None,
    until: Any = None,
    max_results: int = 50,
) -> Any:
    """Full-text search across the hub; one row per hit, best first.

    Parameters
    ----------
    q : str
        Words (prefix-matched; more matching words rank higher), ``"a phrase"``,
        ``-excluded``. Empty: everything that passes the filters, newest first.
    type : str or list of str, optional
        project, experiment, run, notebook, note, model, model_version, dataset,
        deployment, monitor.
    user : str, optional
        Owner: the creator, the run's user or the note's author.
    tag : str, optional
        ``"key"`` or ``"key=value"``.
    project : str, optional
        Project id or name.
    since, until : str or int, optional
        ISO date / date-time or epoch milliseconds, on the last update.
    max_results : int
        At most this many rows (1-1000).

    Returns
    -------
    pandas.DataFrame
        Columns type, id, title, snippet (HTML with ``<mark>``), score, project,
        project_id, owner, status, updated_at, url.
    """
    import pandas as pd

    types = ",".join(type) if isinstance(type, (list, tuple)) else type
    params = {
        "q": q,
        "type": types,
        "user": user,
        "tag": tag,
        "project": project,
        "since": since,
        "until": until,
        "max_results": max_results,
    }
    result = current_transport().hub.search(**params)
    columns = [
        "type",
        "id",
        "title",
        "snippet",
        "score",
        "project",
        "project_id",
        "owner",
        "status",
        "updated_at",
        "url",
    ]
    frame = pd.DataFrame(result["items"], columns=columns if not result["items"] else None)
    if not frame.empty:
        frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True, format="ISO8601")
    return frame


def add_note(
    body: str,
    *,
    entity: Any = None,
    parent_id: str | None = None,
    anchor: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write a Markdown note on ``entity`` (``("run", id)``, ``"model:churn-id"``...), a reply
    to ``parent_id``, or a note anchored on a notebook cell (``anchor={"run_id", "cell_id"}``)."""
    fields = {"body": body, "entity": _ref(entity), "parent_id": parent_id, "anchor": anchor}
    fields = {k: v for k, v in fields.items() if v is not None}
    return current_transport().hub.create_note(**fields)


def notes(
    entity: Any = None,
    *,
    author: str | None = None,
    mentioned: str | None = None,
    parent_id: str | None = None,
    max_results: int = 1000,
) -> list[dict[str, Any]]:
    """Notes oldest first, on ``entity`` and/or by ``author`` / mentioning ``mentioned``."""
    ref = _ref(entity) or {}
    params = {
        "entity_type": ref.get("type"),
        "entity_id": ref.get("id"),
        "author": author,
        "mentioned": mentioned,
        "parent_id": parent_id,
        "max_results": max_results,
    }
    params = {k: v for k, v in params.items() if v is not None}
    return current_transport().hub.notes(**params)["items"]


def edit_note(note_id: str, body: str) -> dict[str, Any]:
    """Change a note's Markdown (its author only)."""
    return current_transport().hub.update_note(note_id, body)


def delete_note(note_id: str) -> None:
    """Delete a note and its replies (its author only)."""
    current_transport().hub.delete_note(note_id)
