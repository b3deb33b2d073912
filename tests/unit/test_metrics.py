"""Metric points: exact values, the latest-point rule, validation and concurrent writers."""

from __future__ import annotations

import math
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from processes import race_processes
from sqlalchemy import select

from labcycle.errors import InvalidInput, NotFound
from labcycle.services import Services
from labcycle.store.models import LatestMetric

from ._support import sqlite_url

LM = LatestMetric.__table__

SPECIAL_VALUES = [
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    0.0,
    5e-324,
    -5e-324,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    2.2250738585072014e-308,
    0.1,
    1 / 3,
    123456789.123456789,
]


def _same_float(a: float, b: float) -> bool:
    """Bit-for-bit equality as far as Python can tell: NaN is NaN, -0.0 is not 0.0."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def _latest_row(services: Services, run_id: str, key: str):
    with services.store.read() as conn:
        return conn.execute(select(LM).where(LM.c.run_id == run_id, LM.c.key == key)).one()


@pytest.mark.parametrize("value", SPECIAL_VALUES, ids=repr)
def test_values_round_trip_exactly(services: Services, run: dict, value: float) -> None:
    services.tracking.log_metrics(
        run["id"], [{"key": "m", "value": value, "step": 1}], actor="alice"
    )
    [point] = services.tracking.metric_history(run["id"], "m")["points"]
    assert _same_float(point["value"], value), point["value"]
    assert _same_float(services.tracking.get_run(run["id"])["metrics"]["m"], value)


def test_special_values_in_one_batch(services: Services, run: dict) -> None:
    points = [{"key": "m", "value": v, "step": i} for i, v in enumerate(SPECIAL_VALUES)]
    services.tracking.log_metrics(run["id"], points, actor="alice")
    history = services.tracking.metric_history(run["id"], "m")["points"]
    assert [p["step"] for p in history] == list(range(len(SPECIAL_VALUES)))
    for point, value in zip(history, SPECIAL_VALUES, strict=True):
        assert _same_float(point["value"], value), (point, value)
    assert _same_float(services.tracking.get_run(run["id"])["metrics"]["m"], SPECIAL_VALUES[-1])


@pytest.mark.parametrize(
    ("text", "value"),
    [("NaN", math.nan), ("Infinity", math.inf), ("-Infinity", -math.inf), ("inf", math.inf)],
)
def test_json_spellings_of_special_values(
    services: Services, run: dict, text: str, value: float
) -> None:
    services.tracking.log_metrics(run["id"], [{"key": "m", "value": text}], actor="alice")
    assert _same_float(services.tracking.get_run(run["id"])["metrics"]["m"], value)


def test_latest_is_highest_step_then_newest_timestamp(services: Services, run: dict) -> None:
    log = services.tracking.log_metrics
    rid = run["id"]
    # Out of order inside one batch: step 5 wins over the later-listed step 2.
    log(
        rid,
        [
            {"key": "m", "value": 1.0, "step": 1, "timestamp": 100},
            {"key": "m", "value": 5.0, "step": 5, "timestamp": 100},
            {"key": "m", "value": 2.0, "step": 2, "timestamp": 900},
        ],
        actor="alice",
    )
    assert services.tracking.get_run(rid)["metrics"]["m"] == 5.0
    # A later batch with a lower step does not replace it, even with a newer timestamp.
    log(rid, [{"key": "m", "value": 3.0, "step": 3, "timestamp": 10_000}], actor="alice")
    assert services.tracking.get_run(rid)["metrics"]["m"] == 5.0
    # Same step, older timestamp: no; same step, newer timestamp: yes.
    log(rid, [{"key": "m", "value": 4.0, "step": 5, "timestamp": 50}], actor="alice")
    assert services.tracking.get_run(rid)["metrics"]["m"] == 5.0
    log(rid, [{"key": "m", "value": 6.0, "step": 5, "timestamp": 200}], actor="alice")
    assert services.tracking.get_run(rid)["metrics"]["m"] == 6.0
    # Same step and timestamp: the later write wins.
    log(rid, [{"key": "m", "value": 7.0, "step": 5, "timestamp": 200}], actor="alice")
    row = _latest_row(services, rid, "m")
    assert (row.step, row.timestamp, row.value) == (5, 200, 7.0)
    # Higher step wins regardless of timestamp; NaN can be the latest value.
    log(rid, [{"key": "m", "value": math.nan, "step": 9, "timestamp": 1}], actor="alice")
    assert math.isnan(services.tracking.get_run(rid)["metrics"]["m"])
    history = services.tracking.metric_history(rid, "m")["points"]
    assert len(history) == 8
    assert [p["step"] for p in history] == sorted(p["step"] for p in history)


def test_keys_are_independent_and_tuples_work(services: Services, run: dict) -> None:
    services.tracking.log_metrics(
        run["id"], [("a", 1.0, 1), ("b", 2.0), ("a", 0.5, 0, 10)], actor="alice"
    )
    got = services.tracking.get_run(run["id"])
    assert got["metrics"] == {"a": 1.0, "b": 2.0}
    assert got["metric_keys"] == ["a", "b"]
    assert services.tracking.metric_history(run["id"], "b")["points"][0]["step"] == 0
    with pytest.raises(NotFound):
        services.tracking.metric_history(run["id"], "c")


@pytest.mark.parametrize(
    "key",
    [
        "a..b",
        "..",
        "a/b",
        "/a",
        "a\\b",
        "a\x00b",
        "a\nb",
        "",
        "x" * 251,
        " lead",
        "trail ",
        None,
        7,
    ],
    ids=[
        "dotdot",
        "only-dotdot",
        "slash",
        "lead-slash",
        "backslash",
        "nul",
        "newline",
        "empty",
        "251-chars",
        "lead-space",
        "trail-space",
        "none",
        "int",
    ],
)
def test_bad_metric_keys(services: Services, run: dict, key) -> None:
    with pytest.raises(InvalidInput) as info:
        services.tracking.log_metrics(
            run["id"], [{"key": "ok", "value": 1}, {"key": key, "value": 1}], actor="alice"
        )
    assert info.value.details["field"] == "metrics[1].key"
    with pytest.raises(NotFound):  # the batch is all or nothing
        services.tracking.metric_history(run["id"], "ok")


def test_longest_key_and_punctuation_are_fine(services: Services, run: dict) -> None:
    keys = ["x" * 250, "val loss", "a.b", "f1-score", "ns:acc", "é✓"]
    services.tracking.log_metrics(run["id"], [{"key": k, "value": 1} for k in keys], actor="alice")
    assert sorted(services.tracking.get_run(run["id"])["metrics"]) == sorted(keys)


@pytest.mark.parametrize(
    ("point", "field"),
    [
        ({"key": "m", "value": True}, "metrics[0].value"),
        ({"key": "m", "value": False}, "metrics[0].value"),
        ({"key": "m", "value": np.bool_(True)}, "metrics[0].value"),
        ({"key": "m", "value": "high"}, "metrics[0].value"),
        ({"key": "m", "value": None}, "metrics[0].value"),
        ({"key": "m", "value": [1.0]}, "metrics[0].value"),
        ({"key": "m", "value": 10**400}, "metrics[0].value"),
        ({"key": "m"}, "metrics[0].value"),
        ({"key": "m", "value": 1, "step": True}, "metrics[0].step"),
        ({"key": "m", "value": 1, "step": "3"}, "metrics[0].step"),
        ({"key": "m", "value": 1, "step": 1.5}, "metrics[0].step"),
        ({"key": "m", "value": 1, "step": 2**63}, "metrics[0].step"),
        ({"key": "m", "value": 1, "step": -(2**63) - 1}, "metrics[0].step"),
        ({"key": "m", "value": 1, "timestamp": "now"}, "metrics[0].timestamp"),
        ({"key": "m", "value": 1, "timestamp": 2**70}, "metrics[0].timestamp"),
        ("m=1", "metrics[0]"),
        (("m",), "metrics[0]"),
    ],
)
def test_bad_points_name_the_field(services: Services, run: dict, point, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        services.tracking.log_metrics(run["id"], [point], actor="alice")
    assert info.value.details["field"] == field
    assert services.tracking.get_run(run["id"])["metrics"] == {}


def test_metrics_must_be_a_list(services: Services, run: dict) -> None:
    with pytest.raises(InvalidInput) as info:
        services.tracking.log_metrics(run["id"], {"m": 1}, actor="alice")
    assert info.value.details["field"] == "metrics"


def test_numpy_numbers_are_accepted(services: Services, run: dict) -> None:
    services.tracking.log_metrics(
        run["id"],
        [
            {"key": "f64", "value": np.float64(0.1), "step": np.int64(3)},
            {"key": "f32", "value": np.float32(0.5), "step": np.int32(1)},
            {"key": "i64", "value": np.int64(7), "timestamp": np.int64(1_700_000_000_000)},
            {"key": "nan", "value": np.float64("nan")},
            {"key": "int", "value": 3, "step": 2**63 - 1},
        ],
        actor="alice",
    )
    got = services.tracking.get_run(run["id"])["metrics"]
    assert got["f64"] == 0.1 and got["f32"] == 0.5 and got["i64"] == 7.0 and got["int"] == 3.0
    assert all(type(v) is float for v in got.values())
    assert math.isnan(got["nan"])
    point = services.tracking.metric_history(run["id"], "f64")["points"][0]
    assert point["step"] == 3 and type(point["step"]) is int
    assert services.tracking.metric_history(run["id"], "i64")["points"][0]["timestamp"] == (
        1_700_000_000_000
    )
    assert _latest_row(services, run["id"], "int").step == 2**63 - 1


def test_unknown_run(services: Services) -> None:
    with pytest.raises(NotFound):
        services.tracking.log_metrics("0" * 32, [{"key": "m", "value": 1}], actor="alice")


def test_fifty_threads_logging_to_one_run(services: Services, run: dict) -> None:
    threads_n, per_thread, batch = 50, 200, 20
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        try:
            barrier.wait(timeout=30)
            # Batches in descending order: every thread also logs steps older than its last.
            for start in reversed(range(0, per_thread, batch)):
                services.tracking.log_metrics(
                    run["id"],
                    [
                        {
                            "key": "loss",
                            "value": float(t * per_thread + i),
                            "step": t * per_thread + i,
                        }
                        for i in range(start, start + batch)
                    ],
                    actor=f"thread-{t}",
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    history = services.tracking.metric_history(run["id"], "loss")["points"]
    total = threads_n * per_thread
    assert len(history) == total
    assert sorted(p["step"] for p in history) == list(range(total))
    assert services.tracking.get_run(run["id"])["metrics"]["loss"] == float(total - 1)
    row = _latest_row(services, run["id"], "loss")
    assert row.step == total - 1


def _write_from_process(
    db_url: str,
    artifact_url: str,
    run_id: str,
    offset: int,
    batches: int,
    size: int,
    barrier,
    results,
) -> None:  # runs in a child process
    try:
        barrier.wait(timeout=60)
        services = Services.open(db_url, artifact_url)
        for b in range(batches):
            services.tracking.log_metrics(
                run_id,
                [
                    {
                        "key": "x",
                        "value": float(offset + b * size + i),
                        "step": offset + b * size + i,
                    }
                    for i in range(size)
                ],
                actor=f"process-{offset}",
            )
        services.close()
        results.put("ok")
    except BaseException as exc:
        results.put(f"{type(exc).__name__}: {exc}")


def test_two_processes_writing_one_sqlite_file(tmp_path: Path, sqlite_template: Path) -> None:
    db_path = tmp_path / "labcycle.db"
    shutil.copyfile(sqlite_template, db_path)
    db_url, artifact_url = sqlite_url(db_path), str(tmp_path / "artifacts")
    services = Services.open(db_url, artifact_url)
    run = services.tracking.create_run(actor="alice")
    batches, size = 20, 250
    outcomes = race_processes(
        _write_from_process,
        [(db_url, artifact_url, run["id"], p * batches * size, batches, size) for p in range(2)],
    )
    assert outcomes == ["ok", "ok"]
    history = services.tracking.metric_history(run["id"], "x")["points"]
    assert sorted(p["step"] for p in history) == list(range(2 * batches * size))
    assert services.tracking.get_run(run["id"])["metrics"]["x"] == float(2 * batches * size - 1)
    services.close()
