"""Artifacts over REST with the server's artifact store on S3, set by
``c.LabCycle.storage_options`` (not the environment); the server hands the options on to the
processes it starts."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from api.conftest import api, labcycle_app, labcycle_dir, started  # noqa: F401
from traitlets.config import Config

from labcycle.store.storage import STORAGE_OPTIONS_ENV


@pytest.fixture
def s3_url(bucket: str) -> str:
    return f"s3://{bucket}/server"


@pytest.fixture
def jp_server_config(labcycle_dir, s3_server, s3_url) -> Config:  # noqa: F811
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"labcycle": True}},
            "LabCycle": {
                "db_url": f"sqlite:///{labcycle_dir / 'labcycle.db'}",
                "artifact_url": s3_url,
                "storage_options": s3_server.storage_options(),
            },
        }
    )


async def test_rest_upload_list_download_on_s3(api, labcycle_app, s3_server, s3_url):  # noqa: F811
    run = (await api("POST", "runs", body={"experiment": "s3"})).json
    data = os.urandom(3 * 1024 * 1024 + 17)  # several chunks of the streamed upload
    reply = await api(
        "PUT",
        "runs",
        run["id"],
        "artifacts",
        "model/weights.bin",
        raw_body=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert reply.status == 201, reply
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert reply.json["digest"] == digest and reply.json["size"] == len(data)

    listed = await api("GET", "runs", run["id"], "artifacts")
    assert [a["path"] for a in listed.json["items"]] == ["model/weights.bin"]
    download = await api("GET", "runs", run["id"], "artifacts", "model/weights.bin")
    assert download.status == 200 and download.body == data

    # the blob is an object of the bucket, written with the configured options
    import s3fs

    fs = s3fs.S3FileSystem(**s3_server.storage_options(), skip_instance_cache=True)
    hexdigest = digest.split(":", 1)[1]
    key = f"{s3_url[5:]}/blobs/sha256/{hexdigest[:2]}/{hexdigest[2:]}"
    assert fs.cat(key) == data

    # kernels, job workers and deployments inherit the server's environment
    assert json.loads(os.environ[STORAGE_OPTIONS_ENV]) == s3_server.storage_options()
    # a blob that vanished from the bucket is a clear 404, not a 500
    fs.rm(key)
    gone = await api("GET", "runs", run["id"], "artifacts", "model/weights.bin")
    assert gone.status == 404 and "missing from the artifact store" in gone.error["message"]
