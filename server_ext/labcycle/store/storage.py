"""fsspec filesystems of the artifact store and the prediction log, with their storage options.

Storage options are the keyword arguments of the fsspec filesystem (for s3fs:
``endpoint_url``, ``profile``, ``key``/``secret``, ``client_kwargs={"region_name": ...}``).
They come from ``c.LabCycle.storage_options`` or, in every process, from the environment
variable ``LABCYCLE_STORAGE_OPTIONS`` (a JSON object). A process that starts another one
that touches storage (a deployment, the compactor, a job worker, a Dask worker) forwards
:func:`storage_env`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import fsspec

from ..config import STORAGE_OPTIONS_ENV
from ..errors import Unavailable

#: what to install for the protocols whose fsspec filesystem is a separate package
_PACKAGES = {
    "s3": "s3fs (pip install 'labcycle[s3]')",
    "s3a": "s3fs (pip install 'labcycle[s3]')",
    "gs": "gcsfs (pip install 'labcycle[gcs]')",
    "gcs": "gcsfs (pip install 'labcycle[gcs]')",
    "az": "adlfs (pip install 'labcycle[azure]')",
    "abfs": "adlfs (pip install 'labcycle[azure]')",
    "abfss": "adlfs (pip install 'labcycle[azure]')",
}

#: variables the cloud SDKs read their credentials, profile, region and endpoint from
_CREDENTIAL_PREFIXES = ("AWS_", "AZURE_STORAGE_", "FSSPEC_")
_CREDENTIAL_NAMES = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
)


def parse_storage_options(raw: str, source: str = STORAGE_OPTIONS_ENV) -> dict[str, Any]:
    """The options in ``raw`` (a JSON object; empty means none), or Unavailable saying what
    is wrong with them."""
    if not raw.strip():
        return {}
    try:
        options = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise Unavailable(
            f"{source} is not valid JSON ({exc.msg} at character {exc.pos}); set it to a JSON "
            'object such as {"endpoint_url": "http://127.0.0.1:9000"}.',
            field=source,
        ) from None
    return check_storage_options(options, source)


def check_storage_options(options: Any, source: str = STORAGE_OPTIONS_ENV) -> dict[str, Any]:
    if not isinstance(options, dict):
        raise Unavailable(
            f"{source} must be a JSON object of fsspec storage options, not "
            f'{type(options).__name__}; e.g. {{"endpoint_url": "http://127.0.0.1:9000"}}.',
            field=source,
        )
    return dict(options)


def storage_options_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    return parse_storage_options(env.get(STORAGE_OPTIONS_ENV, ""))


def storage_env(
    options: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment another process needs to reach the same storage.

    ``LABCYCLE_STORAGE_OPTIONS`` (``options``, default: this process's) and the credential,
    profile, region and endpoint variables of the cloud SDKs that are set here
    (``AWS_*``, ``AZURE_STORAGE_*``, ``FSSPEC_*``, ``GOOGLE_APPLICATION_CREDENTIALS``…).
    """
    env = os.environ if environ is None else environ
    if options is None:
        options = storage_options_from_env(env)
    forwarded = {
        name: value
        for name, value in env.items()
        if name.startswith(_CREDENTIAL_PREFIXES) or name in _CREDENTIAL_NAMES
    }
    if options:  # none: leave the receiving process's own setting alone
        forwarded[STORAGE_OPTIONS_ENV] = json.dumps(dict(options), sort_keys=True)
    return forwarded


def open_url(url: str, options: Mapping[str, Any] | None = None) -> tuple[Any, str]:
    """``(filesystem, root path)`` of an fsspec URL with the storage options (default: from
    the environment). A missing filesystem package is named with what to install."""
    if options is None:
        options = storage_options_from_env()
    try:
        return fsspec.core.url_to_fs(url, **options)
    except ImportError as exc:
        protocol = url.split("://", 1)[0].lower() if "://" in url else "file"
        package = _PACKAGES.get(protocol)
        if package is None:
            raise Unavailable(
                f"The storage URL {url} needs a package that is not installed: {exc}.",
                url=url,
            ) from None
        raise Unavailable(
            f"{protocol}:// storage ({url}) needs {package}, which is not installed.",
            url=url,
        ) from None
