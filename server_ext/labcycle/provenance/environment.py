"""What a run records about where it ran: Python, packages, git."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

MAX_DIFF_BYTES = 1_000_000


def python_version() -> str:
    return platform.python_version()


_packages_cache: tuple[tuple, dict[str, str]] | None = None


def _package_folders_state() -> tuple:
    """The modification times of the folders on sys.path: installing or removing a
    package changes its folder's, so a cached package list is known to be stale."""
    state: list[tuple[str, int | None]] = []
    for entry in sys.path:
        try:
            state.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            state.append((entry, None))
    return tuple(state)


def installed_packages() -> dict[str, str]:
    """Name → version of every installed distribution (reading them all takes ~0.3 s, so
    the list is kept until a folder on sys.path changes)."""
    global _packages_cache
    state = _package_folders_state()
    if _packages_cache is not None and _packages_cache[0] == state:
        return dict(_packages_cache[1])
    packages = {}
    for dist in metadata.distributions():
        # typeshed's PackageMetadata protocol has no get(); the object is an email Message
        name = dist.metadata.get("Name")  # type: ignore[attr-defined]
        if name:
            packages[name.lower()] = dist.version
    result = dict(sorted(packages.items()))
    _packages_cache = (state, result)
    return dict(result)


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def git_info(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Remote, commit, branch and uncommitted diff of the repository holding ``path``."""
    folder = Path(path or os.getcwd())
    if folder.is_file():
        folder = folder.parent
    commit = _git(["rev-parse", "HEAD"], folder)
    if commit is None:
        return {}
    branch = (_git(["rev-parse", "--abbrev-ref", "HEAD"], folder) or "").strip() or None
    remote = (_git(["config", "--get", "remote.origin.url"], folder) or "").strip() or None
    diff = _git(["diff", "HEAD"], folder) or ""
    status = _git(["status", "--porcelain"], folder) or ""
    if len(diff.encode()) > MAX_DIFF_BYTES:
        diff = diff.encode()[:MAX_DIFF_BYTES].decode(errors="ignore") + "\n[diff truncated]\n"
    return {
        "remote": remote,
        "commit": commit.strip(),
        "branch": branch,
        "dirty": bool(status.strip()),
        "diff": diff or None,
    }
