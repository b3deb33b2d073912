"""Measured in a real browser: the sidebar's runs table stays smooth with an
experiment of 10,000 runs (windowed rows, runs loaded a page at a time as the list scrolls).

A JupyterLab of its own (the 10,000 runs stay out of the shared server's hub), seeded in
bulk with bench/hub.py's ``insert_runs`` (4 params, 2 tags and 2 metrics per run). Measured:
click → first rows visible, row elements in the DOM, frame times while scrolling 20 steps to
the bottom, and that the oldest run is reachable and rendered. The figures are printed."""

from __future__ import annotations

import importlib
import random
import re
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import set_lab_setting

pytestmark = pytest.mark.browser

RUNS = 10_000
BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def scale_lab(tmp_path_factory):
    """A JupyterLab whose hub has one experiment of 10,000 runs and a small, newer one."""
    from live_jupyter import LiveJupyter
    from sqlalchemy import select

    from labcycle.services import Services
    from labcycle.services.common import now_ms
    from labcycle.store.models import Run

    sys.path.insert(0, str(BENCH))
    try:
        hub_bench = importlib.import_module("hub")
    finally:
        sys.path.remove(str(BENCH))
    server = LiveJupyter(tmp_path_factory.mktemp("scale-lab"))
    home = server.home.resolve()
    svc = Services.open(f"sqlite:///{home / 'labcycle.db'}", str(home / "artifacts"))
    t0 = time.perf_counter()
    project = svc.projects.create_project("scale", actor="alice")
    big = svc.projects.create_experiment("ten-thousand", actor="alice", project_id=project["id"])
    now = now_ms()
    with svc.store.write() as conn:
        hub_bench.insert_runs(
            conn, [big["id"]], RUNS, random.Random(7), now=now - 3_600_000, metrics=("auc", "loss")
        )
    # A newer experiment is selected first, so opening the big one is a measured click.
    small = svc.tracking.create_run(actor="alice", experiment="recent", name="recent-run")
    svc.tracking.update_run(small["id"], actor="alice", status="finished")
    with svc.store.read() as conn:
        order = (
            conn.execute(
                select(Run.id)
                .where(Run.experiment_id == big["id"])
                .order_by(Run.start_time.desc(), Run.id)
            )
            .scalars()
            .all()
        )
    seeded_s = time.perf_counter() - t0
    svc.close()
    assert len(order) == RUNS
    server.start()
    yield {
        "server": server,
        "experiment": big["id"],
        "newest": order[0],
        "oldest": order[-1],
        "seeded_s": seeded_s,
    }
    server.stop()


# Scroll the table to the bottom in 20 steps, two frames apart, while a requestAnimationFrame
# loop records every frame's duration; then keep scrolling to the bottom while more runs load,
# until the oldest run's row is rendered (or `budget` ms pass).
SCROLL = """async ([oldest, budget]) => {
  const wrap = document.querySelector('#labcycle-panel .lc-table-wrap');
  const frame = () => new Promise(resolve => requestAnimationFrame(resolve));
  const frames = [];
  let running = true;
  let last = performance.now();
  const tick = t => { frames.push(t - last); last = t; if (running) requestAnimationFrame(tick); };
  requestAnimationFrame(t => { last = t; requestAnimationFrame(tick); });
  let maxRows = 0;
  const rows = () => wrap.querySelectorAll('tr.lc-run-row').length;
  for (let i = 1; i <= 20; i++) {
    wrap.scrollTop = (wrap.scrollHeight - wrap.clientHeight) * i / 20;
    await frame(); await frame();
    maxRows = Math.max(maxRows, rows());
  }
  running = false;
  const t0 = performance.now();
  const found = () => wrap.querySelector(`tr.lc-run-row[data-run-id="${oldest}"]`);
  while (!found() && performance.now() - t0 < budget) {
    wrap.scrollTop = wrap.scrollHeight;
    await frame();
    maxRows = Math.max(maxRows, rows());
  }
  const row = found();
  const box = row && row.getBoundingClientRect();
  const view = wrap.getBoundingClientRect();
  return {frames, maxRows, reachMs: performance.now() - t0,
          total: Number(wrap.dataset.total), scrollHeight: wrap.scrollHeight,
          visible: Boolean(box && box.bottom > view.top && box.top < view.bottom + 1)};
}"""


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def test_ten_thousand_runs_open_fast_and_scroll_smoothly(scale_lab, browser):
    server = scale_lab["server"]
    set_lab_setting(
        server,
        "@jupyterlab/apputils-extension:notification",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{server.url}lab?token={server.token}&reset")
        page.locator('.jp-SideBar [data-id="labcycle-panel"]').first.click(timeout=60_000)
        experiment = page.locator(
            f'#labcycle-panel .lc-tree-experiment[data-experiment-id="{scale_lab["experiment"]}"]'
        )
        expect(experiment).to_be_visible(timeout=30_000)
        expect(experiment.locator(".lc-count")).to_have_text(str(RUNS))
        # The newer experiment is shown first.
        expect(page.locator("#labcycle-panel .lc-run-row", has_text="recent-run")).to_be_visible(
            timeout=20_000
        )

        # Click → the newest of the 10,000 runs is on screen.
        open_ms = page.evaluate(
            """async ([id, newest]) => {
          const item = document.querySelector(`.lc-tree-experiment[data-experiment-id="${id}"]`);
          const t0 = performance.now();
          item.click();
          while (!document.querySelector(`#labcycle-panel tr.lc-run-row[data-run-id="${newest}"]`)) {
            if (performance.now() - t0 > 30000) { return -1; }
            await new Promise(resolve => requestAnimationFrame(resolve));
          }
          return performance.now() - t0;
        }""",
            [scale_lab["experiment"], scale_lab["newest"]],
        )
        assert open_ms >= 0, "The newest run never appeared"
        first_row = page.locator(
            f'#labcycle-panel tr.lc-run-row[data-run-id="{scale_lab["newest"]}"]'
        )
        expect(first_row).to_be_visible()
        expect(first_row.locator('[data-metric="auc"]')).to_have_text(re.compile(r"^0\.\d+$"))
        dom_rows = page.locator("#labcycle-panel tr.lc-run-row").count()

        result = page.evaluate(SCROLL, [scale_lab["oldest"], 30_000])
        frames = result["frames"]
        p95, worst = _p95(frames), max(frames)
        print(
            f"\n10,000-run table: seeded in {scale_lab['seeded_s']:.1f} s; click → first rows "
            f"{open_ms:.0f} ms; {dom_rows} rows in the DOM after opening, at most "
            f"{result['maxRows']} while scrolling; 20 scroll steps: {len(frames)} frames, p95 "
            f"{p95:.1f} ms, worst {worst:.1f} ms; oldest run rendered "
            f"{result['reachMs']:.0f} ms after the 20 steps (table of {result['total']} runs)"
        )

        assert open_ms < 10_000
        assert dom_rows < 200 and result["maxRows"] < 200
        assert result["total"] == RUNS, f"only {result['total']} of {RUNS} runs are reachable"
        assert result["visible"], "the oldest run is not rendered in view at the bottom"
        assert p95 < 100, f"p95 frame time {p95:.1f} ms while scrolling"
        assert not [e for e in errors if "/extensions/labcycle/" in e], errors
    finally:
        context.close()
