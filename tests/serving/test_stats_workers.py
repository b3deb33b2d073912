"""``GET /stats`` of a server with several worker processes reports the whole server.

Each worker publishes its window to a shared directory (:mod:`labcycle.serving.stats`)
and merges its siblings' files. The first tests drive :class:`Stats` in this process with
real child processes standing in for siblings (a sibling is a child of the same parent:
here, of this test process); the last one runs a real deployment with ``workers=2``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from waiting import wait_for

from labcycle.serving.stats import SUFFIX, Part, Stats, decode, encode, read_part, shared_dir

from .conftest import ACTOR, records


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


def _part(
    pid: int,
    ppid: int,
    n: int,
    *,
    at: float | None = None,
    latency_ms: float = 5.0,
    requests: int | None = None,
) -> Part:
    at = time.perf_counter() if at is None else at
    t = np.linspace(at - 10, at - 1, n)
    return Part(
        pid,
        ppid,
        at,
        at - 100,
        n if requests is None else requests,
        0,
        0,
        50_000,
        t,
        np.full(n, latency_ms, np.float32),
    )


def _publish(directory: Path, part: Part) -> None:
    (directory / f"{part.pid}{SUFFIX}").write_bytes(encode(part))


def test_one_worker_counts_its_window_like_before():
    s = Stats(window=60, size=100)
    now = time.perf_counter()
    s.record(now - 120, 0.500, 200)  # outside the window: counted, not in the rate
    for i in range(10):
        s.record(now - 10 + i, 0.010 * (i + 1), 200)
    s.record(now - 1, 0.001, 400)
    s.record(now - 1, 0.002, 503)
    snap = s.snapshot(now)
    assert (snap["requests"], snap["errors"], snap["rejected"]) == (13, 1, 1)
    assert snap["window_requests"] == 12
    assert snap["latency_ms"] == {"p50": 55.0, "p99": 99.1, "mean": 55.0}  # 2xx only
    assert snap["workers_reporting"] == 1
    assert [w["pid"] for w in snap["per_worker"]] == [os.getpid()]
    # a drained window stays: the next snapshot sees the same requests
    assert s.snapshot(now)["window_requests"] == 12
    # more requests than ``size`` in the window: the rate is over the span they cover
    full = Stats(window=60, size=10)
    for i in range(30):
        full.record(now - 3 + i * 0.1, 0.001, 200)
    snap = full.snapshot(now)
    assert snap["window_requests"] == 10 and snap["requests"] == 30
    assert snap["request_rate"] == pytest.approx(10 / 1.0, rel=0.01)


def test_file_format_refuses_what_it_did_not_write(tmp_path):
    part = _part(123, 45, 7)
    blob = encode(part)
    back = decode(blob)
    assert (back.pid, back.ppid, back.requests, len(back.t)) == (123, 45, 7, 7)
    assert np.array_equal(back.t, part.t) and np.array_equal(back.lat, part.lat)
    header_end = blob.index(b"}") + 1
    bad = [
        b"",
        b"LCSTATS1",
        blob[:-1],
        blob + b"x",
        b"XXXXXXXX" + blob[8:],
        blob[:8] + b"\xff\xff\xff\xff" + blob[12:],  # header length beyond the file
        blob[:12] + b"not json" + blob[header_end:],
        blob.replace(b'"pid": 123', b'"pid": -12'),
        blob.replace(b'"pid": 123', b'"pid": 1.5'),
        blob.replace(b'"n": 7', b'"n": 70'),
        blob.replace(b'"size": 50000', b'"size": 0'),
    ]
    assert [decode(b) for b in bad] == [None] * len(bad)
    nan_times = _part(1, 2, 3)
    nan_times.t[1] = np.nan
    assert decode(encode(nan_times)) is None
    # a FIFO must not block the reader; a symlink or a directory is not read
    os.mkfifo(tmp_path / "1.stats")
    (tmp_path / "2.stats").mkdir()
    (tmp_path / "3.stats").symlink_to(tmp_path / "real")
    (tmp_path / "real").write_bytes(blob)
    assert [read_part(tmp_path / f"{i}.stats") for i in (1, 2, 3)] == [None] * 3
    assert read_part(tmp_path / "real").pid == 123


def test_siblings_count_and_hostile_files_do_not(tmp_path):
    """The reader takes this test process as the workers' parent (``_exchange(ppid=)``)."""
    me = os.getpid()
    siblings = [_sleeper(), _sleeper()]
    dead = subprocess.Popen(["true"])
    dead.wait()
    try:
        a, b = siblings
        _publish(tmp_path, _part(a.pid, me, 30))
        (tmp_path / f"{b.pid}{SUFFIX}").write_bytes(b"LCSTATS1 garbage")  # corrupt: ignored
        _publish(tmp_path, _part(dead.pid, me, 1000))  # a dead worker: deleted
        (tmp_path / f".{dead.pid}.tmp").write_bytes(b"half")  # its unfinished write, too
        _publish(tmp_path, _part(os.getppid(), me, 1000))  # alive, but not our child
        (tmp_path / "notes.txt").write_text("not ours")  # another name: left alone
        (tmp_path / "77.stats.bak").write_text("not ours")
        reader = Stats(shared=tmp_path)
        now = time.perf_counter()
        for i in range(20):
            reader.record(now - 5 + i * 0.1, 0.020, 200)
        found = reader._exchange(encode(reader._own(now, me)), me)
        assert set(found) == {a.pid}
        left = sorted(p.name for p in tmp_path.iterdir())
        assert left == sorted(
            [
                f"{a.pid}{SUFFIX}",
                f"{b.pid}{SUFFIX}",
                f"{os.getppid()}{SUFFIX}",
                f"{me}{SUFFIX}",
                "notes.txt",
                "77.stats.bak",
            ]
        )
        reader._siblings = found
        snap = reader.snapshot()
        assert snap["requests"] == 50 and snap["window_requests"] == 50
        assert snap["workers_reporting"] == 2
        assert {w["pid"]: w["requests"] for w in snap["per_worker"]} == {me: 20, a.pid: 30}
        assert snap["latency_ms"]["p50"] == pytest.approx(5.0)  # 30 at 5 ms, 20 at 20 ms
        assert snap["request_rate"] > 0

        # a silent sibling (no publication for stale_after seconds), or one that says it
        # belongs to another parent, does not count
        _publish(tmp_path, _part(b.pid, me, 10, at=time.perf_counter() - 60))
        _publish(tmp_path, _part(a.pid, me + 1, 10))
        assert reader._exchange(encode(reader._own(now, me)), me) == {}
        # a sibling that dies stops counting at once, before the next exchange removes it
        _publish(tmp_path, _part(a.pid, me, 30))
        reader._siblings = reader._exchange(encode(reader._own(now, me)), me)
        assert reader.snapshot()["requests"] == 50
        a.kill()
        a.wait()
        snap = reader.snapshot()
        assert snap["requests"] == 20 and [w["pid"] for w in snap["per_worker"]] == [me]
        reader._exchange(encode(reader._own(now, me)), me)
        assert not (tmp_path / f"{a.pid}{SUFFIX}").exists()
    finally:
        for p in siblings:
            p.kill()
            p.wait()


def test_publisher_writes_and_removes_its_file(tmp_path):
    import asyncio

    shared = tmp_path / "shared"
    shared.mkdir(mode=0o700)

    async def main() -> None:
        s = Stats(shared=shared, interval=0.05)
        s.record(time.perf_counter(), 0.01, 200)
        s.start()
        mine = shared / f"{os.getpid()}{SUFFIX}"
        for _ in range(100):
            await asyncio.sleep(0.02)
            if mine.exists():
                break
        part = read_part(mine)
        assert part is not None and part.requests == 1 and part.ppid == os.getppid()
        s.record(time.perf_counter(), 0.01, 200)
        await asyncio.sleep(0.2)
        assert read_part(mine).requests == 2
        task = s._task
        s.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert not mine.exists() and not shared.exists()  # the last worker out removes it
        # a sibling still running when the directory went away makes it again
        other = Stats(shared=shared)
        other._exchange(encode(other._own(time.perf_counter(), 1)), 1)
        assert read_part(shared / f"{os.getpid()}{SUFFIX}").requests == 0
        (shared / f"1{SUFFIX}").write_text("a sibling's file")
        other.stop()
        assert shared.exists()  # not the last one out: the directory stays

    asyncio.run(main())


def test_shared_dir_is_private_and_per_deployment_and_port(monkeypatch, tmp_path):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    one, two, other = shared_dir("abc", 8001), shared_dir("abc", 8002), shared_dir("xyz", 8001)
    assert len({one, two, other}) == 3 and one.parent == two.parent == other.parent
    assert oct(one.stat().st_mode & 0o777) == oct(0o700)
    assert oct(one.parent.stat().st_mode & 0o777) == oct(0o700)
    assert shared_dir("../../etc", 1).parent == one.parent  # no path from a name
    assert Stats.for_server("abc", 8001, 1).shared is None
    assert Stats.for_server("abc", 8001, 2).shared == one
    # someone else's (or a world-writable) directory under that name: this worker only
    one.chmod(0o777)
    assert shared_dir("abc", 8001) is None
    assert Stats.for_server("abc", 8001, 2).shared is None


# -- a real deployment with two workers ---------------------------------------------------------
def test_two_workers_report_the_whole_deployment(services, supervisor, data, http):
    X, _ = data
    d = services.deployments.create(
        "bc/1", actor=ACTOR, name="bc-workers", workers=2, capture=False
    )
    close = {"Connection": "close"}  # a new connection per request: the kernel picks a worker
    try:
        d = supervisor.ensure(d["id"], wait=120)
        assert d["status"] == "ready", d
        url, master = d["url"], d["pids"][0]
        wait_for(
            lambda: all(
                http.get(url + "ready", headers=close).status_code == 200 for _ in range(8)
            ),
            timeout=90,
        )
        sent, failures = 0, []
        lock = threading.Lock()

        def send(k: int) -> None:
            nonlocal sent
            with httpx.Client(timeout=30, trust_env=False) as client:
                for i in range(k):
                    r = client.post(url + "predict", json=records(X, 1, start=i), headers=close)
                    with lock:
                        sent += 1
                        if r.status_code != 200:
                            failures.append(r.text)

        def stats() -> dict:
            return http.get(url + "stats", headers=close).json()

        # until both workers served some (which one accepts a connection is the kernel's call)
        for _ in range(20):
            threads = [threading.Thread(target=send, args=(10,)) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not failures, failures[:3]
            answer = wait_for(
                lambda: (lambda s: s if s["requests"] == sent else None)(stats()), timeout=10
            )
            if len(answer["per_worker"]) == 2 and all(w["requests"] for w in answer["per_worker"]):
                break
        else:
            pytest.fail(f"the kernel never gave a connection to both workers: {answer}")
        workers = {w["pid"] for w in answer["per_worker"]}
        assert len(workers) == 2 and master not in workers
        # whichever worker answers, the figures are the deployment's (a sibling's part is
        # its last publication: at most a second old)
        time.sleep(2.5)
        for _ in range(10):
            s = stats()
            assert s["pid"] in workers and s["workers"] == 2 and s["workers_reporting"] == 2
            assert s["requests"] == sent == sum(w["requests"] for w in s["per_worker"])
            assert {w["pid"] for w in s["per_worker"]} == workers
            assert s["window_requests"] == sent and s["request_rate"] > 0
            assert 0 < s["latency_ms"]["p50"] <= s["latency_ms"]["p99"]

        # hostile files in the workers' directory change nothing
        shared = shared_dir(d["id"], d["port"])
        gone = subprocess.Popen(["true"])
        gone.wait()
        forged = _part(os.getpid(), master, 10_000)  # right parent claimed, wrong process
        _publish(shared, forged)
        _publish(shared, _part(gone.pid, master, 10_000))
        (shared / "notes.txt").write_text("hello")
        (shared / f"{os.getppid()}{SUFFIX}").write_bytes(os.urandom(300))
        wait_for(lambda: not (shared / f"{gone.pid}{SUFFIX}").exists(), timeout=10)
        for _ in range(5):
            s = stats()
            assert s["requests"] == sent and {w["pid"] for w in s["per_worker"]} == workers

        # a killed worker stops counting; uvicorn's replacement starts at zero
        victim = max(answer["per_worker"], key=lambda w: w["requests"])
        os.kill(victim["pid"], signal.SIGKILL)
        survivor = (workers - {victim["pid"]}).pop()

        def settled() -> dict | None:
            s = stats()
            pids = {w["pid"] for w in s["per_worker"]}
            return s if len(pids) == 2 and victim["pid"] not in pids else None

        s = wait_for(settled, timeout=90)
        assert survivor in {w["pid"] for w in s["per_worker"]}
        assert s["requests"] == sent - victim["requests"]
        wait_for(lambda: not (shared / f"{victim['pid']}{SUFFIX}").exists(), timeout=10)
        workers = {w["pid"] for w in s["per_worker"]}
    finally:
        services.deployments.stop(d["id"], actor=ACTOR)
        supervisor.reconcile_one(d["id"])
    # a worker stopped with SIGTERM removes its own file
    wait_for(lambda: not any((shared / f"{pid}{SUFFIX}").exists() for pid in workers), timeout=30)
    for name in ("notes.txt", f"{os.getpid()}{SUFFIX}", f"{os.getppid()}{SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            (shared / name).unlink()
    with contextlib.suppress(OSError):
        shared.rmdir()  # the workers left it because of the files above
