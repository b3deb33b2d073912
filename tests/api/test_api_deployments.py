"""REST routes of deployments: shapes, bad input and errors (real serving is tests/serving)."""

from __future__ import annotations

from labcycle.server import responses_deployments as out


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
    reply = await api("POST", "deployments", raw_body=b"{not json",
                      headers={"Content-Type": "application/json"})
    assert reply.status == 400 and reply.error["details"]["field"] == "body"


async def test_missing_deployment_is_404(api):
    for method, path, body in (("GET", "deployments/nope", None),
                               ("PATCH", "deployments/nope", {"workers": 2}),
                               ("DELETE", "deployments/nope", None),
                               ("GET", "deployments/nope/predictions", None),
                               ("POST", "deployments/nope/feedback",
                                {"prediction_id": "0" * 32, "value": 1})):
        reply = await api(method, *path.split("/"), body=body)
        assert reply.status == 404, (method, path, reply)
        assert reply.error["code"] == "not_found"


async def test_the_extension_runs_a_supervisor(labcycle_app):
    # pytest-jupyter does not run the start hook; call the part of it that is ours.
    from labcycle.server.handlers_deployments import SUPERVISOR_KEY

    if getattr(labcycle_app, "supervisor", None) is None:
        labcycle_app.start_deployment_supervisor()
    assert labcycle_app.supervisor is not None
    assert labcycle_app.settings[SUPERVISOR_KEY] is labcycle_app.supervisor
    await labcycle_app.stop_extension()
    assert labcycle_app.supervisor is None
