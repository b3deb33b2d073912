"""REST routes of monitors: the whole life of one, documented shapes, bad input, 404s."""

from __future__ import annotations

import json

import pytest
from monitoring._support import frame, log_dataset

from labcycle.server.responses import monitors as out


@pytest.mark.parametrize(
    "server_overrides", [{"LabCycle": {"webhook_allow": ["127.0.0.0/8"]}}], indirect=True
)
async def test_a_monitor_through_rest(api, labcycle_app):
    svc = labcycle_app.services
    reference = log_dataset(svc, "train", frame(500, seed=1))
    drifted = log_dataset(svc, "drifted", frame(300, shift=9, seed=2))

    reply = await api("GET", "monitors")
    assert reply.status == 200 and reply.json["items"] == []
    body = {
        "name": "m1",
        "reference_dataset": reference["id"],
        "current_dataset": drifted["id"],
        "cron": "0 6 * * *",
        "thresholds": {"drift_share": 0.3},
        "channels": [
            {"type": "email", "to": ["owner@example.com"]},
            {"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "top-secret"},
        ],
    }
    reply = await api("POST", "monitors", body=body)
    assert reply.status == 201, reply
    out.Monitor.model_validate(reply.json)
    monitor = reply.json
    assert monitor["health"] == "unknown" and monitor["schedule"]["cron"] == "0 6 * * *"
    assert monitor["thresholds"]["drift_share"] == 0.3
    assert "top-secret" not in json.dumps(monitor)

    reply = await api("POST", "monitors", monitor["id"], "checks")
    assert reply.status == 201, reply
    out.CheckBrief.model_validate(reply.json)
    check = reply.json
    assert check["status"] == "drift" and check["result"]["drift"]["columns"]["age"]["drifted"]

    reply = await api("GET", "monitors", "m1", "checks")
    assert reply.status == 200
    out.CheckList.model_validate(reply.json)
    assert [c["id"] for c in reply.json["items"]] == [check["id"]]
    reply = await api("GET", "monitors", "m1", "checks", check["id"])
    assert reply.status == 200 and reply.json["result"]["features"] == ["age", "income", "plan"]

    reply = await api("GET", "monitors", "m1")
    out.Monitor.model_validate(reply.json)
    assert reply.json["health"] == "drift" and reply.json["alerting"] is True

    reply = await api("GET", "monitors", "m1", "alerts")
    assert reply.status == 200
    out.AlertList.model_validate(reply.json)

    reply = await api("PATCH", "monitors", "m1", body={"paused": True, "cooldown_s": 60})
    assert reply.status == 200, reply
    assert reply.json["schedule"]["paused"] is True and reply.json["cooldown_s"] == 60
    reply = await api("GET", "monitors", "m1", "performance")
    assert reply.status == 400 and reply.error["details"]["field"] == "monitor"

    reply = await api("DELETE", "monitors", "m1")
    assert reply.status == 204
    assert (await api("GET", "monitors", "m1")).status == 404
    labcycle_app.services.monitors.close()


async def test_bad_monitor_input_is_a_400_naming_the_field(api, labcycle_app):
    svc = labcycle_app.services
    log_dataset(svc, "train", frame(100))
    log_dataset(svc, "cur", frame(100, seed=3))
    base = {"reference_dataset": "train", "current_dataset": "cur"}
    cases = [
        ({**base, "colour": "red"}, "colour"),
        ({**base, "window": {"last_n": "many"}}, "window.last_n"),
        ({**base, "window": {"last": "forever"}}, "window.last"),
        ({**base, "thresholds": {"drift_share": 0}}, "thresholds.drift_share"),
        ({**base, "cooldown_s": -1}, "cooldown_s"),
        ({**base, "cron": "*/0 * * *"}, "cron"),
        ({**base, "channels": [{"type": "webhook", "url": "http://169.254.169.254/"}]}, "channels"),
        ({**base, "channels": [{"type": "email", "to": ["not an address"]}]}, "channels"),
        ({**base, "channels": [{"type": "pigeon"}]}, "channels"),
        ({"reference_dataset": "train"}, "deployment"),
    ]
    for body, field in cases:
        reply = await api("POST", "monitors", body=body)
        assert reply.status == 400, (body, reply)
        assert reply.error["details"]["field"].startswith(field), (body, reply.error)
        assert b"Traceback" not in reply.body
    reply = await api("POST", "monitors", body={**base, "reference_dataset": "missing"})
    assert reply.status == 404
    reply = await api("PATCH", "monitors", "nope", body={"paused": True})
    assert reply.status == 404
    reply = await api("POST", "monitors", body={**base, "name": "ok"})
    assert reply.status == 201
    reply = await api("PATCH", "monitors", "ok", body={})
    assert reply.status == 400 and reply.error["details"]["field"] == "body"
    reply = await api("GET", "monitors", "ok", "checks", "0" * 32)
    assert reply.status == 404
    for method, path in (
        ("GET", "monitors/nope"),
        ("DELETE", "monitors/nope"),
        ("POST", "monitors/nope/checks"),
        ("GET", "monitors/nope/alerts"),
    ):
        reply = await api(method, *path.split("/"))
        assert reply.status == 404 and reply.error["code"] == "not_found", (method, path)
