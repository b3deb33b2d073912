"""Roles that hold on a real JupyterHub: three users, their own servers, one PostgreSQL store.

alice owns a project with bob as viewer; carol is no member. Nobody is an owner of
everything because their servers run as the same Unix user; each user's jobs run in their
own server; kernels see the API, never the database URL or the storage options.
"""

from __future__ import annotations

import time

import nbformat
import pytest

API = "labcycle/api/v1"

pytestmark = [pytest.mark.postgres, pytest.mark.kernel]


@pytest.fixture(scope="module")
def team(hub):
    """alice's project ``lab`` (bob: viewer) with one run of hers."""
    alice = hub.as_user("alice")
    project = alice.post(f"{API}/projects", json={"name": "lab"})
    assert project.status_code == 201, project.text
    pid = project.json()["id"]
    reply = alice.put(f"{API}/projects/{pid}/members/bob", json={"role": "viewer"})
    assert reply.status_code in (200, 201), reply.text
    run = alice.post(f"{API}/runs", json={"project": "lab", "experiment": "exp"})
    assert run.status_code == 201, run.text
    return {"project": pid, "run": run.json()["id"]}


def test_identity_comes_from_the_hub(hub, team):
    run = hub.as_user("bob").get(f"{API}/runs/{team['run']}").json()
    assert run["user"] == "alice"
    members = hub.as_user("alice").get(f"{API}/projects/{team['project']}/members").json()
    assert {m["user"]: m["role"] for m in members["items"]} == {"alice": "owner", "bob": "viewer"}


@pytest.mark.parametrize("user", ["bob", "carol"])  # viewer, non-member
def test_others_cannot_write_into_the_project(hub, team, user):
    client = hub.as_user(user)
    metric = client.post(
        f"{API}/runs/{team['run']}/metrics",
        json={"metrics": [{"key": "acc", "value": 1.0, "step": 0}]},
    )
    assert metric.status_code == 403, metric.text
    assert "role" in metric.json()["error"]["message"]
    run = client.post(f"{API}/runs", json={"project": "lab", "experiment": "exp"})
    assert run.status_code == 403, run.text
    grab = client.put(f"{API}/projects/{team['project']}/members/{user}", json={"role": "owner"})
    assert grab.status_code == 403, grab.text
    members = hub.as_user("alice").get(f"{API}/projects/{team['project']}/members").json()
    assert {m["user"] for m in members["items"]} == {"alice", "bob"}


def test_a_user_cannot_reach_another_users_server(hub):
    reply = hub.server_of("alice", "bob").get(f"{API}/projects")
    assert reply.status_code in (403, 404), reply.status_code


def test_the_owner_writes(hub, team):
    reply = hub.as_user("alice").post(
        f"{API}/runs/{team['run']}/metrics",
        json={"metrics": [{"key": "acc", "value": 0.9, "step": 0}]},
    )
    assert reply.status_code in (200, 201, 204), reply.text


def test_jobs_run_in_their_owners_server_without_store_credentials(hub):
    probe = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import os\nimport labcycle as lc\n"
                "lc.log_params({'kernel_user': os.environ.get('JUPYTERHUB_USER', ''),\n"
                "               'db_url_seen': str('LABCYCLE_DB_URL' in os.environ),\n"
                "               'storage_seen': str('LABCYCLE_STORAGE_OPTIONS' in os.environ),\n"
                "               'transport': 'http' if os.environ.get('LABCYCLE_API_URL') else 'local'})\n"
            )
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    jobs: dict[str, list[str]] = {}
    for user in ("alice", "bob"):
        nbformat.write(probe, hub.root / "home" / user / "probe.ipynb")
        client = hub.as_user(user)
        jobs[user] = []
        for _ in range(3):
            reply = client.post(f"{API}/jobs", json={"notebook": "probe.ipynb"})
            assert reply.status_code == 201, reply.text
            jobs[user].append(reply.json()["id"])
    deadline = time.monotonic() + 240
    done: dict[str, dict] = {}
    while time.monotonic() < deadline and len(done) < 6:
        for user, ids in jobs.items():
            for job_id in ids:
                if job_id not in done:
                    job = hub.as_user(user).get(f"{API}/jobs/{job_id}").json()
                    if job["status"] in ("succeeded", "failed", "cancelled"):
                        done[job_id] = job
        time.sleep(1)
    assert len(done) == 6, (
        f"jobs still unfinished after 240 s: {set(sum(jobs.values(), [])) - set(done)}"
    )
    for user, ids in jobs.items():
        for job_id in ids:
            job = done[job_id]
            assert job["status"] == "succeeded", (
                job.get("error"),
                job.get("error_detail"),
                hub.log_tail(),
            )
            params = hub.as_user(user).get(f"{API}/runs/{job['run_id']}").json()["params"]
            assert params == {
                "kernel_user": user,
                "db_url_seen": "False",
                "storage_seen": "False",
                "transport": "http",
            }


@pytest.mark.parametrize("user, sees", [("carol", False), ("bob", True), ("alice", True)])
def test_reads_follow_membership(hub, team, user, sees):
    """alice's project has members, so it is private: carol (no member) sees nothing of it,
    a GET of it or its run is a 404 as if it did not exist; bob (viewer) and alice read it."""
    client = hub.as_user(user)
    pid, run_id = team["project"], team["run"]
    want = 200 if sees else 404
    for path in (
        f"projects/{pid}",
        "projects/lab",
        f"runs/{run_id}",
        f"runs/{run_id}/artifacts",
        f"projects/{pid}/activity",
        f"lineage/run/{run_id}",
    ):
        reply = client.get(f"{API}/{path}")
        assert reply.status_code == want, (path, reply.status_code, reply.text)
        if not sees:
            assert reply.json()["error"]["code"] == "not_found", reply.text
    projects = {p["id"] for p in client.get(f"{API}/projects").json()["items"]}
    assert (pid in projects) == sees
    runs = {r["id"] for r in client.get(f"{API}/runs", params={"max_results": 500}).json()["items"]}
    assert (run_id in runs) == sees
    events = client.get(f"{API}/audit", params={"max_results": 500}).json()["items"]
    assert any(e["entity_id"] in (pid, run_id) for e in events) == sees
    hits = client.get(f"{API}/search", params={"max_results": 100}).json()["items"]
    assert any(h.get("project_id") == pid for h in hits) == sees
    named = client.get(f"{API}/search", params={"q": "lab", "max_results": 100}).json()["items"]
    assert any(h.get("project_id") == pid for h in named) == sees
    other = hub.as_user("alice").post(f"{API}/runs", json={"project": "lab", "experiment": "exp"})
    assert other.status_code == 201, other.text
    compare = client.get(f"{API}/compare/runs", params={"run_id": [run_id, other.json()["id"]]})
    assert compare.status_code == want, compare.text
