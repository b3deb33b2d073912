"""What a job carries to a worker that shares no disk with the submitter.

A cluster executor packs, where the job was submitted, the notebook's content and the
local modules it imports (the ``.py`` files and packages in the kernel's folder that the
notebook's code cells import, and what those import in turn), plus the notebook's git
information. The worker unpacks them into a fresh folder, which becomes the kernel's
working directory; the job's run still names the notebook's original path.

Data files are not carried: a job on a cluster reads its data from object storage or a
database (or from a folder every worker mounts).
"""

from __future__ import annotations

import ast
import base64
import json
import os
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import InvalidInput
from ..provenance.code import MAX_FILE_BYTES, MAX_FILES

#: the whole bundle travels in the task's arguments: keep it well below a scheduler's limits
MAX_BUNDLE_BYTES = 32_000_000
MANIFEST = "labcycle-bundle.json"
_SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints", "node_modules", "site-packages"}


def _cell_sources(notebook: dict[str, Any]) -> list[str]:
    out = []
    for cell in notebook.get("cells") or []:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        out.append("".join(source) if isinstance(source, list) else str(source))
    return out


def _python(source: str) -> str:
    """A cell as plain Python (magics and shell escapes turned into calls)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # a cell IPython cannot read imports nothing we can see
        return source


def imported_names(source: str) -> set[str]:
    """Top-level module names that ``source`` imports absolutely (``import a.b`` → ``a``)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("run_line_magic", "run_cell_magic")
        ):
            # ``%time import helpers``, ``%%timeit`` cells: the magic's code is a string
            for arg in node.args[1:]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    names |= imported_names(arg.value)
    return names


def _package_files(folder: Path) -> list[Path]:
    files: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        files.extend(Path(root) / n for n in sorted(names) if n.endswith(".py"))
    return files


def local_imports(sources: list[str], folder: Path) -> list[Path]:
    """The files under ``folder`` of the local modules ``sources`` import, transitively."""
    found: dict[Path, None] = {}
    queue = [name for source in sources for name in sorted(imported_names(_python(source)))]
    seen: set[str] = set()
    while queue:
        name = queue.pop(0)
        if name in seen or not name.isidentifier():
            continue
        seen.add(name)
        module, package = folder / f"{name}.py", folder / name
        if module.is_file():
            new = [module]
        elif package.is_dir():
            new = _package_files(package)
        else:
            continue  # installed, standard library, or not there: the worker has its own
        for path in new:
            if path not in found:
                found[path] = None
                try:
                    queue.extend(sorted(imported_names(path.read_text(errors="replace"))))
                except OSError:
                    continue
    return list(found)


def _encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def pack(notebook: Path, cwd: Path, git: dict[str, Any] | None = None) -> dict[str, Any]:
    """The bundle of a job whose notebook is ``notebook`` and whose kernel runs in ``cwd``.

    Raises
    ------
    InvalidInput
        The notebook is unreadable, or its modules exceed the bundle's limits.
    """
    try:
        content = notebook.read_bytes()
        document = json.loads(content)
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            f"The notebook {notebook} cannot be read: {exc}.", field="notebook"
        ) from None
    try:
        relative = notebook.resolve().relative_to(cwd.resolve()).as_posix()
    except ValueError:  # a notebook outside the kernel's folder sits at the bundle's top
        relative = notebook.name
    files = {relative: _encode(content)}
    total = len(content)
    for path in local_imports(_cell_sources(document), cwd):
        rel = path.relative_to(cwd).as_posix()
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InvalidInput(
                f"The local module {rel} is larger than {MAX_FILE_BYTES} bytes; "
                "a job on a cluster carries at most that per module.",
                field="notebook",
            )
        total += size
        if len(files) > MAX_FILES or total > MAX_BUNDLE_BYTES:
            raise InvalidInput(
                f"The notebook's local modules are more than {MAX_FILES} files or "
                f"{MAX_BUNDLE_BYTES // 1_000_000} MB; install them as a package on the "
                "workers instead.",
                field="notebook",
            )
        files[rel] = _encode(path.read_bytes())
    return {"notebook": relative, "files": files, "git": git}


def unpack(bundle: dict[str, Any], folder: Path) -> Path:
    """Write ``bundle`` into ``folder`` (with its manifest); returns the notebook's path."""
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    for relative, data in bundle["files"].items():
        target = _inside(root, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(data))
    (folder / MANIFEST).write_text(
        json.dumps({"notebook": bundle["notebook"], "git": bundle.get("git")})
    )
    return _inside(root, bundle["notebook"])


def read_manifest(folder: Path) -> tuple[Path, dict[str, Any] | None]:
    """The notebook path and git information of a folder :func:`unpack` wrote."""
    manifest = json.loads((folder / MANIFEST).read_text())
    return _inside(folder.resolve(), manifest["notebook"]), manifest.get("git")


def _inside(root: Path, relative: str) -> Path:
    """``root/relative``, refused when ``relative`` would leave ``root``."""
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or ".." in parts:
        raise InvalidInput(
            f"The job bundle names a path outside its folder: {relative!r}.", field="bundle"
        )
    target = (root / Path(*parts)).resolve()
    if root not in target.parents:
        raise InvalidInput(
            f"The job bundle names a path outside its folder: {relative!r}.", field="bundle"
        )
    return target
