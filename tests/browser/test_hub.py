"""The Hub section in a real browser: its search finds a seeded project, run and
note and opens them; the project tab shows the README (rendered, sanitised) and activity; a
note is added from the UI; a comment on a snapshot cell; the launcher card, the command
palette entries and the notebook toolbar's active run; the server check at start (another
version, a missing server extension); light and dark screenshots of hub + project tab."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from .conftest import screenshot, set_lab_setting

pytestmark = pytest.mark.browser

LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"
README = """# Churn hub

Predict **churn** of telecom customers. Owner notes live below.

| model | auc |
|---|---|
| rf | 0.91 |

<script>window.__lc_xss = 1</script><img src=x onerror="window.__lc_xss = 2">
"""
SNAPSHOT = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    },
    "cells": [
        {"id": "c0", "cell_type": "markdown", "metadata": {}, "source": "# Churn training"},
        {
            "id": "c1",
            "cell_type": "code",
            "metadata": {},
            "execution_count": 1,
            "outputs": [],
            "source": "model = RandomForest(n_estimators=200)",
        },
    ],
}


@pytest.fixture(scope="module")
def hub(live_jupyter):
    """A project imported from a folder (README + git remote), an experiment with runs, a
    running run of `hub.ipynb`, a note with a mention, a run with a notebook snapshot."""
    lc = live_jupyter.lc
    folder = live_jupyter.workspace / "churn-hub"
    (folder / ".git").mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(README)
    (folder / ".git" / "config").write_text(
        '[remote "origin"]\n\turl = https://user:secret@git.example.com/team/churn-hub.git\n'
    )
    imported = lc("POST", "projects/import", json={"path": "churn-hub"})
    assert imported.status_code == 201, imported.text
    project = imported.json()["project"]
    assert project["git_url"] == "https://git.example.com/team/churn-hub.git"
    experiment = lc(
        "POST", "experiments", json={"name": "baseline", "project_id": project["id"]}
    ).json()
    runs = {}
    for name, auc in (("churn-rf", 0.91), ("churn-logreg", 0.84)):
        run = lc("POST", "runs", json={"experiment_id": experiment["id"], "name": name}).json()
        lc("POST", f"runs/{run['id']}/params", json={"params": {"model": name.split("-")[1]}})
        lc("POST", f"runs/{run['id']}/metrics", json={"metrics": [{"key": "auc", "value": auc}]})
        runs[name] = run["id"]
    snap = runs["churn-rf"]
    put = lc(
        "PUT",
        f"runs/{snap}/artifacts/executed.ipynb",
        content=json.dumps(SNAPSHOT).encode(),
        headers={"Content-Type": "application/x-ipynb+json"},
    )
    assert put.status_code == 201, put.text
    for run_id in runs.values():
        assert lc("PATCH", f"runs/{run_id}", json={"status": "finished"}).status_code == 200
    live = lc(
        "POST",
        "runs",
        json={"experiment_id": experiment["id"], "name": "live-run", "notebook_path": "hub.ipynb"},
    ).json()
    note = lc(
        "POST",
        "notes",
        json={
            "body": "The champion is **churn-rf**; @alice please review the churn features.",
            "entity": {"type": "project", "id": project["id"]},
        },
    ).json()
    (live_jupyter.workspace / "hub.ipynb").write_text(
        json.dumps(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "metadata": SNAPSHOT["metadata"],
                "cells": [
                    {
                        "id": "h0",
                        "cell_type": "code",
                        "metadata": {},
                        "execution_count": None,
                        "outputs": [],
                        "source": "1 + 1",
                    }
                ],
            }
        )
    )
    return {"project": project, "runs": runs, "live": live["id"], "note": note}


def _goto(live_jupyter, page, theme: str = LIGHT, path: str = "lab") -> None:
    set_lab_setting(live_jupyter, "@jupyterlab/apputils-extension:themes", {"theme": theme})
    page.goto(f"{live_jupyter.url}{path}?token={live_jupyter.token}&reset")
    light = "true" if theme == LIGHT else "false"
    expect(page.locator(f"body[data-jp-theme-light='{light}']")).to_have_count(1, timeout=60_000)


def _search(page, text: str):
    if not page.locator("#labcycle-panel").is_visible():
        page.locator('.jp-SideBar [data-id="labcycle-panel"]').first.click()
    box = page.locator("#labcycle-panel .lc-search-input")
    expect(box).to_be_visible(timeout=30_000)
    box.fill(text)
    results = page.locator("#labcycle-panel .lc-search-results")
    expect(results).to_be_visible(timeout=20_000)
    return results


def test_search_project_tab_notes_and_snapshot_comments(live_jupyter, lab, hub):
    page = lab
    project = hub["project"]
    _goto(live_jupyter, page)
    results = _search(page, "churn")
    # One query finds the project, its runs and the note, each badged with its type.
    expect(
        results.locator(f'.lc-hit[data-type="project"][data-id="{project["id"]}"]')
    ).to_be_visible()
    expect(
        results.locator(f'.lc-hit[data-type="run"][data-id="{hub["runs"]["churn-rf"]}"]')
    ).to_be_visible()
    note_hit = results.locator(f'.lc-hit[data-type="note"][data-id="{hub["note"]["id"]}"]')
    expect(note_hit).to_be_visible()
    # The snippet's <mark> is markup; everything else in it is text.
    expect(note_hit.locator(".lc-snippet mark").first).to_have_text(re.compile("churn", re.I))
    screenshot(page, "hub-search")

    # A type filter narrows the results to runs.
    page.locator("#labcycle-panel .lc-filter-toggle").click()
    page.locator('#labcycle-panel .lc-chip[data-type="run"]').click()
    expect(results.locator(".lc-hit:not([data-type='run'])")).to_have_count(0, timeout=10_000)
    expect(results.locator(".lc-hit[data-type='run']")).to_have_count(2)
    # Hostile query text is a query, not an error.
    page.locator("#labcycle-panel .lc-search-input").fill('churn" OR 1=1 -- <b>')
    expect(
        page.locator("#labcycle-panel .lc-search-empty, #labcycle-panel .lc-search-results").first
    ).to_be_visible(timeout=10_000)
    expect(page.locator("#labcycle-panel .lc-hub-body .lc-error")).to_have_count(0)
    page.locator('#labcycle-panel .lc-chip[data-type="run"]').click()
    page.locator("#labcycle-panel .lc-search-input").fill("churn")
    # An owner filter (trimmed) that matches nobody empties the results; clearing it restores them.
    owner = page.locator("#labcycle-panel .lc-filter-user")
    owner.fill(" nobody-here ")
    expect(owner).to_have_value("nobody-here")
    expect(page.locator("#labcycle-panel .lc-hit")).to_have_count(0, timeout=10_000)
    owner.fill("")
    expect(note_hit).to_be_visible(timeout=10_000)

    # The note hit opens its project's tab: README rendered and sanitised, people, activity.
    note_hit.click()
    view = page.locator(f'.lc-project-view[data-project-id="{project["id"]}"]')
    expect(view).to_be_visible(timeout=20_000)
    readme = view.locator(".lc-readme")
    expect(readme.locator("h1")).to_have_text(re.compile("Churn hub"), timeout=20_000)
    expect(readme.locator("strong")).to_have_text("churn")
    expect(readme.locator("table td").first).to_have_text("rf")
    assert readme.locator("script").count() == 0
    assert page.evaluate("window.__lc_xss") is None
    expect(view.locator(".lc-project-git a")).to_have_attribute(
        "href", "https://git.example.com/team/churn-hub.git"
    )
    expect(
        view.locator(".lc-activity-item[data-action='project.import']").or_(
            view.locator(".lc-activity-item").first
        )
    ).to_be_visible()
    assert view.locator(".lc-activity-item").count() >= 3  # import, experiment, runs…
    expect(view.locator(f'.lc-run-row[data-run-id="{hub["runs"]["churn-rf"]}"]')).to_be_visible()
    expect(view.locator(".lc-note").first).to_contain_text("@alice")

    # Add a note from the UI; it is stored with the mention and shows rendered.
    editor = view.locator(".lc-project-notes .lc-note-input").last
    editor.fill("Retrain **monthly**; ask @bob")
    view.locator(".lc-project-notes .lc-note-submit").last.click()
    added = view.locator(".lc-note", has_text="Retrain")
    expect(added.locator("strong")).to_have_text("monthly", timeout=20_000)
    stored = live_jupyter.lc(
        "GET", "notes", params={"entity_type": "project", "entity_id": project["id"]}
    ).json()["items"]
    assert [n["body"] for n in stored][-1] == "Retrain **monthly**; ask @bob"
    assert stored[-1]["mentions"] == ["bob"]
    page.wait_for_timeout(300)
    screenshot(page, "project-tab")

    # A comment on a cell of the run's snapshot, shown next to that cell.
    view.locator(f'.lc-run-row[data-run-id="{hub["runs"]["churn-rf"]}"]').click()
    detail = page.locator(f'.lc-run-detail[data-run-id="{hub["runs"]["churn-rf"]}"]')
    detail.locator(".lc-open-snapshot").click()
    cell_notes = page.locator('.jp-NotebookPanel:visible .lc-cell-notes[data-cell-index="1"]')
    expect(cell_notes).to_be_visible(timeout=30_000)
    cell_notes.locator(".lc-cell-notes-toggle").click()
    cell_notes.locator(".lc-note-input").fill("Why 200 trees?")
    cell_notes.locator(".lc-note-submit").click()
    expect(cell_notes.locator(".lc-note")).to_contain_text("Why 200 trees?", timeout=20_000)
    expect(cell_notes).to_have_attribute("data-count", "1", timeout=20_000)
    anchored = live_jupyter.lc("GET", "notes", params={"run_id": hub["runs"]["churn-rf"]}).json()[
        "items"
    ]
    assert anchored[-1]["anchor"]["cell_index"] == 1 and anchored[-1]["anchor"]["cell_id"] == "c1"
    expect(
        page.locator('.jp-NotebookPanel:visible .lc-cell-notes[data-cell-index="0"]')
    ).to_have_attribute("data-count", "0")
    assert not page.labcycle_errors(), page.labcycle_errors()


def test_launcher_palette_toolbar_and_dark_theme(live_jupyter, lab, hub):
    page = lab
    try:
        _goto(live_jupyter, page, DARK, "lab/tree/hub.ipynb")
        # The notebook's toolbar shows the running run recorded for this notebook path.
        active = page.locator(".jp-NotebookPanel .lc-active-run")
        expect(active).to_have_attribute("data-run-id", hub["live"], timeout=40_000)
        expect(active).to_contain_text("live-run")

        # Command palette entries.
        page.keyboard.press("Control+Shift+c")
        palette = page.locator("#command-palette")
        palette.locator("input").fill("LabCycle")
        for label in (
            "Search the LabCycle Hub",
            "Open LabCycle Project…",
            "Import Folder as LabCycle Project",
            "Compare Selected LabCycle Runs",
            "Refresh LabCycle",
        ):
            expect(palette.locator(".lm-CommandPalette-item", has_text=label).first).to_be_visible()
        palette.locator("input").fill("New Launcher")
        palette.locator(".lm-CommandPalette-item", has_text="New Launcher").first.click()

        # The launcher card opens the hub with the search box focused.
        card = page.locator(".jp-LauncherCard", has_text="LabCycle Hub")
        expect(card).to_be_visible(timeout=20_000)
        card.click()
        expect(page.locator("#labcycle-panel .lc-search-input")).to_be_focused(timeout=10_000)

        # Dark screenshots: hub search and the project tab.
        _search(page, "churn")
        page.locator(
            f'#labcycle-panel .lc-hit[data-type="project"][data-id="{hub["project"]["id"]}"]'
        ).click()
        view = page.locator(".lc-project-view")
        expect(view.locator(".lc-readme h1")).to_be_visible(timeout=20_000)
        background = page.evaluate(
            "getComputedStyle(document.querySelector('.lc-project-widget')).backgroundColor"
        )
        assert sum(int(v) for v in re.findall(r"\d+", background)[:3]) < 200, background
        page.wait_for_timeout(300)
        screenshot(page, "project-tab-dark")
        assert not page.labcycle_errors(), page.labcycle_errors()
    finally:
        set_lab_setting(live_jupyter, "@jupyterlab/apputils-extension:themes", {"theme": LIGHT})


def test_server_check_at_start(live_jupyter, lab):
    page = lab
    # The server extension answers another version: one notification naming both.
    page.route(
        "**/labcycle/api/v1/version*",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body='{"version": "9.9.9", "api": "v1"}'
        ),
    )
    _goto(live_jupyter, page)
    toast = page.locator(".Toastify__toast", has_text="server 9.9.9")
    expect(toast).to_be_visible(timeout=30_000)
    expect(toast).to_contain_text("frontend 0.1.0")
    expect(toast).to_contain_text("reinstall")
    # Missing server extension: the route answers 404 (as Jupyter does without it).
    page.unroute("**/labcycle/api/v1/version*")
    page.route(
        "**/labcycle/api/v1/version*",
        lambda route: route.fulfill(
            status=404, content_type="text/html", body="<html>404: Not Found</html>"
        ),
    )
    _goto(live_jupyter, page)
    toast = page.locator(".Toastify__toast", has_text="server extension is not enabled")
    expect(toast).to_be_visible(timeout=30_000)
    expect(toast).to_contain_text("jupyter server extension enable labcycle")
    page.unroute("**/labcycle/api/v1/version*")
