"""Artifacts over REST: streamed upload and download, media types, limits, path attacks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from labcycle.server.handlers import artifacts as handlers_artifacts
from labcycle.server.responses import core as out


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob(root: Path, data: bytes) -> Path:
    digest = hashlib.sha256(data).hexdigest()
    return root / "blobs" / "sha256" / digest[:2] / digest[2:]


async def test_upload_list_download(api, make_run, artifact_root, jp_base_url):
    run = await make_run()
    data = b"a,b\n1,2\n"
    reply = await api(
        "PUT",
        "runs",
        run["id"],
        "artifacts",
        "metrics.csv",
        raw_body=data,
        headers={"Content-Type": "text/csv"},
    )
    assert reply.status == 201, reply
    artifact = out.Artifact.model_validate(reply.json)
    assert (artifact.path, artifact.size, artifact.digest, artifact.media_type) == (
        "metrics.csv",
        len(data),
        sha(data),
        "text/csv",
    )
    assert reply.headers["Location"] == (
        f"{jp_base_url}labcycle/api/v1/runs/{run['id']}/artifacts/metrics.csv"
    )
    assert blob(artifact_root, data).read_bytes() == data

    listed = out.ArtifactList.model_validate(
        (await api("GET", "runs", run["id"], "artifacts")).json
    )
    assert [a.path for a in listed.items] == ["metrics.csv"]
    assert (await api("GET", "runs", run["id"])).json["artifact_count"] == 1

    download = await api("GET", "runs", run["id"], "artifacts", "metrics.csv")
    assert download.status == 200 and download.body == data
    assert download.headers["Content-Type"] == "text/csv"
    assert download.headers["Content-Disposition"].startswith('attachment; filename="metrics.csv"')
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    # served from the Jupyter origin: an HTML artifact must not run scripts there
    assert "default-src 'none'" in download.headers["Content-Security-Policy"]
    etag = download.headers["ETag"]
    assert etag == f'"{sha(data)}"'
    cached = await api(
        "GET", "runs", run["id"], "artifacts", "metrics.csv", headers={"If-None-Match": etag}
    )
    assert cached.status == 304 and cached.body == b""


async def test_nested_paths_media_types_and_overwrite(api, make_run):
    run = await make_run()
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(100)
    reply = await api(
        "PUT",
        "runs",
        run["id"],
        "artifacts",
        "plots/roc curve é.png",
        raw_body=png,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert reply.status == 201
    assert reply.json["path"] == "plots/roc curve é.png"
    assert reply.json["media_type"] == "image/png"  # guessed: octet-stream says nothing
    download = await api("GET", "runs", run["id"], "artifacts", "plots/roc curve é.png")
    assert download.body == png and download.headers["Content-Type"] == "image/png"
    disposition = download.headers["Content-Disposition"]
    assert "filename*=UTF-8''roc%20curve%20%C3%A9.png" in disposition

    first = await api("PUT", "runs", run["id"], "artifacts", "model.txt", raw_body=b"v1")
    second = await api("PUT", "runs", run["id"], "artifacts", "model.txt", raw_body=b"v2")
    assert first.json["digest"] != second.json["digest"]
    assert (await api("GET", "runs", run["id"], "artifacts", "model.txt")).body == b"v2"
    listed = (await api("GET", "runs", run["id"], "artifacts")).json["items"]
    assert [a["path"] for a in listed] == ["model.txt", "plots/roc curve é.png"]

    empty = await api("PUT", "runs", run["id"], "artifacts", "empty.bin", raw_body=b"")
    assert empty.status == 201 and empty.json["size"] == 0
    got = await api("GET", "runs", run["id"], "artifacts", "empty.bin")
    assert got.status == 200 and got.body == b""

    bad_type = await api(
        "PUT",
        "runs",
        run["id"],
        "artifacts",
        "x.bin",
        raw_body=b"x",
        headers={"Content-Type": "not a type"},
    )
    assert bad_type.status == 400 and bad_type.error["details"]["field"] == "Content-Type"


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    path = tmp_path / "uploads"
    path.mkdir()
    return path


async def test_multi_megabyte_upload_is_streamed(
    api, make_run, artifact_root, labcycle_app, upload_dir, monkeypatch
):
    labcycle_app.options.upload_tmp_dir = str(upload_dir)  # c.LabCycle.upload_tmp_dir, live
    writes = []
    original = handlers_artifacts._Upload.write

    def counting_write(self, chunk):
        writes.append(len(chunk))
        assert any(upload_dir.iterdir())  # the chunk goes to a temp file, not to memory
        return original(self, chunk)

    monkeypatch.setattr(handlers_artifacts._Upload, "write", counting_write)
    run = await make_run()
    data = os.urandom(12 * 1024 * 1024 + 17)
    reply = await api("PUT", "runs", run["id"], "artifacts", "weights/model.bin", raw_body=data)
    assert reply.status == 201, reply
    assert reply.json["size"] == len(data) and reply.json["digest"] == sha(data)
    assert len(writes) > 10 and sum(writes) == len(data)  # arrived in chunks
    assert max(writes) < len(data)
    assert list(upload_dir.iterdir()) == []  # the temp file is gone
    assert blob(artifact_root, data).stat().st_size == len(data)

    download = await api("GET", "runs", run["id"], "artifacts", "weights/model.bin")
    assert download.status == 200 and hashlib.sha256(download.body).digest() == (
        hashlib.sha256(data).digest()
    )
    assert download.headers["Content-Length"] == str(len(data))

    # the same bytes under another name are the same blob, stored once
    again = await api("PUT", "runs", run["id"], "artifacts", "copy.bin", raw_body=data)
    assert again.json["digest"] == reply.json["digest"]
    blobs = [p for p in (artifact_root / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1


@pytest.mark.parametrize(
    "server_overrides", [{"LabCycle": {"max_upload_bytes": 1000}}], indirect=True
)
async def test_upload_size_limit(api, make_run):
    run = await make_run()
    ok = await api("PUT", "runs", run["id"], "artifacts", "small.bin", raw_body=b"x" * 1000)
    assert ok.status == 201
    big = await api("PUT", "runs", run["id"], "artifacts", "big.bin", raw_body=b"x" * 5000)
    assert big.status == 413
    assert big.error["code"] == "too_large" and big.error["details"]["limit"] == 1000
    listed = (await api("GET", "runs", run["id"], "artifacts")).json["items"]
    assert [a["path"] for a in listed] == ["small.bin"]


async def test_missing_things_are_404(api, make_run):
    run = await make_run()
    assert (await api("GET", "runs", run["id"], "artifacts", "nope.txt")).error[
        "code"
    ] == "not_found"
    assert (await api("PUT", "runs", "nope", "artifacts", "a.txt", raw_body=b"x")).status == 404
    assert (await api("GET", "runs", "nope", "artifacts")).status == 404
    assert (await api("GET", "runs", "1' OR '1'='1", "artifacts", "a.txt")).status == 404


ATTACKS = [
    "../x",
    "../../x",
    "a/../../x",
    "..%2fx",
    "..%2Fx",
    "%2e%2e%2fx",
    "%2e%2e/%2e%2e/x",
    "%252e%252e%252fx",
    "%252e%252e/x",
    "..\\x",
    "%5c..%5cx",
    "..%5cx",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "C:%5cx",
    "C:/x",
    "a%00b",
    "%00",
    "./x",
    "a//b",
    "a/./b",
    ".",
    "%2e",
    "x/..",
    "x/%2e%2e",
    "%25%32%65%25%32%65%25%32%66x",
    "a%FFb",
    "data/file.txt/",
]


def _snapshot(root: Path, skip: Path) -> dict[str, bytes]:
    files = {}
    for path in root.rglob("*"):
        if path.is_file() and skip not in path.parents and "labcycle.db" not in path.name:
            files[str(path.relative_to(root))] = path.read_bytes()
    return files


async def test_artifact_path_attacks(raw_fetch, api, make_run, artifact_root, tmp_path):
    run = await make_run()
    secret = tmp_path / "labcycle" / "secret.txt"
    secret.write_bytes(b"do not read me")
    planted = await api("PUT", "runs", run["id"], "artifacts", "data/file.txt", raw_body=b"ok")
    assert planted.status == 201
    before = _snapshot(tmp_path, artifact_root)
    blobs_before = sorted(p for p in artifact_root.rglob("*") if p.is_file())
    payload = b"EVIL PAYLOAD"

    for attack in ATTACKS:
        put = await raw_fetch("PUT", f"runs/{run['id']}/artifacts/{attack}", body=payload)
        assert put.status == 400 and put.error["code"] == "invalid_input", (attack, put)
        get = await raw_fetch("GET", f"runs/{run['id']}/artifacts/{attack}")
        assert get.status == 400 and get.error["code"] == "invalid_input", (attack, get)
        assert b"do not read me" not in get.body
    for attack in (
        "data/../data/file.txt",
        "data/./file.txt",
        "data//file.txt",
        "data%2ffile.txt/..",
        "%2e%2e/labcycle/secret.txt",
    ):
        get = await raw_fetch("GET", f"runs/{run['id']}/artifacts/{attack}")
        assert get.status == 400, (attack, get)
    assert (await raw_fetch("GET", f"runs/{run['id']}/artifacts/data%2Ffile.txt")).body == b"ok"

    assert _snapshot(tmp_path, artifact_root) == before  # nothing written outside the root
    assert sorted(p for p in artifact_root.rglob("*") if p.is_file()) == blobs_before
    assert not blob(artifact_root, payload).exists()
    listed = (await api("GET", "runs", run["id"], "artifacts")).json["items"]
    assert [a["path"] for a in listed] == ["data/file.txt"]
