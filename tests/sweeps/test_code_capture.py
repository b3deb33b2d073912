"""Which modules count as a run's local code."""

from __future__ import annotations

import json
import sys
import types

import pytest

from labcycle.provenance.code import capture_local_code, local_modules


def _module(name: str, file: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = file
    return module


def test_local_modules_are_the_projects_own_py_files(tmp_path):
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "helpers.py").write_text("X = 1\n")
    (project / "pkg" / "__init__.py").write_text("")
    (project / "pkg" / "feats.py").write_text("Y = 2\n")
    (project / "native.so").write_text("")
    elsewhere = tmp_path / "elsewhere.py"
    elsewhere.write_text("")
    modules = {
        "helpers": _module("helpers", str(project / "helpers.py")),
        "pkg": _module("pkg", str(project / "pkg" / "__init__.py")),
        "pkg.feats": _module("pkg.feats", str(project / "pkg" / "feats.py")),
        "native": _module("native", str(project / "native.so")),
        "elsewhere": _module("elsewhere", str(elsewhere)),
        "json": json,  # the standard library
        "pytest": pytest,  # site-packages
        "labcycle": sys.modules["labcycle"],  # LabCycle itself
        "builtin": types.ModuleType("builtin"),  # no file
    }
    found = local_modules(notebook_path=project / "train.ipynb", cwd=project, modules=modules)
    assert [rel for rel, _ in found] == ["helpers.py", "pkg/__init__.py", "pkg/feats.py"]


def test_capture_uploads_under_code(tmp_path, monkeypatch):
    (tmp_path / "helpers.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    import helpers  # noqa: F401 - imported so that it is in sys.modules

    uploaded = []

    class Transport:
        def upload_artifact(self, run_id, path, local_file):
            uploaded.append((run_id, path, local_file.read_text()))

    try:
        assert capture_local_code(Transport(), "r1", str(tmp_path / "nb.ipynb")) == [
            "code/helpers.py"
        ]
    finally:
        sys.modules.pop("helpers", None)
    assert uploaded == [("r1", "code/helpers.py", "X = 1\n")]
