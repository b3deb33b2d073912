"""The audit log records every write with the acting Jupyter user."""

from __future__ import annotations

import pytest
from jupyter_server.auth import IdentityProvider, User

from labcycle.server.responses import core as out


class Alice(IdentityProvider):
    """The token identifies Alice (the stock provider makes up an anonymous name)."""

    def generate_anonymous_user(self, handler):
        return User(username="alice", name="Alice Liddell")


pytestmark = pytest.mark.parametrize(
    "server_overrides", [{"ServerApp": {"identity_provider_class": Alice}}], indirect=True
)


async def test_writes_are_audited_with_the_user(api, make_run):
    project = (await api("POST", "projects", body={"name": "audited"})).json
    run = await make_run()
    await api("POST", "runs", run["id"], "params", body={"params": {"lr": 0.1}})
    await api("POST", "runs", run["id"], "metrics", body={"metrics": [{"key": "acc", "value": 1}]})
    await api("PUT", "runs", run["id"], "artifacts", "a.txt", raw_body=b"x")
    await api("PATCH", "runs", run["id"], body={"status": "finished"})
    assert run["user"] == "alice"

    reply = await api("GET", "audit", params={"entity_type": "run", "entity_id": run["id"]})
    assert reply.status == 200
    events = out.AuditEventList.model_validate(reply.json).items
    assert [e.action for e in events] == [
        "run.update",
        "artifact.put",
        "run.log",
        "run.log",
        "run.create",
    ]  # newest first
    assert {e.user for e in events} == {"alice"}
    assert events[0].details["after"]["status"] == "finished"
    assert events[1].details["path"] == "a.txt"

    everything = (await api("GET", "audit", params={"user": "alice", "max_results": 1000})).json
    assert {"project", "experiment", "run"} <= {e["entity_type"] for e in everything["items"]}
    created = (await api("GET", "audit", params={"action": "project.create"})).json["items"]
    assert project["id"] in {e["entity_id"] for e in created}
    assert project["created_by"] == "alice"
    nobody = (await api("GET", "audit", params={"user": "mallory"})).json
    assert nobody == {"items": [], "next_page_token": None}

    await api("DELETE", "runs", run["id"])
    deleted = (await api("GET", "audit", params={"action": "run.delete"})).json["items"]
    assert [(e["entity_id"], e["user"]) for e in deleted] == [(run["id"], "alice")]


async def test_audit_pages(api):
    for i in range(5):
        await api("POST", "projects", body={"name": f"p{i}"})
    first = (await api("GET", "audit", params={"max_results": 3})).json
    assert len(first["items"]) == 3 and first["next_page_token"]
    rest = (
        await api("GET", "audit", params={"max_results": 3, "page_token": first["next_page_token"]})
    ).json
    assert len(rest["items"]) == 2 and rest["next_page_token"] is None
    ids = [e["id"] for e in first["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5
