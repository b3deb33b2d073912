"""Headless Chromium (Debian's, never a downloaded one) driven by Playwright."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("LABCYCLE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
README_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(autouse=True)
def jp_asyncio_loop():
    """Playwright's sync API runs an event loop of its own in this thread: pytest-jupyter's
    loop fixture (autouse, for the API suites) must neither create nor close one here."""
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup():
    """No pytest-jupyter server runs in the browser suite (it uses a real JupyterLab)."""
    yield


# Module scope: Playwright's loop must be gone before the suites that use asyncio run.
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"No Chromium at {CHROMIUM}: apt-get install chromium (make test does).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def set_lab_setting(server, plugin: str, values: dict) -> None:
    response = server.api("PUT", f"lab/api/settings/{plugin}", json={"raw": json.dumps(values)})
    assert response.status_code in (200, 204), response.text


@pytest.fixture
def lab(live_jupyter, browser):
    """A JupyterLab page; the news prompt is off so it never covers the screenshots."""
    set_lab_setting(
        live_jupyter,
        "@jupyterlab/apputils-extension:notification",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    page.errors = errors
    # Only LabCycle's own bundle is judged: ipywidgets' manager, for one, throws when a
    # notebook opens without a kernel (as a read-only snapshot does).
    page.labcycle_errors = lambda: [e for e in errors if "/extensions/labcycle/" in e]
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a screenshot under tests/artifacts; LABCYCLE_UPDATE_SCREENSHOTS=1 also refreshes
    the README's copy in docs/screenshots."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    if os.environ.get("LABCYCLE_UPDATE_SCREENSHOTS") == "1":
        README_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, README_SHOTS / path.name)
    return path
