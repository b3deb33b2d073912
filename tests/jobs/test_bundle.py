"""What a Dask job carries: the notebook and the local modules its cells import, nothing
else, and never a path outside the folder it is unpacked into."""

from __future__ import annotations

import base64
import json

import pytest

from labcycle.errors import InvalidInput
from labcycle.jobs import bundle
from labcycle.jobs.runner import job_process_env, kernel_store_env, storage_env

from .conftest import write_notebook


def test_pack_takes_imported_local_modules_transitively_and_nothing_else(tmp_path):
    (tmp_path / "lib" / "deep").mkdir(parents=True)
    (tmp_path / "lib" / "__init__.py").write_text("from .deep import x\n")
    (tmp_path / "lib" / "deep" / "__init__.py").write_text("x = 1\n")
    (tmp_path / "lib" / "__pycache__").mkdir()
    (tmp_path / "lib" / "__pycache__" / "junk.py").write_text("")
    (tmp_path / "helpers.py").write_text("import json\nimport other\n")
    (tmp_path / "other.py").write_text("VALUE = 2\n")
    (tmp_path / "unused.py").write_text("")
    (tmp_path / "data.csv").write_text("a\n1\n")
    nb = write_notebook(
        tmp_path / "nb" / "train.ipynb",
        "!echo shell\n%time import helpers\nfrom lib.deep import x",
        "import numpy, os.path as p  # installed and standard modules stay",
    )
    packed = bundle.pack(nb, tmp_path, {"commit": "abc"})
    assert packed["notebook"] == "nb/train.ipynb" and packed["git"] == {"commit": "abc"}
    assert sorted(packed["files"]) == [
        "helpers.py",
        "lib/__init__.py",
        "lib/deep/__init__.py",
        "nb/train.ipynb",
        "other.py",
    ]
    out = tmp_path / "unpacked"
    notebook = bundle.unpack(packed, out)
    assert notebook == (out / "nb" / "train.ipynb").resolve()
    assert "".join(json.loads(notebook.read_text())["cells"][0]["source"]).startswith("!echo")
    assert bundle.read_manifest(out) == (notebook, {"commit": "abc"})
    assert (out / "other.py").read_text() == "VALUE = 2\n"


def test_a_notebook_outside_the_kernels_folder_sits_at_the_top(tmp_path):
    nb = write_notebook(tmp_path / "elsewhere" / "nb.ipynb", "import helpers")
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "helpers.py").write_text("")
    packed = bundle.pack(nb, tmp_path / "work")
    assert sorted(packed["files"]) == ["helpers.py", "nb.ipynb"]


@pytest.mark.parametrize("path", ["../escape.py", "/etc/passwd", "a/../../b.py", ""])
def test_unpack_refuses_paths_outside_its_folder(tmp_path, path):
    hostile = {
        "notebook": "nb.ipynb",
        "git": None,
        "files": {"nb.ipynb": base64.b64encode(b"{}").decode(), path: ""},
    }
    with pytest.raises(InvalidInput, match="outside its folder"):
        bundle.unpack(hostile, tmp_path / "out")
    assert not (tmp_path / "escape.py").exists()


def test_pack_limits_and_unreadable_notebooks(tmp_path, monkeypatch):
    (tmp_path / "big.py").write_bytes(b"#" * 2048)
    nb = write_notebook(tmp_path / "nb.ipynb", "import big")
    monkeypatch.setattr(bundle, "MAX_FILE_BYTES", 1024)
    with pytest.raises(InvalidInput, match="big.py is larger than 1024 bytes"):
        bundle.pack(nb, tmp_path)
    monkeypatch.setattr(bundle, "MAX_FILE_BYTES", 4096)
    monkeypatch.setattr(bundle, "MAX_BUNDLE_BYTES", 1500)
    with pytest.raises(InvalidInput, match="install them as a package"):
        bundle.pack(nb, tmp_path)
    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(InvalidInput, match="cannot be read"):
        bundle.pack(tmp_path / "broken.ipynb", tmp_path)


def test_the_job_process_and_kernel_get_the_storage_settings(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA1")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT", "acct")
    monkeypatch.setenv("LABCYCLE_STORAGE_OPTIONS", '{"anon": true}')
    monkeypatch.setenv("UNRELATED", "x")
    env = storage_env()
    assert env["AWS_ACCESS_KEY_ID"] == "AKIA1" and env["AZURE_STORAGE_ACCOUNT"] == "acct"
    assert env["LABCYCLE_STORAGE_OPTIONS"] == '{"anon": true}' and "UNRELATED" not in env
    # configured options win over this process's variable
    assert storage_env({"profile": "team"})["LABCYCLE_STORAGE_OPTIONS"] == '{"profile": "team"}'
    process = job_process_env(
        db_url="postgresql://h/db",
        artifact_url="s3://b/lc",
        kernel_env={"LABCYCLE_TRANSPORT": "local"},
    )
    assert process["LABCYCLE_DB_URL"] == "postgresql://h/db"
    assert process["LABCYCLE_ARTIFACT_URL"] == "s3://b/lc"
    assert json.loads(process["LABCYCLE_JOB_KERNEL_ENV"]) == {"LABCYCLE_TRANSPORT": "local"}
    assert process["AWS_ACCESS_KEY_ID"] == "AKIA1"
    local = kernel_store_env(db_url="sqlite:///x.db", artifact_url="s3://b/lc")
    assert local["LABCYCLE_STORAGE_OPTIONS"] == '{"anon": true}'
    assert local["AWS_ACCESS_KEY_ID"] == "AKIA1"
    # a kernel that logs through the server's API needs no storage credentials
    remote = kernel_store_env(
        db_url="sqlite:///x.db",
        artifact_url="s3://b/lc",
        api_url="http://127.0.0.1:8888/",
        api_token="t",
    )
    assert remote == {"LABCYCLE_API_URL": "http://127.0.0.1:8888/", "LABCYCLE_API_TOKEN": "t"}
