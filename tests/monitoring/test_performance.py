"""Performance metrics, windows over time and the comparison with training time."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from labcycle.errors import InvalidInput
from labcycle.monitoring.performance import (
    compare_to_reference,
    infer_task,
    performance,
    performance_over_time,
)


def test_binary_positive_class_is_the_larger_label():
    y_true = [0, 1, 1, 0, 1, 1, 0, 0]
    y_pred = [0, 1, 0, 0, 1, 1, 1, 0]
    score = [0.1, 0.9, 0.4, 0.2, 0.8, 0.7, 0.6, 0.3]
    m = performance(y_true, y_pred, y_score=score)
    json.dumps(m, allow_nan=False)
    assert m["task"] == "classification" and m["average"] == "binary"
    assert m["positive_label"] == 1 and m["n"] == 8
    # TP=3, FP=1, FN=1, TN=3
    assert m["accuracy"] == 0.75 and m["precision"] == 0.75 and m["recall"] == 0.75
    assert m["f1"] == 0.75
    # pairs ranked correctly: of the 16 (pos, neg) pairs only (0.4 vs 0.6) is wrong
    assert m["roc_auc"] == pytest.approx(15 / 16)
    text = performance(
        ["no", "yes", "yes", "no"],
        ["no", "yes", "no", "no"],
        y_score=[[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]],
    )
    assert text["positive_label"] == "yes" and text["recall"] == 0.5 and text["precision"] == 1.0
    assert text["roc_auc"] == 1.0
    # feedback arrives as text, predictions as numbers: compared as numbers
    mixed = performance(["1", "0", "1"], [1, 0, 0])
    assert mixed["labels"] == [0, 1] and mixed["accuracy"] == pytest.approx(2 / 3)


def test_multiclass_macro_and_ovr_auc():
    y_true = ["a", "a", "b", "b", "c", "c"]
    y_pred = ["a", "b", "b", "b", "c", "a"]
    proba = [
        [0.8, 0.1, 0.1],
        [0.4, 0.5, 0.1],
        [0.1, 0.8, 0.1],
        [0.2, 0.7, 0.1],
        [0.1, 0.1, 0.8],
        [0.5, 0.1, 0.4],
    ]
    m = performance(y_true, y_pred, y_score=proba)
    assert m["average"] == "macro" and m["labels"] == ["a", "b", "c"]
    assert m["accuracy"] == pytest.approx(4 / 6)
    # per class precision a=1/2 b=2/3 c=1; recall a=1/2 b=1 c=1/2
    assert m["precision"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert m["recall"] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    f1 = [2 * p * r / (p + r) for p, r in ((1 / 2, 1 / 2), (2 / 3, 1), (1, 1 / 2))]
    assert m["f1"] == pytest.approx(sum(f1) / 3)
    # one-vs-rest: class a ranks 7 of its 8 (pos, neg) pairs right (0.4 < 0.5), b and c all
    assert m["roc_auc"] == pytest.approx((7 / 8 + 1 + 1) / 3)
    wrong = performance(y_true, y_pred, y_score=[[0.5, 0.5]] * 6)
    assert wrong["roc_auc"] is None and "(n, 3)" in wrong["roc_auc_note"]


def test_roc_auc_needs_two_classes_and_missing_pairs_are_dropped():
    m = performance([1, 1, 1], [1, 0, 1], y_score=[0.9, 0.2, 0.8])
    assert m["roc_auc"] is None and "both classes" in m["roc_auc_note"]
    d = performance([1, None, 0, 1, float("nan")], [1, 1, 0, None, 0])
    assert d["n"] == 2 and d["dropped"] == 3 and d["accuracy"] == 1.0


def test_regression_metrics_and_task_inference():
    y_true = [3.0, -0.5, 2.0, 7.0]
    y_pred = [2.5, 0.0, 2.0, 8.0]
    m = performance(y_true, y_pred)
    assert m["task"] == "regression"
    assert m["mae"] == pytest.approx(0.5)
    assert m["rmse"] == pytest.approx(math.sqrt(0.375))
    assert m["r2"] == pytest.approx(0.9486081370449679)
    assert infer_task([1, 2, 3], [1, 2, 2]) == "classification"
    assert infer_task(list(range(30)), list(range(30))) == "regression"
    assert infer_task([True, False], [True, True]) == "classification"
    assert infer_task([1.5, 2.0], [1.0, 2.0]) == "regression"
    as_reg = performance([1, 2, 3], [1, 2, 2], task="regression")
    assert as_reg["task"] == "regression" and as_reg["mae"] == pytest.approx(1 / 3)
    one = performance([2.0], [2.5], task="regression")
    assert one["r2"] is None and one["mae"] == 0.5


def test_hostile_inputs():
    with pytest.raises(InvalidInput) as e:
        performance([1, 0], [1])
    assert e.value.details["field"] == "y_pred"
    with pytest.raises(InvalidInput):
        performance([], [])
    with pytest.raises(InvalidInput):
        performance([None, None], [1, 0])
    with pytest.raises(InvalidInput) as e:
        performance([1, 0], [1, 0], task="ranking")
    assert e.value.details["field"] == "task"
    with pytest.raises(InvalidInput) as e:
        performance([1, 0], [1, 0], y_score=[0.5])
    assert e.value.details["field"] == "y_score"
    with pytest.raises(InvalidInput):
        performance([1, 0], [1, 0], y_score=["high", "low"])
    with pytest.raises(InvalidInput):
        performance("10", "10")
    with pytest.raises(InvalidInput):
        performance(["a", "b"], ["a", "c"], task="regression")


def test_performance_over_time_windows():
    g = np.random.default_rng(0)
    start = pd.Timestamp("2024-03-01", tz="UTC")
    n = 300
    ts = start + pd.to_timedelta(np.sort(g.uniform(0, 3 * 86400, n)), unit="s")
    y_true = g.integers(0, 2, n)
    # day 0 perfect, day 1 half right, day 2 always wrong
    day = ((ts - start) // pd.Timedelta("1D")).to_numpy()
    y_pred = np.where(day == 0, y_true, np.where(day == 1, g.integers(0, 2, n), 1 - y_true))
    frame = pd.DataFrame({"ts": ts, "y_true": y_true, "y_pred": y_pred})
    windows = performance_over_time(frame, freq="1D")
    assert [w["start"] for w in windows] == [
        "2024-03-01T00:00:00+00:00",
        "2024-03-02T00:00:00+00:00",
        "2024-03-03T00:00:00+00:00",
    ]
    assert sum(w["count"] for w in windows) == n
    assert windows[0]["metrics"]["accuracy"] == 1.0
    assert windows[2]["metrics"]["accuracy"] == 0.0
    assert 0.3 < windows[1]["metrics"]["accuracy"] < 0.7
    assert windows[0]["end_ms"] - windows[0]["start_ms"] == 86_400_000
    # milliseconds since the epoch, as prediction logs store them; 12-hour windows
    ms = frame.assign(ts=(ts.astype("int64") // 10**6).to_numpy())
    half = performance_over_time(ms, freq="12h")
    assert len(half) == 6 and sum(w["count"] for w in half) == n
    assert half[0]["start_ms"] == int(start.value // 10**6)
    # a window where only one class occurs keeps the global positive label
    assert all(w["metrics"]["positive_label"] == 1 for w in half)
    json.dumps(half, allow_nan=False)
    assert performance_over_time(frame.iloc[:0]) == []
    with pytest.raises(InvalidInput) as e:
        performance_over_time(frame, freq="fortnightly")
    assert e.value.details["field"] == "freq"
    with pytest.raises(InvalidInput) as e:
        performance_over_time(frame, time_col="when")
    assert e.value.details["field"] == "time_col"


def test_compare_to_reference_rules_and_names():
    current = {"accuracy": 0.84, "f1": 0.80, "roc_auc": 0.90, "rmse": 2.2, "mae": 1.0}
    logged = {
        "train_accuracy": 0.99,
        "accuracy": 0.97,
        "val_accuracy": 0.90,
        "F1_Score": 0.83,
        "auc": [0.80, 0.91],
        "rmse": 2.0,
        "mean_absolute_error": {"value": 1.0},
    }
    out = compare_to_reference(current, logged, max_drop=0.05)
    json.dumps(out)
    by = {c["metric"]: c for c in out["compared"]}
    # val_ wins over the plain name (Keras logs training "accuracy"); train_ never used
    assert by["accuracy"]["reference_key"] == "val_accuracy"
    assert by["accuracy"]["change"] == pytest.approx(0.06) and by["accuracy"]["dropped"]
    assert by["f1"]["reference_key"] == "F1_Score" and not by["f1"]["dropped"]
    assert by["roc_auc"]["reference"] == 0.91 and not by["roc_auc"]["dropped"]  # last of history
    assert by["rmse"]["rule"] == "relative" and by["rmse"]["change"] == pytest.approx(0.1)
    assert by["rmse"]["dropped"] and not by["mae"]["dropped"]
    assert [d["metric"] for d in out["drops"]] == ["accuracy", "rmse"] and out["degraded"]
    assert out["unmatched"] == []
    none = compare_to_reference({"accuracy": 0.8, "recall": 0.5}, {"loss": 0.3})
    assert none["compared"] == [] and none["unmatched"] == ["accuracy", "recall"]
    assert none["degraded"] is False
    assert compare_to_reference({"accuracy": 0.8}, {"accuracy": 0.84})["drops"] == []
    with pytest.raises(InvalidInput):
        compare_to_reference(current, logged, max_drop=-1)
    with pytest.raises(InvalidInput):
        compare_to_reference(current, ["accuracy"])
