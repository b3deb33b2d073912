"""The tracking user's path in a real browser: run cells in a notebook, watch the run
appear live in the LabCycle panel, open it, end it, open its snapshot; light and dark."""

from __future__ import annotations

import re
import time

import pytest
from live_jupyter import write_notebook
from playwright.sync_api import expect

from .conftest import screenshot, set_lab_setting

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext labcycle\n%lc start --experiment churn --name browser-run",
    "import labcycle as lc\nlc.log_params({'model': 'random_forest', 'max_depth': 5})\n"
    "for step in range(25):\n    lc.log_metric('accuracy', 0.6 + step / 70, step=step)\n"
    "lc.log_metric('loss', 1 / (step + 1))",
    "%lc end",
]


def _run_cell(page, index: int) -> None:
    cell = page.locator(".jp-NotebookPanel .jp-Cell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    # The prompt shows a number once the kernel has run the cell.
    expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=60_000)


def _wait_for_kernel(server, notebook: str) -> None:
    """Until the notebook's kernel has started and is idle, as the server sees it."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        for session in server.api("GET", "api/sessions").json():
            if session["path"] == notebook and session["kernel"]["execution_state"] == "idle":
                return
        time.sleep(0.3)
    raise AssertionError(f"The kernel of {notebook} did not become idle")


def _open_panel(page) -> None:
    page.locator('.jp-SideBar [data-id="labcycle-panel"]').first.click()
    expect(page.locator("#labcycle-panel")).to_be_visible()


def test_notebook_run_appears_live_in_the_panel(live_jupyter, lab):
    page = lab
    write_notebook(live_jupyter.workspace / "churn.ipynb", CELLS)
    set_lab_setting(
        live_jupyter, "@jupyterlab/apputils-extension:themes", {"theme": "JupyterLab Light"}
    )
    page.goto(f"{live_jupyter.url}lab/tree/churn.ipynb?token={live_jupyter.token}&reset")
    expect(page.locator(".jp-NotebookPanel .jp-Cell").first).to_be_visible(timeout=60_000)
    _wait_for_kernel(live_jupyter, "churn.ipynb")

    _run_cell(page, 0)
    _run_cell(page, 1)
    outputs = page.locator(".jp-NotebookPanel .jp-Cell").nth(0).locator(".jp-OutputArea")
    expect(outputs).to_contain_text("started in experiment")

    # The run is live in the panel, running, with its metrics.
    _open_panel(page)
    row = page.locator(".lc-run-row", has_text="browser-run")
    expect(row).to_be_visible(timeout=20_000)
    expect(row.locator(".lc-status")).to_have_text(re.compile("running"))
    expect(row).to_contain_text("0.9429", timeout=20_000)  # the latest accuracy

    row.click()
    detail = page.locator(".lc-run-detail[data-run-id]")
    expect(detail).to_be_visible(timeout=20_000)
    expect(detail.locator(".lc-params")).to_contain_text("random_forest")
    expect(detail.locator(".lc-params")).to_contain_text("max_depth")
    expect(detail.locator(".lc-metrics")).to_contain_text("accuracy")
    expect(detail.locator(".lc-metrics svg").first).to_be_visible()
    expect(detail.locator(".lc-cells")).to_contain_text("import labcycle as lc", timeout=20_000)
    run_id = detail.get_attribute("data-run-id")

    # Ending the run in the notebook: the panel follows, the snapshot becomes available.
    page.locator(
        "#jp-main-dock-panel .lm-DockPanel-tabBar .lm-TabBar-tab", has_text="churn.ipynb"
    ).click()
    _run_cell(page, 2)
    page.locator(
        "#jp-main-dock-panel .lm-DockPanel-tabBar .lm-TabBar-tab", has_text="browser-run"
    ).click()
    expect(detail.locator(".lc-status").first).to_have_text(re.compile("finished"), timeout=20_000)
    expect(detail.locator(".lc-open-snapshot")).to_be_visible(timeout=20_000)
    expect(row.locator(".lc-status")).to_have_text(re.compile("finished"), timeout=20_000)
    screenshot(page, "panel")

    stored = live_jupyter.lc("GET", f"runs/{run_id}").json()
    assert stored["status"] == "finished"
    assert stored["out_of_order"] is False
    cells = live_jupyter.lc("GET", f"runs/{run_id}/cells").json()["items"]
    assert [c["source"] for c in cells] == [CELLS[1]]
    assert cells[0]["cell_id"], "JupyterLab sends the cell id with each execution"

    detail.locator(".lc-open-snapshot").click()
    snapshot_tab = page.locator(
        "#jp-main-dock-panel .lm-DockPanel-tabBar .lm-TabBar-tab", has_text=re.compile(r"\.ipynb")
    )
    expect(snapshot_tab).to_have_count(2, timeout=20_000)
    expect(page.locator(".jp-NotebookPanel:visible .jp-Cell").first).to_contain_text(
        "%load_ext labcycle"
    )
    screenshot(page, "snapshot")
    assert not page.labcycle_errors(), page.labcycle_errors()


def test_panel_in_dark_theme(live_jupyter, lab):
    page = lab
    set_lab_setting(
        live_jupyter, "@jupyterlab/apputils-extension:themes", {"theme": "JupyterLab Dark"}
    )
    try:
        page.goto(f"{live_jupyter.url}lab?token={live_jupyter.token}&reset")
        expect(page.locator("body[data-jp-theme-light='false']")).to_have_count(1, timeout=60_000)
        _open_panel(page)
        row = page.locator(".lc-run-row").first
        expect(row).to_be_visible(timeout=20_000)
        row.click()
        detail = page.locator(".lc-run-detail[data-run-id]")
        expect(detail.locator(".lc-params")).to_be_visible(timeout=20_000)
        # The panel follows the theme: its background is JupyterLab's dark layout colour.
        background = page.evaluate(
            "getComputedStyle(document.querySelector('#labcycle-panel')).backgroundColor"
        )
        red, green, blue = (int(v) for v in re.findall(r"\d+", background)[:3])
        assert red + green + blue < 200, background
        screenshot(page, "panel-dark")
        assert not page.labcycle_errors(), page.labcycle_errors()
    finally:
        set_lab_setting(
            live_jupyter, "@jupyterlab/apputils-extension:themes", {"theme": "JupyterLab Light"}
        )
