"""Schedules and the scheduler: cron validation, firing with an injected clock, pause,
restart safety (a missed fire runs once) and two servers never firing one occurrence twice."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from labcycle.errors import InvalidInput, NotFound
from labcycle.services import Services
from labcycle.services.scheduler import Scheduler
from labcycle.services.schedules import SCHEDULE_KINDS, next_fire, register_schedule_kind

#: each test that takes ``services`` runs on SQLite and on PostgreSQL (see conftest.py)
BOTH_BACKENDS = True

MINUTE = 60_000


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp() * 1000)


T0 = ms("2026-11-27 10:00:30")  # half a minute past 10:00


@pytest.fixture
def calls():
    """A test-only schedule kind that records its fires."""
    fired: list[dict] = []
    register_schedule_kind("test-record", lambda services, s: fired.append(s) or {"n": len(fired)})
    yield fired
    SCHEDULE_KINDS.pop("test-record", None)


def test_next_fire_follows_the_cron_in_its_time_zone():
    assert next_fire("* * * * *", "UTC", T0) == ms("2026-11-27 10:01:00")
    assert next_fire("0 3 * * *", "UTC", T0) == ms("2026-11-28 03:00:00")
    # 03:00 in Paris is 02:00 UTC in November
    assert next_fire("0 3 * * *", "Europe/Paris", T0) == ms("2026-11-28 02:00:00")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "every day"}, "cron"),
        ({"cron": ""}, "cron"),
        ({"cron": "* * * * *", "timezone": "Mars/Olympus"}, "timezone"),
        ({"cron": "* * * * *", "kind": "nope"}, "kind"),
        ({"cron": "* * * * *", "payload": {}}, "payload.notebook"),
        (
            {"cron": "* * * * *", "payload": {"notebook": "a.ipynb", "parametres": {}}},
            "payload.parametres",
        ),
        (
            {"cron": "* * * * *", "payload": {"notebook": "a.ipynb", "parameters": {"1x": 1}}},
            "payload.parameters[0].1x",
        ),
    ],
)
def test_bad_schedules_name_the_field(services: Services, fields, field):
    fields = {"kind": "job", "payload": {"notebook": "a.ipynb"}, **fields}
    with pytest.raises(InvalidInput) as info:
        services.schedules.create(actor="alice", **fields)
    assert info.value.details["field"] == field


def test_job_schedule_fires_a_job_and_pause_stops_it(services: Services, train_notebook):
    clock = [T0]
    scheduler = Scheduler(services, clock=lambda: clock[0], interval=0.01)
    s = services.schedules.create(
        actor="alice",
        kind="job",
        cron="* * * * *",
        payload={
            "notebook": str(train_notebook),
            "parameters": {"lr": 0.1},
            "experiment": "nightly",
        },
        now=T0,
    )
    assert s["next_run_at"] == "2026-11-27T10:01:00+00:00"
    assert scheduler.tick()["fired"] == []  # not due yet
    clock[0] = ms("2026-11-27 10:01:00")
    fired = scheduler.tick()["fired"]
    assert [f["status"] for f in fired] == ["ok"]
    jobs = services.jobs.list(schedule_id=s["id"])["items"]
    assert len(jobs) == 1
    job = jobs[0]
    assert job["parameters"] == {"lr": 0.1} and job["experiment"] == "nightly"
    assert job["created_by"] == "alice" and job["status"] == "pending"
    assert fired[0]["result"] == {"job_id": job["id"]}
    s = services.schedules.get(s["id"])
    assert s["next_run_at"] == "2026-11-27T10:02:00+00:00"
    assert s["last_run_at"] == "2026-11-27T10:01:00+00:00" and s["fire_count"] == 1
    assert s["last_status"] == "ok"
    assert [j["id"] for j in services.schedules.history(s["id"])] == [job["id"]]
    # the same tick again fires nothing: the occurrence is consumed
    assert scheduler.tick()["fired"] == []

    services.schedules.pause(s["id"], actor="alice")
    assert services.schedules.get(s["id"])["next_run_at"] is None  # shown as none while paused
    clock[0] = ms("2026-11-27 10:05:00")
    assert scheduler.tick()["fired"] == []
    assert len(services.jobs.list(schedule_id=s["id"])["items"]) == 1

    resumed = services.schedules.update(
        s["id"], actor="alice", paused=False, now=ms("2026-11-27 10:05:10")
    )
    # missed occurrences while paused are skipped: the next one is after the resume
    assert resumed["next_run_at"] == "2026-11-27T10:06:00+00:00"
    clock[0] = ms("2026-11-27 10:06:00")
    assert len(scheduler.tick()["fired"]) == 1
    assert len(services.schedules.history(s["id"])) == 2
    actions = [e["action"] for e in services.audit.list(entity_id=s["id"])["items"]]
    assert {"schedule.create", "schedule.update", "schedule.fire"} <= set(actions)


def test_a_missed_fire_runs_once_after_a_restart(services: Services, calls, home, store_url):
    services.schedules.create(
        actor="alice", kind="test-record", cron="*/5 * * * *", now=T0, name="every five"
    )
    # The server was down for an hour: 12 occurrences were missed.
    later = ms("2026-11-27 11:02:00")
    restarted = Services.open(store_url, str(home / "artifacts"), migrate=False)
    try:
        Scheduler(restarted, clock=lambda: later).tick()
        Scheduler(restarted, clock=lambda: later + 1000).tick()
        assert len(calls) == 1
        s = restarted.schedules.list()["items"][0]
        assert s["next_run_at"] == "2026-11-27T11:05:00+00:00"  # recomputed from now
    finally:
        restarted.close()


def test_two_servers_never_fire_one_occurrence_twice(services: Services, calls, home, store_url):
    for i in range(5):
        services.schedules.create(
            actor="alice", kind="test-record", cron="* * * * *", now=T0, name=f"s{i}"
        )
    servers = [Services.open(store_url, str(home / "artifacts"), migrate=False) for _ in range(4)]
    due = ms("2026-11-27 10:01:00")
    barrier = threading.Barrier(len(servers))

    def run(svc: Services) -> None:
        barrier.wait()
        for _ in range(3):
            Scheduler(svc, clock=lambda: due).tick()

    threads = [threading.Thread(target=run, args=(svc,)) for svc in servers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for svc in servers:
            svc.close()
    assert sorted(c["name"] for c in calls) == [f"s{i}" for i in range(5)]


def test_a_failing_kind_is_recorded_and_does_not_stop_others(services: Services, calls):
    register_schedule_kind("test-broken", lambda services, s: 1 / 0)
    try:
        bad = services.schedules.create(actor="a", kind="test-broken", cron="* * * * *", now=T0)
        services.schedules.create(actor="a", kind="test-record", cron="* * * * *", now=T0)
        Scheduler(services, clock=lambda: ms("2026-11-27 10:01:00")).tick()
        assert len(calls) == 1
        bad = services.schedules.get(bad["id"])
        assert bad["last_status"] == "error" and "ZeroDivisionError" in bad["last_error"]
    finally:
        SCHEDULE_KINDS.pop("test-broken", None)


def test_update_cron_and_delete(services: Services, train_notebook):
    s = services.schedules.create(
        actor="a", kind="job", cron="0 3 * * *", payload={"notebook": str(train_notebook)}, now=T0
    )
    s = services.schedules.update(s["id"], actor="a", cron="30 4 * * *", timezone="UTC", now=T0)
    assert s["next_run_at"] == "2026-11-28T04:30:00+00:00"
    with pytest.raises(InvalidInput) as info:
        services.schedules.update(s["id"], actor="a", cron="nope")
    assert info.value.details["field"] == "cron"
    services.schedules.delete(s["id"], actor="a")
    with pytest.raises(NotFound):
        services.schedules.get(s["id"])


def test_the_scheduler_loop_runs_in_a_thread(services: Services, calls):
    import time

    services.schedules.create(actor="a", kind="test-record", cron="* * * * *", now=T0)
    clock = [T0]
    scheduler = Scheduler(services, clock=lambda: clock[0], interval=0.02)
    scheduler.start_thread()
    try:
        clock[0] = ms("2026-11-27 10:01:00")
        deadline = time.monotonic() + 5
        while not calls and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        scheduler.stop_thread()
    assert len(calls) == 1 and scheduler.ticks >= 1
