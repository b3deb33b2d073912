"""The model registry over REST (pytest-jupyter), and ``lc.log_model`` over the HTTP transport."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import numpy as np
import pytest

from labcycle.server.responses import models as out

NAME = "churn model"


async def _stage(api, make_run, model, X=None, *, flavor=None, trusted=False) -> str:
    """Save a model, PUT its files into a new run under ``staged/``; returns the run id."""
    from labcycle.models import save_model_dir

    run = await make_run()
    folder = Path(tempfile.mkdtemp()) / "m"
    save_model_dir(
        model, folder, input_example=None if X is None else X.head(), flavor=flavor, trusted=trusted
    )
    for path in sorted(folder.iterdir()):
        reply = await api(
            "PUT",
            "runs",
            run["id"],
            "artifacts",
            f"staged/{path.name}",
            raw_body=path.read_bytes(),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert reply.status == 201, reply
    return run["id"]


async def test_register_list_show_alias_over_rest(api, make_run, sk_model, churn_data):
    X, _ = churn_data
    run_id = await _stage(api, make_run, sk_model, X)
    reply = await api(
        "POST",
        "models",
        NAME,
        "versions",
        body={
            "run_id": run_id,
            "source_path": "staged",
            "description": "first",
            "tags": {"team": "risk"},
        },
    )
    assert reply.status == 201, reply
    v1 = out.ModelVersion.model_validate(reply.json)
    assert (v1.model_name, v1.version, v1.flavor, v1.description) == (NAME, 1, "sklearn", "first")
    assert reply.headers["Location"].endswith("/labcycle/api/v1/models/churn%20model/versions/1")
    assert v1.signature["inputs"][0]["name"] == "tenure"

    run_id = await _stage(api, make_run, sk_model, X)
    reply = await api(
        "POST", "models", NAME, "versions", body={"run_id": run_id, "source_path": "staged"}
    )
    assert reply.status == 201 and reply.json["version"] == 2

    listed = out.RegisteredModelList.model_validate((await api("GET", "models")).json)
    assert [m.name for m in listed.items] == [NAME] and listed.items[0].latest_version == 2
    # any spelling finds the model
    for spelling in (NAME, "CHURN MODEL", "churn%20model"):  # jp_fetch encodes each part
        reply = await api("GET", "models", spelling)
        assert reply.status == 200, (spelling, reply)
        out.RegisteredModel.model_validate(reply.json)
    versions = out.ModelVersionList.model_validate(
        (await api("GET", "models", NAME, "versions")).json
    )
    assert [v.version for v in versions.items] == [2, 1]

    reply = await api("PUT", "models", NAME, "aliases", "champion", body={"version": 1})
    assert reply.status == 200 and reply.json["aliases"] == ["champion"]
    reply = await api("PUT", "models", NAME, "aliases", "champion", body={"version": 2})
    assert reply.json["version"] == 2
    model = (await api("GET", "models", NAME)).json
    assert model["aliases"] == {"champion": 2}
    audit = (await api("GET", "audit", params={"action": "model.alias.set"})).json["items"]
    assert [(e["details"]["before"], e["details"]["after"]) for e in audit] == [(1, 2), (None, 1)]

    reply = await api(
        "PATCH",
        "models",
        NAME,
        "versions",
        "1",
        body={"description": "retired", "tags": {"team": None, "stage": "old"}},
    )
    assert reply.status == 200, reply
    assert (reply.json["description"], reply.json["tags"]) == ("retired", {"stage": "old"})
    out.ModelVersion.model_validate((await api("GET", "models", NAME, "versions", "v1")).json)

    reply = await api("DELETE", "models", NAME, "aliases", "champion")
    assert reply.status == 204
    assert (await api("GET", "models", NAME)).json["aliases"] == {}

    reply = await api("POST", "models", NAME, "versions", "1", "trusted-loads", body={})
    assert reply.status == 204
    audit = (await api("GET", "audit", params={"action": "model.load.trusted"})).json["items"]
    assert len(audit) == 1 and audit[0]["details"]["version"] == 1


async def test_bad_input_over_rest(api, make_run, sk_model):
    run_id = await _stage(api, make_run, sk_model)
    ok = {"run_id": run_id, "source_path": "staged", "keep_source": True}
    assert (await api("POST", "models", "churn", "versions", body=ok)).status == 201

    cases = [
        (("POST", "models", "Churn", "versions"), ok, 409, "conflict", "name"),
        (("POST", "models", "a%40b", "versions"), ok, 400, "invalid_input", "name"),
        (("POST", "models", "a%252Fb", "versions"), ok, 400, "invalid_input", "name"),
        (
            ("POST", "models", "x", "versions"),
            {"source_path": "staged"},
            400,
            "invalid_input",
            "run_id",
        ),
        (
            ("POST", "models", "x", "versions"),
            {**ok, "color": "red"},
            400,
            "invalid_input",
            "color",
        ),
        (("POST", "models", "x", "versions"), {**ok, "run_id": "nope"}, 404, "not_found", "run_id"),
        (
            ("POST", "models", "x", "versions"),
            {**ok, "source_path": "../etc"},
            400,
            "invalid_input",
            "source_path",
        ),
        (
            ("POST", "models", "x", "versions"),
            {**ok, "source_path": "other"},
            400,
            "invalid_input",
            "source_path",
        ),
        (("GET", "models", "nobody"), None, 404, "not_found", "name"),
        (("GET", "models", "churn", "versions", "abc"), None, 400, "invalid_input", "version"),
        (("GET", "models", "churn", "versions", "7"), None, 404, "not_found", "version"),
        (("PATCH", "models", "churn", "versions", "1"), {}, 400, "invalid_input", "body"),
        (
            ("PUT", "models", "churn", "aliases", "champion"),
            {"version": 0},
            400,
            "invalid_input",
            "version",
        ),
        (
            ("PUT", "models", "churn", "aliases", "champion"),
            {"version": 5},
            404,
            "not_found",
            "version",
        ),
        (
            ("PUT", "models", "churn", "aliases", "latest"),
            {"version": 1},
            400,
            "invalid_input",
            "alias",
        ),
        (
            ("PUT", "models", "churn", "aliases", "two%20words"),
            {"version": 1},
            400,
            "invalid_input",
            "alias",
        ),
        (("DELETE", "models", "churn", "aliases", "nope"), None, 404, "not_found", "alias"),
        (("GET", "models"), None, 400, "invalid_input", "max_results"),
    ]
    for (method, *parts), body, status, code, field in cases:
        params = {"max_results": "0"} if parts == ["models"] else None
        reply = await api(method, *parts, body=body, params=params)
        assert reply.status == status, (method, parts, body, reply)
        error = reply.error
        assert error["code"] == code, (parts, error)
        assert error["details"].get("field") == field, (parts, error)
    reply = await api(
        "POST",
        "models",
        "x",
        "versions",
        raw_body=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 400 and reply.error["details"]["field"] == "body"


async def test_pickle_needs_trust_over_rest(api, make_run, sk_model):
    run_id = await _stage(api, make_run, sk_model, flavor="pickle", trusted=True)
    body = {"run_id": run_id, "source_path": "staged"}
    reply = await api("POST", "models", "p", "versions", body=body)
    assert reply.status == 403 and reply.error["details"]["field"] == "trusted"
    reply = await api("POST", "models", "p", "versions", body={**body, "trusted": True})
    assert reply.status == 201 and reply.json["trusted"] is True


@pytest.fixture
def http_lc(
    http_server_client, http_server_port, jp_base_url, jp_auth_header, tmp_path, monkeypatch
):
    """The Python API pointed at this test's server over HTTP (as a kernel would be)."""
    import labcycle as lc
    from labcycle.api.fluent import _state

    monkeypatch.setenv("LABCYCLE_HOME", str(tmp_path / "kernel-home"))
    token = jp_auth_header["Authorization"].split(" ", 1)[1]
    url = f"http://127.0.0.1:{http_server_port[-1]}{jp_base_url}"
    lc.configure(url=url, token=token)
    yield lc
    _state.reset()


async def test_log_and_load_model_over_the_http_transport(http_lc, api, sk_model, churn_data):
    lc = http_lc
    X, _ = churn_data

    def notebook_side():
        # The transport is synchronous: run it in a thread while this loop serves it.
        with lc.start_run("exp"):
            lc.log_metric("auc", 0.88)
            v = lc.log_model(sk_model, "Churn", input_example=X.head(), tags={"k": "v"})
        lc.set_alias("churn", "champion", v.version)
        loaded = lc.load_model("churn@champion")
        model = lc.get_model("CHURN")
        return v, loaded, model, [x.version for x in model.versions()]

    v, loaded, model, versions = await asyncio.to_thread(notebook_side)
    assert (v.name, v.version, v.metrics, v.data["tags"]) == ("Churn", 1, {"auc": 0.88}, {"k": "v"})
    np.testing.assert_array_equal(loaded.predict(X), sk_model.predict(X))
    assert loaded.version["aliases"] == ["champion"]
    assert model.aliases == {"champion": 1} and versions == [1]
    audit = (await api("GET", "audit", params={"action": "model.version.create"})).json["items"]
    assert audit[0]["details"]["model"] == "Churn"

    def refused():
        from labcycle.errors import Conflict

        with pytest.raises(Conflict, match="already exists"):
            lc.log_model(sk_model, "churn")

    await asyncio.to_thread(refused)
