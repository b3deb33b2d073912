"""Paths that users give: kept inside the server's contents root, notebooks checked at submit.

Every notebook path and working folder of a job, a sweep or a schedule goes through
:func:`job_paths` (called by :class:`~labcycle.services.jobs.JobService`, so the REST API,
the CLI, the Python API, sweeps and schedules share the one check); a folder to import as
a project goes through :func:`resolve_under`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import InvalidInput

#: a notebook larger than this is not parsed at submit (papermill would read it anyway)
MAX_CHECKED_NOTEBOOK_BYTES = 256 * 1024**2


def resolve_under(root: str, path: Any, field: str = "path") -> tuple[Path, str]:
    """``path`` (relative to ``root``, or absolute inside it) resolved, symlinks included; a
    path that leaves ``root`` in any way is refused. Returns the path and its relative form."""
    if not root:
        raise InvalidInput("The server has no contents root to resolve paths in.", field=field)
    if path is None:
        path = ""
    if not isinstance(path, str) or len(path) > 4096 or any(ord(c) < 32 for c in path):
        raise InvalidInput(
            f"{field} must be a path under the server's root, without control characters.",
            field=field,
        )
    base = Path(root).expanduser().resolve()
    candidate = Path(path)
    if any(part == ".." for part in candidate.parts):
        raise InvalidInput(
            f"{field} {path!r} may not contain '..': give a path under the server's root.",
            field=field,
        )
    target = candidate if candidate.is_absolute() else base / candidate
    try:
        resolved = target.resolve()
        relative = resolved.relative_to(base)
    except (ValueError, OSError, RuntimeError):
        raise InvalidInput(
            f"{field} {path!r} is outside the server's contents root; give a "
            "path under it (relative paths start at the root).",
            field=field,
        ) from None
    return resolved, "" if str(relative) == "." else relative.as_posix()


def is_inside(path: Path, base: Path) -> bool:
    """Whether ``path``, symlinks resolved, is ``base`` or below it."""
    try:
        path.resolve().relative_to(base)
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def check_notebook_file(path: str, field: str = "notebook") -> None:
    """A 400 unless ``path`` is a readable notebook: JSON with a list of cells, nbformat 4."""
    try:
        size = os.stat(path).st_size
    except OSError:
        raise InvalidInput(f"No notebook at {path}.", field=field) from None
    if not os.path.isfile(path):
        raise InvalidInput(f"{path} is not a file.", field=field)
    if size > MAX_CHECKED_NOTEBOOK_BYTES:
        return
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read())
    except (OSError, ValueError, RecursionError) as exc:
        raise InvalidInput(
            f"{path} is not a valid notebook: its JSON cannot be read ({exc}). "
            "Open and save it in JupyterLab to repair it.",
            field=field,
        ) from None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise InvalidInput(
            f"{path} is not a valid notebook: it needs a list of cells (nbformat 4).", field=field
        )
    major = data.get("nbformat")
    if not isinstance(major, int) or isinstance(major, bool) or major != 4:
        raise InvalidInput(
            f"{path} is not a valid notebook: nbformat {major!r}, papermill needs "
            "4 (save it with JupyterLab 3 or later).",
            field=field,
        )


def job_paths(
    root: str | None, notebook: str, cwd: str | None, git_ref: str | None, prefix: str = ""
) -> tuple[str, str | None]:
    """The notebook and working folder a job runs with, checked.

    With a contents ``root`` (the Jupyter server's), both must stay inside it: relative
    paths start at the root, and absolute paths and symlinks that leave it are refused.
    Without one (the CLI and the local Python API act as the user on their own files),
    relative notebooks start at ``cwd``. Unless the notebook comes from a ``git_ref``,
    it must exist and be a valid notebook now, not when the job runs. ``prefix`` names the
    fields inside a schedule's payload (``payload.``).
    """
    nb_field, cwd_field = f"{prefix}notebook", f"{prefix}cwd"
    if not isinstance(notebook, str) or not notebook.strip().endswith(".ipynb"):
        raise InvalidInput(f"{nb_field} must be the path of a .ipynb file.", field=nb_field)
    if root:
        if cwd is not None:
            cwd = str(resolve_under(root, cwd, cwd_field)[0])
        if git_ref:
            # The notebook is a path inside the repository; the repository is found from cwd.
            cwd = cwd or str(Path(root).expanduser().resolve())
            if Path(notebook).is_absolute():
                notebook = str(resolve_under(root, notebook, nb_field)[0])
            elif ".." in Path(notebook).parts:
                raise InvalidInput(f"{nb_field} may not contain '..'.", field=nb_field)
        else:
            notebook = str(resolve_under(root, notebook, nb_field)[0])
    if not git_ref:
        on_disk = (
            notebook if os.path.isabs(notebook) else os.path.join(cwd or os.getcwd(), notebook)
        )
        check_notebook_file(on_disk, nb_field)
    return notebook, cwd


def folder_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The regular files under ``folder``, sorted, and the links left out.

    A symlink is kept only when its target, fully resolved, is a file inside ``folder``: a
    link to ``/etc/passwd`` or into a sibling folder is not followed (it is listed in the
    second list instead). Linked folders are not descended into.
    """
    base = folder.resolve()
    files, skipped = [], []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            if is_inside(path, base) and path.resolve().is_file():
                files.append(path)
            else:
                skipped.append(path)
        elif path.is_file():
            files.append(path)
    return files, skipped
