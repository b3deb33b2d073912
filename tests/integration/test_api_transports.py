"""One Python API, two transports: the same ``lc.*`` calls over the REST API of a real
Jupyter server and over its store directly give the same answers.

Each domain client (hub, lineage, serving, monitors, sweeps, jobs) has a local and an HTTP
implementation; this drives both with the same calls, on the same data.
"""

from __future__ import annotations

import uuid

import pytest
from live_jupyter import write_notebook

import labcycle as lc
from labcycle.client.http import HttpTransport
from labcycle.client.local import LocalTransport

pytestmark = pytest.mark.kernel


@pytest.fixture
def transports(live_jupyter):
    """``{"http": ..., "local": ...}`` on the live server's store; lc.* restored after."""
    lc.configure(home=str(live_jupyter.home))
    local = lc.api.fluent.current_transport()
    http = HttpTransport(live_jupyter.url, live_jupyter.token)
    assert isinstance(local, LocalTransport)
    yield {"http": http, "local": local}
    lc.api.fluent._state.reset()
    http.close()


def _use(transport) -> None:
    """``lc.*`` over ``transport`` from now on (the other one stays open)."""
    state = lc.api.fluent._state
    with state.lock:
        if state._flusher is not None:
            state._flusher.close()  # what was logged is sent first
        state._transport, state._flusher = transport, None


def test_every_domain_answers_the_same_over_both_transports(transports, live_jupyter):
    project = f"transports-{uuid.uuid4().hex[:8]}"
    _use(transports["http"])
    runs = []
    for lr in (0.1, 0.2):
        with lc.start_run("parity", project=project) as run:
            lc.log_params({"lr": lr})
            lc.log_metric("acc", lr * 4)
            lc.log_metric("loss", float("nan"))
        runs.append(run.id)
    note = lc.add_note(f"baseline of {project}", entity=("run", runs[0]))
    nightly = live_jupyter.workspace / f"{project}.ipynb"
    write_notebook(nightly, ["print('nightly')"])
    schedule = lc.schedule(str(nightly), "0 3 * * *", name=f"{project}-nightly", paused=True)

    answers = {}
    for name, transport in transports.items():
        _use(transport)
        compared = lc.compare_runs(runs, metric="acc")
        answers[name] = {
            "project": {k: v for k, v in lc.get_project(project).items() if k != "stats"},
            "listed": sorted(p["name"] for p in lc.list_projects() if p["name"] == project),
            "members": lc.project_members(project),
            "notes": [n["body"] for n in lc.notes(("run", runs[0]))],
            "audit": lc.audit_log(entity_id=runs[0], max_results=1000)["action"].tolist(),
            "lineage": sorted(n["id"] for n in lc.lineage("run", runs[0])["nodes"]),
            "compare": (compared["params"], compared["parallel"]["rows"]),
            "schedules": [s.name for s in lc.schedules() if s.name.startswith(project)],
            "history": next(s for s in lc.schedules() if s.id == schedule.id).history(),
            "deployments": sorted(d.name for d in lc.list_deployments()),
            "monitors": sorted(m.name for m in lc.list_monitors()),
        }
    assert answers["http"] == answers["local"]
    seen = answers["local"]
    assert seen["notes"] == [f"baseline of {project}"]
    assert seen["schedules"] == [f"{project}-nightly"]
    assert "run.create" in seen["audit"]
    losses = {r["run_id"]: r for r in seen["compare"][1]}
    assert set(losses) == set(runs)

    # Writes through one transport are seen through the other.
    _use(transports["local"])
    lc.edit_note(note["id"], "edited locally")
    _use(transports["http"])
    assert [n["body"] for n in lc.notes(("run", runs[0]))] == ["edited locally"]
    lc.delete_note(note["id"])
    lc.update_project(project, tags=["parity"])
    schedule.delete()
    _use(transports["local"])
    assert lc.notes(("run", runs[0])) == []
    assert lc.get_project(project)["tags"] == ["parity"]
    assert not [s for s in lc.schedules() if s.name.startswith(project)]


def test_errors_are_the_same_over_both_transports(transports):
    for transport in transports.values():
        _use(transport)
        with pytest.raises(lc.errors.NotFound):
            lc.get_project(f"missing-{uuid.uuid4().hex}")
        with pytest.raises(lc.errors.NotFound):
            lc.get_monitor("no-such-monitor")
        with pytest.raises(lc.errors.NotFound):
            lc.get_deployment("no-such-deployment")
        with pytest.raises(lc.errors.NotFound):
            lc.get_job(uuid.uuid4().hex)
