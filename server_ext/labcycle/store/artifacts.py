"""Content-addressed blob storage on any fsspec filesystem.

Blobs live at ``<root>/blobs/sha256/<2 hex>/<62 hex>``; the metadata store maps a run's
logical artifact path to a digest. A logical path never touches the filesystem, so no
user-supplied name can resolve outside the root; paths are still validated so that
what users see stays unambiguous.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from typing import IO, Any, BinaryIO

from ..errors import InvalidInput, NotFound, Unavailable
from .storage import open_url, storage_options_from_env

CHUNK = 1 << 20
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_ENCODED_SEPARATOR = re.compile(r"%(2e|2f|5c|25|00)", re.IGNORECASE)


def validate_artifact_path(path: str, field: str = "path") -> str:
    """Return ``path`` if it is a safe relative POSIX path, else raise InvalidInput.

    Refused: empty, absolute, backslashes, NUL and control characters, ``.``/``..`` or
    empty segments, and percent-encoded dots or separators (a double-encoded ``%252e``
    would otherwise turn into ``..`` in the next layer that decodes it).
    """
    if not isinstance(path, str) or not path:
        raise InvalidInput("An artifact path must be a non-empty string.", field=field)
    if len(path) > 1000:
        raise InvalidInput("An artifact path may have at most 1000 characters.", field=field)
    if any(ord(ch) < 32 for ch in path):
        raise InvalidInput(
            "An artifact path may not contain NUL or control characters.", field=field
        )
    if "\\" in path:
        raise InvalidInput(
            "Use '/' to separate folders in an artifact path, not '\\'.", field=field
        )
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise InvalidInput(
            "An artifact path must be relative to the run, not absolute.", field=field
        )
    if _ENCODED_SEPARATOR.search(path):
        raise InvalidInput(
            "An artifact path may not contain percent-encoded dots, slashes or percent signs.",
            field=field,
        )
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidInput(
            "An artifact path may not contain '.', '..' or empty segments.", field=field
        )
    return path


class ArtifactStore:
    """Immutable blobs addressed by their SHA-256."""

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None) -> None:
        """``storage_options``: the fsspec filesystem's options (default: from the
        environment, see :mod:`.storage`)."""
        self.url = url
        self.storage_options = (
            storage_options_from_env() if storage_options is None else dict(storage_options)
        )
        self.fs, self.root = open_url(url, self.storage_options)
        self.is_local = "file" in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        )
        try:
            self.fs.makedirs(self._join("blobs", "sha256"), exist_ok=True)
        except Exception as exc:  # credentials, endpoint, bucket: say which store
            raise Unavailable(
                f"The artifact store at {url} cannot be used ({type(exc).__name__}: {exc}). "
                "Check LABCYCLE_ARTIFACT_URL and LABCYCLE_STORAGE_OPTIONS (endpoint, "
                "credentials, bucket).",
                url=url,
            ) from None

    def _join(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def blob_path(self, digest: str) -> str:
        if not _DIGEST.match(digest):
            raise InvalidInput(f"Not a sha256 digest: {digest!r}.", field="digest")
        hexdigest = digest.split(":", 1)[1]
        return self._join("blobs", "sha256", hexdigest[:2], hexdigest[2:])

    def exists(self, digest: str) -> bool:
        return self.fs.exists(self.blob_path(digest))

    def put_file(self, local_path: str | os.PathLike) -> tuple[str, int]:
        """Store a local file; returns ``(digest, size)``."""
        sha = hashlib.sha256()
        size = 0
        with open(local_path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                sha.update(chunk)
                size += len(chunk)
        digest = "sha256:" + sha.hexdigest()
        if not self.exists(digest):
            self._upload(str(local_path), digest)
        return digest, size

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if not self.exists(digest):
            target = self.blob_path(digest)
            self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            tmp = f"{target}.{uuid.uuid4().hex}.tmp"
            with self.fs.open(tmp, "wb") as fh:
                fh.write(data)
            self.fs.mv(tmp, target)
        return digest, len(data)

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Store what a file-like object yields, spooling to a temp file to hash it first."""
        with tempfile.NamedTemporaryFile(prefix="labcycle-", delete=False) as tmp:
            shutil.copyfileobj(stream, tmp, CHUNK)
        try:
            return self.put_file(tmp.name)
        finally:
            os.unlink(tmp.name)

    def _upload(self, local_path: str, digest: str) -> None:
        target = self.blob_path(digest)
        self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        # Upload under a temporary name, then rename: readers never see half a blob.
        tmp = f"{target}.{uuid.uuid4().hex}.tmp"
        self.fs.put_file(local_path, tmp)
        self.fs.mv(tmp, target)

    def open(self, digest: str) -> IO[bytes]:
        path = self.blob_path(digest)
        if not self.fs.exists(path):
            raise NotFound(f"The blob {digest} is missing from the artifact store at {self.url}.")
        return self.fs.open(path, "rb")

    def iter_chunks(self, digest: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        """The blob's bytes in chunks. Opens the blob now, so that a missing blob raises
        NotFound here and not at the first chunk, after a response may have started."""
        fh = self.open(digest)

        def chunks() -> Iterator[bytes]:
            with fh:
                while chunk := fh.read(chunk_size):
                    yield chunk

        return chunks()

    def read_bytes(self, digest: str) -> bytes:
        with self.open(digest) as fh:
            return fh.read()
