"""The monitor service on both stores: settings, checks of a dataset pair, history,
schedules through the shared scheduler, alert deduplication with a real webhook receiver."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labcycle.errors import Conflict, InvalidInput, NotFound
from labcycle.services.scheduler import Scheduler

from ._support import frame, log_dataset

ACTOR = "alice"
HOUR_MS = 3_600_000


@pytest.fixture
def pair(services):
    reference = log_dataset(services, "train", frame(600, seed=1))
    same = log_dataset(services, "same", frame(400, seed=2))
    drifted = log_dataset(services, "drifted", frame(400, shift=8, seed=3, weights=(0.1, 0.2, 0.7)))
    return reference, same, drifted


def test_a_dataset_pair_without_drift_is_ok_and_with_drift_says_which_columns(services, pair):
    reference, same, drifted = pair
    calm = services.monitors.create(
        actor=ACTOR, name="calm", reference_dataset=reference["id"], current_dataset=same["id"]
    )
    assert calm["health"] == "unknown" and calm["latest_check"] is None
    check = services.monitors.run_check("calm", actor=ACTOR)
    assert check["status"] == "ok", check["summary"]
    assert check["dataset_drift"] is False and check["current_rows"] == 400

    services.monitors.create(
        actor=ACTOR, name="moved", reference_dataset="train", current_dataset=drifted["id"]
    )
    check = services.monitors.run_check("moved", actor=ACTOR)
    assert check["status"] == "drift"
    columns = check["result"]["drift"]["columns"]
    assert columns["age"]["drifted"] and columns["plan"]["drifted"]
    assert not columns["income"]["drifted"]
    assert columns["age"]["method"] == "ks" and "600" in columns["age"]["reason"]
    assert "2 of 3 features drifted" in check["summary"] and "age" in check["summary"]
    assert check["result"]["quality"] is not None
    monitor = services.monitors.get("moved")
    assert monitor["health"] == "drift" and monitor["latest_check"]["id"] == check["id"]
    assert monitor["latest_check"]["columns"]["age"]["drifted"] is True


def test_thresholds_per_feature_and_method_change_the_verdict(services, pair):
    reference, _, drifted = pair
    services.monitors.create(
        actor=ACTOR,
        name="lenient",
        reference_dataset=reference["id"],
        current_dataset=drifted["id"],
        thresholds={"columns": {"age": {"method": "psi", "threshold": 50.0}}, "drift_share": 1.0},
    )
    check = services.monitors.run_check("lenient", actor=ACTOR)
    age = check["result"]["drift"]["columns"]["age"]
    assert age["method"] == "psi" and age["threshold"] == 50.0 and not age["drifted"]
    assert check["status"] == "ok"  # plan alone drifts: 1 of 3 < drift_share 1.0


def test_history_is_kept_newest_first_with_every_statistic(services, pair):
    reference, same, _ = pair
    services.monitors.create(
        actor=ACTOR, name="h", reference_dataset=reference["id"], current_dataset=same["id"]
    )
    ids = [
        services.monitors.run_check("h", actor=ACTOR, now=1_000_000 + i * HOUR_MS)["id"]
        for i in range(3)
    ]
    history = services.monitors.checks("h")["items"]
    assert [c["id"] for c in history] == ids[::-1]
    assert "result" not in history[0] and set(history[0]["columns"]) == {"age", "income", "plan"}
    full = services.monitors.check("h", ids[0])
    assert full["result"]["drift"]["columns"]["age"]["histogram"]["reference"]
    with pytest.raises(NotFound):
        services.monitors.check("h", "f" * 32)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({}, "deployment"),
        ({"deployment": "x", "current_dataset": "y"}, "deployment"),
        ({"current_dataset": "same"}, "reference_dataset"),
        (
            {"current_dataset": "same", "reference_dataset": "train", "window": {"last_n": 0}},
            "window.last_n",
        ),
        (
            {
                "current_dataset": "same",
                "reference_dataset": "train",
                "window": {"last": "yesterday"},
            },
            "window.last",
        ),
        (
            {
                "current_dataset": "same",
                "reference_dataset": "train",
                "window": {"last_n": 5, "last": "1d"},
            },
            "window",
        ),
        (
            {"current_dataset": "same", "reference_dataset": "train", "thresholds": {"drift": 1}},
            "thresholds.drift",
        ),
        (
            {
                "current_dataset": "same",
                "reference_dataset": "train",
                "thresholds": {"method": "magic"},
            },
            "thresholds.method",
        ),
        (
            {
                "current_dataset": "same",
                "reference_dataset": "train",
                "thresholds": {"drift_share": 2},
            },
            "thresholds.drift_share",
        ),
        (
            {
                "current_dataset": "same",
                "reference_dataset": "train",
                "thresholds": {"columns": {"age": {"threshold": -1}}},
            },
            "thresholds.columns.age.threshold",
        ),
        ({"current_dataset": "same", "reference_dataset": "train", "features": []}, "features"),
        ({"current_dataset": "same", "reference_dataset": "train", "cooldown_s": -5}, "cooldown_s"),
        ({"current_dataset": "same", "reference_dataset": "train", "cron": "every day"}, "cron"),
        (
            {
                "current_dataset": "same",
                "reference_dataset": "train",
                "channels": [{"type": "webhook", "url": "http://169.254.169.254/latest"}],
            },
            "channels",
        ),
    ],
)
def test_bad_settings_are_refused_naming_the_field(services, pair, kwargs, field):
    with pytest.raises(InvalidInput) as err:
        services.monitors.create(actor=ACTOR, name="bad", **kwargs)
    assert (err.value.details.get("field") or "").startswith(field), err.value.message
    assert services.monitors.list()["items"] == []  # nothing half-made


def test_unknown_and_duplicate_references(services, pair):
    with pytest.raises(NotFound):
        services.monitors.create(actor=ACTOR, reference_dataset="nope", current_dataset="same")
    with pytest.raises(NotFound):
        services.monitors.create(actor=ACTOR, deployment="no-such-deployment")
    log_dataset(services, "bare", frame(50), content=False)
    with pytest.raises(InvalidInput, match="without its content"):
        services.monitors.create(actor=ACTOR, reference_dataset="bare", current_dataset="same")
    services.monitors.create(
        actor=ACTOR, name="m", reference_dataset="train", current_dataset="same"
    )
    with pytest.raises(Conflict):
        services.monitors.create(
            actor=ACTOR, name="m", reference_dataset="train", current_dataset="same"
        )
    with pytest.raises(NotFound):
        services.monitors.get("no-monitor")


def test_a_schedule_fires_checks_through_the_shared_scheduler(services, pair):
    reference, same, _ = pair
    t0 = 1_800_000_000_000  # 2027-01-15T08:00:00Z, on the hour
    m = services.monitors.create(
        actor=ACTOR,
        name="hourly",
        reference_dataset=reference["id"],
        current_dataset=same["id"],
        cron="0 * * * *",
    )
    assert m["schedule"]["cron"] == "0 * * * *" and m["schedule"]["next_run_at"]
    schedule_id = m["schedule_id"]
    services.schedules.update(schedule_id, actor=ACTOR, cron="0 * * * *", now=t0)
    scheduler = Scheduler(services, clock=lambda: t0)
    assert scheduler.tick(t0 + 1000)["fired"] == []  # not due yet
    fired = scheduler.tick(t0 + HOUR_MS + 1000)["fired"]
    assert len(fired) == 1 and fired[0]["status"] == "ok", fired
    checks = services.monitors.checks("hourly")["items"]
    assert len(checks) == 1 and checks[0]["trigger"] == "schedule"
    assert fired[0]["result"]["check_id"] == checks[0]["id"]

    services.monitors.update("hourly", actor=ACTOR, paused=True)
    assert services.monitors.get("hourly")["schedule"]["paused"] is True
    assert scheduler.tick(t0 + 3 * HOUR_MS)["fired"] == []
    services.monitors.update("hourly", actor=ACTOR, cron=None)
    assert services.monitors.get("hourly")["schedule"] is None
    with pytest.raises(NotFound):
        services.schedules.get(schedule_id)
    with pytest.raises(InvalidInput, match="no schedule"):
        services.monitors.update("hourly", actor=ACTOR, paused=False)


def test_a_persisting_problem_alerts_once_and_its_end_sends_one_recovery(
    services, pair, receiver, monkeypatch
):
    reference, same, drifted = pair
    services.monitors.webhook_allow = ["127.0.0.0/8"]
    services.monitors.create(
        actor=ACTOR,
        name="alerting",
        reference_dataset=reference["id"],
        current_dataset=drifted["id"],
        cooldown_s=0,
        channels=[{"type": "webhook", "url": receiver.url(), "secret": "s3cret"}],
    )
    shown = services.monitors.get("alerting")["channels"]
    assert "s3cret" not in json.dumps(shown)

    for _ in range(3):  # drift in three checks in a row: one alert
        services.monitors.run_check("alerting", actor=ACTOR)
    services.monitors.delivery.flush(10)
    assert [b["event"] for b in receiver.json_bodies()] == ["labcycle.alert.fired"]
    assert "age" in json.dumps(receiver.json_bodies()[0])
    assert services.monitors.get("alerting")["alerting"] is True

    # the data recovers: the monitor now reads the calm dataset
    from sqlalchemy import update

    from labcycle.store.models import Monitor

    with services.store.write() as conn:
        conn.execute(update(Monitor).values(current_dataset_id=same["id"]))
    services.monitors.run_check("alerting", actor=ACTOR)
    services.monitors.run_check("alerting", actor=ACTOR)
    services.monitors.delivery.flush(10)
    assert [b["event"] for b in receiver.json_bodies()] == [
        "labcycle.alert.fired",
        "labcycle.alert.recovered",
    ]
    log = services.monitors.alerts("alerting")["items"]
    assert [a["status"] for a in log] == ["sent", "sent"]
    assert {a["event"] for a in log} == {"labcycle.alert.fired", "labcycle.alert.recovered"}
    assert all("s3cret" not in json.dumps(a) for a in log)


def test_a_check_does_not_wait_for_a_channel_that_is_down(services, pair):
    import time

    reference, _, drifted = pair
    services.monitors.webhook_allow = ["127.0.0.0/8"]
    services.monitors.create(  # nothing listens on port 9: connection refused, then retries
        actor=ACTOR,
        name="down",
        reference_dataset=reference["id"],
        current_dataset=drifted["id"],
        channels=[{"type": "webhook", "url": "http://127.0.0.1:9/hook"}],
    )
    start = time.perf_counter()
    check = services.monitors.run_check("down", actor=ACTOR)
    assert check["status"] == "drift"
    assert time.perf_counter() - start < 5
    services.monitors.delivery.flush(30)
    log = services.monitors.alerts("down")["items"]
    assert len(log) == 1 and log[0]["status"] == "failed" and log[0]["attempts"] > 1


def test_no_data_and_broken_references_are_recorded_not_raised(services, pair):
    reference, _, _ = pair
    tiny = log_dataset(services, "tiny", frame(3))
    services.monitors.create(
        actor=ACTOR, name="tiny", reference_dataset=reference["id"], current_dataset=tiny["id"]
    )
    check = services.monitors.run_check("tiny", actor=ACTOR)
    assert check["status"] == "no_data" and "3 current rows" in check["summary"]
    other = log_dataset(services, "other", pd.DataFrame({"x": np.arange(50.0)}))
    services.monitors.create(
        actor=ACTOR, name="disjoint", reference_dataset=reference["id"], current_dataset=other["id"]
    )
    check = services.monitors.run_check("disjoint", actor=ACTOR)
    assert check["status"] == "error" and "none of the monitored features" in check["error"]
    assert services.monitors.get("disjoint")["health"] == "error"


def test_delete_removes_schedule_checks_and_log_and_is_audited(services, pair):
    reference, same, _ = pair
    m = services.monitors.create(
        actor=ACTOR,
        name="gone",
        reference_dataset=reference["id"],
        current_dataset=same["id"],
        cron="*/5 * * * *",
    )
    services.monitors.run_check("gone", actor=ACTOR)
    services.monitors.delete("gone", actor="bob")
    with pytest.raises(NotFound):
        services.monitors.get(m["id"])
    with pytest.raises(NotFound):
        services.schedules.get(m["schedule_id"])
    actions = [
        e["action"] for e in services.audit.list(entity_type="monitor", entity_id=m["id"])["items"]
    ]
    assert {"monitor.create", "monitor.check", "monitor.delete"} <= set(actions)
