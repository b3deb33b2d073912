"""The monitoring Voila apps in a real browser, served by a real JupyterLab with LabCycle.

One module-scoped set-up: a churn classifier logged with its training data, deployed (a real
model server), calm traffic then drifted traffic captured, a monitor with three real checks
and ground truth for part of the traffic. Then each app is opened by its URL
(``labcycle/apps/<name>?...``) and its widgets and charts are checked for real values, and
a widget is changed to see the chart follow. The drift app is also served standalone by
``labcycle app drift`` (Voila with a preheated kernel).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect

from .conftest import screenshot

pytestmark = pytest.mark.browser

MONITOR, DEPLOYMENT = "churn-apps-monitor", "churn-apps"
PLOT = ".js-plotly-plot .main-svg"


def churn(n: int, *, seed: int, shift: float = 0.0, plans=(0.5, 0.3, 0.2)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "tenure": np.clip(rng.normal(36 + shift, 15, n), 1, 72).round().astype("int64"),
            "charges": rng.normal(70 + shift, 20, n).round(2),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=list(plans)),
        }
    )


def label(X: pd.DataFrame) -> np.ndarray:
    return ((X["tenure"] < 24) & (X["plan"] != "pro")).astype(int).to_numpy().copy()


def _wait_for_rows(lc_client, deployment_id: str, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = lc_client(
            "GET", f"deployments/{deployment_id}/predictions", params={"max_results": count}
        ).json()["items"]
        if len(items) >= count:
            return
        time.sleep(0.5)
    raise AssertionError(f"{count} predictions were not captured in {timeout}s")


@pytest.fixture(scope="module")
def seeded(live_jupyter, tmp_path_factory):
    """Model, deployment, traffic, monitor with 3 checks, ground truth (see the docstring)."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    import labcycle as lc
    from labcycle.api.fluent import _state

    old_home = os.environ.get("LABCYCLE_HOME")
    os.environ["LABCYCLE_HOME"] = str(tmp_path_factory.mktemp("apps-client"))
    lc.configure(url=live_jupyter.url, token=live_jupyter.token)
    try:
        X = churn(800, seed=0)
        y = label(X)
        model = make_pipeline(
            make_column_transformer(
                (StandardScaler(), ["tenure", "charges"]), (OneHotEncoder(), ["plan"])
            ),
            LogisticRegression(max_iter=500),
        ).fit(X, y)
        with lc.start_run("voila-apps", name="churn-apps"):
            lc.log_metric("accuracy", float(model.score(X, y)))
            version = lc.log_model(model, DEPLOYMENT, input_example=X.head(), training_data=X)
        dep = lc.deploy(f"{DEPLOYMENT}/{version.version}", name=DEPLOYMENT, wait=120)
        assert dep.status == "ready", dep.data
        calm = churn(200, seed=1)
        dep.predict(calm)
        _wait_for_rows(live_jupyter.lc, dep.id, 200)
        monitor = lc.monitor(dep, name=MONITOR, window={"last_n": 200})
        first = monitor.check()
        drifted = churn(200, seed=2, shift=25, plans=(0.1, 0.1, 0.8))
        body = dep.predict(drifted, full=True)
        _wait_for_rows(live_jupyter.lc, dep.id, 400)
        second, third = monitor.check(), monitor.check()
        truth = label(drifted)
        truth[:20] = 1 - truth[:20]  # the model is wrong on these: accuracy falls
        for pid, value in list(zip(body["prediction_ids"], truth.tolist(), strict=True))[:60]:
            lc.log_ground_truth(dep, pid, value)
        yield {"deployment": dep, "monitor": monitor, "checks": (first, second, third)}
    finally:
        _state.reset()
        if old_home is None:
            os.environ.pop("LABCYCLE_HOME", None)
        else:
            os.environ["LABCYCLE_HOME"] = old_home


@pytest.fixture(scope="module")
def page(browser, live_jupyter):
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.goto(f"{live_jupyter.url}lab/tree?token={live_jupyter.token}")  # the login cookie
    yield page
    context.close()


def open_app(page, live_jupyter, path: str) -> float:
    started = time.monotonic()
    page.goto(f"{live_jupyter.url}labcycle/apps/{path}", timeout=60_000)
    expect(page.locator(PLOT).first).to_be_visible(timeout=60_000)
    return time.monotonic() - started


def pick(page, description: str, value: str) -> None:
    box = page.locator(".widget-dropdown", has=page.locator("label", has_text=description))
    box.locator("select").select_option(label=value)


def test_drift_dashboard(seeded, live_jupyter, page):
    first, second, third = seeded["checks"]
    assert first["status"] == "ok" and third["status"] == "drift", (
        first["summary"],
        third["summary"],
    )
    columns = seeded["monitor"].get_check(third["id"])["result"]["drift"]["columns"]
    assert columns["tenure"]["drifted"] and columns["plan"]["drifted"]

    seconds = open_app(page, live_jupyter, f"drift?monitor={MONITOR}")
    body = page.locator("body")
    expect(body).to_contain_text(f"Drift of {MONITOR}")
    expect(body).to_contain_text("Dataset verdict")
    n = sum(1 for c in columns.values() if c["drifted"])
    expect(body).to_contain_text(f"{n} of {len(columns)}")
    table = page.locator("table.lc-table")
    for feature, column in columns.items():
        expect(table).to_contain_text(feature)
        expect(table).to_contain_text(column["method"])
    expect(page.locator(".js-plotly-plot")).to_have_count(2)  # distributions, timeline
    expect(page.locator(".js-plotly-plot .bars path").first).to_be_attached()
    expect(page.locator(".js-plotly-plot .scatterlayer .trace").first).to_be_attached()
    screenshot(page, "voila-drift")
    # another feature: the distribution chart and its title follow
    pick(page, "Feature", "charges")
    expect(page.locator(".js-plotly-plot .gtitle").first).to_contain_text("charges", timeout=20_000)
    expect(body).to_contain_text(f"charges: {columns['charges']['method']} score")
    pick(page, "Feature", "plan")
    expect(page.locator(".js-plotly-plot .xtick", has_text="pro").first).to_be_attached(
        timeout=20_000
    )
    # the first check (no drift): the summary follows the check picker
    box = page.locator(".widget-dropdown", has=page.locator("label", has_text="Check"))
    box.locator("select").select_option(value=box.locator("option").last.get_attribute("value"))
    expect(body).to_contain_text("0 of 3", timeout=20_000)
    print(f"drift app: first chart after {seconds:.1f}s")


def test_performance_dashboard(seeded, live_jupyter, page):
    perf = seeded["monitor"].performance(freq="1h")
    assert perf["labelled_rows"] == 60 and perf["windows"], perf
    accuracy = perf["windows"][-1]["metrics"]["accuracy"]
    assert accuracy <= 50 / 60  # 20 of the 60 labels contradict the model

    open_app(page, live_jupyter, f"performance?monitor={MONITOR}&freq=1h")
    body = page.locator("body")
    expect(body).to_contain_text(f"Performance of {MONITOR}")
    expect(body).to_contain_text("60 predictions with ground truth")
    expect(body).to_contain_text(f"accuracy {accuracy:.3g}")
    expect(body).to_contain_text("at training")
    expect(page.locator(".js-plotly-plot .scatterlayer .trace").first).to_be_attached()
    screenshot(page, "voila-performance")
    pick(page, "Metric", "F1")
    expect(page.locator(".js-plotly-plot .gtitle").first).to_contain_text(
        "F1 per hour", timeout=20_000
    )
    page.locator(".widget-toggle-buttons button", has_text="day").click()
    expect(page.locator(".js-plotly-plot .gtitle").first).to_contain_text(
        "F1 per day", timeout=20_000
    )


def test_whatif_app(seeded, live_jupyter, page):
    open_app(page, live_jupyter, f"whatif?deployment={DEPLOYMENT}&feature=tenure")
    body = page.locator("body")
    expect(body).to_contain_text("What if…")
    expect(body).to_contain_text("Prediction:")
    expect(body).to_contain_text("Probability:")
    expect(page.locator(".js-plotly-plot .legendtext", has_text="P(1)")).to_have_count(1)
    screenshot(page, "voila-whatif")
    result = page.locator(".lc-result")
    before = result.inner_text()
    # another plan: the probability moves
    plan = page.locator(".widget-dropdown", has=page.locator("label", has_text="plan"))
    current = plan.locator("select").evaluate("s => s.options[s.selectedIndex].text")
    pick(page, "plan", "basic" if current == "pro" else "pro")
    expect(result).not_to_have_text(before, timeout=20_000)
    pick(page, "Vary", "plan")
    expect(page.locator(".js-plotly-plot .xtick", has_text="plus").first).to_be_attached(
        timeout=20_000
    )
    expect(page.locator(".js-plotly-plot .gtitle").first).to_contain_text("across plan")


def test_bad_addresses_get_a_message_not_a_traceback(live_jupyter, page):
    page.goto(f"{live_jupyter.url}labcycle/apps/drift?monitor=no-such-monitor")
    expect(page.locator(".lc-note")).to_contain_text("Unknown monitor", timeout=60_000)
    assert "Traceback" not in page.content()
    reply = httpx.get(
        f"{live_jupyter.url}labcycle/apps/..%2Fsecret",
        headers={"Authorization": f"token {live_jupyter.token}"},
        trust_env=False,
    )
    assert reply.status_code == 404 and "drift" in reply.text
    anonymous = httpx.get(
        f"{live_jupyter.url}labcycle/apps/drift", trust_env=False, follow_redirects=False
    )
    assert anonymous.status_code in (302, 403), anonymous.status_code  # the server's login


def test_standalone_with_a_preheated_kernel(seeded, live_jupyter, page, tmp_path):
    """``labcycle app drift --monitor`` (Voila on 127.0.0.1, a preheated kernel)."""
    from live_jupyter import free_port

    port = free_port()
    env = {
        **live_jupyter.env,
        "LABCYCLE_API_URL": live_jupyter.url,
        "LABCYCLE_API_TOKEN": live_jupyter.token,
    }
    log = (tmp_path / "voila.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labcycle",
            "app",
            "drift",
            "--monitor",
            MONITOR,
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if (
                    httpx.get(
                        f"http://127.0.0.1:{port}/voila/api/shutdown/x", trust_env=False, timeout=2
                    ).status_code
                    < 600
                ):
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        started = time.monotonic()
        page.goto(f"http://127.0.0.1:{port}/?monitor={MONITOR}&feature=charges", timeout=60_000)
        expect(page.locator(PLOT).first).to_be_visible(timeout=60_000)
        seconds = time.monotonic() - started
        expect(page.locator("body")).to_contain_text(f"Drift of {MONITOR}")
        # the query string reached the preheated kernel (the default feature is tenure)
        expect(page.locator(".js-plotly-plot .gtitle").first).to_contain_text("charges")
        print(f"standalone drift app (preheated): first chart after {seconds:.1f}s")
        screenshot(page, "voila-drift-standalone")
    finally:
        log.close()
        os.killpg(proc.pid, 15)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
