"""REST handlers of run artifacts: list, streamed upload, streamed download.

Uploads never sit in memory: the body arrives in chunks (``stream_request_body``) that
a worker thread appends to a temporary file while hashing it; the finished file then
goes into the content-addressed blob store (skipped when the blob is there already)
and the run's logical path is recorded. The logical path is validated before a byte
of the body is accepted, and it never becomes a filesystem path.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from typing import Any
from urllib.parse import quote

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.http1connection import HTTP1Connection

from ...errors import InvalidInput
from ...store.artifacts import CHUNK, validate_artifact_path
from ..base import LabCycleHandler, TooLarge

# Content types that say nothing about the bytes: the media type is guessed from the path.
_UNSPECIFIED_TYPES = {
    "",
    "application/octet-stream",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
}
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+\-\"]+)*$")


class _Upload:
    """A temporary file that hashes what is written to it, up to ``limit`` bytes."""

    def __init__(self, limit: int, directory: str | None) -> None:
        self.limit = limit
        self.size = 0
        self.too_large = False
        self.sha = hashlib.sha256()
        self.file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in discard()
            prefix="labcycle-upload-", dir=directory or None, delete=False
        )

    @property
    def digest(self) -> str:
        return "sha256:" + self.sha.hexdigest()

    def write(self, chunk: bytes) -> None:
        if self.file.closed:  # discarded: the client hung up
            return
        self.size += len(chunk)
        if self.size > self.limit:
            self.too_large = True  # keep draining the body; put() answers 413
            return
        self.sha.update(chunk)
        self.file.write(chunk)

    def close(self) -> None:
        self.file.close()

    def discard(self) -> None:
        self.file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.file.name)


def content_disposition(path: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact UTF-8 one (RFC 6266)."""
    name = path.rsplit("/", 1)[-1]
    fallback = re.sub(r"[^A-Za-z0-9._ -]", "_", name) or "artifact"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class ArtifactsHandler(LabCycleHandler):
    auth_resource = "labcycle:artifacts"

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        await self.respond(lambda: {"items": self.services.artifacts.list_artifacts(run_id)})


@web.stream_request_body
class ArtifactHandler(LabCycleHandler):
    auth_resource = "labcycle:artifacts"
    _upload: _Upload | None = None
    _media: str | None = None
    _storing = False

    # jupyter_server's JupyterHandler and APIHandler annotate prepare() differently, so no
    # override can match both
    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()  # authentication, XSRF, origin
        if self.request.method != "PUT" or self._finished:
            return
        # Authorize now, before accepting a byte of the body (put() checks again).
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "write", self.auth_resource)
        )
        if not allowed:
            raise web.HTTPError(
                403, "User is not authorized to write on resource: %s.", self.auth_resource
            )
        limit = self.labcycle_options.max_upload_bytes
        length = self.request.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise TooLarge(
                f"The artifact is {int(length):,} bytes; this server accepts at most {limit:,} "
                "(c.LabCycle.max_upload_bytes).",
                limit=limit,
            )
        run_id, path = self.path_kwargs["run_id"], self.path_kwargs["path"]
        validate_artifact_path(path)
        self._media = self._media_type()
        await self.call(self.services.tracking.get_run, run_id)  # 404 before the body
        connection = self.request.connection
        assert isinstance(connection, HTTP1Connection)  # Tornado serves HTTP/1.x only
        connection.set_max_body_size(limit)
        self._upload = await self.call(_Upload, limit, self.labcycle_options.upload_tmp_dir)

    async def data_received(self, chunk: bytes) -> None:
        if self._upload is not None and not self._finished:
            await self.call(self._upload.write, chunk)

    def on_finish(self) -> None:
        if self._upload is not None:
            self._upload.discard()
            self._upload = None

    def on_connection_close(self) -> None:
        super().on_connection_close()
        if not self._storing:  # a client that hangs up mid-body leaves no temp file behind
            self.on_finish()

    def _media_type(self) -> str | None:
        header = self.request.headers.get("Content-Type", "").strip()
        if header.split(";", 1)[0].strip().lower() in _UNSPECIFIED_TYPES:
            return None
        if len(header) > 200 or not _MEDIA_TYPE.match(header):
            raise InvalidInput(
                f"Content-Type {header[:80]!r} is not a media type.", field="Content-Type"
            )
        return header

    @web.authenticated
    @authorized
    async def put(self, run_id: str, path: str) -> None:
        upload = self._upload
        if upload is None:  # prepare() sets it for every PUT that gets this far
            raise web.HTTPError(500, "The upload was not prepared.")
        if upload.too_large:
            raise TooLarge(
                f"The artifact is larger than this server accepts "
                f"({upload.limit:,} bytes, c.LabCycle.max_upload_bytes).",
                limit=upload.limit,
            )
        media_type = self._media
        actor = self.actor
        self._storing = True

        def store() -> dict[str, Any]:
            upload.close()
            blobs = self.services.blobs
            if not blobs.exists(upload.digest):
                digest, _ = blobs.put_file(upload.file.name)
                if digest != upload.digest:  # the temp file changed under us: refuse it
                    raise RuntimeError(f"Upload digest mismatch: {digest} != {upload.digest}")
            return self.services.artifacts.record_blob(
                run_id, path, upload.digest, upload.size, actor=actor, media_type=media_type
            )

        await self.respond(
            store,
            status=201,
            location=lambda artifact: self.api_url("runs", run_id, "artifacts", artifact["path"]),
        )

    @web.authenticated
    @authorized
    async def get(self, run_id: str, path: str) -> None:
        meta = await self.call(self.services.artifacts.get_artifact, run_id, path)
        self.set_header("ETag", f'"{meta["digest"]}"')
        if self.check_etag_header():
            self.set_status(304)
            self.finish()
            return
        handle = await self.call(self.services.blobs.open, meta["digest"])
        try:
            self.set_header("Content-Type", meta["media_type"])
            self.set_header("Content-Length", str(meta["size"]))
            self.set_header("Content-Disposition", content_disposition(meta["path"]))
            while chunk := await self.call(handle.read, CHUNK):
                self.write(chunk)
                await self.flush()
        finally:
            await self.call(handle.close)
        self.finish(set_content_type=meta["media_type"])
