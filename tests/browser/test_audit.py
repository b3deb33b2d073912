"""The audit log tab in a real browser. Writes by two users through the live
server's services (a project and its update, runs, two model versions, an alias moved twice);
the tab opened from the command palette; filters by user and by action prefix (and hostile
or contradictory filters); an alias move expanded to its before/after; an entity link that
opens the model version; the project tab's Audit button; the tab restored with its filters
after a reload; light and dark screenshots."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from .conftest import screenshot, set_lab_setting

pytestmark = pytest.mark.browser

LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"
SUFFIX = uuid.uuid4().hex[:6]
ALICE, BOB = f"alice-{SUFFIX}", f"bob-{SUFFIX}"
PROJECT, EXPERIMENT, MODEL = f"audit-{SUFFIX}", f"audit-exp-{SUFFIX}", f"audit-churn-{SUFFIX}"


@pytest.fixture(scope="module")
def seeded(live_jupyter):
    from unit.test_lineage import _model_files

    from labcycle.config import LabCycleConfig
    from labcycle.services import Services

    svc = Services.from_config(LabCycleConfig(home=str(live_jupyter.home)))
    project = svc.projects.create_project(PROJECT, actor=ALICE, description="# Audit demo")
    svc.projects.update_project(project["id"], actor=BOB, tags=["churn", "audited"])
    runs = []
    for i in range(2):
        run = svc.tracking.create_run(
            actor=ALICE, experiment=EXPERIMENT, project=PROJECT, name=f"audit-run-{i}"
        )
        _model_files(svc, run["id"])
        svc.registry.create_version(MODEL, run_id=run["id"], source_path="staged", actor=ALICE)
        svc.tracking.update_run(run["id"], actor=ALICE, status="finished")
        runs.append(run)
    svc.registry.set_alias(MODEL, "champion", 1, actor=BOB)
    svc.registry.set_alias(MODEL, "champion", 2, actor=BOB)
    return {"project": project, "runs": runs}


def _goto(live_jupyter, page, theme: str, reset: bool) -> None:
    set_lab_setting(live_jupyter, "@jupyterlab/apputils-extension:themes", {"theme": theme})
    page.goto(f"{live_jupyter.url}lab?token={live_jupyter.token}{'&reset' if reset else ''}")
    light = "true" if theme == LIGHT else "false"
    expect(page.locator(f"body[data-jp-theme-light='{light}']")).to_have_count(1, timeout=60_000)


def _filter(view, name: str, value: str) -> None:
    view.locator(f'.lc-audit-filters input[name="{name}"]').fill(value)


def _rows(view):
    return view.locator("tr.lc-audit-row")


def _expand_move(view):
    """Expand the alias move from v1 to v2; returns its details."""
    move = view.locator(
        'tr.lc-audit-row[data-action="model.alias.set"]', has_text="@champion: 1 → 2"
    )
    expect(move).to_have_count(1, timeout=15_000)
    move.click()
    event_id = move.get_attribute("data-event-id")
    details = view.locator(f'tr.lc-audit-detail-row[data-event-id="{event_id}"]')
    expect(details).to_be_visible()
    return move, details


def test_audit_log_tab(live_jupyter, lab, seeded):
    page = lab
    _goto(live_jupyter, page, LIGHT, reset=True)

    # --- From the command palette.
    page.keyboard.press("Control+Shift+c")
    palette = page.locator("#command-palette")
    palette.locator("input").fill("Audit Log")
    palette.locator(".lm-CommandPalette-item", has_text="Open LabCycle Audit Log").first.click()
    view = page.locator(".lc-audit-view:visible")
    expect(view).to_be_visible(timeout=20_000)
    expect(_rows(view).first).to_be_visible(timeout=20_000)

    # --- Who: bob updated the project and moved the alias twice, nothing else.
    _filter(view, "user", BOB)
    expect(_rows(view)).to_have_count(3, timeout=15_000)
    assert set(_rows(view).evaluate_all("rs => rs.map(r => r.dataset.user)")) == {BOB}
    assert _rows(view).evaluate_all("rs => rs.map(r => r.dataset.action)") == [
        "model.alias.set",
        "model.alias.set",
        "project.update",
    ]  # newest first

    # --- What: a dotted prefix within the project.
    _filter(view, "user", "")
    _filter(view, "project", PROJECT)
    _filter(view, "action", "model.alias")
    expect(_rows(view)).to_have_count(2, timeout=15_000)
    _filter(view, "action", "model")
    # model.create + two model.version.create + two alias moves.
    expect(_rows(view)).to_have_count(5, timeout=15_000)
    actions = _rows(view).evaluate_all("rs => rs.map(r => r.dataset.action)")
    assert sorted(actions) == sorted(
        [
            "model.create",
            "model.version.create",
            "model.version.create",
            "model.alias.set",
            "model.alias.set",
        ]
    ), actions
    # A prefix is a whole dotted segment: "mod" is not "model".
    _filter(view, "action", "mod")
    expect(view.locator(".lc-audit-empty")).to_contain_text("No event matches", timeout=15_000)
    # Hostile text is a filter value, not SQL or a wildcard.
    _filter(view, "action", "%' OR 1=1 --")
    expect(view.locator(".lc-audit-empty")).to_be_visible(timeout=15_000)
    # Contradictory dates: the server's message is shown.
    _filter(view, "action", "model")
    _filter(view, "since", "2031-01-02")
    _filter(view, "until", "2030-01-01")
    expect(view.locator(".lc-error")).to_contain_text("until is before since", timeout=15_000)
    _filter(view, "since", "")
    _filter(view, "until", "")
    expect(_rows(view)).to_have_count(5, timeout=15_000)

    # --- Before/after of the second alias move, side by side.
    move, details = _expand_move(view)
    expect(move).to_have_attribute("aria-expanded", "true")
    expect(details.locator(".lc-audit-before .lc-audit-value")).to_have_text("1")
    expect(details.locator(".lc-audit-after .lc-audit-value")).to_have_text("2")
    expect(details.locator(".lc-audit-rest")).to_contain_text('"alias": "champion"')
    before_box = details.locator(".lc-audit-before").bounding_box()
    after_box = details.locator(".lc-audit-after").bounding_box()
    assert before_box["x"] + before_box["width"] <= after_box["x"], (before_box, after_box)
    assert abs(before_box["y"] - after_box["y"]) < 2
    # The first move had no alias before it.
    first = view.locator(
        'tr.lc-audit-row[data-action="model.alias.set"]', has_text="@champion: — → 1"
    )
    first.click()
    first_id = first.get_attribute("data-event-id")
    expect(
        view.locator(
            f'tr.lc-audit-detail-row[data-event-id="{first_id}"] .lc-audit-before .lc-audit-value'
        )
    ).to_have_text("none")
    first.click()  # folds again
    expect(view.locator(f'tr.lc-audit-detail-row[data-event-id="{first_id}"]')).to_have_count(0)
    page.wait_for_timeout(200)
    screenshot(page, "audit")

    # --- The entity link opens the model (its latest version) in its tab.
    move.locator(".lc-audit-open").click()
    expect(
        page.locator(f'.lc-model-version-view[data-model="{MODEL}"][data-version="2"]')
    ).to_be_visible(timeout=20_000)

    # --- The project tab's Audit button: the log filtered by that project.
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Audit log").first.click()
    _filter(view, "action", "")
    _filter(view, "project", "")
    project_id = seeded["project"]["id"]
    page.locator('.jp-SideBar [data-id="labcycle-panel"]').first.click()
    page.locator(f'#labcycle-panel .lc-project-item[data-project-id="{project_id}"]').click()
    project_view = page.locator(f'.lc-project-view[data-project-id="{project_id}"]')
    expect(project_view).to_be_visible(timeout=20_000)
    project_view.locator(".lc-project-audit").click()
    scoped = page.locator(".lc-audit-view:visible")
    expect(scoped.locator('.lc-audit-filters input[name="project"]')).to_have_value(PROJECT)
    expect(scoped.locator('tr.lc-audit-row[data-action="project.create"]')).to_have_count(
        1, timeout=15_000
    )
    # Only the project's events: ours, and the model files' artifacts (by their helper's actor).
    from unit.test_lineage import ACTOR as FILES_ACTOR

    users = set(_rows(scoped).evaluate_all("rs => rs.map(r => r.dataset.user)"))
    assert users <= {ALICE, BOB, FILES_ACTOR} and {ALICE, BOB} <= users, users
    # The Hub section's button opens the unscoped log.
    page.locator("#labcycle-panel .lc-open-audit").click()
    expect(
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=re.compile(r"^Audit log$"))
    ).to_have_count(1, timeout=10_000)
    page.locator(
        ".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=f"Audit log · {PROJECT}"
    ).first.click()
    page.wait_for_timeout(1000)  # the workspace (layout, filters) is saved debounced

    # --- Dark theme, after a reload: the scoped tab comes back with its filter.
    _goto(live_jupyter, page, DARK, reset=False)
    page.locator(
        ".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=f"Audit log · {PROJECT}"
    ).first.click(timeout=30_000)
    view = page.locator(".lc-audit-view:visible")
    expect(view.locator('.lc-audit-filters input[name="project"]')).to_have_value(
        PROJECT, timeout=20_000
    )
    _filter(view, "action", "model")
    expect(_rows(view)).to_have_count(5, timeout=15_000)
    _expand_move(view)
    page.wait_for_timeout(200)
    screenshot(page, "audit-dark")
    assert page.labcycle_errors() == []
