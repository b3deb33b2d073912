"""The extension itself: loading, configuration, kernel environment, OpenAPI, routing, auth."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from jupyter_server.auth import Authorizer

import labcycle
from labcycle.server import _jupyter_server_extension_points
from labcycle.server.app import LabCycle, LabCycleApp
from labcycle.server.base import NotFoundHandler
from labcycle.server.openapi import build_document
from labcycle.server.routes import ROUTES
from labcycle.server.schemas import core as request_models
from labcycle.services import Services

RESOURCES = {
    "labcycle:api",
    "labcycle:projects",
    "labcycle:experiments",
    "labcycle:runs",
    "labcycle:artifacts",
    "labcycle:datasets",
    "labcycle:audit",
    "labcycle:jobs",
    "labcycle:deployments",
    "labcycle:models",
    "labcycle:monitors",
    "labcycle:sweeps",
    "labcycle:schedules",
    "labcycle:notes",
    "labcycle:search",
    "labcycle:lineage",
    "labcycle:reviews",
}
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def test_extension_points_name_the_app():
    assert _jupyter_server_extension_points() == [{"module": "labcycle.server", "app": LabCycleApp}]
    # the package re-exports them, so `jupyter server extension list` finds module "labcycle"
    assert labcycle._jupyter_server_extension_points() == _jupyter_server_extension_points()


async def test_version(api):
    reply = await api("GET", "version")
    assert reply.status == 200
    assert reply.json == {"version": labcycle.__version__, "api": "v1"}


async def test_config_section_labcycle_places_the_data(api, labcycle_app, labcycle_dir):
    options = labcycle_app.options
    assert isinstance(options, LabCycle)
    assert options.db_url == f"sqlite:///{labcycle_dir / 'labcycle.db'}"
    assert (await api("POST", "projects", body={"name": "p"})).status == 201
    assert (labcycle_dir / "labcycle.db").is_file()
    assert (labcycle_dir / "artifacts" / "blobs" / "sha256").is_dir()


class RecordingServices(Services):
    built_with: list = []

    @classmethod
    def from_config(cls, config):
        cls.built_with.append((config.db_url, config.max_upload_bytes))
        return super().from_config(config)


@pytest.mark.parametrize(
    "server_overrides",
    [{"LabCycle": {"services_class": RecordingServices, "max_upload_bytes": 1234}}],
    indirect=True,
)
async def test_services_class_is_swappable(api, labcycle_app, labcycle_dir):
    assert isinstance(labcycle_app.services, RecordingServices)
    assert RecordingServices.built_with[-1] == (f"sqlite:///{labcycle_dir / 'labcycle.db'}", 1234)
    assert labcycle_app.settings["labcycle_services"] is labcycle_app.services
    # settings["labcycle"] stays the extension app, as ExtensionHandlerMixin expects
    assert labcycle_app.settings["labcycle"] is labcycle_app
    assert (await api("GET", "projects")).status == 200


async def test_kernels_inherit_url_and_token(jp_serverapp, labcycle_app, jp_base_url, api):
    url = os.environ["LABCYCLE_API_URL"]
    assert url == f"http://127.0.0.1:{jp_serverapp.port}{jp_base_url}"
    assert os.environ["LABCYCLE_API_TOKEN"] == jp_serverapp.identity_provider.token
    assert os.environ["LABCYCLE_SERVER_ROOT"] == str(Path(jp_serverapp.root_dir).resolve())
    # ... and with them a plain HTTP client reaches the API (what a kernel's client does)
    import httpx

    async with httpx.AsyncClient(trust_env=False) as client:
        reply = await client.get(
            url + "labcycle/api/v1/version",
            headers={"Authorization": f"token {os.environ['LABCYCLE_API_TOKEN']}"},
        )
    assert reply.status_code == 200, reply.text
    await labcycle_app.stop_extension()
    assert "LABCYCLE_API_URL" not in os.environ and "LABCYCLE_API_TOKEN" not in os.environ


def _template(pattern: str) -> str:
    """Tornado pattern → OpenAPI path, rebuilt independently of routes.py."""
    relative = pattern.split("labcycle/api/v1/", 1)[1]
    relative = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", relative)
    return "/" + relative.replace("\\", "")


async def test_openapi_lists_every_registered_route_and_nothing_else(
    api, labcycle_app, jp_base_url
):
    reply = await api("GET", "openapi.json")
    assert reply.status == 200
    doc = reply.json
    assert doc == build_document(jp_base_url)
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"] == [{"url": f"{jp_base_url}labcycle/api/v1"}]
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    api_handlers = [
        (spec[0], spec[1]) for spec in labcycle_app.handlers if "labcycle/api/v1" in spec[0]
    ]  # not the Voila apps' pages
    registered = set()
    for pattern, handler in api_handlers:
        if handler is NotFoundHandler:
            continue
        for method in HTTP_METHODS:
            if method in vars(handler):
                registered.add((_template(pattern), method.upper()))
    assert registered == documented
    assert len(documented) == len(ROUTES)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            handler = next(h for p, h in api_handlers if _template(p) == path)
            auth = op["x-jupyter-authorization"]
            assert auth["resource"] == handler.auth_resource
            assert auth["resource"] in RESOURCES
            assert auth["action"] == ("read" if method == "get" else "write")


async def test_openapi_request_schemas_come_from_the_models(api):
    doc = (await api("GET", "openapi.json")).json
    schemas = doc["components"]["schemas"]
    with_body = [r for r in ROUTES if isinstance(r.body, type)]
    names = {
        "CreateProject",
        "CreateExperiment",
        "CreateRun",
        "UpdateRun",
        "LogParams",
        "LogMetrics",
        "SetTags",
        "LogCells",
        "AttachNotebook",
        "LinkInput",
        "RegisterDataset",
        # notebook jobs
        "SubmitJob",
        # model registry
        "UpdateModel",
        "CreateModelVersion",
        "UpdateModelVersion",
        "RecordTrustedLoad",
        "SetAlias",
        # deployments (serving)
        "CreateDeployment",
        "UpdateDeployment",
        "GroundTruth",
        # sweeps, schedules, reproduce
        "CreateSweep",
        "CreateSchedule",
        "UpdateSchedule",
        "ReproduceRun",
        # monitors
        "CreateMonitor",
        "UpdateMonitor",
        # notes (hub)
        "CreateNote",
        "UpdateNote",
        # projects, members, reviews (hub)
        "UpdateProject",
        "SetMember",
        "ImportProject",
        "CreateReview",
    }
    assert {r.body.__name__ for r in with_body} == names
    for route in with_body:
        op = doc["paths"]["/" + route.path][route.method.lower()]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        name = ref.rsplit("/", 1)[1]
        assert name.startswith(route.body.__name__)
        model_schema = route.body.model_json_schema(by_alias=True)
        assert set(schemas[name]["properties"]) == set(model_schema["properties"])
        assert schemas[name].get("required", []) == model_schema.get("required", [])
        assert schemas[name]["additionalProperties"] is False
    point = schemas["MetricPoint"]["properties"]["value"]
    assert {"enum": ["NaN", "Infinity", "-Infinity"]} in point["anyOf"]
    assert doc["paths"]["/runs/{run_id}/metrics"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]["$ref"].endswith("/LogMetrics")
    assert request_models.LogMetrics.model_fields["metrics"].annotation.__args__[0] is (
        request_models.MetricPoint
    )
    put = doc["paths"]["/runs/{run_id}/artifacts/{path}"]["put"]
    assert "application/octet-stream" in put["requestBody"]["content"]
    assert "Location" in put["responses"]["201"]["headers"]


async def test_every_documented_route_is_live(api, jp_fetch):
    doc = (await api("GET", "openapi.json")).json
    for path, ops in doc["paths"].items():
        concrete = re.sub(r"\{\w+\}", "nosuchthing", path).lstrip("/")
        for method in ops:
            reply = await api(method.upper(), concrete)
            assert reply.status != 405, (method, path, reply)
            if reply.status >= 400:
                assert "No LabCycle route" not in reply.error["message"], (method, path, reply)


async def test_unknown_route_and_method_are_json(api):
    reply = await api("GET", "nope", "deeper")
    assert reply.status == 404
    assert reply.error["code"] == "not_found"
    reply = await api("DELETE", "projects")
    assert reply.status == 405
    assert reply.error["code"] == "method_not_allowed"
    reply = await api("PUT", "runs")
    assert reply.status == 405 and reply.error["code"] == "method_not_allowed"


async def test_no_token_is_forbidden_json(raw_fetch):
    for method, path in [
        ("GET", "version"),
        ("GET", "openapi.json"),
        ("GET", "runs"),
        ("POST", "runs"),
        ("POST", "projects"),
        ("GET", "audit"),
        ("PATCH", "runs/abc"),
        ("DELETE", "runs/abc"),
        ("PUT", "runs/abc/artifacts/a.txt"),
        ("GET", "runs/abc/artifacts/a.txt"),
        ("GET", "nope"),
    ]:
        body = b'{"name": "x"}' if method in ("POST", "PUT", "PATCH") else None
        reply = await raw_fetch(method, path, body=body, auth=False)
        assert reply.status == 403, (method, path, reply)
        assert reply.error["code"] == "forbidden"


async def test_wrong_token_is_forbidden(raw_fetch):
    reply = await raw_fetch("GET", "runs", auth=False, headers={"Authorization": "token nope"})
    assert reply.status == 403 and reply.error["code"] == "forbidden"


class DenyAudit(Authorizer):
    """Allows everything but reading the audit log; records what it was asked."""

    asked: list = []

    def is_authorized(self, handler, user, action, resource):
        DenyAudit.asked.append((action, resource))
        return resource != "labcycle:audit"


@pytest.mark.parametrize(
    "server_overrides", [{"ServerApp": {"authorizer_class": DenyAudit}}], indirect=True
)
async def test_authorizer_decides_per_resource(api, make_run):
    DenyAudit.asked.clear()
    run = await make_run()
    assert ("write", "labcycle:runs") in DenyAudit.asked
    await api("GET", "projects")
    await api("GET", f"runs/{run['id']}/artifacts")
    await api("GET", "datasets")
    assert {
        ("read", "labcycle:projects"),
        ("read", "labcycle:artifacts"),
        ("read", "labcycle:datasets"),
    } <= set(DenyAudit.asked)
    reply = await api("GET", "audit")
    assert reply.status == 403
    assert reply.error["code"] == "forbidden"
    assert "labcycle:audit" in reply.error["message"]


class DenyArtifactWrites(Authorizer):
    def is_authorized(self, handler, user, action, resource):
        return not (resource == "labcycle:artifacts" and action == "write")


@pytest.mark.parametrize(
    "server_overrides", [{"ServerApp": {"authorizer_class": DenyArtifactWrites}}], indirect=True
)
async def test_upload_is_refused_before_the_body_is_stored(api, make_run):
    run = await make_run()
    reply = await api("PUT", "runs", run["id"], "artifacts", "a.bin", raw_body=b"x" * 1000)
    assert reply.status == 403 and reply.error["code"] == "forbidden"
    assert (await api("GET", "runs", run["id"], "artifacts")).json == {"items": []}


async def test_unexpected_errors_are_a_generic_500_with_the_traceback_in_the_log(
    api, labcycle_app, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(labcycle_app.services.projects, "list_projects", broken)
    reply = await api("GET", "projects")
    assert reply.status == 500
    assert reply.error["code"] == "internal"
    assert b"hunter2" not in reply.body and b"Traceback" not in reply.body
    logged = [r for r in caplog.records if r.exc_info and "hunter2" in str(r.exc_info[1])]
    assert logged, "the traceback must reach the server log"


async def test_cookie_authenticated_writes_need_xsrf(api, raw_fetch):
    # a token request hands out the login cookie, as it does for a browser
    login = await api("GET", "version")
    cookie = login.headers["Set-Cookie"].split(";", 1)[0]
    as_browser = {"Cookie": cookie}
    assert (await raw_fetch("GET", "projects", auth=False, headers=as_browser)).status == 200
    refused = await raw_fetch(
        "POST", "projects", body=b'{"name": "x"}', auth=False, headers=as_browser
    )
    assert refused.status == 403 and refused.error["code"] == "forbidden"
    xsrf = "0123456789abcdef0123456789abcdef"
    with_xsrf = {"Cookie": f"{cookie}; _xsrf={xsrf}", "X-XSRFToken": xsrf}
    accepted = await raw_fetch(
        "POST", "projects", body=b'{"name": "x"}', auth=False, headers=with_xsrf
    )
    assert accepted.status == 201, accepted


@pytest.mark.parametrize(
    "server_overrides",
    [{"LabCycle": {"db_url": "postgresql://nobody@127.0.0.1:1/nowhere"}}],
    indirect=True,
)
async def test_a_store_that_cannot_open_answers_503_with_the_reason(api):
    # The extension stays loaded: the panel can tell "broken store" from "not installed".
    assert (await api("GET", "version")).status == 200
    reply = await api("GET", "projects")
    assert reply.status == 503
    error = reply.error
    assert error["code"] == "unavailable"
    assert "cannot open its store" in error["message"] and "LABCYCLE_DB_URL" in error["message"]
    assert "nobody@127.0.0.1:1/nowhere" in error["message"]
