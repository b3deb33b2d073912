"""The monitoring demo (``make demo`` → ``labcycle demo seed``): a deployed model whose
recent traffic drifted on two features, a monitor on a cron schedule whose checks show the
change, and the alert it fired — all made by the real services on a real local store."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

import labcycle as lc
from labcycle.demo.monitoring import DATASET, DEPLOYMENT, DRIFTED, FEATURES, MODEL, MONITOR, TRAFFIC


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    from labcycle.api.fluent import _state, current_transport
    from labcycle.demo.monitoring import seed_monitoring

    lc.configure(home=str(tmp_path_factory.mktemp("demo-home")))
    started = time.perf_counter()
    try:
        summary = seed_monitoring()
        elapsed = time.perf_counter() - started
        yield summary, current_transport().services, elapsed
    finally:
        _state.reset()


def test_the_demo_monitor_has_drifted_and_fired(seeded):
    summary, services, elapsed = seeded
    assert elapsed < 30, f"the monitoring demo took {elapsed:.1f} s to seed"
    assert summary["checks"] == ["ok", "ok", "ok", "drift"], summary
    assert summary["health"] == "drift" and summary["alerts"] == 1, summary
    assert "skipped: no channel" in summary["text"]

    monitor = services.monitors.get(MONITOR)
    assert monitor["health"] == "drift" and monitor["alerting"] is True, monitor
    assert monitor["window"] == {"last_n": 1000}
    assert monitor["channels"] == []
    # Scheduled hourly through the shared scheduler; the next run is within the hour.
    schedule = monitor["schedule"]
    assert schedule["cron"] == "0 * * * *" and schedule["paused"] is False, schedule
    next_run = datetime.fromisoformat(schedule["next_run_at"]).timestamp()
    assert 0 < next_run - time.time() <= 3600, schedule

    latest = monitor["latest_check"]
    drifted = sorted(name for name, col in latest["columns"].items() if col["drifted"])
    assert drifted == sorted(DRIFTED), latest
    assert sorted(latest["columns"]) == sorted(FEATURES)
    assert latest["share_drifted"] == 0.5 and latest["dataset_drift"] is True, latest
    assert latest["current_rows"] == 1000


def test_the_timeline_spans_days_and_only_the_last_check_drifts(seeded):
    _, services, _ = seeded
    checks = services.monitors.checks(MONITOR, full=True)["items"]  # newest first
    assert [c["status"] for c in checks] == ["drift", "ok", "ok", "ok"]
    starts = [datetime.fromisoformat(c["started_at"]).timestamp() for c in checks]
    gaps = [a - b for a, b in zip(starts, starts[1:], strict=False)]
    assert all(abs(gap - 86400) < 1 for gap in gaps), gaps  # one check a day
    assert time.time() - starts[0] < 3600  # the drift was found within the last hour
    for check in checks[1:]:
        assert check["share_drifted"] == 0.0, check["summary"]
        # Ground truth arrived for the earlier days: performance held up.
        performance = check["result"]["performance"]
        assert performance["labelled_rows"] == 1000 and performance["drops"] == [], performance
    # Every statistic says which test ran and why: Wasserstein on a reference > 1,000 rows.
    columns = checks[0]["result"]["drift"]["columns"]
    assert {c["method"] for c in columns.values()} == {"wasserstein"}
    assert columns["monthly_charges"]["score"] > 0.5 and columns["support_calls"]["score"] > 0.5
    assert columns["age"]["score"] < 0.1 and columns["tenure_months"]["score"] < 0.1


def test_the_alert_log_and_the_data_behind_it(seeded):
    from labcycle.serving.logs import read_predictions

    summary, services, _ = seeded
    alerts = services.monitors.alerts(MONITOR)["items"]
    assert len(alerts) == 1, alerts
    alert = alerts[0]
    assert (alert["event"], alert["status"], alert["channel"]) == (
        "fire",
        "skipped",
        {"type": "none"},
    )
    assert alert["check_id"] == services.monitors.get(MONITOR)["last_check_id"]

    # The reference is the training dataset logged with the model.
    deployment = services.deployments.get(DEPLOYMENT)
    assert deployment["model_ref"] == f"{MODEL}@champion" and deployment["desired"] == "running"
    monitor = services.monitors.get(MONITOR)
    version = services.registry.resolve(deployment["model_ref"])
    training = [
        d for d in version["lineage"]["datasets"] if d["id"] == monitor["reference_dataset_id"]
    ]
    assert len(training) == 1, version["lineage"]
    assert services.datasets.get(training[0]["id"])["name"] == DATASET
    assert [c["name"] for c in version["signature"]["inputs"]] == FEATURES

    # The traffic is a real prediction log in the serving format, with ground truth.
    frame = read_predictions(summary["deployment_id"], services=services)
    assert len(frame) == sum(rows for _, rows, _ in TRAFFIC)
    assert {f"input.{name}" for name in FEATURES} <= set(frame.columns)
    assert frame["prediction_id"].is_unique
    assert set(frame["version_id"]) == {version["id"]}
    assert len(frame["probability"].iloc[0]) == 2
    assert frame["ground_truth"].notna().sum() == 3000


def test_run_check_now_on_the_demo_keeps_the_verdict_without_a_second_alert(seeded):
    _, services, _ = seeded
    check = services.monitors.run_check(MONITOR, actor="newcomer")
    assert check["status"] == "drift" and check["share_drifted"] == 0.5, check["summary"]
    assert len(services.monitors.alerts(MONITOR)["items"]) == 1  # deduplicated


def test_channels_sent_back_as_read_keep_the_webhook_secret(seeded):
    """The panel sends channels back as it read them (``secret_set``, no secret)."""
    from labcycle.errors import InvalidInput

    _, services, _ = seeded
    services.monitors.webhook_allow = ["127.0.0.0/8"]
    url = "http://127.0.0.1:9/hook"
    updated = services.monitors.update(
        MONITOR, actor="newcomer", channels=[{"type": "webhook", "url": url, "secret": "s3cret"}]
    )
    assert updated["channels"] == [{"type": "webhook", "url": url, "secret_set": True}]
    again = services.monitors.update(
        MONITOR,
        actor="newcomer",
        channels=[*updated["channels"], {"type": "email", "to": ["owner@example.com"]}],
    )
    assert again["channels"][0] == {"type": "webhook", "url": url, "secret_set": True}
    # The stored secret is still there (never returned by the API).
    from sqlalchemy import select

    from labcycle.store.models import Monitor

    with services.store.read() as conn:
        stored = conn.execute(select(Monitor.channels).where(Monitor.name == MONITOR)).scalar()
    assert stored[0]["secret"] == "s3cret"
    # A secret_set for a URL without a stored secret is refused with the reason.
    with pytest.raises(InvalidInput, match="secret"):
        services.monitors.update(
            MONITOR,
            actor="newcomer",
            channels=[{"type": "webhook", "url": "http://127.0.0.2:9/other", "secret_set": True}],
        )
    services.monitors.update(MONITOR, actor="newcomer", channels=[])
