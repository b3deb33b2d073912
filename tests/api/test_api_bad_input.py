"""Bad input: always a 4xx with a JSON error that names the field, never a 500 or a page."""

from __future__ import annotations


async def test_metric_value_of_the_wrong_type_names_the_field(api, make_run):
    run = await make_run()
    for value, kind in [
        ("high", "the string 'high'"),
        (True, "boolean"),
        (None, "null"),
        ({"v": 1}, "object"),
        ([1], "array"),
    ]:
        reply = await api(
            "POST",
            "runs",
            run["id"],
            "metrics",
            body={"metrics": [{"key": "ok", "value": 1.0}, {"key": "acc", "value": value}]},
        )
        assert reply.status == 400, (value, reply)
        error = reply.error
        assert error["code"] == "invalid_input"
        assert error["details"]["field"] == "metrics[1].value", error
        assert "metrics[1].value" in error["message"] and kind in error["message"], error
    # nothing of a refused batch was stored
    assert (await api("GET", "runs", run["id"], "metrics", "ok")).status == 404


async def test_other_metric_fields_are_checked(api, make_run):
    run = await make_run()
    cases = [
        ({"metrics": [{"key": "a", "value": 1, "step": "one"}]}, "metrics[0].step"),
        ({"metrics": [{"key": "a", "value": 1, "step": 2**70}]}, "metrics[0].step"),
        ({"metrics": [{"value": 1}]}, "metrics[0].key"),
        ({"metrics": [{"key": "a"}]}, "metrics[0].value"),
        ({"metrics": [{"key": "a", "value": 1, "color": "red"}]}, "metrics[0].color"),
        ({"metrics": {"a": 1}}, "metrics"),
        ({"metric": [{"key": "a", "value": 1}]}, "metrics"),
        ({"metrics": [{"key": "a", "value": 10**400}]}, "metrics[0].value"),
    ]
    for body, field in cases:
        reply = await api("POST", "runs", run["id"], "metrics", body=body)
        assert reply.status == 400, (body, reply)
        assert reply.error["details"]["field"] == field, (body, reply.error)


async def test_param_of_the_wrong_type_names_the_field(api, make_run):
    run = await make_run()
    for value, kind in [({"a": 1}, "object"), ([1, 2], "array"), (None, "null")]:
        reply = await api("POST", "runs", run["id"], "params", body={"params": {"lr": value}})
        assert reply.status == 400, reply
        assert reply.error["details"]["field"] == "params.lr"
        assert kind in reply.error["message"]
    reply = await api("POST", "runs", run["id"], "tags", body={"tags": {"t": {"x": 1}}})
    assert reply.status == 400 and reply.error["details"]["field"] == "tags.t"
    reply = await api("POST", "runs", run["id"], "params", body={"params": ["lr", 1]})
    assert reply.status == 400 and reply.error["details"]["field"] == "params"


async def test_keys_with_path_syntax_or_control_characters_are_400(api, make_run):
    run = await make_run()
    for key in ("a..b", "..", "a/b", "/abs", "a\\b", "nul\x00byte", "tab\tkey", "", " padded "):
        for route, body in [
            ("params", {"params": {key: 1}}),
            ("tags", {"tags": {key: "v"}}),
            ("metrics", {"metrics": [{"key": key, "value": 1}]}),
        ]:
            reply = await api("POST", "runs", run["id"], route, body=body)
            assert reply.status == 400, (route, repr(key), reply)
            assert reply.error["code"] == "invalid_input"
            assert reply.error["details"]["field"].startswith(route), reply.error
    got = (await api("GET", "runs", run["id"])).json
    assert got["params"] == {} and got["tags"] == {} and got["metrics"] == {}


async def test_metric_key_in_the_url_is_checked_too(raw_fetch, make_run):
    run = await make_run()
    for key in ("a%2Fb", "a%5Cb", "..", "a%00b", "%2e%2e"):
        reply = await raw_fetch("GET", f"runs/{run['id']}/metrics/{key}")
        assert reply.status in (400, 404), (key, reply)
        reply.error  # noqa: B018 - asserts the JSON error shape


async def test_malformed_json_is_400_json(raw_fetch, make_run):
    run = await make_run()
    headers = {"Content-Type": "application/json"}
    for body in (
        b"{",
        b"{'single': 'quotes'}",
        b"",
        b"   ",
        b"\xff\xfe\x00",
        b"[1, 2]",
        b"42",
        b'"text"',
        b"null",
        b"[" * 100_000,
    ):
        for path in ("runs", "projects", f"runs/{run['id']}/params"):
            reply = await raw_fetch("POST", path, body=body, headers=headers)
            assert reply.status == 400, (path, body[:20], reply)
            error = reply.error
            assert error["code"] == "invalid_input" and error["details"]["field"] == "body"
    reply = await raw_fetch("PATCH", f"runs/{run['id']}", body=b"{nope", headers=headers)
    assert reply.status == 400 and reply.error["code"] == "invalid_input"


async def test_unknown_and_missing_fields(api, make_run):
    reply = await api("POST", "projects", body={"name": "p", "colour": "red"})
    assert reply.status == 400 and reply.error["details"]["field"] == "colour"
    assert "not a known field" in reply.error["message"]
    reply = await api("POST", "projects", body={"description": "no name"})
    assert reply.status == 400 and reply.error["details"]["field"] == "name"
    assert "required" in reply.error["message"]
    reply = await api("POST", "runs", body={"experiment": "e", "source": "spreadsheet"})
    assert reply.status == 400 and reply.error["details"]["field"] == "source"
    reply = await api("POST", "runs", body={"experiment": "e", "start_time": "yesterday"})
    assert reply.status == 400 and reply.error["details"]["field"] == "start_time"
    reply = await api("POST", "runs", body={"experiment": "e", "git": {"sha": "x"}})
    assert reply.status == 400 and reply.error["details"]["field"] == "git.sha"
    run = await make_run()
    reply = await api(
        "POST",
        "runs",
        run["id"],
        "cells",
        body={"cells": [{"source": "x = 1"}, {"source": "y", "status": "maybe"}]},
    )
    assert reply.status == 400 and reply.error["details"]["field"] == "cells[1].status"
    errors = reply.error["details"]["errors"]
    assert errors == [
        {"field": "cells[1].status", "message": errors[0]["message"], "type": "literal_error"}
    ]


async def test_values_the_database_cannot_hold_are_400_not_500(api, make_run):
    run = await make_run()
    huge = {"metrics": [{"key": "a", "value": 1, "timestamp": 2**64}]}
    assert (await api("POST", "runs", run["id"], "metrics", body=huge)).status == 400
    early = {"experiment": "e", "start_time": -(10**17)}
    assert (await api("POST", "runs", body=early)).status == 400
    long_name = {"name": "x" * 10_000}
    assert (await api("POST", "projects", body=long_name)).status == 400
    cell = {"cells": [{"source": "x", "execution_count": 2**40}]}
    assert (await api("POST", "runs", run["id"], "cells", body=cell)).status == 400


async def test_bad_query_strings(api):
    for params, field in [
        ({"max_results": "lots"}, "max_results"),
        ({"max_results": "5000"}, "max_results"),
        ({"page_token": "%%%"}, "page_token"),
    ]:
        for route in ("runs", "projects", "experiments", "datasets", "audit"):
            reply = await api("GET", route, params=params)
            assert reply.status == 400, (route, params, reply)
            assert reply.error["details"]["field"] == field
