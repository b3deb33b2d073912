"""A saved model's files logged as artifacts of a run, through the service layer; shared by
the suites (``from model_files import log_model_files``)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any


def log_model_files(
    svc: Any, run_id: str, model: Any, *, prefix: str = "staged", actor: str = "alice", **save: Any
) -> None:
    """Save ``model`` with ``save_model_dir(model, folder, **save)`` and log every file of the
    folder as artifact ``{prefix}/{relative path}`` of run ``run_id``; ready for
    ``registry.create_version(..., source_path=prefix)``."""
    from labcycle.models import save_model_dir

    folder = Path(tempfile.mkdtemp()) / "model"
    try:
        save_model_dir(model, folder, **save)
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                svc.artifacts.log_file(
                    run_id,
                    f"{prefix}/{path.relative_to(folder).as_posix()}",
                    str(path),
                    actor=actor,
                )
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)
