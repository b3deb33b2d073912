"""Jobs and models in a real browser: "Run as experiment…" from a notebook's toolbar, the
job going to succeeded in the Jobs section, and Deploy from the Models section; light and
dark screenshots."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import screenshot, set_lab_setting

pytestmark = pytest.mark.browser

PARAMS = "alpha = 0.5\nname = 'x'"
BODY = "import labcycle as lc\nlc.log_metric('score', alpha * 2)"


def _write_parameterised(path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(BODY)]
    path.write_text(json.dumps(nb, indent=1))


def _open_panel(page) -> None:
    page.locator('.jp-SideBar [data-id="labcycle-panel"]').first.click()
    expect(page.locator("#labcycle-panel")).to_be_visible()


def _open_section(page, section: str) -> None:
    header = page.locator(f'#labcycle-panel [data-section="{section}"] > .lc-panel-section-header')
    expect(header).to_be_visible(timeout=30_000)
    if header.get_attribute("aria-expanded") != "true":
        header.click()


def _dark_screenshot(live_jupyter, page, section: str, name: str) -> None:
    set_lab_setting(
        live_jupyter, "@jupyterlab/apputils-extension:themes", {"theme": "JupyterLab Dark"}
    )
    try:
        page.goto(f"{live_jupyter.url}lab?token={live_jupyter.token}&reset")
        expect(page.locator("body[data-jp-theme-light='false']")).to_have_count(1, timeout=60_000)
        _open_panel(page)
        _open_section(page, section)
        page.wait_for_timeout(2500)
        screenshot(page, name)
    finally:
        set_lab_setting(
            live_jupyter, "@jupyterlab/apputils-extension:themes", {"theme": "JupyterLab Light"}
        )


def test_run_as_experiment_from_the_notebook_toolbar(live_jupyter, lab):
    page = lab
    _write_parameterised(live_jupyter.workspace / "train.ipynb")
    set_lab_setting(
        live_jupyter, "@jupyterlab/apputils-extension:themes", {"theme": "JupyterLab Light"}
    )
    page.goto(f"{live_jupyter.url}lab/tree/train.ipynb?token={live_jupyter.token}&reset")
    expect(page.locator(".jp-NotebookPanel .jp-Cell").first).to_be_visible(timeout=60_000)

    page.locator(".jp-NotebookPanel-toolbar .lc-run-as-experiment").first.click()
    dialog = page.locator(".jp-Dialog .lc-run-dialog")
    expect(dialog).to_be_visible(timeout=10_000)
    alpha = dialog.locator('.lc-param-field[data-param="alpha"] .lc-param-input')
    expect(alpha).to_have_value("0.5")
    expect(dialog.locator('.lc-param-field[data-param="name"] .lc-param-input')).to_have_value("x")
    alpha.fill("0.7")
    dialog.locator(".lc-run-experiment").fill("browser-jobs")
    expect(dialog.locator(".lc-run-summary")).to_have_text("One run.")
    screenshot(page, "run-dialog")
    page.locator(".jp-Dialog button.lc-run-submit").click()
    expect(dialog).to_have_count(0)

    # The panel opens on its Jobs section with the new job, which runs to succeeded.
    jobs = page.locator("#labcycle-panel .lc-jobs")
    expect(jobs).to_be_visible(timeout=20_000)
    row = jobs.locator(".lc-job-row.lc-focused")
    expect(row).to_be_visible(timeout=20_000)
    expect(row).to_contain_text("train.ipynb")
    expect(row).to_have_attribute("data-status", "succeeded", timeout=180_000)
    expect(row.locator(".lc-job-open-run")).to_be_visible(timeout=10_000)
    job_id = row.get_attribute("data-job-id")
    screenshot(page, "jobs")

    job = live_jupyter.lc("GET", f"jobs/{job_id}").json()
    assert job["status"] == "succeeded", job
    assert job["parameters"] == {"alpha": 0.7, "name": "x"}, job
    run = live_jupyter.lc("GET", f"runs/{job['run_id']}").json()
    assert run["metrics"]["score"] == pytest.approx(1.4), run
    assert run["params"]["alpha"] == "0.7", run

    # The executed notebook opens read-only, and the run opens in a tab.
    row.locator(".lc-job-open-notebook").click()
    expect(page.locator(".jp-NotebookPanel:visible .lc-snapshot-label")).to_be_visible(
        timeout=20_000
    )
    row.locator(".lc-job-open-run").click()
    detail = page.locator(f'.lc-run-detail[data-run-id="{job["run_id"]}"]')
    expect(detail.locator(".lc-metrics")).to_contain_text("score", timeout=20_000)

    # Reproduce: a new job of the run's executed notebook, shown in the Jobs section.
    detail.locator(".lc-reproduce").click()
    again = page.locator(
        f"#labcycle-panel .lc-jobs .lc-job-row.lc-focused:not([data-job-id='{job_id}'])"
    )
    expect(again).to_be_visible(timeout=20_000)
    expect(again).to_have_attribute("data-status", "succeeded", timeout=180_000)
    reproduction = live_jupyter.lc("GET", f"jobs/{again.get_attribute('data-job-id')}").json()
    assert reproduction["reproduces_run_id"] == job["run_id"], reproduction
    assert reproduction["parameters"] == {"alpha": 0.7, "name": "x"}, reproduction
    assert not page.labcycle_errors(), page.labcycle_errors()

    _dark_screenshot(live_jupyter, page, "jobs", "jobs-dark")
    assert not page.labcycle_errors(), page.labcycle_errors()


def test_sweep_from_the_dialog(live_jupyter, lab):
    page = lab
    _write_parameterised(live_jupyter.workspace / "sweep.ipynb")
    page.goto(f"{live_jupyter.url}lab/tree/sweep.ipynb?token={live_jupyter.token}&reset")
    expect(page.locator(".jp-NotebookPanel .jp-Cell").first).to_be_visible(timeout=60_000)
    # This time from the notebook's context menu.
    page.locator(".jp-NotebookPanel .jp-Cell").first.click(button="right")
    page.locator(".lm-Menu-item", has_text="Run as experiment…").click()
    dialog = page.locator(".jp-Dialog .lc-run-dialog")
    expect(dialog).to_be_visible(timeout=10_000)
    field = dialog.locator('.lc-param-field[data-param="alpha"]')
    field.locator(".lc-param-mode").select_option("grid")
    field.locator(".lc-param-input").fill("0.1, 0.2")
    dialog.locator(".lc-run-parallel").fill("2")
    expect(dialog.locator(".lc-run-summary")).to_contain_text("Grid sweep: 2 runs, 2 at a time")
    page.locator(".jp-Dialog button.lc-run-submit").click()

    sweep = page.locator("#labcycle-panel .lc-jobs .lc-sweep.lc-focused")
    expect(sweep).to_be_visible(timeout=20_000)
    expect(sweep).to_have_attribute("data-status", "succeeded", timeout=240_000)
    expect(sweep.locator(".lc-sweep-counts")).to_contain_text("2/2 done")
    expect(sweep.locator(".lc-job-row")).to_have_count(2, timeout=10_000)
    detail = live_jupyter.lc("GET", f"sweeps/{sweep.get_attribute('data-sweep-id')}").json()
    scores = sorted(trial["metrics"]["score"] for trial in detail["runs"])
    assert scores == pytest.approx([0.2, 0.4]), detail
    screenshot(page, "jobs-sweep")
    assert not page.labcycle_errors(), page.labcycle_errors()


def test_random_search_from_the_dialog(live_jupyter, lab):
    from labcycle.services.sweep_space import expand

    page = lab
    _write_parameterised(live_jupyter.workspace / "random.ipynb")
    page.goto(f"{live_jupyter.url}lab/tree/random.ipynb?token={live_jupyter.token}&reset")
    expect(page.locator(".jp-NotebookPanel .jp-Cell").first).to_be_visible(timeout=60_000)
    page.locator(".jp-NotebookPanel-toolbar .lc-run-as-experiment").first.click()
    dialog = page.locator(".jp-Dialog .lc-run-dialog")
    expect(dialog).to_be_visible(timeout=10_000)

    alpha = dialog.locator('.lc-param-field[data-param="alpha"]')
    alpha.locator(".lc-param-mode").select_option("random")
    expect(alpha.locator(".lc-param-kind")).to_have_value("float")  # 0.5 is a real number
    alpha.locator(".lc-param-low").fill("0.01")
    alpha.locator(".lc-param-high").fill("1")
    alpha.locator(".lc-param-log input").check()
    name = dialog.locator('.lc-param-field[data-param="name"]')
    name.locator(".lc-param-mode").select_option("random")
    expect(name.locator(".lc-param-kind option")).to_have_count(1)  # a str: choices only
    name.locator(".lc-param-choices").fill("a, 'b, c'")
    dialog.locator(".lc-run-trials").fill("3")
    dialog.locator(".lc-run-seed").fill("7")
    dialog.locator(".lc-run-parallel").fill("2")
    summary = dialog.locator(".lc-run-summary")
    expect(summary).to_have_text("Random search: 3 runs (seed 7), 2 at a time.")

    # Hostile input is refused in the form, saying which field to fix.
    alpha.locator(".lc-param-low").fill("-1")
    expect(summary).to_have_text("alpha: a log scale needs a minimum above 0")
    alpha.locator(".lc-param-low").fill("0.01")
    alpha.locator(".lc-param-high").fill("0.001")
    expect(summary).to_contain_text("alpha: the maximum (0.001) is below the minimum (0.01)")
    alpha.locator(".lc-param-high").fill("1")
    dialog.locator(".lc-run-trials").fill("2.5")
    expect(summary).to_have_text("Trials: give a whole number from 1 to 10000")
    dialog.locator(".lc-run-trials").fill("3")
    expect(summary).to_have_text("Random search: 3 runs (seed 7), 2 at a time.")
    screenshot(page, "run-dialog-random")
    page.locator(".jp-Dialog button.lc-run-submit").click()
    expect(dialog).to_have_count(0)

    sweep = page.locator("#labcycle-panel .lc-jobs .lc-sweep.lc-focused")
    expect(sweep).to_be_visible(timeout=20_000)
    sweep_id = sweep.get_attribute("data-sweep-id")
    expect(sweep.locator(".lc-job-row")).to_have_count(3, timeout=60_000)
    expect(sweep).to_have_attribute("data-status", "succeeded", timeout=240_000)

    space = {
        "alpha": {"distribution": "loguniform", "low": 0.01, "high": 1},
        "name": {"distribution": "choice", "values": ["a", "b, c"]},
    }
    detail = live_jupyter.lc("GET", f"sweeps/{sweep_id}").json()
    assert detail["spec"]["random"] == space, detail["spec"]
    assert detail["spec"]["n_trials"] == 3 and detail["spec"]["seed"] == 7, detail["spec"]
    assert detail["parallel"] == 2 and detail["n_trials"] == 3, detail
    # The jobs carry exactly the service's seeded draws of that space.
    expected = expand(random=space, n_trials=3, seed=7)
    jobs = live_jupyter.lc("GET", f"jobs?sweep_id={sweep_id}").json()["items"]
    got = sorted((j["parameters"] for j in jobs), key=lambda p: p["alpha"])
    assert got == sorted(expected, key=lambda p: p["alpha"]), (got, expected)
    for params in got:
        assert 0.01 <= params["alpha"] <= 1 and params["name"] in ("a", "b, c")
    scores = sorted(trial["metrics"]["score"] for trial in detail["runs"])
    assert scores == pytest.approx(sorted(2 * p["alpha"] for p in expected)), detail["runs"]
    assert not page.labcycle_errors(), page.labcycle_errors()


@pytest.fixture
def remote_lc(live_jupyter, tmp_path, monkeypatch):
    """The Python API of this test process pointed at the live server over HTTP."""
    import labcycle as lc
    from labcycle.api.fluent import _state

    monkeypatch.setenv("LABCYCLE_HOME", str(tmp_path / "client-home"))
    lc.configure(url=live_jupyter.url, token=live_jupyter.token)
    yield lc
    _state.reset()


def test_deploy_from_the_models_section(live_jupyter, lab, remote_lc):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    lc = remote_lc
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=300).fit(X, y)
    with lc.start_run("iris-browser", name="iris-model"):
        lc.log_metric("accuracy", float(model.score(X, y)))
        version = lc.log_model(model, "iris", input_example=X.head())
    lc.set_alias("iris", "champion", version.version)

    page = lab
    set_lab_setting(
        live_jupyter, "@jupyterlab/apputils-extension:themes", {"theme": "JupyterLab Light"}
    )
    page.goto(f"{live_jupyter.url}lab?token={live_jupyter.token}&reset")
    _open_panel(page)
    _open_section(page, "models")
    models = page.locator("#labcycle-panel .lc-models")
    item = models.locator('.lc-model[data-model="iris"]')
    expect(item).to_be_visible(timeout=20_000)
    expect(item.locator(".lc-alias").first).to_contain_text("champion")
    item.locator(".lc-model-head").click()
    v = item.locator(f'.lc-model-version[data-version="{version.version}"]')
    expect(v).to_contain_text("accuracy", timeout=20_000)
    expect(v).to_contain_text("sklearn")

    item.locator(".lc-deploy-alias").first.click()
    card = models.locator(".lc-deployment.lc-focused")
    expect(card).to_be_visible(timeout=20_000)
    expect(card).to_have_attribute("data-status", "ready", timeout=120_000)
    url = card.locator(".lc-deployment-url").inner_text().strip()
    assert url.startswith("http://127.0.0.1:"), url
    expect(card.locator(".lc-curl")).to_contain_text("/predict")
    expect(card.locator(".lc-curl")).to_contain_text("sepal length")

    rows = json.loads(X.head(2).to_json(orient="records"))
    for _ in range(3):
        reply = httpx.post(url.rstrip("/") + "/predict", json=rows, timeout=30, trust_env=False)
        assert reply.status_code == 200, reply.text
    assert len(reply.json()["predictions"]) == 2, reply.json()
    deployment_id = card.get_attribute("data-deployment-id")
    # The card shows the last minute's traffic, read from the process, and the try-it link.
    stats = card.locator(".lc-deployment-stats")
    expect(stats).to_contain_text("req/s", timeout=20_000)
    expect(stats).to_contain_text(" ms")
    try_it = card.locator("a.lc-try-it")
    href = try_it.get_attribute("href")
    assert href.startswith(f"{live_jupyter.url}labcycle/apps/predict?deployment_url="), href
    screenshot(page, "models")
    # The link opens Voila's form for this deployment, which predicts through it.
    with page.context.expect_page() as popup:
        try_it.click()
    tab = popup.value
    try:
        expect(tab.get_by_text("Try iris v1")).to_be_visible(timeout=120_000)
        expect(tab.get_by_text("Prediction:")).to_be_visible(timeout=60_000)
    finally:
        tab.close()

    _dark_screenshot(live_jupyter, page, "models", "models-dark")
    page.goto(f"{live_jupyter.url}lab?token={live_jupyter.token}&reset")
    _open_panel(page)
    _open_section(page, "models")
    card = page.locator(f'#labcycle-panel .lc-deployment[data-deployment-id="{deployment_id}"]')
    # The example row comes from the served version's signature, model list collapsed or not.
    expect(card.locator(".lc-curl")).to_contain_text("sepal length", timeout=20_000)
    card.locator(".lc-deployment-stop").click()
    expect(card).to_have_attribute("data-status", "stopped", timeout=60_000)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url.rstrip("/") + "/health", timeout=2, trust_env=False)
        except httpx.HTTPError:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the stopped deployment still answers")
    assert not page.labcycle_errors(), page.labcycle_errors()
