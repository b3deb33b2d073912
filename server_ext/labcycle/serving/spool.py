"""The prediction spool: serving workers hand captured batches to a compactor process.

Turning predictions into Parquet (Arrow conversion, encoding, compression) costs far more
CPU than predicting a forest on 100 rows; done in a thread of the serving process it took
14 % of the throughput of 100-row requests. So a serving worker only writes what it
captured, as the raw buffers it already holds, to a spool file (no conversion, no per-row
work, and one ``writev`` for the whole file: every system call hands the GIL to the
serving threads and back), once a second; a **compactor process** at low priority
(``nice`` 10) reads the spool files every ``flush_seconds``, builds the Parquet files of
the prediction log (:class:`.capture.PredictionLog`, the same code as before) and deletes
what it wrote. The request path does not change: it only appends references to a deque.

Guarantees: spool files appear under their final name only when complete (written under
a temporary name and renamed), so a reader never sees half a file; a compaction pass holds
an exclusive ``flock`` on the spool directory, so the compactors of several workers (or a
worker's final drain) never write a file twice; on a clean shutdown the worker writes its
last spool file and compacts the whole spool itself (so nothing acknowledged is lost even
when the compactor died); spool files survive a crash of the worker and are compacted by
the next compactor that starts on the directory. A crash *between* writing a Parquet file
and deleting its spool files can log those predictions twice (their ``prediction_id``
tells the copies apart); it can never lose them.

Spool file format (``*.spool``): the magic ``LCSPOOL1``, then per captured batch a
little-endian ``uint32`` header length, the header (JSON: model, version, time, request
ids, rows and latencies, the prediction ids as a prefix and counter run, the column names
and one ``[dtype, shape, nbytes]`` per array) and the arrays' bytes. Numbers, booleans and
times are raw buffers; strings and other objects are JSON. Nothing is ever pickled.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .capture import CapturedBatch, PredictionLog
from .validation import dumps, loads

log = logging.getLogger(__name__)

MAGIC = b"LCSPOOL1"
SUFFIX = ".spool"
RAW_KINDS = "biufcmM"  # bool, integers, floats, complex, timedeltas, datetimes
#: a compaction pass reads spool files until it holds this many rows, writes, and goes on
PASS_ROWS = 200_000
IOV_MAX = os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024


class IdRun(Sequence[str]):
    """The prediction ids ``prefix + counter`` for ``count`` consecutive counters, without
    making the strings (:func:`.capture._id_column` only looks at the first and last)."""

    def __init__(self, prefix: str, start: int, count: int) -> None:
        self.prefix, self.start, self.size = prefix, start, count

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.size))]
        if i < 0:
            i += self.size
        if not 0 <= i < self.size:
            raise IndexError(i)
        return f"{self.prefix}{self.start + i:016x}"

    def __iter__(self) -> Iterator[str]:
        return (f"{self.prefix}{c:016x}" for c in range(self.start, self.start + self.size))


def _id_run(ids: Sequence[str]) -> list | None:
    """``[prefix, start]`` when ``ids`` are consecutive counters of one prefix."""
    if not ids:
        return None
    first, last = ids[0], ids[-1]
    if len(first) != 32 or first[:16] != last[:16]:
        return None
    try:
        start, end = int(first[16:], 16), int(last[16:], 16)
    except ValueError:
        return None
    return [first[:16], start] if end - start == len(ids) - 1 else None


def _encode_array(values: Any) -> tuple[list, Any]:
    a = np.asarray(values)
    if a.dtype.kind in RAW_KINDS:
        a = np.ascontiguousarray(a)  # bytes, as a view: times have no buffer format of their own
        return [a.dtype.str, list(a.shape), a.nbytes], a.reshape(-1).view(np.uint8).data
    data = dumps(a.tolist())  # strings and objects: JSON, never pickle
    return ["json", list(a.shape), len(data)], data


def _decode_array(spec: list, raw: memoryview) -> np.ndarray:
    dtype, shape, _ = spec
    if dtype != "json":
        return np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape)
    values = loads(bytes(raw))
    if len(shape) == 1:  # fromiter keeps list values as objects instead of a 2-D array
        return np.fromiter(values, dtype=object, count=shape[0])
    return np.array(values, dtype=object).reshape(shape)


def encode_batch(b: CapturedBatch) -> list[Any]:
    """The header and buffers of one batch, ready for ``write`` (no copies of the arrays)."""
    inputs = [b.block] if b.block is not None else [b.columns[n] for n in b.columns]
    arrays = [*inputs, b.predictions] + ([b.probabilities] if b.probabilities is not None else [])
    specs, buffers = zip(*(_encode_array(a) for a in arrays), strict=True)
    run = _id_run(b.prediction_ids)
    header = dumps(
        {
            "model_name": b.model_name,
            "model_version": b.model_version,
            "version_id": b.version_id,
            "ts_ms": b.ts_ms,
            "request_ids": b.request_ids,
            "request_rows": b.request_rows,
            "latency_ms": b.latency_ms,
            "ids": [*run, b.rows] if run else list(b.prediction_ids),
            "columns": list(b.columns),
            "block": b.block is not None,
            "proba": b.probabilities is not None,
            "arrays": list(specs),
        }
    )
    return [struct.pack("<I", len(header)), header, *buffers]


def decode_file(data: bytes) -> list[CapturedBatch]:
    if data[: len(MAGIC)] != MAGIC:
        raise ValueError("not a LabCycle spool file")
    view, pos, batches = memoryview(data), len(MAGIC), []
    while pos < len(data):
        (size,) = struct.unpack_from("<I", data, pos)
        h = loads(bytes(view[pos + 4 : pos + 4 + size]))
        pos += 4 + size
        arrays = []
        for spec in h["arrays"]:
            arrays.append(_decode_array(spec, view[pos : pos + spec[2]]))
            pos += spec[2]
        if pos > len(data):
            raise ValueError("truncated spool file")
        ids = h["ids"]
        n_inputs = 1 if h["block"] else len(h["columns"])
        batches.append(
            CapturedBatch(
                columns=dict.fromkeys(h["columns"])
                if h["block"]
                else dict(zip(h["columns"], arrays[:n_inputs], strict=True)),
                predictions=arrays[n_inputs],
                probabilities=arrays[n_inputs + 1] if h["proba"] else None,
                prediction_ids=IdRun(*ids) if len(ids) == 3 and isinstance(ids[1], int) else ids,
                request_ids=h["request_ids"],
                request_rows=h["request_rows"],
                latency_ms=h["latency_ms"],
                model_name=h["model_name"],
                model_version=h["model_version"],
                version_id=h["version_id"],
                ts_ms=h["ts_ms"],
                block=arrays[0] if h["block"] else None,
            )
        )
    return batches


def write_all(fd: int, parts: list[Any]) -> None:
    """Write the buffers with as few system calls as ``writev`` allows.

    Each call releases the GIL and must win it back from the serving threads; one
    ``write`` per array made ~1,500 such hand-offs a second at 250 requests/s, and the
    serving loop paid for each (10 % of the throughput of 100-row requests)."""
    views = [memoryview(p).cast("B") for p in parts if len(p)]
    i = 0
    while i < len(views):
        n = os.writev(fd, views[i : i + IOV_MAX])
        while n:  # a short write leaves the rest of a buffer for the next call
            if n >= len(views[i]):
                n -= len(views[i])
                i += 1
            else:
                views[i], n = views[i][n:], 0


class Compactor:
    """Turns the spool files of one directory into Parquet files of the prediction log."""

    def __init__(self, directory: Path, prediction_log: PredictionLog) -> None:
        self.directory = directory
        self.log = prediction_log

    def compact(self, *, wait: bool) -> int:
        """One pass over the spool; the number of rows written. Without ``wait``, a pass
        that another process is running already is left to it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "a+b") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                return 0
            written = 0
            files = sorted(self.directory.glob("*" + SUFFIX))
            while files:  # bounded memory when a long backlog waits (the compactor was down)
                chunk, batches, rows = [], [], 0
                while files and rows < PASS_ROWS:
                    path = files.pop(0)
                    try:
                        got = decode_file(path.read_bytes())
                    except (OSError, ValueError, KeyError, TypeError, IndexError, struct.error):
                        log.exception("LabCycle: unreadable spool file %s set aside", path)
                        path.rename(path.with_suffix(".bad"))
                        continue
                    chunk.append(path)
                    batches += got
                    rows += sum(b.rows for b in got)
                if batches and not self.log.write(batches):
                    return written  # storage failed: the files stay for the next pass
                for path in chunk:
                    path.unlink()
                written += rows
            return written


class Spool:
    """The serving worker's side: writes spool files and keeps a compactor process running."""

    def __init__(
        self,
        directory: str | Path | None,
        log_url: str,
        deployment_id: str,
        *,
        compact_seconds: float = 5.0,
        process: bool = True,
        restart_seconds: float = 10.0,
        storage_options: dict | None = None,
    ) -> None:
        from ..store.storage import open_url, storage_options_from_env

        # the compactor process opens the log with the same options
        self.storage_options = (
            storage_options_from_env() if storage_options is None else dict(storage_options)
        )
        fs, root = open_url(log_url, self.storage_options)
        self.log = PredictionLog(fs, root, deployment_id)
        self.directory = (
            Path(directory) if directory else default_spool_dir(fs, root, log_url, deployment_id)
        )
        self.log_url = log_url
        self.compact_seconds = compact_seconds
        self.process = process
        self.restart_seconds = (
            restart_seconds  # a compactor that dies sooner is not restarted at once
        )
        self.failures = 0
        self._proc: subprocess.Popen | None = None
        self._started_at = 0.0
        self._seq = 0

    def start(self) -> Spool:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.process:
            self._start_compactor()
        return self

    def _start_compactor(self) -> None:
        from ..store.storage import storage_env

        self._started_at = time.monotonic()
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "labcycle.serving.spool",
                "--spool-dir",
                str(self.directory),
                "--log-url",
                self.log_url,
                "--deployment",
                self.log.deployment_id,
                "--every",
                str(self.compact_seconds),
                "--parent",
                str(os.getpid()),
            ],
            env={**os.environ, **storage_env(self.storage_options)},
        )

    def write(self, batches: list[CapturedBatch]) -> None:
        self._seq += 1
        name = f"{int(time.time() * 1000):013d}-{os.getpid()}-{self._seq:08d}{SUFFIX}"
        tmp = self.directory / f".{name}.tmp"
        try:
            parts = [MAGIC]
            for b in batches:
                parts += encode_batch(b)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                write_all(fd, parts)
            finally:
                os.close(fd)
            tmp.rename(self.directory / name)
        except (OSError, TypeError, ValueError):
            self.failures += 1
            log.exception(
                "LabCycle: spooling %d captured batches failed; writing them to the log directly",
                len(batches),
            )
            tmp.unlink(missing_ok=True)
            self.log.write(batches)
            return
        if not self.process:
            Compactor(self.directory, self.log).compact(wait=True)
        elif (
            self._proc is not None
            and self._proc.poll() is not None
            and time.monotonic() - self._started_at > self.restart_seconds
        ):
            log.warning(
                "LabCycle: the prediction log compactor exited (%s); restarting it",
                self._proc.returncode,
            )
            self._start_compactor()

    def close(self) -> None:
        """Stop the compactor, then compact what is left (nothing acknowledged is lost)."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        Compactor(self.directory, self.log).compact(wait=True)


def default_spool_dir(fs: Any, root: str, log_url: str, deployment_id: str) -> Path:
    """Beside a local log (``<root>/spool/deployment=<id>``, on the same disk); for a remote
    one, in the temporary directory, named after the log's URL."""
    import hashlib
    import tempfile

    if "file" in fs.protocol or "local" in fs.protocol:
        return Path(root) / "spool" / f"deployment={deployment_id}"
    digest = hashlib.sha256(log_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "labcycle-spool" / digest / f"deployment={deployment_id}"


def main(argv: list[str] | None = None) -> None:
    """The compactor process: a pass every ``--every`` seconds until its worker is gone
    (or SIGTERM), then a last pass. Storage options: env LABCYCLE_STORAGE_OPTIONS."""
    from ..store.storage import open_url

    parser = argparse.ArgumentParser(prog="python -m labcycle.serving.spool")
    parser.add_argument("--spool-dir", required=True)
    parser.add_argument("--log-url", required=True)
    parser.add_argument("--deployment", required=True)
    parser.add_argument("--every", type=float, default=5.0)
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    os.nice(10)  # background work: the serving worker comes first
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when the last pass runs
    fs, root = open_url(args.log_url)
    compactor = Compactor(Path(args.spool_dir), PredictionLog(fs, root, args.deployment))
    while not stopping and os.getppid() == args.parent:
        compactor.compact(wait=False)
        deadline = time.monotonic() + args.every
        while time.monotonic() < deadline and not stopping and os.getppid() == args.parent:
            time.sleep(0.1)
    compactor.compact(wait=True)


if __name__ == "__main__":
    main()
