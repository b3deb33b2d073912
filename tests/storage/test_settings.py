"""The storage-options setting: parsing, the config trait, what other processes get, and
one-line errors when a backend's package is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from traitlets.config import Config

from labcycle.config import STORAGE_OPTIONS_ENV, LabCycleConfig, parse_storage_options
from labcycle.errors import Unavailable
from labcycle.jobs.runner import kernel_store_env
from labcycle.store.storage import storage_env

OPTIONS = {
    "endpoint_url": "http://127.0.0.1:9000",
    "profile": "team",
    "client_kwargs": {"region_name": "eu-west-1"},
}


def test_the_environment_variable_and_the_trait_set_the_options(monkeypatch):
    monkeypatch.setenv(STORAGE_OPTIONS_ENV, json.dumps(OPTIONS))
    assert LabCycleConfig().storage_options == OPTIONS
    config = Config({"LabCycleConfig": {"storage_options": {"endpoint_url": "http://s3:9000"}}})
    assert LabCycleConfig(config=config).storage_options == {"endpoint_url": "http://s3:9000"}
    monkeypatch.delenv(STORAGE_OPTIONS_ENV)
    assert LabCycleConfig().storage_options == {}


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("{endpoint_url: 1}", "is not valid JSON"),
        ('["http://127.0.0.1:9000"]', "must be a JSON object"),
        ('"http://127.0.0.1:9000"', "must be a JSON object"),
    ],
)
def test_bad_options_say_what_to_write(raw, says):
    with pytest.raises(Unavailable) as err:
        parse_storage_options(raw)
    assert says in err.value.message and STORAGE_OPTIONS_ENV in err.value.message
    assert '{"endpoint_url": ' in err.value.message  # an example of what is expected
    assert parse_storage_options("  ") == {}


def test_storage_env_forwards_the_options_and_the_cloud_credentials_only():
    environ = {
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_PROFILE": "team",
        "GOOGLE_APPLICATION_CREDENTIALS": "/etc/gcp.json",
        "AZURE_STORAGE_CONNECTION_STRING": "cs",
        "FSSPEC_S3_ENDPOINT_URL": "http://x",
        "LABCYCLE_DB_URL": "postgresql://db/lc",
        "HOME": "/root",
        "PATH": "/bin",
    }
    env = storage_env(OPTIONS, environ)
    assert json.loads(env.pop(STORAGE_OPTIONS_ENV)) == OPTIONS
    assert env == {k: v for k, v in environ.items() if k not in ("LABCYCLE_DB_URL", "HOME", "PATH")}
    # by default the options are this process's own
    own = storage_env(environ={STORAGE_OPTIONS_ENV: json.dumps(OPTIONS)})
    assert json.loads(own[STORAGE_OPTIONS_ENV]) == OPTIONS


def test_a_job_kernel_on_the_store_gets_the_options_and_one_on_the_api_does_not():
    local = kernel_store_env(
        db_url="sqlite:///x.db", artifact_url="s3://b/lc", storage_options=OPTIONS
    )
    assert json.loads(local[STORAGE_OPTIONS_ENV]) == OPTIONS
    api = kernel_store_env(
        db_url="sqlite:///x.db",
        artifact_url="s3://b/lc",
        api_url="http://127.0.0.1:8888/",
        storage_options=OPTIONS,
    )
    assert STORAGE_OPTIONS_ENV not in api


def _cli(tmp_path: Path, blocked: str | None, **env: str) -> subprocess.CompletedProcess:
    """``labcycle runs ls`` in a fresh process; ``blocked`` names a package made missing."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LABCYCLE_")}
    environ["LABCYCLE_HOME"] = str(tmp_path / "home")
    if blocked:
        shadow = tmp_path / "shadow" / blocked
        shadow.mkdir(parents=True)
        (shadow / "__init__.py").write_text(
            f'raise ModuleNotFoundError("No module named {blocked}", name={blocked!r})\n'
        )
        environ["PYTHONPATH"] = str(tmp_path / "shadow")
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "labcycle", "runs", "ls"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("blocked", "env", "expected"),
    [
        (
            "s3fs",
            {"LABCYCLE_ARTIFACT_URL": "s3://bucket/lc"},
            "error: s3:// storage (s3://bucket/lc) needs s3fs (pip install 'labcycle[s3]'), "
            "which is not installed.",
        ),
        (
            "psycopg",
            {"LABCYCLE_DB_URL": "postgresql://lc@127.0.0.1:5432/lc"},
            "error: A postgresql:// database URL needs psycopg, which is not installed: "
            "pip install 'labcycle[postgres]'.",
        ),
    ],
)
def test_a_missing_package_is_one_line_naming_what_to_install(tmp_path, blocked, env, expected):
    done = _cli(tmp_path, blocked, **env)
    out = (done.stdout + done.stderr).strip()
    assert done.returncode == 1, out
    assert "Traceback" not in out
    assert len(out.splitlines()) == 1 and out.startswith(expected), out
