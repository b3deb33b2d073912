"""Hostile input that used to give a 500 or be accepted: each case is a 4xx naming the field.

OPTIONS on every route, a lone UTF-16 surrogate in a body, numbers out of range in a run
filter, an end before the start, and notebooks that are not notebooks or lie outside the
server's contents root for jobs, sweeps and schedules (refused at submit, nothing stored).
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from labcycle.server.routes import ROUTES

SURROGATE = "\ud800"


def _sample_path(path: str) -> str:
    """A route's path with every parameter filled in (ids that do not exist are fine)."""
    return re.sub(r"\{(\w+)\}", lambda m: "0" * 32 if m.group(1).endswith("id") else "x", path)


async def test_options_on_every_route_is_not_a_500(raw_fetch):
    paths = sorted({route.path for route in ROUTES})
    assert len(paths) > 50
    for path in paths:
        reply = await raw_fetch("OPTIONS", _sample_path(path))
        assert reply.status < 300, (path, reply)
        assert "GET" in reply.headers.get("Access-Control-Allow-Methods", ""), (path, reply)
    # and a path no route matches
    assert (await raw_fetch("OPTIONS", "no/such/route")).status < 500


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("params", {"params": {"lr": SURROGATE}}, "params.lr"),
        ("params", {"params": {f"k{SURROGATE}": 1}}, "params.k\\ud800"),
        ("tags", {"tags": {"team": f"a{SURROGATE}b"}}, "tags.team"),
        ("cells", {"cells": [{"source": SURROGATE, "execution_count": 1}]}, "cells[0].source"),
        ("metrics", {"metrics": [{"key": SURROGATE, "value": 1}]}, "metrics[0].key"),
    ],
)
async def test_lone_surrogate_in_a_run_body_is_400(api, make_run, route, body, field):
    run = await make_run()
    reply = await api("POST", "runs", run["id"], route, body=body)
    assert reply.status == 400, reply
    assert reply.error["code"] == "invalid_input"
    assert reply.error["details"]["field"] == field, reply.error
    assert field in reply.error["message"] and "surrogate" in reply.error["message"]
    got = (await api("GET", "runs", run["id"])).json
    assert got["params"] == {} and got["tags"] == {}


async def test_lone_surrogate_in_a_note_and_a_run_name_is_400(api, make_run):
    run = await make_run()
    reply = await api(
        "POST",
        "notes",
        body={"entity": {"type": "run", "id": run["id"]}, "body": f"looks good {SURROGATE}"},
    )
    assert reply.status == 400 and reply.error["details"]["field"] == "body", reply
    reply = await api("POST", "runs", body={"experiment": "exp", "name": SURROGATE})
    assert reply.status == 400 and reply.error["details"]["field"] == "name", reply
    # a proper pair (an emoji) is text, and is stored
    reply = await api("POST", "runs", run["id"], "tags", body={"tags": {"mood": "\U0001f600"}})
    assert reply.status == 200, reply
    assert (await api("GET", "runs", run["id"])).json["tags"]["mood"] == "\U0001f600"


@pytest.mark.parametrize(
    ("expression", "needle"),
    [
        ("start_time > 9223372036854775808", "9223372036854775808"),
        ("metrics.acc > 9223372036854775808", "9223372036854775808"),
        ("params.lr = -9223372036854775809", "9223372036854775809"),
        ("tags.n in (1, " + "9" * 5000 + ")", "out of range"),
        ("metrics.acc > 1e400", "1e400"),
        ("params.lr < -1e400", "1e400"),
        ("start_time > 1e300", "start_time"),
        ("end_time < Infinity", "end_time"),
    ],
)
async def test_run_filter_numbers_out_of_range_are_400(api, make_run, expression, needle):
    await make_run()
    reply = await api("GET", "runs", params={"filter": expression})
    assert reply.status == 400, (expression, reply)
    assert reply.error["details"]["field"] == "filter", reply.error
    assert needle in reply.error["message"], reply.error


async def test_run_filter_numbers_in_range_still_work(api, make_run):
    run = await make_run()
    await api(
        "POST", "runs", run["id"], "metrics", body={"metrics": [{"key": "acc", "value": 0.5}]}
    )
    for expression in (
        "metrics.acc < 9223372036854775807",
        "metrics.acc < 1e308",
        "metrics.acc < Infinity",
        "start_time > -9223372036854775808",
        "name != 5",
    ):
        reply = await api("GET", "runs", params={"filter": expression})
        assert reply.status == 200, (expression, reply)
        assert [r["id"] for r in reply.json["items"]] == [run["id"]], expression


async def test_end_time_before_start_time_is_400(api, make_run):
    run = await make_run(start_time=1_700_000_000_000)
    reply = await api(
        "PATCH", "runs", run["id"], body={"status": "finished", "end_time": 1_699_999_999_999}
    )
    assert reply.status == 400, reply
    assert reply.error["details"]["field"] == "end_time"
    assert "start_time" in reply.error["message"]
    assert (await api("GET", "runs", run["id"])).json["status"] == "running"
    ok = await api(
        "PATCH", "runs", run["id"], body={"status": "finished", "end_time": 1_700_000_000_000}
    )
    assert ok.status == 200 and ok.json["status"] == "finished"


# -- notebooks of jobs, sweeps and schedules ---------------------------------------------------
def _notebook(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, path)
    return path


def _bad_notebooks(root):
    (root / "broken.ipynb").write_text('{"cells": [')
    (root / "list.ipynb").write_text("[1, 2]")
    (root / "v3.ipynb").write_text(json.dumps({"nbformat": 3, "worksheets": [], "cells": []}))
    (root / "nocells.ipynb").write_text(json.dumps({"nbformat": 4, "metadata": {}}))
    return ["broken.ipynb", "list.ipynb", "v3.ipynb", "nocells.ipynb", "missing.ipynb"]


def _submissions(notebook, cwd=None):
    """The same notebook (and cwd) as a job, a sweep and a schedule, with the field names."""
    extra = {"cwd": cwd} if cwd is not None else {}
    return [
        ("jobs", {"notebook": notebook, **extra}, ""),
        ("sweeps", {"notebook": notebook, "grid": {"x": [1, 2]}, **extra}, ""),
        (
            "schedules",
            {"cron": "0 3 * * *", "payload": {"notebook": notebook, **extra}},
            "payload.",
        ),
    ]


async def _nothing_stored(api):
    for collection in ("jobs", "sweeps", "schedules"):
        assert (await api("GET", collection)).json["items"] == [], collection


async def test_invalid_notebooks_are_refused_at_submit(api, jp_root_dir):
    for name in _bad_notebooks(jp_root_dir):
        for collection, body, prefix in _submissions(name):
            reply = await api("POST", collection, body=body)
            assert reply.status == 400, (collection, name, reply)
            assert reply.error["details"]["field"] == f"{prefix}notebook", reply.error
            assert name in reply.error["message"], reply.error
    await _nothing_stored(api)


async def test_notebooks_and_cwds_outside_the_root_are_refused(api, jp_root_dir, tmp_path):
    outside = _notebook(tmp_path / "outside" / "train.ipynb")
    _notebook(jp_root_dir / "inside.ipynb")
    (jp_root_dir / "escape").symlink_to(outside.parent, target_is_directory=True)
    cases = [
        (str(outside), None, "notebook"),
        ("../outside/train.ipynb", None, "notebook"),
        ("escape/train.ipynb", None, "notebook"),
        ("inside.ipynb", "/etc", "cwd"),
        ("inside.ipynb", "..", "cwd"),
        ("inside.ipynb", "escape", "cwd"),
    ]
    for notebook, cwd, field in cases:
        for collection, body, prefix in _submissions(notebook, cwd):
            reply = await api("POST", collection, body=body)
            assert reply.status == 400, (collection, notebook, cwd, reply)
            assert reply.error["details"]["field"] == f"{prefix}{field}", reply.error
            assert "root" in reply.error["message"] or "'..'" in reply.error["message"]
    await _nothing_stored(api)


async def test_relative_paths_start_at_the_root(api, jp_root_dir):
    _notebook(jp_root_dir / "nbs" / "train.ipynb")
    (jp_root_dir / "data").mkdir()
    sweep = await api(
        "POST",
        "sweeps",
        body={"notebook": "nbs/train.ipynb", "cwd": "data", "trials": [{"x": 1}], "parallel": 1},
    )
    assert sweep.status == 201, sweep
    assert sweep.json["notebook"] == str((jp_root_dir / "nbs" / "train.ipynb").resolve())
    await api("POST", "sweeps", sweep.json["id"], "cancel")
    schedule = await api(
        "POST",
        "schedules",
        body={
            "cron": "0 3 * * *",
            "paused": True,
            "payload": {"notebook": "nbs/train.ipynb", "cwd": "data"},
        },
    )
    assert schedule.status == 201, schedule
    payload = schedule.json["payload"]
    assert payload["notebook"] == str((jp_root_dir / "nbs" / "train.ipynb").resolve())
    assert payload["cwd"] == str((jp_root_dir / "data").resolve())
