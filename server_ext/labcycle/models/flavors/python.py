"""A generic Python model: any object (or class) with ``predict``, plus its code files.

The code files (``code_paths``: files or folders) are copied into the model under
``code/``; at load time that copy is put first on ``sys.path`` and the object is rebuilt
from it (a class is instantiated without arguments; an instance is restored with
cloudpickle, so classes defined in a notebook travel by value). Both import user code,
so this flavor, like pickle, needs ``trusted=True`` at log and at load time.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path
from typing import Any

from ...errors import Forbidden, InvalidInput
from .base import Flavor

CODE_DIR = "code"
OBJECT_FILE = "model.cloudpickle"


class PythonFlavor(Flavor):
    requires_trust = True
    packages = ("cloudpickle", "numpy", "pandas")

    @classmethod
    def can_handle(cls, model: Any) -> bool:
        return callable(getattr(model, "predict", None))

    def save(
        self, model: Any, folder: Path, *, code_paths: list | None = None, **options: Any
    ) -> dict[str, Any]:
        if not callable(getattr(model, "predict", None)):
            raise InvalidInput("A python-flavor model needs a predict() method.", field="model")
        code = folder / CODE_DIR
        code.mkdir()
        copied = []
        for i, item in enumerate(code_paths or []):
            source = Path(item)
            if source.is_file():
                shutil.copy2(source, code / source.name)
            elif source.is_dir():
                shutil.copytree(
                    source,
                    code / source.name,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                )
            else:
                raise InvalidInput(
                    f"code_paths[{i}] {str(item)!r} is not a file or folder.",
                    field=f"code_paths[{i}]",
                )
            copied.append(source.name)
        if isinstance(model, type):
            return {"class": f"{model.__module__}:{model.__qualname__}", "code": copied}
        import cloudpickle

        with open(folder / OBJECT_FILE, "wb") as fh:
            cloudpickle.dump(model, fh)
        return {"object": OBJECT_FILE, "code": copied}

    def load(self, folder: Path, options: dict[str, Any], *, trusted: bool) -> Any:
        if not trusted:
            raise Forbidden(
                "A python-flavor model imports and runs its code files when it is loaded, so "
                "LabCycle loads it only with trusted=True (recorded in the audit log).",
                flavor="python",
            )
        code = str((folder / CODE_DIR).resolve())
        if code not in sys.path:
            sys.path.insert(0, code)
        importlib.invalidate_caches()
        if "class" in options:
            module_name, _, qualname = options["class"].partition(":")
            obj: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                obj = getattr(obj, part)
            return obj()
        import pickle

        with open(folder / options.get("object", OBJECT_FILE), "rb") as fh:
            return pickle.load(fh)  # only ever reached with trusted=True
