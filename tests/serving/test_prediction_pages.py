"""``DeploymentService.predictions`` (REST ``GET .../deployments/{id}/predictions``) reads
only what its page needs: the newest date partitions, the ``ts`` column to order them, the
rows of the page and their feedback, and gives the same pages as sorting the whole log."""

from __future__ import annotations

import base64
import math

import pandas as pd
import pytest
from prediction_logs import DAY_MS, write_feedback, write_log

from .conftest import ACTOR


def _old_pages(services, deployment_id: str, limit: int, since=None) -> list[list[dict]]:
    """Every page as the whole-log implementation made them (the reference)."""
    from labcycle.services.deployments import _prediction_item
    from labcycle.serving.logs import read_predictions

    frame = read_predictions(deployment_id, since=since, services=services)
    frame = frame.sort_values("ts", ascending=False, kind="stable")
    items = [_prediction_item(rec) for rec in frame.to_dict("records")]
    return [items[i : i + limit] for i in range(0, len(items), limit)]


def _new_pages(services, deployment_id: str, limit: int, since=None) -> list[list[dict]]:
    pages, token = [], None
    while True:
        page = services.deployments.predictions(
            deployment_id, max_results=limit, page_token=token, since=since
        )
        if page["items"]:
            pages.append(page["items"])
        token = page["next_page_token"]
        if token is None:
            return pages
        assert len(page["items"]) == limit


def _same(a, b) -> bool:
    """Equal items; a number of ground truth may be 1.0 in the old pages (NaN promotion)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()  # as page_bounds reads it


@pytest.fixture
def deployment_id(services):
    d = services.deployments.create("bc/1", actor=ACTOR, capture=False)
    services.deployments.stop(d["id"], actor=ACTOR)  # a row only: no process is started
    return d["id"]


def test_pages_are_those_of_the_whole_sorted_log(services, deployment_id):
    from labcycle.errors import InvalidInput

    ids, day0 = write_log(services.blobs, deployment_id, days=6, files=3, rows=20)
    # feedback: some on the prediction's day, some days later, one corrected twice
    fb = [
        (ids[i], i % 3, day0 + (i // 60) * DAY_MS + 3_600_000, "t")  # 60 rows a day
        for i in range(0, len(ids), 7)
    ]
    late = [(ids[i], "late", day0 + 5 * DAY_MS + 1000, "t") for i in range(3, 60, 11)]
    fix = [(ids[-1], 0, day0 + 5 * DAY_MS + 1, "t"), (ids[-1], 1, day0 + 5 * DAY_MS + 2, "t")]
    write_feedback(services.blobs, deployment_id, fb + late + fix)
    for limit in (1, 7, 100, 1000):
        old = _old_pages(services, deployment_id, limit)
        new = _new_pages(services, deployment_id, limit)
        assert len(new) == len(old) and _same(old, new), limit
    newest = services.deployments.predictions(deployment_id, max_results=1)["items"][0]
    assert newest["prediction_id"] in ids[-60:]  # the last day
    assert set(newest) >= {"prediction_id", "ts", "inputs", "probability", "ground_truth"}
    assert set(newest["inputs"]) == {"a", "b"}
    truth = {
        i["prediction_id"]: i["ground_truth"]
        for p in _new_pages(services, deployment_id, 50)
        for i in p
    }
    assert truth[ids[3]] == "late" and truth[ids[7]] == 1 and truth[ids[8]] is None
    assert truth[ids[-1]] == 1  # the latest of two corrections
    # since: the day's partition is filtered by time, older ones are not read
    for since in (
        day0 + 2 * DAY_MS + 30_000,
        pd.Timestamp(day0 + 4 * DAY_MS, unit="ms", tz="UTC").isoformat(),
        day0 - DAY_MS,
        day0 + 40 * DAY_MS,
    ):
        old, new = (
            _old_pages(services, deployment_id, 9, since),
            _new_pages(services, deployment_id, 9, since),
        )
        assert len(new) == len(old) and _same(old, new), since
    assert _new_pages(services, deployment_id, 9, day0 + 40 * DAY_MS) == []
    with pytest.raises(InvalidInput, match="since must be"):
        services.deployments.predictions(deployment_id, since="yesterday-ish")


def test_page_one_reads_only_the_newest_partition(services, deployment_id, monkeypatch):
    from labcycle.errors import LabCycleError

    ids, day0 = write_log(services.blobs, deployment_id, days=30, files=2, rows=10)
    # ground truth for the first row of every day, logged an hour after that day began
    write_feedback(
        services.blobs,
        deployment_id,
        [(ids[d * 20], 1, day0 + d * DAY_MS + 3_600_000, "t") for d in range(30)],
    )
    fs, root = services.blobs.fs, services.blobs.root
    opened: list[str] = []
    real_open = fs.open

    def counting_open(path, *args, **kwargs):
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(fs, "open", counting_open)
    page = services.deployments.predictions(deployment_id, max_results=15)
    assert {i["prediction_id"] for i in page["items"]} < set(ids[-20:])  # the last day's
    newest, before = (
        pd.Timestamp(day0 + d * DAY_MS, unit="ms", tz="UTC").strftime("%Y-%m-%d") for d in (29, 28)
    )
    predictions = [p for p in opened if "/predictions/" in p]
    feedback = [p for p in opened if "/feedback/" in p]
    assert {p.split("/date=")[1].split("/")[0] for p in predictions} == {newest}
    assert len(predictions) <= 4  # the ts of its 2 files, then the page's rows
    # feedback: from the day before the page's oldest row on (clocks may differ), no older
    assert {p.split("/date=")[1].split("/")[0] for p in feedback} == {newest, before}

    # the oldest days become unreadable: the first pages do not notice, a deep page fails
    # with a message naming the file, not a traceback or a wrong "since" complaint
    oldest = sorted(fs.glob(f"{root}/predictions/deployment={deployment_id}/date=*/*.parquet"))[:4]
    for path in oldest:
        with real_open(path, "wb") as fh:
            fh.write(b"not parquet at all")
    opened.clear()
    for token in (
        None,
        services.deployments.predictions(deployment_id, max_results=100)["next_page_token"],
    ):
        assert (
            len(
                services.deployments.predictions(deployment_id, max_results=100, page_token=token)[
                    "items"
                ]
            )
            == 100
        )
    assert not set(oldest) & set(opened)
    deep = _token(len(ids) - 30)  # the oldest days
    with pytest.raises(
        LabCycleError,
        match=r"cannot be read at predictions/deployment=.*"
        r"\.parquet.*repair or remove",
    ) as err:
        services.deployments.predictions(deployment_id, max_results=10, page_token=deep)
    assert err.value.status == 500 and err.value.details["path"].startswith("predictions/")
    # a deep page that ends before the broken days still works: newer days are only counted
    ok = _token(len(ids) - 60)
    assert (
        len(services.deployments.predictions(deployment_id, max_results=10, page_token=ok)["items"])
        == 10
    )


def test_each_row_has_its_own_inputs(services, deployment_id):
    from labcycle.serving.logs import read_predictions_page

    day = (pd.Timestamp.now(tz="UTC").value // 10**6 // DAY_MS) * DAY_MS
    v1, _ = write_log(services.blobs, deployment_id, days=1, files=1, rows=10, day0=day - DAY_MS)
    v2, _ = write_log(
        services.blobs,
        deployment_id,
        days=1,
        files=1,
        rows=10,
        day0=day,
        version=2,
        columns=("a", "c"),
        seed=1,
    )
    items = [i for p in _new_pages(services, deployment_id, 4) for i in p]
    assert {i["prediction_id"] for i in items[:10]} == set(v2)
    assert all(set(i["inputs"]) == {"a", "c"} for i in items[:10])
    assert all(set(i["inputs"]) == {"a", "b"} for i in items[10:])
    assert all(i["model_version"] == 2 for i in items[:10])
    records, more = read_predictions_page(deployment_id, offset=18, limit=5, services=services)
    assert len(records) == 2 and not more
    assert {r["prediction_id"] for r in records} <= set(v1)
    assert all(r["ground_truth"] is None for r in records)
