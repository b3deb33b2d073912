"""Under JupyterHub nobody owns everything, and each user's server runs that user's jobs only.

Every user of a hub has a single-user server of their own (the spawner sets
``JUPYTERHUB_USER``), often as one Unix user, on one shared store: the OS user must not make
anyone an owner of every project, and a dispatcher must not run another user's job.
"""

from __future__ import annotations

import os

import nbformat
import pytest

from labcycle.client.local import local_user
from labcycle.errors import Forbidden
from labcycle.jobs.dispatcher import dispatcher_from_config
from labcycle.server.app import LabCycle
from labcycle.services.access import AccessService


@pytest.fixture
def notebook(tmp_path):
    path = tmp_path / "nb.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), path)
    return str(path)


@pytest.fixture
def on_hub(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "bob")
    monkeypatch.delenv("LABCYCLE_USER", raising=False)


def test_single_user_server_owner_is_the_os_user(monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    monkeypatch.delenv("LABCYCLE_USER", raising=False)
    assert LabCycle().owner == local_user() != ""


def test_no_server_owner_under_a_hub(on_hub, services):
    assert LabCycle().owner == ""
    assert AccessService(services.store).server_owners == set()
    assert local_user() == "bob"  # a hub terminal's CLI acts as its hub user


def test_hub_user_is_bound_by_project_roles(on_hub, services):
    access = AccessService(services.store)
    project = services.projects.create_project("team", actor="alice")
    services.projects.set_member(project["id"], "bob", "viewer", actor="alice")
    access.require([("project", project["id"])], "bob", "viewer")
    with pytest.raises(Forbidden) as info:
        access.require([("project", project["id"])], "bob", "editor", what="log to a run")
    assert "your role is viewer" in info.value.message
    # the OS user running every hub user's server is no owner either
    with pytest.raises(Forbidden):
        access.require([("project", project["id"])], os.environ.get("USER", "root"), "editor")


def test_each_dispatcher_claims_its_own_users_jobs(services, notebook):
    ids = {
        user: {services.jobs.submit(actor=user, notebook=notebook)["id"] for _ in range(6)}
        for user in ("alice", "bob")
    }
    assert services.jobs.pending_count(created_by="alice") == 6
    # bob's server claims first, and as much as it can: it still gets none of alice's jobs
    bob = services.jobs.claim("bob-server", "local", limit=20, created_by="bob")
    alice = services.jobs.claim("alice-server", "local", limit=20, created_by="alice")
    assert {j["id"] for j in bob} == ids["bob"]
    assert {j["id"] for j in alice} == ids["alice"]
    assert services.jobs.pending_count() == 0


def test_a_hub_servers_dispatcher_runs_its_user_only(on_hub, services, tmp_path):
    config = LabCycle(
        db_url=services.store.url, artifact_url=str(tmp_path / "artifacts"), home=str(tmp_path)
    )
    dispatcher = dispatcher_from_config(services, config)
    try:
        assert dispatcher.owner == "bob"
    finally:
        dispatcher.stop()


def test_a_single_user_servers_dispatcher_runs_every_job(monkeypatch, services, tmp_path):
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    config = LabCycle(
        db_url=services.store.url, artifact_url=str(tmp_path / "artifacts"), home=str(tmp_path)
    )
    dispatcher = dispatcher_from_config(services, config)
    try:
        assert dispatcher.owner is None
    finally:
        dispatcher.stop()
