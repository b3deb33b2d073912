"""Every bad input to POST /predict is a 4xx JSON error naming the field; never a 500."""

from __future__ import annotations

import json

import pytest

from .conftest import records


def _err(r, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body["error"]) == {"code", "message", "details"} and body["error"]["message"]
    assert "Traceback" not in r.text
    return body["error"]


def test_signature_and_schema(deployment, http):
    r = http.get(deployment["url"] + "schema")
    assert r.status_code == 200
    inputs = r.json()["signature"]["inputs"]
    assert len(inputs) == 30 and inputs[0]["name"] == "mean radius"
    assert http.get(deployment["url"] + "health").json()["deployment_id"] == deployment["id"]
    assert http.get(deployment["url"] + "ready").json()["ready"] is True


def test_formats_agree(deployment, http, data):
    X, _ = data
    url = deployment["url"] + "predict"
    a = http.post(url, json=records(X, 5)).json()
    b = http.post(url, json={"records": records(X, 5)}).json()
    c = http.post(
        url,
        content=X.head(5).to_json(orient="split", index=False),
        headers={"content-type": "application/json"},
    ).json()
    d = http.post(
        url, content=X.head(5).to_csv(index=False), headers={"content-type": "text/csv"}
    ).json()
    assert a["predictions"] == b["predictions"] == c["predictions"] == d["predictions"]
    assert len(set(a["prediction_ids"])) == 5 and len(a["request_id"]) == 32
    assert len(a["probabilities"]) == 5 and len(a["probabilities"][0]) == 2


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "extra",
        "string",
        "bool",
        "null",
        "nan_csv",
        "row_not_object",
        "split_width",
        "split_unknown_key",
        "csv_type",
        "csv_ragged",
    ],
)
def test_bad_values_name_the_field(deployment, http, data, case):
    X, _ = data
    url = deployment["url"] + "predict"
    rec = records(X, 2)
    headers = {"content-type": "application/json"}
    field = "mean radius"
    if case == "missing":
        del rec[1]["mean radius"]
        body = json.dumps(rec)
    elif case == "extra":
        rec[0]["colour"] = 1
        body, field = json.dumps(rec), "colour"
    elif case == "string":
        rec[1]["mean radius"] = "big"
        body = json.dumps(rec)
    elif case == "bool":
        rec[0]["mean radius"] = True
        body = json.dumps(rec)
    elif case == "null":
        rec[0]["mean radius"] = None
        body = json.dumps(rec)
    elif case == "nan_csv":
        frame = X.head(2).copy()
        frame.loc[frame.index[1], "mean radius"] = float("nan")
        body, headers = frame.to_csv(index=False), {"content-type": "text/csv"}
    elif case == "row_not_object":
        body, field = json.dumps([rec[0], [1, 2]]), "records[1]"
    elif case == "split_width":
        split = json.loads(X.head(2).to_json(orient="split", index=False))
        split["data"][1] = split["data"][1][:-1]
        body, field = json.dumps(split), "data[1]"
    elif case == "split_unknown_key":
        split = json.loads(X.head(2).to_json(orient="split", index=False))
        split["orient"] = "split"
        body, field = json.dumps(split), "orient"
    elif case == "csv_type":
        frame = X.head(2).astype(object)
        frame.iloc[0, 0] = "abc"
        body, headers = frame.to_csv(index=False), {"content-type": "text/csv"}
    elif case == "csv_ragged":
        body = X.head(2).to_csv(index=False) + "1,2\n"
        headers, field = {"content-type": "text/csv"}, "row 2"
    err = _err(http.post(url, content=body, headers=headers), 400)
    assert err["details"]["field"] == field, err
    assert err["code"] == "invalid_input"


@pytest.mark.parametrize(
    "body,ctype,field,status",
    [
        (b"[]", "application/json", "records", 400),
        (b'{"records": []}', "application/json", "records", 400),
        (b'{"columns": ["mean radius"], "data": []}', "application/json", "data", 400),
        (b"", "application/json", "body", 400),
        (b"mean radius\n", "text/csv", "body", 400),
        (b'[{"a": 1}', "application/json", "body", 400),
        (b'{"records": [1, 2', "application/json", "body", 400),
        (b'"just a string"', "application/json", "body", 400),
        (b'{"rows": []}', "application/json", "body", 400),
        (b'a,"b\n1,2', "text/csv", "body", 400),
        (b"\xff\xfe", "text/csv", "body", 400),
        (b"<xml/>", "application/xml", "Content-Type", 415),
    ],
)
def test_empty_and_malformed(deployment, http, body, ctype, field, status):
    err = _err(
        http.post(deployment["url"] + "predict", content=body, headers={"content-type": ctype}),
        status,
    )
    assert err["details"]["field"] == field, err


def test_body_over_the_limit_is_refused_while_reading(deployment, http):
    url = deployment["url"] + "predict"
    big = b"[" + b"1," * (9 * 1024 * 1024) + b"1]"  # 18 MiB > 16 MiB
    err = _err(http.post(url, content=big, headers={"content-type": "application/json"}), 413)
    assert err["code"] == "too_large" and err["details"]["field"] == "body"

    def chunks():  # no Content-Length: refused once the stream passes the limit
        for _ in range(18):
            yield b" " * (1024 * 1024)

    err = _err(http.post(url, content=chunks(), headers={"content-type": "application/json"}), 413)
    assert err["code"] == "too_large"


def test_unknown_route_and_method_are_json(deployment, http):
    _err(http.get(deployment["url"] + "nope"), 404)
    _err(http.get(deployment["url"] + "predict"), 405)


def test_cli_serve_refuses_non_loopback_without_key(tmp_path):
    from click.testing import CliRunner

    from labcycle.cli.base import main

    result = CliRunner().invoke(main, ["serve", str(tmp_path), "--host", "127.0.0.2"])
    assert result.exit_code == 1 and "requires an API key" in result.output
