"""The hub's projects, roles, activity, audit browse, folder import, reviews, the approval
policy that gates deployments, and the review bundle, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
from click.testing import CliRunner
from model_files import log_model_files

from labcycle.errors import Conflict, Forbidden, InvalidInput, NotFound
from labcycle.services.projects import clean_git_url, resolve_under


@pytest.fixture(scope="module")
def tiny_model():
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"a": np.arange(12.0), "b": np.arange(12.0) % 3})
    return LogisticRegression().fit(X, (X.a > 5).astype(int)), X


def register(services: Any, tiny_model: Any, project: str, name: str = "churn") -> dict:
    """A real scikit-learn model, logged to a run of ``project`` and registered."""
    model, X = tiny_model
    run = services.tracking.create_run(actor="alice", experiment="e", project=project)
    log_model_files(services, run["id"], model, prefix="m", input_example=X.head(2))
    return services.registry.create_version(name, run_id=run["id"], source_path="m", actor="alice")


def test_project_fields_and_validation(services):
    p = services.projects.create_project(
        "churn", actor="alice", tags=["x", "x", "y"], git_url="https://u:pw@example.com/a/b.git"
    )
    assert (p["tags"], p["git_url"], p["status"]) == (
        ["x", "y"],
        "https://example.com/a/b.git",
        "active",
    )
    updated = services.projects.update_project(
        p["id"], actor="bob", description="# R", status="archived", git_url=None
    )
    assert (updated["description"], updated["status"], updated["git_url"]) == (
        "# R",
        "archived",
        None,
    )
    assert updated["updated_by"] == "bob"
    event = services.audit.list(action="project.update")["items"][0]
    assert event["details"]["before"]["status"] == "active"
    assert event["details"]["after"]["status"] == "archived"
    assert event["details"]["after"]["description_chars"] == 3
    for kwargs, field in (
        ({"status": "gone"}, "status"),
        ({"tags": "x"}, "tags"),
        ({"git_url": "ftp://x y"}, "git_url"),
        ({}, "body"),
        ({"approvers": ["a/b"]}, "approvers[0]"),
        ({"description": "x" * 1_000_001}, "description"),
    ):
        with pytest.raises(InvalidInput) as err:
            services.projects.update_project(p["id"], actor="alice", **kwargs)
        assert err.value.details["field"] == field
    assert clean_git_url("git@github.com:a/b.git") == "git@github.com:a/b.git"
    assert clean_git_url("ssh://git@host:22/a.git") == "ssh://git@host:22/a.git"
    assert services.projects.get_project("churn")["id"] == p["id"]
    assert [x["name"] for x in services.projects.list_projects(status="archived")["items"]] == [
        "churn"
    ]
    assert services.projects.list_projects(tag="y")["items"][0]["name"] == "churn"
    assert services.projects.list_projects(tag="nope")["items"] == []


def test_members_and_roles(services):
    access = services.access
    p = services.projects.create_project("team", actor="alice")
    with services.store.read() as conn:
        assert access.role_in(conn, p["id"], "anyone") == "owner"  # open
    services.projects.set_member(p["id"], "bob", "viewer", actor="alice")
    members = services.projects.list_members(p["id"])
    assert {(m["user"], m["role"]) for m in members["items"]} == {
        ("alice", "owner"),
        ("bob", "viewer"),
    }
    assert members["open"] is False
    with services.store.read() as conn:
        assert access.role_in(conn, p["id"], "bob") == "viewer"
        assert access.role_in(conn, p["id"], "carol") is None
        owner = next(iter(access.server_owners))
        assert access.role_in(conn, p["id"], owner) == "owner"
    with pytest.raises(Forbidden) as err:
        services.projects.set_member(p["id"], "bob", "owner", actor="bob")
    assert "owner role" in err.value.message and "alice" in err.value.message
    with pytest.raises(Forbidden):
        services.projects.update_project(p["id"], actor="bob", require_approval=True)
    run = services.tracking.create_run(actor="alice", experiment="e", project="team")
    with pytest.raises(Forbidden) as err:
        access.require([("run", run["id"])], "bob", "editor", what="log params")
    assert err.value.details == {
        "project": "team",
        "role_needed": "editor",
        "role": "viewer",
        "user": "bob",
    }
    access.require([("run", run["id"])], "alice", "editor")
    with pytest.raises(Conflict):
        services.projects.remove_member(p["id"], "alice", actor="alice")  # the last owner
    with pytest.raises(Conflict):
        services.projects.set_member(p["id"], "alice", "editor", actor="alice")
    services.projects.set_member(p["id"], "bob", "owner", actor="alice")
    services.projects.remove_member(p["id"], "alice", actor="bob")
    with pytest.raises(NotFound):
        services.projects.get_member(p["id"], "alice")
    with pytest.raises(InvalidInput):
        services.projects.set_member(p["id"], "dan", "admin", actor="bob")
    actions = [e["action"] for e in services.audit.list(action="project.member")["items"]]
    assert actions == [
        "project.member.remove",
        "project.member.set",
        "project.member.set",
        "project.member.set",
    ]


def test_activity_and_audit_filters(services):
    p = services.projects.create_project("act", actor="alice")
    run = services.tracking.create_run(actor="bob", experiment="e", project="act")
    services.tracking.log_batch(run["id"], actor="bob", params={"k": 1})
    services.tracking.create_run(actor="carol", experiment="e", project="elsewhere")
    feed = services.projects.activity(p["id"])["items"]
    assert [e["action"] for e in feed] == [
        "run.log",
        "run.create",
        "experiment.create",
        "project.create",
    ]
    assert services.audit.list(project="act", user="carol")["items"] == []
    assert len(services.audit.list(action="run")["items"]) == 3  # run.create x2, run.log
    assert services.audit.list(action="run.")["items"] == services.audit.list(action="run")["items"]
    now = int(time.time() * 1000)
    assert services.audit.list(since=now + 60_000)["items"] == []
    assert len(services.audit.list(until=now + 60_000, since="2000-01-01")["items"]) >= 7
    with pytest.raises(InvalidInput):
        services.audit.list(since="soon")
    with pytest.raises(InvalidInput):
        services.audit.list(since="2026-02-01", until="2026-01-01")
    with pytest.raises(NotFound):
        services.audit.list(project="nope")


def test_import_folder_reads_readme_and_git_remote_and_refuses_escapes(services, tmp_path):
    root = tmp_path / "root"
    repo = root / "repo"
    (repo / "sub").mkdir(parents=True)
    (repo / ".git").mkdir()
    (repo / ".git" / "config").write_text(
        '[remote "origin"]\n\turl = https://me:s3cret@git.example.com/t/repo.git\n'
    )
    (repo / "sub" / "README.md").write_text("# Sub\n")
    done = services.projects.import_folder("repo/sub", root=str(root), actor="alice")
    assert done["created"] and done["readme"] == "README.md"
    assert done["git_url"] == "https://git.example.com/t/repo.git"  # found in the parent repo
    assert done["project"]["name"] == "sub" and done["project"]["description"] == "# Sub\n"
    again = services.projects.import_folder("repo/sub", root=str(root), actor="alice", name="sub")
    assert again["created"] is False
    # a worktree's .git file pointing outside the root is not followed
    (root / "wt").mkdir()
    (root / "wt" / ".git").write_text(f"gitdir: {tmp_path}/elsewhere\n")
    assert services.projects.import_folder("wt", root=str(root), actor="alice")["git_url"] is None
    for bad in ("..", "../x", "/", str(tmp_path), "a/../../b", "x\x00"):
        with pytest.raises(InvalidInput) as err:
            resolve_under(str(root), bad)
        assert err.value.details["field"] == "path"
    os.symlink(tmp_path, root / "up")
    with pytest.raises(InvalidInput):
        services.projects.import_folder("up", root=str(root), actor="alice")
    assert resolve_under(str(root), "")[1] == ""


def test_reviews_state_and_policy_gate_deployments(services, tiny_model):
    project = services.projects.create_project("risk", actor="alice")
    v1 = register(services, tiny_model, "risk")
    services.projects.set_member(project["id"], "ed", "editor", actor="alice")
    services.projects.update_project(
        project["id"], actor="alice", require_approval=True, approvers=["val"]
    )
    with pytest.raises(Conflict) as err:
        services.deployments.create("churn/1", actor="alice")
    assert "churn/1 is not approved" in err.value.message
    assert "alice" in err.value.message and "val" in err.value.message
    assert err.value.details["reason"] == "approval_required"

    # an editor's approval is recorded but does not count; a viewer cannot review
    r = services.reviews.add_review("churn", 1, decision="approve", actor="ed")
    assert (r["role"], r["counts"], r["state"]) == ("editor", False, "pending")
    with pytest.raises(Forbidden):
        services.reviews.add_review("churn", 1, decision="comment", comment="hi", actor="viv")
    with pytest.raises(InvalidInput) as bad:
        services.reviews.add_review("churn", 1, decision="reject", comment="  ", actor="val")
    assert bad.value.details["field"] == "comment"
    assert (
        services.reviews.add_review("churn", 1, decision="approve", actor="val")["state"]
        == "approved"
    )
    dep = services.deployments.create("churn/1", actor="alice", name="risk-api")
    assert dep["model_ref"] == "churn/1"

    v2 = register(services, tiny_model, "risk")
    with pytest.raises(Conflict):
        services.deployments.update("risk-api", actor="alice", model_ref="churn/2")
    with pytest.raises(Conflict):
        services.deployments.update("risk-api", actor="alice", traffic={"1": 50, "2": 50})
    # the alias moves to v2 under a deployment that follows it
    services.registry.set_alias("churn", "champion", 1, actor="alice")
    services.deployments.update("risk-api", actor="alice", model_ref="churn@champion")
    services.registry.set_alias("churn", "champion", 2, actor="alice")
    target = services.deployments.target(dep["id"])
    assert [v["id"] for v, _ in target["versions"]] == [v1["id"]]
    assert "churn/2 is not approved" in target["error"]
    # v2 approved by the owner: served; a later rejection withdraws it again
    services.reviews.add_review("churn", 2, decision="approve", actor="alice")
    assert [v["id"] for v, _ in services.deployments.target(dep["id"])["versions"]] == [v2["id"]]
    services.reviews.add_review("churn", 2, decision="reject", comment="leak in `x`", actor="val")
    listed = services.reviews.list_reviews("churn", 2)
    assert (listed["state"], listed["decided_by"]) == ("rejected", "val")
    assert [v["id"] for v, _ in services.deployments.target(dep["id"])["versions"]] == [v1["id"]]
    # without the policy everything deploys again
    services.projects.update_project(project["id"], actor="alice", require_approval=False)
    assert [v["id"] for v, _ in services.deployments.target(dep["id"])["versions"]] == [v2["id"]]
    assert services.reviews.state(v2["id"])["policy"]["require_approval"] is False
    # activity of the project shows the version, the reviews and the deployment
    actions = {e["action"] for e in services.projects.activity(project["id"], 200)["items"]}
    assert {
        "model.version.create",
        "model.version.review.approve",
        "model.version.review.reject",
        "create",
        "update",
        "model.alias.set",
    } <= actions


def test_review_bundle_escapes_user_text(services, tiny_model):
    services.projects.create_project("xss", actor="alice", description="<script>alert(1)</script>")
    register(services, tiny_model, "xss", name="m")
    evil = '"><img src=x onerror=alert(2)>'
    services.registry.update_model("m", actor="alice", description=evil)
    services.reviews.add_review("m", 1, decision="comment", comment=evil, actor="alice")
    html = services.reviews.bundle("m", 1)
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert "Content-Security-Policy" in html and "m/1" in html and "pending" in html


def test_cli_projects_reviews_and_audit(services, tiny_model, tmp_path, monkeypatch):
    if not services.store.is_sqlite:
        pytest.skip("the CLI reads the store of LABCYCLE_DB_URL; once is enough")
    from labcycle.cli.base import main

    monkeypatch.setenv("LABCYCLE_DB_URL", services.store.url)
    monkeypatch.setenv("LABCYCLE_ARTIFACT_URL", str(services.blobs.root))
    monkeypatch.setenv("LABCYCLE_USER", "alice")
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "README.md").write_text("# From the CLI")
    monkeypatch.chdir(tmp_path)
    run = CliRunner().invoke
    out = run(main, ["projects", "import", "proj", "--json"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["project"]["description"] == "# From the CLI"
    out = run(main, ["projects", "members", "proj", "--set", "bob=viewer"])
    assert out.exit_code == 0 and "bob" in out.output and "viewer" in out.output
    assert run(main, ["projects", "import", "../.."]).exit_code == 1
    register(services, tiny_model, "proj")
    out = run(main, ["models", "review", "churn/1", "--approve", "-m", "ok"])
    assert out.exit_code == 0 and "approved" in out.output, out.output
    out = run(main, ["models", "bundle", "churn/1", "--out", str(tmp_path / "b.html")])
    assert out.exit_code == 0 and (tmp_path / "b.html").read_text().startswith("<!DOCTYPE html>")
    out = run(main, ["audit", "ls", "--user", "alice", "--action", "model.version", "--json"])
    assert {e["action"] for e in json.loads(out.output)} == {
        "model.version.create",
        "model.version.review.approve",
    }
    bad = run(main, ["models", "review", "churn", "--approve"])
    assert bad.exit_code == 1 and "NAME/VERSION" in bad.output


def test_cli_lists_the_experiments_of_one_project(services, monkeypatch):
    if not services.store.is_sqlite:
        pytest.skip("the CLI reads the store of LABCYCLE_DB_URL; once is enough")
    from labcycle.cli.base import main

    monkeypatch.setenv("LABCYCLE_DB_URL", services.store.url)
    monkeypatch.setenv("LABCYCLE_ARTIFACT_URL", str(services.blobs.root))
    for project, experiment in (("ls-a", "one"), ("ls-a", "two"), ("ls-b", "three")):
        services.tracking.create_run(actor="alice", project=project, experiment=experiment)
    out = CliRunner().invoke(
        main, ["experiments", "ls", "--project", "ls-a", "--json"], catch_exceptions=False
    )
    assert out.exit_code == 0, out.output
    assert [(e["project_name"], e["name"]) for e in json.loads(out.output)] == [
        ("ls-a", "one"),
        ("ls-a", "two"),
    ]
