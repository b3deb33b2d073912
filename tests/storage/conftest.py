"""Fixtures of the object-storage suite: a real S3-compatible server (moto's server mode)
on 127.0.0.1 for the session, and a new bucket per test.

Every test runs without the machine's ``AWS_*`` variables and ``LABCYCLE_STORAGE_OPTIONS``
(and with AWS config and credential files that do not exist), unless it sets them: the
endpoint and the keys reach the server only through the storage options, so a process that
did not get them cannot reach the bucket.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from s3_server import S3Server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return s3_server.bucket()


@pytest.fixture(autouse=True)
def no_ambient_storage(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No storage settings or AWS credentials of the machine leak into a test."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name in (
            "LABCYCLE_STORAGE_OPTIONS",
            "LABCYCLE_API_URL",
            "LABCYCLE_API_TOKEN",
        ):
            monkeypatch.delenv(name)
    # botocore reads ~/.aws/{config,credentials} otherwise
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
