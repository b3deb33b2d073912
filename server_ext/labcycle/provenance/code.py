"""Local code of a run: the project's own ``.py`` modules that the notebook imported.

When a run ends, every module in ``sys.modules`` whose ``.py`` file lies under the
notebook's folder, the working directory or the git repository root, and not in the
standard library, site-packages or the Python environment (nor LabCycle itself), is
stored as an artifact ``code/<path relative to that folder>``. A project package
installed in editable mode from that repository counts as local code: it is.
A notebook that does ``from helpers import clean`` thus keeps the ``helpers.py`` it ran
with, even after the file changes; reproduce puts those files back next to the notebook.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

CODE_PREFIX = "code/"
MAX_FILES = 200
MAX_FILE_BYTES = 2_000_000


def _git_root(folder: Path) -> Path | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    top = done.stdout.strip()
    return Path(top).resolve() if done.returncode == 0 and top else None


def _excluded_roots() -> list[Path]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(KeyError):
            paths.add(sysconfig.get_path(name))
    out = []
    for p in paths:
        if p:
            try:
                out.append(Path(p).resolve())
            except OSError:
                continue
    return out


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def capture_roots(
    notebook_path: str | os.PathLike | None = None, cwd: str | os.PathLike | None = None
) -> list[Path]:
    """The folders whose modules count as the run's own code, most specific first."""
    roots: list[Path] = []
    if notebook_path:
        roots.append(Path(notebook_path).expanduser().resolve().parent)
    roots.append(Path(cwd or os.getcwd()).resolve())
    for folder in list(roots):
        top = _git_root(folder) if folder.is_dir() else None
        if top is not None:
            roots.append(top)
    unique: list[Path] = []
    for root in roots:
        # "/" or the home folder as a root would sweep up far too much
        if (
            root.is_dir()
            and root not in unique
            and root != Path(root.anchor)
            and root != Path.home().resolve()
        ):
            unique.append(root)
    return unique


def local_modules(
    notebook_path: str | os.PathLike | None = None,
    cwd: str | os.PathLike | None = None,
    modules: dict[str, Any] | None = None,
) -> list[tuple[str, Path]]:
    """``[(relative path, file)]`` of the local modules in ``modules`` (``sys.modules``)."""
    roots = capture_roots(notebook_path, cwd)
    if not roots:
        return []
    excluded = _excluded_roots()
    own = Path(__file__).resolve().parents[1]  # the labcycle package itself
    candidates: dict[str, tuple[str, Path]] = {}
    for name, module in list((modules if modules is not None else sys.modules).items()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or not file.endswith(".py"):
            continue
        try:
            path = Path(file).resolve()
        except OSError:
            continue
        if "site-packages" in path.parts or "dist-packages" in path.parts:
            continue
        if _inside(path, own) or any(_inside(path, ex) for ex in excluded):
            continue
        for root in roots:
            if _inside(path, root):
                if path.is_file():
                    candidates.setdefault(path.relative_to(root).as_posix(), (name, path))
                break
    return sorted((rel, path) for rel, (_, path) in candidates.items())[:MAX_FILES]


def capture_local_code(
    transport: Any, run_id: str, notebook_path: str | None = None, cwd: str | None = None
) -> list[str]:
    """Upload the run's local modules as ``code/<path>`` artifacts; returns their paths."""
    stored = []
    for relative, path in local_modules(notebook_path, cwd):
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            transport.upload_artifact(run_id, CODE_PREFIX + relative, path)
            stored.append(CODE_PREFIX + relative)
        except Exception as exc:  # one unreadable file must not end the others
            print(f"LabCycle: could not store local module {relative}: {exc}", file=sys.stderr)
    return stored
