"""The prediction spool and its compactor process (real processes, real files)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pyarrow.parquet as pq
import pytest
from processes import race_processes
from waiting import wait_for

from labcycle.serving.capture import IdSource, PredictionLog
from labcycle.serving.spool import Compactor, Spool, decode_file

from .test_capture import captured, mixed_batches


def _log(root: Path) -> pd.DataFrame:
    files = sorted(root.glob("predictions/deployment=dep/date=*/part-*.parquet"))
    if not files:
        return pd.DataFrame({"prediction_id": []})
    return pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)


def _spool(tmp_path: Path, **kwargs) -> Spool:
    return Spool(tmp_path / "spool", str(tmp_path / "log"), "dep", **kwargs)


def _all_kinds(ids: IdSource) -> list:
    """The mixed batches, plus string labels, times and ids that are not one counter run."""
    odd = captured(
        ids,
        {
            "t": np.array(["2026-01-01", "2026-01-02", "2026-01-03"], dtype="datetime64[ms]"),
            "flag": np.array([True, False, True]),
        },
        predictions=np.array(["yes", "no", None], dtype=object),
        version="v3",
    )
    gap = ids.take(4)
    odd.prediction_ids = [gap[0], gap[2], gap[3]]  # a masked batch: not one run
    return [*mixed_batches(ids), odd]


def test_spooled_batches_compact_to_the_same_log_as_writing_directly(tmp_path):
    import fsspec

    batches = _all_kinds(IdSource())
    direct = PredictionLog(*fsspec.core.url_to_fs(str(tmp_path / "direct")), "dep")
    assert direct.write(batches) and direct.failures == 0
    spool = _spool(tmp_path, process=False)  # compacts in-process after each write
    spool.start().write(batches)
    assert not list((tmp_path / "spool").glob("*.spool"))
    want = _log(tmp_path / "direct").sort_values("prediction_id", ignore_index=True)
    got = _log(tmp_path / "log").sort_values("prediction_id", ignore_index=True)
    assert len(got) == sum(b.rows for b in batches) == 14
    pd.testing.assert_frame_equal(got[sorted(got.columns)], want[sorted(want.columns)])
    labels = got.loc[got["model_version"] == 3, "prediction"]
    assert sorted(labels.dropna()) == ["no", "yes"] and labels.isna().sum() == 1


def test_the_compactor_process_writes_the_log_at_low_priority_and_empties_the_spool(tmp_path):
    ids = IdSource()
    spool = _spool(tmp_path, compact_seconds=0.2).start()
    try:
        compactor = psutil.Process(spool._proc.pid)
        wait_for(lambda: compactor.nice() == 10, timeout=30)
        sent = []
        for _ in range(3):
            batches = mixed_batches(ids)
            spool.write(batches)
            sent += [p for b in batches for p in b.prediction_ids]
        wait_for(lambda: len(_log(tmp_path / "log")) == len(sent), timeout=60)
        frame = _log(tmp_path / "log")
        assert sorted(frame["prediction_id"]) == sorted(sent)
        assert not list((tmp_path / "spool").glob("*.spool"))
    finally:
        spool.close()
    assert not compactor.is_running() or compactor.status() == psutil.STATUS_ZOMBIE


def test_a_killed_compactor_loses_nothing_on_a_clean_shutdown(tmp_path):
    spool = _spool(tmp_path, compact_seconds=3600, restart_seconds=3600).start()
    os.kill(spool._proc.pid, signal.SIGKILL)
    spool._proc.wait()
    batches = mixed_batches(IdSource())
    spool.write(batches)  # no compactor: the file waits in the spool
    assert len(list((tmp_path / "spool").glob("*.spool"))) == 1
    spool.close()  # the worker's last pass
    assert sorted(_log(tmp_path / "log")["prediction_id"]) == sorted(
        p for b in batches for p in b.prediction_ids
    )


def test_the_spool_of_a_crashed_worker_is_compacted_by_the_next_compactor(tmp_path):
    crashed = _spool(tmp_path, compact_seconds=3600, restart_seconds=3600).start()
    os.kill(crashed._proc.pid, signal.SIGKILL)  # the worker dies too: nobody closes it
    batches = mixed_batches(IdSource())
    crashed.write(batches)
    successor = _spool(tmp_path, compact_seconds=3600).start()  # its first pass takes them
    try:
        wait_for(lambda: len(_log(tmp_path / "log")) == 11, timeout=60)
        frame = _log(tmp_path / "log")
        assert sorted(frame["prediction_id"]) == sorted(
            p for b in batches for p in b.prediction_ids
        )
    finally:
        successor.close()
        crashed._proc.wait()


def test_unreadable_spool_files_are_set_aside_and_the_rest_compacted(tmp_path):
    spool = _spool(tmp_path)  # never started: spool files only, no compactor
    spool.directory.mkdir(parents=True)
    spool.write(mixed_batches(IdSource()))
    whole = next(spool.directory.glob("*.spool")).read_bytes()
    (spool.directory / "0-1-truncated.spool").write_bytes(whole[:-7])
    (spool.directory / "0-2-garbage.spool").write_bytes(b"\x80\x04\x95not a spool file")
    (spool.directory / "0-3-header.spool").write_bytes(b"LCSPOOL1\xff\xff\xff\x7f{")
    with pytest.raises(ValueError, match="spool"):
        decode_file(b"\x80\x04\x95pickle")  # never unpickled: the magic is checked first
    assert Compactor(spool.directory, spool.log).compact(wait=True) == 11
    assert sorted(p.name for p in spool.directory.glob("*.bad")) == [
        "0-1-truncated.bad",
        "0-2-garbage.bad",
        "0-3-header.bad",
    ]
    assert len(_log(tmp_path / "log")) == 11


def _compact_in_child(spool_dir: str, log_root: str, barrier, results) -> None:  # a child process
    import fsspec

    barrier.wait(timeout=60)
    log = PredictionLog(*fsspec.core.url_to_fs(log_root), "dep")
    results.put(Compactor(Path(spool_dir), log).compact(wait=True))


def test_two_compactors_never_write_a_spool_file_twice(tmp_path):
    spool = _spool(tmp_path)  # never started: spool files only, no compactor
    spool.directory.mkdir(parents=True)
    ids, sent = IdSource(), []
    for _ in range(40):
        batches = mixed_batches(ids)
        spool.write(batches)
        sent += [p for b in batches for p in b.prediction_ids]
    written = race_processes(_compact_in_child, [(str(spool.directory), str(tmp_path / "log"))] * 2)
    assert sum(written) == len(sent) == 440
    frame = _log(tmp_path / "log")
    assert len(frame) == len(sent) and frame["prediction_id"].is_unique
