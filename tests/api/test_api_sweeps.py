"""Sweeps, schedules and reproduce over REST: shapes, validation errors naming the field,
pause/resume, and the reproduction report of two runs."""

from __future__ import annotations

import nbformat

from labcycle.server.responses import sweeps as out


def _notebook(path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cell = nbformat.v4.new_code_cell("lr = 0.1")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nbformat.write(nb, path)
    return str(path)


async def test_schedule_lifecycle(api, jp_root_dir):
    notebook = _notebook(jp_root_dir / "nightly.ipynb")
    created = await api(
        "POST",
        "schedules",
        body={
            "cron": "0 3 * * *",
            "timezone": "Europe/Paris",
            "name": "nightly",
            "payload": {"notebook": notebook, "parameters": {"lr": 0.1}},
        },
    )
    assert created.status == 201, created
    schedule = out.Schedule.model_validate(created.json)
    assert schedule.kind == "job" and schedule.next_run_at is not None
    assert created.headers["Location"].endswith(f"/labcycle/api/v1/schedules/{schedule.id}")

    listed = await api("GET", "schedules")
    assert [s.id for s in out.ScheduleList.model_validate(listed.json).items] == [schedule.id]
    paused = await api("PATCH", "schedules", schedule.id, body={"paused": True})
    assert paused.json["paused"] is True and paused.json["next_run_at"] is None
    resumed = await api(
        "PATCH", "schedules", schedule.id, body={"paused": False, "cron": "30 4 * * 1-5"}
    )
    assert resumed.json["cron"] == "30 4 * * 1-5" and resumed.json["next_run_at"]
    detail = out.ScheduleDetail.model_validate((await api("GET", "schedules", schedule.id)).json)
    assert detail.history == []
    assert (await api("DELETE", "schedules", schedule.id)).status == 204
    assert (await api("GET", "schedules", schedule.id)).status == 404


async def test_schedule_input_errors_name_the_field(api, jp_root_dir):
    notebook = _notebook(jp_root_dir / "n.ipynb")
    cases = [
        ({"cron": "61 * * * *", "payload": {"notebook": notebook}}, "cron"),
        (
            {"cron": "* * * * *", "timezone": "Nowhere/City", "payload": {"notebook": notebook}},
            "timezone",
        ),
        ({"cron": "* * * * *", "kind": "unknown", "payload": {}}, "kind"),
        ({"cron": "* * * * *", "payload": {}}, "payload.notebook"),
        ({"cron": "* * * * *", "payload": {"notebook": notebook}, "crontab": "x"}, "crontab"),
    ]
    for body, field in cases:
        reply = await api("POST", "schedules", body=body)
        assert reply.status == 400, (body, reply)
        assert reply.error["details"]["field"] == field, (body, reply.error)
    created = await api(
        "POST", "schedules", body={"cron": "* * * * *", "payload": {"notebook": notebook}}
    )
    bad = await api("PATCH", "schedules", created.json["id"], body={"cron": "nope"})
    assert bad.status == 400 and bad.error["details"]["field"] == "cron"


async def test_sweep_create_show_cancel(api, jp_root_dir):
    notebook = _notebook(jp_root_dir / "train.ipynb")
    created = await api(
        "POST",
        "sweeps",
        body={
            "notebook": notebook,
            "grid": {"lr": [0.01, 0.1, 1.0]},
            "parallel": 1,
            "experiment": "api-sweep",
        },
    )
    assert created.status == 201, created
    sweep = out.Sweep.model_validate(created.json)
    assert sweep.n_trials == 3 and sweep.progress.total == 3
    cancelled = await api("POST", "sweeps", sweep.id, "cancel")
    assert cancelled.status == 200 and cancelled.json["status"] == "cancelled"
    detail = out.SweepDetail.model_validate((await api("GET", "sweeps", sweep.id)).json)
    assert [t.parameters for t in detail.runs] == [{"lr": 0.01}, {"lr": 0.1}, {"lr": 1.0}]
    assert detail.runs[2].status == "not_submitted"
    listed = out.SweepList.model_validate((await api("GET", "sweeps")).json)
    assert [s.id for s in listed.items] == [sweep.id]
    again = await api("POST", "sweeps", sweep.id, "cancel")
    assert again.status == 409
    best = await api("GET", "sweeps", sweep.id, "best", params={"metric": "acc"})
    assert best.status == 404


async def test_sweep_input_errors_name_the_field(api, jp_root_dir):
    notebook = _notebook(jp_root_dir / "train.ipynb")
    cases = [
        ({"grid": {"lr": []}}, "grid.lr"),
        ({"random": {"lr": {"uniform": [1, 0]}}, "n_trials": 3}, "random.lr.high"),
        ({"random": {"lr": {"uniform": [0, 1]}}}, "n_trials"),
        ({"grid": {"lr": [1]}, "parallel": 0}, "parallel"),
        ({"grid": {"lr": [1]}, "paralel": 2}, "paralel"),
        ({}, "grid"),
    ]
    for body, field in cases:
        reply = await api("POST", "sweeps", body={"notebook": notebook, **body})
        assert reply.status == 400, (body, reply)
        assert reply.error["details"]["field"] == field, (body, reply.error)
    assert (await api("GET", "sweeps", "0" * 32)).status == 404


async def test_reproduction_report_of_two_runs(api, make_run):
    a = await make_run(packages={"numpy": "1.26.0"}, python_version="3.11.4")
    b = await make_run(packages={"numpy": "2.0.0"}, python_version="3.11.4")
    for run in (a, b):
        await api(
            "POST", "runs", run["id"], "metrics", body={"metrics": [{"key": "acc", "value": 0.9}]}
        )
    reply = await api("GET", "runs", a["id"], "reproduction-report", params={"against": b["id"]})
    assert reply.status == 200, reply
    report = out.ReproductionReport.model_validate(reply.json)
    assert report.packages["changed"] == {"numpy": {"a": "1.26.0", "b": "2.0.0"}}
    assert report.metrics[0].key == "acc" and report.metrics[0].rel_change == 0.0
    assert report.metrics[0].changed is False
    # no reproduction yet, and no snapshot to reproduce
    missing = await api("GET", "runs", a["id"], "reproduction-report")
    assert missing.status == 404 and missing.error["details"]["field"] == "against"
    refused = await api("POST", "runs", a["id"], "reproduce")
    assert refused.status == 400 and refused.error["details"]["field"] == "run_id"
