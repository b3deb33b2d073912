"""The one path check of the service layer: jobs, sweeps and schedules stay in the root.

With a contents root (the Jupyter server's), every notebook and cwd is resolved inside it
and anything that leaves it is a 400 naming the field, whichever service is asked; the
notebook must be a valid notebook at submit. Reproduce's own snapshot is exempt.
"""

from __future__ import annotations

import pytest

from labcycle.errors import InvalidInput
from labcycle.services import Services

from .conftest import write_notebook


@pytest.fixture
def root(tmp_path, services: Services):
    folder = tmp_path / "root"
    (folder / "nbs").mkdir(parents=True)
    write_notebook(folder / "nbs" / "train.ipynb", "lr = 0.1", "x = lr")
    (folder / "data").mkdir()
    services.jobs.contents_root = str(folder)
    return folder


def _submit_all(services: Services, notebook: str, cwd: str | None = None):
    """The job, the sweep and the schedule of one notebook: each call's error field."""
    calls = [
        ("", lambda: services.jobs.submit(actor="a", notebook=notebook, cwd=cwd)),
        (
            "",
            lambda: services.sweeps.create(
                actor="a", notebook=notebook, cwd=cwd, grid={"lr": [1, 2]}, start=False
            ),
        ),
        (
            "payload.",
            lambda: services.schedules.create(
                actor="a",
                kind="job",
                cron="0 3 * * *",
                payload={"notebook": notebook, **({"cwd": cwd} if cwd else {})},
            ),
        ),
    ]
    fields = []
    for prefix, call in calls:
        with pytest.raises(InvalidInput) as info:
            call()
        field = info.value.details["field"]
        assert field.startswith(prefix), field
        fields.append(field[len(prefix) :])
    return fields


@pytest.mark.parametrize(
    ("notebook", "cwd", "field"),
    [
        ("/etc/passwd.ipynb", None, "notebook"),
        ("../outside.ipynb", None, "notebook"),
        ("nbs/train.ipynb", "/etc", "cwd"),
        ("nbs/train.ipynb", "../..", "cwd"),
        ("nbs/missing.ipynb", None, "notebook"),
        ("nbs/train.py", None, "notebook"),
    ],
)
def test_every_service_refuses_paths_outside_the_root(services, root, notebook, cwd, field):
    assert _submit_all(services, notebook, cwd) == [field] * 3
    assert services.jobs.list()["items"] == [] and services.sweeps.list()["items"] == []
    assert services.schedules.list()["items"] == []


def test_relative_paths_resolve_against_the_root(services, root):
    job = services.jobs.submit(actor="a", notebook="nbs/train.ipynb", cwd="data")
    assert job["notebook"] == str(root / "nbs" / "train.ipynb")
    assert job["cwd"] == str(root / "data")
    sweep = services.sweeps.create(
        actor="a", notebook="nbs/train.ipynb", grid={"lr": [1]}, start=False
    )
    assert sweep["notebook"] == str(root / "nbs" / "train.ipynb")
    schedule = services.schedules.create(
        actor="a", kind="job", cron="0 3 * * *", payload={"notebook": "nbs/train.ipynb"}
    )
    assert schedule["payload"]["notebook"] == str(root / "nbs" / "train.ipynb")


def test_a_symlink_out_of_the_root_is_refused(services, root, tmp_path):
    (tmp_path / "secret").mkdir()
    write_notebook(tmp_path / "secret" / "steal.ipynb", "x = 1")
    (root / "link").symlink_to(tmp_path / "secret", target_is_directory=True)
    assert _submit_all(services, "link/steal.ipynb") == ["notebook"] * 3
    assert _submit_all(services, "nbs/train.ipynb", "link") == ["cwd"] * 3


def test_without_a_root_the_notebook_is_still_checked(services, tmp_path):
    services.jobs.contents_root = None  # the CLI and the local Python API
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    assert _submit_all(services, str(broken)) == ["notebook"] * 3
    (tmp_path / "elsewhere").mkdir()
    good = write_notebook(tmp_path / "elsewhere" / "ok.ipynb", "x = 1")
    assert services.jobs.submit(actor="a", notebook=str(good))["notebook"] == str(good)
