"""A server whose object storage cannot be used keeps its routes up and answers 503 saying
which setting to fix (never a 500 or a traceback)."""

from __future__ import annotations

import pytest
from api.conftest import (  # noqa: F401
    api,
    artifact_root,
    jp_server_config,
    labcycle_dir,
    server_overrides,
    started,
)

UNREACHABLE = {
    "endpoint_url": "http://127.0.0.1:1",
    "key": "k",
    "secret": "do-not-show-this-secret",
    "config_kwargs": {"connect_timeout": 1, "retries": {"max_attempts": 1}},
}


@pytest.mark.parametrize(
    "server_overrides",
    [{"LabCycle": {"artifact_url": "s3://nowhere/lc", "storage_options": UNREACHABLE}}],
    indirect=True,
)
async def test_an_unreachable_object_store_answers_503_naming_the_settings(api):  # noqa: F811
    assert (await api("GET", "version")).status == 200
    reply = await api("GET", "projects")
    assert reply.status == 503, reply
    message = reply.error["message"]
    assert "The artifact store at s3://nowhere/lc cannot be used" in message
    assert "LABCYCLE_STORAGE_OPTIONS" in message and "LABCYCLE_ARTIFACT_URL" in message
    assert "Traceback" not in message and "do-not-show-this-secret" not in message
