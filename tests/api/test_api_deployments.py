"""REST routes of deployments: shapes, bad input and errors (real serving is tests/serving)."""

from __future__ import annotations

from labcycle.server.responses import deployments as out


async def test_list_is_empty_and_documented(api):
    reply = await api("GET", "deployments")
    assert reply.status == 200
    out.DeploymentList.model_validate(reply.json)
    assert reply.json["items"] == []


async def test_unknown_model_and_bad_input(api):
    reply = await api("POST", "deployments", body={"model": "nope@champion"})
    assert reply.status == 404, reply
    reply = await api("POST", "deployments", body={"model": "x", "workers": 0})
    assert reply.status == 400 and reply.error["details"]["field"] == "workers"
    reply = await api("POST", "deployments", body={"model": "x", "colour": 1})
    assert reply.status == 400 and reply.error["details"]["field"] == "colour"
    reply = await api("POST", "deployments", body={"model": "x", "traffic": {"1": 50, "2": 20}})
    assert reply.status == 400 and reply.error["details"]["field"] == "traffic"
    reply = await api(
        "POST", "deployments", raw_body=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert reply.status == 400 and reply.error["details"]["field"] == "body"


async def test_missing_deployment_is_404(api):
    for method, path, body in (
        ("GET", "deployments/nope", None),
        ("PATCH", "deployments/nope", {"workers": 2}),
        ("DELETE", "deployments/nope", None),
        ("GET", "deployments/nope/predictions", None),
        ("POST", "deployments/nope/feedback", {"prediction_id": "0" * 32, "value": 1}),
    ):
        reply = await api(method, *path.split("/"), body=body)
        assert reply.status == 404, (method, path, reply)
        assert reply.error["code"] == "not_found"


async def test_the_extension_runs_a_supervisor(labcycle_app):
    # pytest-jupyter does not run the start hook; call the part of it that is ours.
    from labcycle.server.handlers.deployments import SUPERVISOR_KEY

    if getattr(labcycle_app, "supervisor", None) is None:
        labcycle_app.start_deployment_supervisor()
    assert labcycle_app.supervisor is not None
    assert labcycle_app.settings[SUPERVISOR_KEY] is labcycle_app.supervisor
    await labcycle_app.stop_extension()
    assert labcycle_app.supervisor is None


async def test_replies_carry_curl_try_url_and_live_figures(api, labcycle_app, jp_base_url):
    """No process runs here (no supervisor in this server): the figures are null, the rest
    is there. Real traffic figures: tests/serving/test_stats_live.py."""
    from urllib.parse import parse_qs, urlsplit

    services = labcycle_app.services
    _register_iris(services)

    created = await api("POST", "deployments", body={"model": "iris/1", "name": "iris-api"})
    assert created.status == 201, created
    d = out.Deployment.model_validate(created.json)
    assert d.curl_example.startswith(f"curl -s -X POST {d.url}predict ")
    assert "sepal length (cm)" in d.curl_example
    parts = urlsplit(d.try_url)
    assert parts.scheme == "http" and parts.netloc.startswith("127.0.0.1:")
    assert parts.path == f"{jp_base_url.rstrip('/')}/labcycle/apps/predict"
    assert parse_qs(parts.query) == {"deployment_url": [d.url]}
    assert (d.request_rate, d.latency_ms, d.stats) == (None, None, None)

    listed = out.DeploymentList.model_validate((await api("GET", "deployments")).json)
    assert [x.try_url for x in listed.items] == [d.try_url]
    assert listed.items[0].curl_example == d.curl_example
    one = out.Deployment.model_validate((await api("GET", "deployments", "iris-api")).json)
    assert one.try_url == d.try_url and one.request_rate is None
    stopped = await api("DELETE", "deployments", d.id)
    assert stopped.status == 200 and stopped.json["desired"] == "stopped"
    assert stopped.json["curl_example"] == d.curl_example


async def test_predictions_page_through_the_log_and_a_broken_file_is_a_clear_error(
    api, labcycle_app
):
    """The newest page reads the newest days only: it works while an old file is broken;
    a page that needs that file answers 500 with a message naming it (tests/serving/
    test_prediction_pages.py checks the pages against the whole sorted log)."""
    import base64

    from prediction_logs import write_feedback, write_log

    services = labcycle_app.services
    _register_iris(services)
    d = services.deployments.create("iris/1", actor="tester", name="iris-log", capture=False)
    services.deployments.stop(d["id"], actor="tester")  # the log is all this test needs
    ids, day0 = write_log(services.blobs, d["id"], days=5, files=2, rows=10)
    write_feedback(services.blobs, d["id"], [(ids[-1], "yes", day0 + 5 * 86_400_000 - 1, "t")])

    first = await api("GET", "deployments", "iris-log", "predictions", params={"max_results": "15"})
    assert first.status == 200, first
    page = out.PredictionList.model_validate(first.json)
    assert len(page.items) == 15 and page.next_page_token
    assert {i.prediction_id for i in page.items} < set(ids[-20:])  # the newest day
    assert {i.prediction_id: i.ground_truth for i in page.items}.get(ids[-1]) == "yes"
    assert set(page.items[0].inputs) == {"a", "b"}

    root = services.blobs.root
    broken = sorted(services.blobs.fs.glob(f"{root}/predictions/deployment={d['id']}/date=*/*"))[0]
    with services.blobs.fs.open(broken, "wb") as fh:
        fh.write(b"PAR1 but not really")
    again = await api("GET", "deployments", "iris-log", "predictions", params={"max_results": "15"})
    assert again.status == 200 and again.json == first.json
    token = base64.urlsafe_b64encode(b"95").decode()  # the oldest day
    deep = await api(
        "GET",
        "deployments",
        "iris-log",
        "predictions",
        params={"max_results": "5", "page_token": token},
    )
    assert deep.status == 500, deep
    assert "cannot be read at predictions/deployment=" in deep.error["message"]
    assert deep.error["details"]["path"] == broken[len(root.rstrip("/")) + 1 :]
    assert "Traceback" not in deep.error["message"] and root not in deep.error["message"]
    bad = await api("GET", "deployments", "iris-log", "predictions", params={"since": "soon"})
    assert bad.status == 400 and bad.error["details"]["field"] == "since"


def _register_iris(services) -> None:
    """Version 1 of model ``iris``: a logistic regression on the iris data."""
    from model_files import log_model_files
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    run = services.tracking.create_run(actor="tester", experiment="deploy-api")
    log_model_files(
        services,
        run["id"],
        LogisticRegression(max_iter=300).fit(X, y),
        prefix="model",
        actor="tester",
        input_example=X.head(),
    )
    services.registry.create_version("iris", run_id=run["id"], source_path="model", actor="tester")
