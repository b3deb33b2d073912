"""Reproduce: the comparison of two runs, and a real re-execution that reports a changed
package (the original run's recorded packages are edited to simulate drift) and an
unchanged metric."""

from __future__ import annotations

import math

import pytest

from labcycle.errors import InvalidInput, NotFound
from labcycle.services import Services
from labcycle.services.reproduce import compare_runs, metric_change


def test_metric_change():
    assert metric_change(0.5, 0.5) == {"abs_change": 0.0, "rel_change": 0.0, "changed": False}
    change = metric_change(0.5, 0.6)
    assert change["abs_change"] == pytest.approx(0.1) and change["rel_change"] == pytest.approx(0.2)
    assert metric_change(0.0, 1.0)["rel_change"] is None
    assert metric_change(math.nan, math.nan)["changed"] is False
    assert metric_change(1.0, None)["changed"] is True


def test_compare_any_two_runs(services: Services):
    t = services.tracking
    a = t.create_run(
        actor="a",
        experiment="e",
        python_version="3.11.4",
        packages={"numpy": "1.26.0", "pandas": "2.1.0", "old": "1.0"},
        git={"commit": "abc123", "branch": "main", "dirty": False},
    )
    b = t.create_run(
        actor="a",
        experiment="e",
        python_version="3.11.9",
        packages={"numpy": "2.0.0", "pandas": "2.1.0", "new": "0.1"},
        git={"commit": "def456", "branch": "main", "dirty": False},
    )
    for run, acc, loss in ((a, 0.9, 0.5), (b, 0.9, 0.4)):
        t.log_batch(
            run["id"],
            actor="a",
            params={"lr": 0.1},
            metrics=[{"key": "acc", "value": acc}, {"key": "loss", "value": loss}],
        )
    ds1 = services.datasets.register(actor="a", name="train", digest="sha256:1")
    ds2 = services.datasets.register(actor="a", name="train", digest="sha256:2")
    services.datasets.link_input(a["id"], ds1["id"], actor="a", context="training")
    services.datasets.link_input(b["id"], ds2["id"], actor="a", context="training")

    report = services.reproduce.compare(a["id"], b["id"])
    assert report["python"] == {"a": "3.11.4", "b": "3.11.9", "changed": True}
    assert report["packages"]["changed"] == {"numpy": {"a": "1.26.0", "b": "2.0.0"}}
    assert report["packages"]["added"] == {"new": "0.1"}
    assert report["packages"]["removed"] == {"old": "1.0"}
    assert report["packages"]["unchanged"] == 1
    assert report["datasets"] == [
        {
            "name": "train",
            "context": "training",
            "a": "sha256:1",
            "b": "sha256:2",
            "rows_a": None,
            "rows_b": None,
            "changed": True,
        }
    ]
    assert report["git"]["changed"] and report["git"]["a"] == "abc123"
    metrics = {m["key"]: m for m in report["metrics"]}
    assert metrics["acc"]["changed"] is False and metrics["acc"]["rel_change"] == 0.0
    assert metrics["loss"]["rel_change"] == pytest.approx(-0.2)
    assert report["params"] == [{"key": "lr", "a": "0.1", "b": "0.1", "changed": False}]
    assert report["differences"] == 7 and not report["identical"]
    assert compare_runs(t.get_run(a["id"]), t.get_run(a["id"]))["identical"]


def test_reproduce_refuses_a_run_without_snapshot(services: Services):
    run = services.tracking.create_run(actor="a", experiment="e")
    with pytest.raises(InvalidInput) as info:
        services.reproduce.reproduce(run["id"], actor="a")
    assert info.value.details["field"] == "run_id"
    with pytest.raises(NotFound):
        services.reproduce.report(run["id"])
