"""The Monitors section in a real browser, on the demo's drifted deployment —
health badge, latest check, drift timeline, "Run check now", alert settings (with an
error from the API), "Add monitor", links to the apps; light and dark screenshots."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import screenshot, set_lab_setting

pytestmark = pytest.mark.browser

LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"


@pytest.fixture(scope="module")
def demo(live_jupyter):
    """The monitoring demo, seeded into the live server's store (as `make demo` does)."""
    import labcycle as lc
    from labcycle.api.fluent import _state
    from labcycle.demo.monitoring import seed_monitoring

    lc.configure(home=str(live_jupyter.home))
    try:
        summary = seed_monitoring()
    finally:
        _state.reset()
    assert summary["health"] == "drift", summary
    yield summary
    for item in live_jupyter.lc("GET", "monitors").json()["items"]:
        if item["deployment_id"] == summary["deployment_id"]:
            live_jupyter.lc("DELETE", f"monitors/{item['id']}")
    live_jupyter.lc("DELETE", f"deployments/{summary['deployment_id']}")


def _open_monitors(live_jupyter, page, theme: str) -> None:
    set_lab_setting(live_jupyter, "@jupyterlab/apputils-extension:themes", {"theme": theme})
    page.goto(f"{live_jupyter.url}lab?token={live_jupyter.token}&reset")
    light = "true" if theme == LIGHT else "false"
    expect(page.locator(f"body[data-jp-theme-light='{light}']")).to_have_count(1, timeout=60_000)
    page.locator('.jp-SideBar [data-id="labcycle-panel"]').first.click()
    panel = page.locator("#labcycle-panel")
    runs = panel.locator('[data-section="runs"] > .lc-panel-section-header')
    expect(runs).to_be_visible(timeout=30_000)
    if runs.get_attribute("aria-expanded") == "true":
        runs.click()  # room for the monitors
    panel.locator('[data-section="monitors"] > .lc-panel-section-header').click()


def test_monitors_section_on_the_drifted_demo(live_jupyter, lab, demo):
    page = lab
    monitor_id = demo["monitor_id"]
    _open_monitors(live_jupyter, page, LIGHT)
    card = page.locator(f'#labcycle-panel .lc-monitor[data-monitor-id="{monitor_id}"]')
    expect(card).to_be_visible(timeout=20_000)

    # Health badge: colour and a word; the monitor is alerting.
    badge = card.locator(".lc-health").first
    expect(badge).to_have_attribute("data-health", "drift")
    expect(badge).to_have_text("▲Drift")
    expect(card.locator(".lc-alerting")).to_be_visible()
    # The latest check: what drifted, and the share.
    latest = card.locator(".lc-monitor-latest")
    expect(latest.locator(".lc-check-status")).to_have_attribute("data-status", "drift")
    expect(latest.locator(".lc-check-share")).to_have_text(
        "2 of 4 features drifted (50%): monthly_charges, support_calls"
    )
    # The timeline: four daily checks, only the last one above the threshold.
    timeline = card.locator(".lc-drift-timeline")
    expect(timeline).to_have_attribute("data-checks", "4", timeout=20_000)
    bars = timeline.locator("rect.lc-timeline-bar")
    assert [bars.nth(i).get_attribute("data-status") for i in range(4)] == [
        "ok",
        "ok",
        "ok",
        "drift",
    ]
    heights = [float(bars.nth(i).get_attribute("height")) for i in range(4)]
    assert heights[3] == pytest.approx(22.0) and max(heights[:3]) == pytest.approx(2.0), heights
    drifted_cells = timeline.locator(
        '.lc-feature-strip[data-feature="monthly_charges"] .lc-feature-drifted'
    )
    expect(drifted_cells).to_have_count(1)
    expect(
        timeline.locator('.lc-feature-strip[data-feature="age"] .lc-feature-drifted')
    ).to_have_count(0)
    # The alert it fired, in the alert log.
    alert = card.locator(".lc-monitor-alert")
    expect(alert).to_have_attribute("data-alert-status", "skipped", timeout=20_000)
    expect(alert).to_contain_text("Alert fired: skipped: no channel")
    # Links to the monitoring apps.
    hrefs = {
        a.get_attribute("data-app"): a.get_attribute("href")
        for a in card.locator(".lc-monitor-app").all()
    }
    assert hrefs["drift"].endswith(f"/labcycle/apps/drift?monitor={monitor_id}"), hrefs
    assert hrefs["performance"].endswith(f"/labcycle/apps/performance?monitor={monitor_id}")
    assert hrefs["whatif"].endswith(f"/labcycle/apps/whatif?deployment={demo['deployment_id']}")
    screenshot(page, "monitors")

    # Run check now: progress, then the new check at the end of the timeline.
    before = len(live_jupyter.lc("GET", f"monitors/{monitor_id}/checks").json()["items"])
    card.locator(".lc-run-check").click()
    expect(card.locator(".lc-check-label")).to_have_text("New check", timeout=60_000)
    expect(card.locator(".lc-run-check")).to_have_text("Run check now")
    expect(timeline).to_have_attribute("data-checks", str(before + 1), timeout=20_000)
    new_bar = timeline.locator("rect.lc-timeline-new")
    expect(new_bar).to_have_count(1)
    checks = live_jupyter.lc("GET", f"monitors/{monitor_id}/checks").json()["items"]
    assert len(checks) == before + 1 and checks[0]["trigger"] == "manual", checks[0]
    assert new_bar.get_attribute("data-check-id") == checks[0]["id"]
    assert checks[0]["status"] == "drift" and checks[0]["share_drifted"] == 0.5
    # Still the same problem: no second alert.
    assert len(live_jupyter.lc("GET", f"monitors/{monitor_id}/alerts").json()["items"]) == 1
    assert not page.labcycle_errors(), page.labcycle_errors()

    # Alert settings: the schedule with its next run, the defaults, then edit.
    card.locator(".lc-monitor-settings > summary").click()
    settings = card.locator(".lc-settings-view")
    expect(settings.locator(".lc-schedule")).to_contain_text("0 * * * *")
    expect(settings.locator(".lc-next-run")).to_contain_text("next ")
    expect(settings.locator(".lc-thresholds")).to_contain_text("≥ 50%")
    expect(settings.locator(".lc-thresholds")).to_contain_text("0.05")
    settings.locator(".lc-edit-settings").click()
    form = card.locator(".lc-settings-form")
    expect(form.locator(".lc-drift-share")).to_have_value("0.5")
    expect(form.locator(".lc-perf-drop")).to_have_value("0.05")
    # A webhook to the cloud metadata address: the API refuses it and says why.
    form.locator(".lc-webhook-url").fill("http://169.254.169.254/latest/meta-data")
    form.locator(".lc-save-settings").click()
    error = form.locator(".lc-form-error")
    expect(error).to_be_visible(timeout=20_000)
    assert "169.254.169.254" in error.inner_text() or "link-local" in error.inner_text().lower(), (
        error.inner_text()
    )
    form.locator(".lc-webhook-url").fill("")
    form.locator(".lc-emails").fill("owner@example.com, team@example.com")
    form.locator(".lc-drift-share").fill("0.4")
    form.locator(".lc-cooldown").fill("600")
    form.locator(".lc-save-settings").click()
    expect(card.locator(".lc-channel[data-type='email']")).to_contain_text(
        "owner@example.com, team@example.com", timeout=20_000
    )
    monitor = live_jupyter.lc("GET", f"monitors/{monitor_id}").json()
    assert monitor["channels"] == [
        {"type": "email", "to": ["owner@example.com", "team@example.com"]}
    ]
    assert monitor["thresholds"]["drift_share"] == 0.4 and monitor["cooldown_s"] == 600, monitor
    assert monitor["schedule"]["cron"] == "0 * * * *"
    assert not page.labcycle_errors(), page.labcycle_errors()


def test_add_monitor_form_shows_api_errors_then_creates(live_jupyter, lab, demo):
    page = lab
    _open_monitors(live_jupyter, page, LIGHT)
    section = page.locator("#labcycle-panel .lc-monitors")
    expect(section.locator(f'.lc-monitor[data-monitor-id="{demo["monitor_id"]}"]')).to_be_visible(
        timeout=20_000
    )
    section.locator(".lc-add-monitor").click()
    form = section.locator(".lc-add-monitor-form")
    expect(form.locator(".lc-deployment-picker")).to_have_value(demo["deployment_id"])
    expect(form.locator(".lc-reference")).to_have_attribute(
        "placeholder", "default: the model's training data"
    )
    expect(form.locator(".lc-drift-share")).to_have_value("0.5")
    expect(form.locator(".lc-perf-drop")).to_have_value("0.05")
    form.locator(".lc-monitor-name-input").fill("churn-api-daily")
    form.locator(".lc-window-kind").select_option("last")
    form.locator(".lc-window-value").fill("3 days")  # not "3d"
    form.locator(".lc-create-monitor").click()
    error = form.locator(".lc-form-error")
    expect(error).to_contain_text("window.last", timeout=20_000)
    form.locator(".lc-window-value").fill("1d")
    form.locator(".lc-cron").fill("30 6 * * *")
    form.locator(".lc-create-monitor").click()
    card = section.locator(".lc-monitor.lc-focused")
    expect(card).to_be_visible(timeout=20_000)
    expect(card.locator(".lc-monitor-name")).to_have_text("churn-api-daily")
    expect(card.locator(".lc-health")).to_have_attribute("data-health", "unknown")
    expect(card.locator(".lc-health")).to_have_text("?Not checked")
    created = live_jupyter.lc("GET", "monitors/churn-api-daily").json()
    assert created["window"] == {"last": "1d"} and created["schedule"]["cron"] == "30 6 * * *"
    assert (
        created["reference_dataset_id"]
        == live_jupyter.lc("GET", f"monitors/{demo['monitor_id']}").json()["reference_dataset_id"]
    )
    # The drifted monitor is listed first (problems first), the new one after it.
    ids = [
        c.get_attribute("data-monitor-id")
        for c in section.locator(".lc-monitor[data-monitor-id]").all()
    ]
    assert ids == [demo["monitor_id"], created["id"]], ids
    assert not page.labcycle_errors(), page.labcycle_errors()
    assert live_jupyter.lc("DELETE", f"monitors/{created['id']}").status_code == 204


def test_monitors_section_in_the_dark_theme(live_jupyter, lab, demo):
    page = lab
    try:
        _open_monitors(live_jupyter, page, DARK)
        card = page.locator(f'#labcycle-panel .lc-monitor[data-monitor-id="{demo["monitor_id"]}"]')
        expect(card.locator(".lc-drift-timeline")).to_have_attribute(
            "data-checks", re.compile(r"^[4-9]$"), timeout=20_000
        )
        expect(card.locator(".lc-monitor-alert")).to_be_visible(timeout=20_000)
        # The badge reads on a dark background: its text is not the light theme's dark one.
        color = card.locator(".lc-health").first.evaluate("e => getComputedStyle(e).color")
        assert color != "rgb(0, 0, 0)", color
        page.wait_for_timeout(500)
        screenshot(page, "monitors-dark")
        assert not page.labcycle_errors(), page.labcycle_errors()
    finally:
        set_lab_setting(live_jupyter, "@jupyterlab/apputils-extension:themes", {"theme": LIGHT})
