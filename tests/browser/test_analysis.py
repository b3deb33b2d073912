"""The hub's analysis tabs in a real browser: the comparison tab (3 runs: differing param, overlaid curves,
parallel coordinates, notebook diff), the lineage tab (a node of each type, a click opens)
and the model version tab (approval policy refusal, approve, review listed, review bundle
download); the tabs restored after a reload in the dark theme; light and dark screenshots.

The data is seeded through the services into the live server's store: three runs with
params, metric histories and executed-notebook snapshots, a dataset, a model version of the
first run, a deployment of it and a monitor.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import screenshot, set_lab_setting

pytestmark = pytest.mark.browser

ACTOR = "seed"
LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"
PROJECT, EXPERIMENT, MODEL = "analysis", "analysis-cmp", "analysis-churn"
LRS = (0.1, 0.03, 0.01)
# Scroll a tab's content to a section (scrollIntoView would scroll JupyterLab's dock too).
SCROLL_TO = """e => { const w = e.closest('.lc-analysis-widget');
  w.scrollTop += e.getBoundingClientRect().top - w.getBoundingClientRect().top; }"""


def _notebook(lr: float, epochs: int) -> bytes:
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(f"lr = {lr}\nmodel = 'rf'", id="params")
    params.metadata["tags"] = ["parameters"]
    train = nbformat.v4.new_code_cell(f"history = train(model, lr=lr, epochs={epochs})", id="train")
    train.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"trained {epochs} epochs\n")
    ]
    report = nbformat.v4.new_markdown_cell("## Results", id="report")
    nb.cells = [params, train, report]
    return nbformat.writes(nb).encode()


@pytest.fixture(scope="module")
def seeded(live_jupyter):
    from unit.test_lineage import _model_files

    from labcycle.config import LabCycleConfig
    from labcycle.services import Services

    svc = Services.from_config(LabCycleConfig(home=str(live_jupyter.home)))
    now = int(time.time() * 1000)
    data = svc.datasets.register(
        actor=ACTOR,
        name="churn-train",
        digest="sha256:" + "ab" * 32,
        content_digest="sha256:" + "cd" * 32,
        row_count=5000,
        source="s3://bucket/churn.parquet",
    )
    runs = []
    for i, lr in enumerate(LRS):
        run = svc.tracking.create_run(
            actor=ACTOR, experiment=EXPERIMENT, project=PROJECT, name=f"rf-lr{lr}"
        )
        svc.tracking.log_params(run["id"], {"lr": lr, "model": "rf", "seed": 7}, actor=ACTOR)
        loss = [("loss", 1.0 / (s + 1) + 0.05 * i, s, now) for s in range(30)]
        svc.tracking.log_metrics(
            run["id"], loss + [("accuracy", 0.8 + 0.04 * i, 0, now)], actor=ACTOR
        )
        svc.artifacts.log_bytes(
            run["id"], "executed.ipynb", _notebook(lr, 10 * (i + 1)), actor=ACTOR
        )
        svc.datasets.link_input(run["id"], data["id"], actor=ACTOR, context="training")
        runs.append(run)
    _model_files(svc, runs[0]["id"])
    version = svc.registry.create_version(
        MODEL,
        run_id=runs[0]["id"],
        source_path="staged",
        actor=ACTOR,
        description="Churn risk, random forest",
    )
    for run in runs:
        svc.tracking.update_run(run["id"], actor=ACTOR, status="finished")
    deployment = svc.deployments.create(f"{MODEL}/1", actor=ACTOR, name="analysis-churn-api")
    monitor = svc.monitors.create(
        actor=ACTOR,
        name="analysis-watch",
        deployment=deployment["id"],
        reference_dataset=data["id"],
    )
    # Deploying an unapproved version of this project is now refused (409).
    reply = live_jupyter.lc("PATCH", f"projects/{PROJECT}", json={"require_approval": True})
    assert reply.status_code == 200, reply.text
    yield {
        "runs": runs,
        "version": version,
        "deployment": deployment,
        "monitor": monitor,
        "dataset": data,
    }
    live_jupyter.lc("PATCH", f"projects/{PROJECT}", json={"require_approval": False})
    live_jupyter.lc("DELETE", f"monitors/{monitor['id']}")
    live_jupyter.lc("DELETE", f"deployments/{deployment['id']}")


def _goto(live_jupyter, page, theme: str, reset: bool = True) -> None:
    set_lab_setting(live_jupyter, "@jupyterlab/apputils-extension:themes", {"theme": theme})
    page.goto(f"{live_jupyter.url}lab?token={live_jupyter.token}{'&reset' if reset else ''}")
    light = "true" if theme == LIGHT else "false"
    expect(page.locator(f"body[data-jp-theme-light='{light}']")).to_have_count(1, timeout=60_000)


def _tab(page, label: str):
    return page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=label).first


def test_comparison_lineage_and_review(live_jupyter, lab, seeded):
    page = lab
    runs = seeded["runs"]
    ids = [r["id"] for r in runs]
    _goto(live_jupyter, page, LIGHT)

    # --- Comparison: tick the three runs in the sidebar, press Compare.
    page.locator('.jp-SideBar [data-id="labcycle-panel"]').first.click()
    panel = page.locator("#labcycle-panel")
    panel.locator(".lc-tree-experiment", has_text=EXPERIMENT).first.click()
    for run_id in ids:
        row = panel.locator(f'.lc-run-row[data-run-id="{run_id}"]')
        expect(row).to_be_visible(timeout=20_000)
        row.locator(".lc-run-pick").check()
    panel.locator(".lc-compare-selected").click()
    view = page.locator(".lc-comparison")
    expect(view).to_have_attribute("data-runs", "3", timeout=20_000)

    params = view.locator(".lc-compare-params")
    lr = params.locator('tr[data-key="lr"]')
    expect(lr).to_have_class("lc-differs")
    assert sorted(lr.locator("td.lc-value").all_inner_texts()) == sorted(str(v) for v in LRS)
    # Constant params are folded until asked for.
    expect(params.locator('tr[data-key="model"]')).to_have_count(0)
    params.locator(".lc-toggle-constant").click()
    expect(params.locator('tr[data-key="model"]')).to_have_class("lc-constant")
    # One chart per metric key, one line per run.
    loss = view.locator('.lc-multi-chart[data-metric="loss"]')
    expect(loss.locator("polyline.lc-chart-run-line")).to_have_count(3)
    assert (
        len(
            set(
                loss.locator("polyline").evaluate_all(
                    "els => els.map(e => e.getAttribute('stroke'))"
                )
            )
        )
        == 3
    )
    # Parallel coordinates: an axis per differing param and the metric, a line per run.
    parallel = view.locator(".lc-parallel")
    expect(parallel.locator(".lc-parallel-axis")).to_have_count(2)  # lr + accuracy
    expect(parallel.locator('.lc-parallel-axis.lc-metric-axis[data-key="accuracy"]')).to_have_count(
        1
    )
    expect(parallel.locator(".lc-parallel-run polyline")).to_have_count(3)
    strokes = parallel.locator(".lc-parallel-run polyline").evaluate_all(
        "els => els.map(e => e.getAttribute('stroke'))"
    )
    assert len(set(strokes)) == 3 and all(s and s.startswith("rgb(") for s in strokes), strokes
    # Notebook diff of the first two runs: the parameters cell and the training cell changed.
    diff = view.locator(".lc-nbdiff")
    expect(diff.locator(".lc-cell-diff.lc-cell-modified")).to_have_count(2, timeout=20_000)
    expect(diff.locator(".lc-cell-modified.lc-cell-parameters")).to_have_count(1)
    expect(diff.locator('.lc-nbdiff-params tr.lc-differs[data-key="lr"]')).to_have_count(1)
    train = diff.locator('.lc-cell-modified[data-cell-id="train"]')
    expect(train.locator(".lc-source-diff mark.lc-diff-intraline")).to_have_count(2)  # − and +
    expect(train.locator(".lc-outputs-diff")).to_contain_text("epochs")
    expect(diff.locator(".lc-cell-folded")).to_contain_text("1 unchanged cell")
    page.wait_for_timeout(300)
    screenshot(page, "comparison")
    view.locator('[data-section="curves"]').evaluate(SCROLL_TO)
    page.wait_for_timeout(200)
    screenshot(page, "comparison-curves")
    view.locator('[data-section="notebook"]').evaluate(SCROLL_TO)
    page.wait_for_timeout(200)
    screenshot(page, "comparison-notebook-diff")

    # --- Lineage, from the run tab of the model's run.
    view.locator(f'.lc-compare-runs li[data-run-id="{ids[0]}"] .lc-open-run').click()
    detail = page.locator(f'.lc-run-detail[data-run-id="{ids[0]}"]')
    expect(detail).to_be_visible(timeout=20_000)
    detail.locator(".lc-open-lineage").click()
    graph = page.locator(".lc-lineage:visible")
    expect(graph).to_have_attribute("data-root", f"run:{ids[0]}", timeout=20_000)
    for kind in (
        "dataset",
        "notebook",
        "run",
        "model_version",
        "deployment",
        "monitor",
        "experiment",
    ):
        expect(graph.locator(f'.lc-lineage-node[data-type="{kind}"]').first).to_be_visible()
    expect(graph.locator('.lc-lineage-edge[data-relation="served_by"]')).to_have_count(1)
    # Layered left to right: dataset → run → model version → deployment → monitor.
    xs = {
        kind: graph.locator(f'.lc-lineage-node[data-type="{kind}"]').first.bounding_box()["x"]
        for kind in ("dataset", "run", "model_version", "deployment", "monitor")
    }
    assert xs["dataset"] < xs["run"] < xs["model_version"] < xs["deployment"] < xs["monitor"], xs
    expect(graph.locator(".lc-lineage-truncated")).to_have_count(0)
    page.wait_for_timeout(300)
    screenshot(page, "lineage")
    # Re-center on the monitor (no tab of its own): its upstream is the whole chain.
    graph.locator('.lc-lineage-node[data-type="monitor"] .lc-node-center').click()
    expect(graph).to_have_attribute(
        "data-root", f"monitor:{seeded['monitor']['id']}", timeout=20_000
    )
    graph.locator(".lc-lineage-back").click()
    expect(graph).to_have_attribute("data-root", f"run:{ids[0]}", timeout=20_000)

    # --- A click on the model version node opens its tab.
    graph.locator('.lc-lineage-node[data-type="model_version"]').click()
    mv = page.locator(f'.lc-model-version-view[data-model="{MODEL}"][data-version="1"]')
    expect(mv).to_be_visible(timeout=20_000)
    expect(mv).to_have_attribute("data-review-state", "pending")
    expect(mv.locator(".lc-no-reviews")).to_be_visible()
    expect(mv.locator(".lc-review-policy")).to_contain_text("Approval required")
    expect(mv.locator(".lc-evidence-datasets tr[data-dataset-id]")).to_contain_text("churn-train")
    expect(mv.locator(".lc-evidence-datasets")).to_contain_text("sha256:abababababab")
    expect(mv.locator(".lc-evidence-datasets")).to_contain_text("5000")
    expect(
        mv.locator(f'.lc-deployment[data-deployment-id="{seeded["deployment"]["id"]}"]')
    ).to_be_visible()
    expect(
        mv.locator(f'.lc-version-monitor[data-monitor-id="{seeded["monitor"]["id"]}"] .lc-health')
    ).to_be_visible()

    expect(
        mv.locator('[data-section="notes"] .lc-notes, [data-section="notes"] textarea').first
    ).to_be_visible()

    # The policy refuses a deployment of the unapproved version: the API's 409 is shown.
    mv.locator("button.lc-deploy").click()
    error = mv.locator(".lc-action-error")
    expect(error).to_have_attribute("data-status", "409", timeout=20_000)
    expect(error).to_contain_text("approv")
    # Rejecting without a comment: the API's 400 says what to fix.
    mv.locator("button.lc-reject").click()
    expect(error).to_have_attribute("data-status", "400", timeout=20_000)
    expect(error).to_contain_text("comment")
    # Approve with a comment: listed, and the state is approved.
    mv.locator(".lc-review-comment-input").fill("Validated on the Q3 hold-out <b>set</b>.")
    mv.locator("button.lc-approve").click()
    item = mv.locator(".lc-review-item")
    expect(item).to_have_count(1, timeout=20_000)
    expect(item).to_have_attribute("data-decision", "approve")
    expect(item.locator(".lc-review-comment")).to_have_text(
        "Validated on the Q3 hold-out <b>set</b>."
    )
    expect(mv).to_have_attribute("data-review-state", "approved")
    reviews = live_jupyter.lc("GET", f"models/{MODEL}/versions/1/reviews").json()
    assert reviews["state"] == "approved" and reviews["approvals"] == 1, reviews

    # The review bundle downloads as the server's HTML file.
    with page.expect_download() as download:
        mv.locator(".lc-export-bundle").click()
    bundle = download.value
    assert bundle.suggested_filename == f"{MODEL}-v1-review.html", bundle.suggested_filename
    html = Path(bundle.path()).read_text(encoding="utf-8")
    assert "<html" in html.lower() and MODEL in html and "churn-train" in html
    assert "Validated on the Q3 hold-out &lt;b&gt;set&lt;/b&gt;." in html
    page.wait_for_timeout(300)
    screenshot(page, "model-version")
    assert not page.labcycle_errors(), page.labcycle_errors()

    # --- Dark theme: the three tabs come back after a reload (layout restorer).
    _goto(live_jupyter, page, DARK, reset=False)
    try:
        for label, selector, name in (
            ("Compare 3 runs", ".lc-comparison .lc-multi-chart", "comparison-dark"),
            ("Lineage:", ".lc-lineage .lc-lineage-node", "lineage-dark"),
            (f"Model: {MODEL} v1", ".lc-model-version-view .lc-review-item", "model-version-dark"),
        ):
            _tab(page, label).click()
            expect(page.locator(f"{selector}:visible").first).to_be_visible(timeout=30_000)
            page.wait_for_timeout(400)
            screenshot(page, name)
    finally:
        set_lab_setting(live_jupyter, "@jupyterlab/apputils-extension:themes", {"theme": LIGHT})
    assert not page.labcycle_errors(), page.labcycle_errors()
