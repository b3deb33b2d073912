"""``lc.log_artifact(folder)`` never follows a symlink out of the folder."""

from __future__ import annotations

import os

import pytest

import labcycle as lc
from labcycle.api.fluent import _state
from labcycle.services.paths import folder_files


@pytest.fixture
def local_lc(tmp_path, sqlite_template):
    home = tmp_path / "home"
    home.mkdir()
    (home / "labcycle.db").write_bytes(sqlite_template.read_bytes())
    lc.configure(home=str(home))
    yield lc
    _state.reset(None)


def _folder_with_links(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0\n")
    (tmp_path / "sibling").mkdir()
    (tmp_path / "sibling" / "other.csv").write_text("a,b\n")
    folder = tmp_path / "report"
    (folder / "sub").mkdir(parents=True)
    (folder / "summary.md").write_text("# ok\n")
    (folder / "sub" / "data.csv").write_text("x\n1\n")
    os.symlink("/etc/passwd", folder / "passwd")
    os.symlink(secret, folder / "sub" / "secret.txt")
    os.symlink("../sibling/other.csv", folder / "other.csv")
    os.symlink(tmp_path / "sibling", folder / "linked_dir", target_is_directory=True)
    os.symlink("missing", folder / "dangling")
    os.symlink("summary.md", folder / "alias.md")  # inside the folder: kept
    return folder


def test_folder_files_leaves_out_links_that_leave_the_folder(tmp_path):
    folder = _folder_with_links(tmp_path)
    files, skipped = folder_files(folder)
    assert sorted(p.relative_to(folder).as_posix() for p in files) == [
        "alias.md",
        "sub/data.csv",
        "summary.md",
    ]
    assert sorted(p.relative_to(folder).as_posix() for p in skipped) == [
        "dangling",
        "linked_dir",
        "other.csv",
        "passwd",
        "sub/secret.txt",
    ]


def test_log_artifact_of_a_folder_stores_no_file_from_outside(local_lc, tmp_path):
    folder = _folder_with_links(tmp_path)
    warned = pytest.warns(UserWarning, match="left out 5 symlink")
    with local_lc.start_run(experiment="links") as run, warned:
        stored = local_lc.log_artifact(folder)
    paths = sorted(a["path"] for a in stored)
    assert paths == ["report/alias.md", "report/sub/data.csv", "report/summary.md"]
    transport = _state.transport()
    # the run also holds what it captured at its end (its local modules, under code/)
    listed = sorted(
        a["path"] for a in transport.list_artifacts(run.id) if not a["path"].startswith("code/")
    )
    assert listed == paths
    assert transport.download_artifact(run.id, "report/alias.md") == b"# ok\n"
    for artifact in stored:
        assert b"root:" not in transport.download_artifact(run.id, artifact["path"])
