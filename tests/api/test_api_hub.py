"""The hub's projects, members and roles, activity, folder import, reviews and review
bundle over REST, with two real users (alice, bob) told apart by the identity provider.

The servers here do not run the extension's start hooks (no job dispatcher, scheduler or
deployment supervisor): a deployment created here is a row, never a process.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from jupyter_server.auth import IdentityProvider, User
from model_files import log_model_files

from labcycle.server.responses import core as out
from labcycle.server.responses import hub as hub_out

from .conftest import API, Reply

SERVER_OWNER = "srv"


class TwoUsers(IdentityProvider):
    """The server's token logs in; the X-Test-User header says who (alice by default)."""

    async def get_user(self, handler):
        user = await super().get_user(handler)
        if user is None:
            return None
        return User(username=handler.request.headers.get("X-Test-User", "alice"))


pytestmark = pytest.mark.parametrize(
    "server_overrides",
    [{"ServerApp": {"identity_provider_class": TwoUsers}, "LabCycle": {"owner": SERVER_OWNER}}],
    indirect=True,
)


@pytest.fixture
def hub(jp_fetch, jp_serverapp):
    """``await hub("POST", "projects", body=..., user="bob")`` → Reply (no start hooks)."""

    async def call(
        method: str, *parts: str, body: Any = None, params: Any = None, user: str = "alice"
    ) -> Reply:
        headers = {"X-Test-User": user}
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if body is not None:
            kwargs["body"] = json.dumps(body)
            headers["Content-Type"] = "application/json"
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = b""
        return Reply(await jp_fetch(*API, *parts, params=params, headers=headers, **kwargs))

    return call


@pytest.fixture
def services(jp_serverapp):
    return jp_serverapp.extension_manager.extension_points["labcycle"].app.services


def register_version(services: Any, run_id: str, name: str = "churn") -> dict[str, Any]:
    """A real (tiny) scikit-learn model registered from run ``run_id``."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"a": np.arange(12.0), "b": np.arange(12.0) % 3})
    model = LogisticRegression().fit(X, (X.a > 5).astype(int))
    log_model_files(services, run_id, model, input_example=X.head(3))
    return services.registry.create_version(
        name, run_id=run_id, source_path="staged", actor="alice"
    )


async def test_project_hub_fields_patch_filters_and_bad_input(hub):
    reply = await hub(
        "POST",
        "projects",
        body={
            "name": "churn",
            "description": "# Churn\nwho leaves",
            "tags": ["retail", "retail", "b2c"],
            "git_url": "https://alice:ghp_secret@github.com/acme/churn.git",
        },
    )
    assert reply.status == 201, reply
    project = out.Project.model_validate(reply.json)
    assert project.tags == ["retail", "b2c"] and project.status == "active"
    assert project.git_url == "https://github.com/acme/churn.git"  # the token is dropped
    assert project.owners == [] and project.member_count == 0
    assert project.settings.require_approval is False

    patched = await hub(
        "PATCH",
        "projects",
        project.id,
        body={"description": "# Churn v2", "status": "archived", "tags": ["x"], "git_url": ""},
    )
    assert patched.status == 200, patched
    p = out.Project.model_validate(patched.json)
    assert (p.description, p.status, p.tags, p.git_url) == ("# Churn v2", "archived", ["x"], None)
    assert (await hub("GET", "projects", "churn")).json["id"] == project.id  # by name too

    await hub("POST", "projects", body={"name": "other", "tags": ["y"]})
    archived = (await hub("GET", "projects", params={"status": "archived"})).json["items"]
    assert [x["name"] for x in archived] == ["churn"]
    tagged = (await hub("GET", "projects", params={"tag": "y"})).json["items"]
    assert [x["name"] for x in tagged] == ["other"]

    for body, field in (
        ({"status": "deleted"}, "status"),
        ({"git_url": "not a url"}, "git_url"),
        ({"tags": ["ok", ""]}, "tags[1]"),
        ({"colour": "red"}, "colour"),
        ({}, "body"),
        ({"require_approval": 3}, "require_approval"),
    ):
        bad = await hub("PATCH", "projects", project.id, body=body)
        assert bad.status == 400, (body, bad)
        assert bad.error["details"]["field"] == field, (body, bad.error)
    assert (await hub("PATCH", "projects", "0" * 32, body={"status": "active"})).status == 404
    taken = await hub("PATCH", "projects", project.id, body={"name": "other"})
    assert taken.status == 409 and taken.error["details"]["field"] == "name"


async def test_members_roles_a_viewer_cannot_write_runs(hub):
    project = (await hub("POST", "projects", body={"name": "team"})).json
    run_of_bob = await hub("POST", "runs", body={"experiment": "e", "project": "team"}, user="bob")
    assert run_of_bob.status == 201  # an open project: everyone may write
    members = (await hub("GET", "projects", project["id"], "members")).json
    assert hub_out.MemberList.model_validate(members).open is True

    added = await hub("PUT", "projects", project["id"], "members", "bob", body={"role": "viewer"})
    assert added.status == 200, added
    listed = hub_out.MemberList.model_validate(
        (await hub("GET", "projects", project["id"], "members")).json
    )
    assert {(m.user, m.role) for m in listed.items} == {("alice", "owner"), ("bob", "viewer")}

    # bob, a viewer: reads, never writes
    run_id = run_of_bob.json["id"]
    assert (await hub("GET", "runs", run_id, user="bob")).status == 200
    for method, parts, body in (
        ("POST", ("runs",), {"experiment": "e", "project": "team"}),
        ("POST", ("runs", run_id, "params"), {"params": {"lr": 0.1}}),
        ("PATCH", ("runs", run_id), {"status": "finished"}),
        ("DELETE", ("runs", run_id), None),
        ("POST", ("experiments",), {"name": "e2", "project_id": project["id"]}),
        ("PATCH", ("projects", project["id"]), {"description": "mine now"}),
    ):
        reply = await hub(method, *parts, body=body, user="bob")
        assert reply.status == 403, (method, parts, reply)
        assert reply.error["code"] == "forbidden"
        assert "editor role" in reply.error["message"] and "'team'" in reply.error["message"]
        assert reply.error["details"]["role"] == "viewer"
    policy = await hub(
        "PATCH", "projects", project["id"], body={"require_approval": True}, user="bob"
    )
    assert policy.status == 403 and "owner role" in policy.error["message"]
    grab = await hub(
        "PUT", "projects", project["id"], "members", "bob", body={"role": "owner"}, user="bob"
    )
    assert grab.status == 403 and "owner role" in grab.error["message"]
    # a stranger is refused too; other projects stay open to bob
    assert (
        await hub("POST", "runs", body={"experiment": "e", "project": "team"}, user="carol")
    ).status == 403
    assert (
        await hub("POST", "runs", body={"experiment": "e", "project": "elsewhere"}, user="bob")
    ).status == 201

    # editor: writes, but does not govern
    await hub("PUT", "projects", project["id"], "members", "bob", body={"role": "editor"})
    assert (
        await hub("POST", "runs", run_id, "params", body={"params": {"lr": 0.1}}, user="bob")
    ).status == 200
    assert (
        await hub("PATCH", "projects", project["id"], body={"tags": ["t"]}, user="bob")
    ).status == 200
    assert (
        await hub("PATCH", "projects", project["id"], body={"require_approval": True}, user="bob")
    ).status == 403
    # the server owner governs every project without being a member
    by_owner = await hub(
        "PUT",
        "projects",
        project["id"],
        "members",
        "carol",
        body={"role": "viewer"},
        user=SERVER_OWNER,
    )
    assert by_owner.status == 200 and by_owner.json["added_by"] == SERVER_OWNER

    last = await hub("DELETE", "projects", project["id"], "members", "alice")
    assert last.status == 409 and "last owner" in last.error["message"]
    assert (await hub("DELETE", "projects", project["id"], "members", "carol")).status == 204
    gone = await hub("GET", "projects", project["id"], "members", "carol")
    assert gone.status == 404
    bad_role = await hub("PUT", "projects", project["id"], "members", "dan", body={"role": "god"})
    assert bad_role.status == 400 and bad_role.error["details"]["field"] == "role"


async def test_viewer_cannot_write_models_or_deployments_and_the_policy_blocks_deploys(
    hub, services
):
    project = (await hub("POST", "projects", body={"name": "risk"})).json
    run = (await hub("POST", "runs", body={"experiment": "e", "project": "risk"})).json
    version = await hub_call(register_version, services, run["id"])
    await hub("PUT", "projects", project["id"], "members", "bob", body={"role": "viewer"})
    ok = await hub(
        "PATCH", "projects", project["id"], body={"require_approval": True, "approvers": ["val"]}
    )
    assert ok.status == 200 and ok.json["settings"] == {
        "require_approval": True,
        "approvers": ["val"],
    }

    for method, parts, body in (
        ("PATCH", ("models", "churn"), {"description": "hijacked"}),
        ("PUT", ("models", "churn", "aliases", "champion"), {"version": 1}),
        ("PATCH", ("models", "churn", "versions", "1"), {"description": "x"}),
        ("POST", ("deployments",), {"model": "churn/1"}),
    ):
        reply = await hub(method, *parts, body=body, user="bob")
        assert reply.status == 403, (method, parts, reply)
        assert "editor role" in reply.error["message"], reply.error

    blocked = await hub("POST", "deployments", body={"model": "churn/1"})
    assert blocked.status == 409, blocked
    message = blocked.error["message"]
    assert "churn/1 is not approved" in message and "val" in message and "alice" in message
    assert blocked.error["details"]["reason"] == "approval_required"

    # bob (viewer) may not review; val (an approver, not even a member) may
    assert (
        await hub(
            "POST",
            "models",
            "churn",
            "versions",
            "1",
            "reviews",
            body={"decision": "approve"},
            user="bob",
        )
    ).status == 403
    comment = await hub(
        "POST",
        "models",
        "churn",
        "versions",
        "1",
        "reviews",
        body={"decision": "comment", "comment": "metrics?"},
        user="val",
    )
    assert comment.status == 201
    approved = await hub(
        "POST",
        "models",
        "churn",
        "versions",
        "1",
        "reviews",
        body={"decision": "approve", "comment": "checked **data**"},
        user="val",
    )
    assert approved.status == 201, approved
    created = hub_out.CreatedReview.model_validate(approved.json)
    assert (created.state, created.role, created.counts) == ("approved", "approver", True)

    dep = await hub("POST", "deployments", body={"model": "churn/1", "name": "risk-api"})
    assert dep.status == 201, dep
    assert (
        await hub("PATCH", "deployments", "risk-api", body={"workers": 2}, user="bob")
    ).status == 403
    assert (await hub("DELETE", "deployments", "risk-api", user="bob")).status == 403
    # a second, unapproved version cannot be pointed at
    run2 = (await hub("POST", "runs", body={"experiment": "e", "project": "risk"})).json
    await hub_call(register_version, services, run2["id"])
    moved = await hub("PATCH", "deployments", "risk-api", body={"model": "churn/2"})
    assert moved.status == 409 and "churn/2 is not approved" in moved.error["message"]
    # an alias moved under a running deployment: it keeps serving the approved version
    await hub("PUT", "models", "churn", "aliases", "champion", body={"version": 1})
    await hub("PATCH", "deployments", "risk-api", body={"model": "churn@champion"})
    assert (
        await hub("PUT", "models", "churn", "aliases", "champion", body={"version": 2})
    ).status == 200
    target = await hub_call(services.deployments.target, dep.json["id"])
    assert [v["version"] for v, _ in target["versions"]] == [1]
    assert (
        "churn/2 is not approved" in target["error"] and "Still serving churn/1" in target["error"]
    )

    listed = hub_out.ReviewList.model_validate(
        (await hub("GET", "models", "churn", "versions", "1", "reviews", user="bob")).json
    )
    assert [r.decision for r in listed.items] == ["comment", "approve"]
    assert listed.state == "approved" and listed.policy.require_approval is True
    assert version["id"] == listed.model_version_id


async def hub_call(fn: Any, *args: Any) -> Any:
    import asyncio

    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


async def test_reviews_bad_input_and_the_bundle_escapes_everything(hub, services, jp_fetch):
    run = (await hub("POST", "runs", body={"experiment": "e", "project": "xss"})).json
    await hub_call(register_version, services, run["id"])
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    await hub("PATCH", "models", "churn", body={"description": evil})
    await hub("PATCH", "projects", "xss", body={"description": evil, "tags": [evil[:60]]})
    reject = await hub(
        "POST",
        "models",
        "churn",
        "versions",
        "1",
        "reviews",
        body={"decision": "reject", "comment": evil},
    )
    assert reject.status == 201 and reject.json["state"] == "rejected"

    for parts, body, status, field in (
        (("1",), {"decision": "reject"}, 400, "comment"),
        (("1",), {"decision": "veto", "comment": "x"}, 400, "decision"),
        (("1",), {"decision": "approve", "extra": 1}, 400, "extra"),
        (("9",), {"decision": "approve"}, 404, "version"),
        (("one",), {"decision": "approve"}, 400, "version"),
    ):
        reply = await hub("POST", "models", "churn", "versions", *parts, "reviews", body=body)
        assert reply.status == status, (parts, body, reply)
        assert reply.error["details"].get("field") == field, reply.error
    assert (
        await hub(
            "POST", "models", "nope", "versions", "1", "reviews", body={"decision": "approve"}
        )
    ).status == 404

    response = await jp_fetch(
        *API, "models", "churn", "versions", "1", "review-bundle", headers={"X-Test-User": "bob"}
    )
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert 'filename="churn-v1-review.html"' in response.headers["Content-Disposition"]
    html = response.body.decode()
    assert "<script" not in html and "<img" not in html and "onerror=alert(1)>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "rejected" in html and "churn/1" in html and "Audit trail" in html
    missing = await hub("GET", "models", "churn", "versions", "7", "review-bundle")
    assert missing.status == 404 and missing.error["code"] == "not_found"


async def test_activity_and_audit_browse(hub):
    project = (await hub("POST", "projects", body={"name": "act"})).json
    run = (await hub("POST", "runs", body={"experiment": "e", "project": "act"}, user="bob")).json
    await hub("POST", "runs", run["id"], "params", body={"params": {"k": 1}}, user="bob")
    await hub("POST", "runs", body={"experiment": "e", "project": "unrelated"})
    await hub("PATCH", "projects", project["id"], body={"tags": ["t"]})

    feed = hub_out.Activity.model_validate(
        (await hub("GET", "projects", project["id"], "activity")).json
    )
    assert [e.action for e in feed.items] == [
        "project.update",
        "run.log",
        "run.create",
        "experiment.create",
        "project.create",
    ]
    assert feed.items[0].details["before"] == {"tags": None} and feed.items[0].details["after"] == {
        "tags": ["t"]
    }
    page = (await hub("GET", "projects", project["id"], "activity", params={"max_results": 2})).json
    assert len(page["items"]) == 2 and page["next_page_token"]

    by_bob = (await hub("GET", "audit", params={"user": "bob", "project": "act"})).json["items"]
    assert [e["action"] for e in by_bob] == ["run.log", "run.create", "experiment.create"]
    prefix = (await hub("GET", "audit", params={"action": "project"})).json["items"]
    assert {e["action"] for e in prefix} == {"project.create", "project.update"}
    future = (await hub("GET", "audit", params={"since": "2999-01-01"})).json["items"]
    assert future == []
    assert (
        len(
            (
                await hub(
                    "GET", "audit", params={"until": "2999-01-01T00:00:00Z", "since": "2000-01-01"}
                )
            ).json["items"]
        )
        >= 7
    )
    for params, field in (
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, "until"),
    ):
        bad = await hub("GET", "audit", params=params)
        assert bad.status == 400 and bad.error["details"]["field"] == field
    assert (await hub("GET", "audit", params={"project": "nope"})).status == 404


async def test_import_a_folder_and_path_escapes(hub, jp_root_dir, tmp_path):
    folder = jp_root_dir / "work" / "churn"
    (folder / ".git").mkdir(parents=True)
    (folder / "README.md").write_text("# Churn\n\nPredict who leaves.")
    (folder / ".git" / "config").write_text(
        '[core]\n\tbare = false\n[remote "upstream"]\n\turl = git@github.com:up/churn.git\n'
        '[remote "origin"]\n\turl = https://bob:tok3n@gitlab.example.com/acme/churn.git\n'
    )
    first = await hub("POST", "projects", "import", body={"path": "work/churn"})
    assert first.status == 201, first
    imported = hub_out.ImportedProject.model_validate(first.json)
    assert imported.created and imported.readme == "README.md"
    assert imported.git_url == "https://gitlab.example.com/acme/churn.git"
    assert imported.project.name == "churn" and imported.project.source_path == "work/churn"
    assert imported.project.description.startswith("# Churn")
    assert first.headers["Location"].endswith(f"/projects/{imported.project.id}")

    (folder / "README.md").write_text("# Churn, updated")
    again = await hub("POST", "projects", "import", body={"path": str(folder)})  # absolute, inside
    assert again.status == 200 and again.json["created"] is False
    assert again.json["project"]["description"] == "# Churn, updated"

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "README.md").write_text("secret")
    os.symlink(outside, jp_root_dir / "escape")
    os.symlink(outside / "README.md", jp_root_dir / "work" / "README.md")
    for path in (
        "..",
        "../outside",
        "work/../../outside",
        str(outside),
        "/etc",
        "escape",
        "escape/",
        "work\x00",
    ):
        reply = await hub("POST", "projects", "import", body={"path": path})
        assert reply.status == 400, (path, reply)
        assert reply.error["details"]["field"] == "path", reply.error
    # a README that is a link out of the root is not read
    linked = await hub("POST", "projects", "import", body={"path": "work", "name": "w"})
    assert linked.status == 201 and linked.json["readme"] is None
    (jp_root_dir / "file.txt").write_text("x")
    not_dir = await hub("POST", "projects", "import", body={"path": "file.txt"})
    assert not_dir.status == 400 and "not a folder" in not_dir.error["message"]

    await hub("PUT", "projects", imported.project.id, "members", "bob", body={"role": "viewer"})
    refused = await hub("POST", "projects", "import", body={"path": "work/churn"}, user="bob")
    assert refused.status == 403 and "editor role" in refused.error["message"]
