"""Data quality (missing, out of range, unseen categories, schema) and prediction drift."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from labcycle.errors import InvalidInput
from labcycle.monitoring.quality import LIMITS, data_quality, dtype_kind, prediction_drift


def frames():
    g = np.random.default_rng(0)
    n = 1000
    ref = pd.DataFrame(
        {
            "age": g.uniform(18, 90, n),
            "city": pd.Series(g.choice(["paris", "lyon", "nice"], n), dtype="str"),
            "score": g.normal(size=n),
            "plan": pd.Series(g.choice(["a", "b"], n)).astype("category"),
            "gone": g.normal(size=n),
            "code": g.integers(0, 9, n),
        }
    )
    cur = pd.DataFrame(
        {
            "age": np.r_[g.uniform(18, 90, 400), g.uniform(95, 120, 80), [np.inf] * 20],
            "city": pd.Series(
                np.r_[g.choice(["paris", "lyon"], 450), ["lille"] * 30, ["brest"] * 20], dtype="str"
            ),
            "score": np.r_[g.normal(size=400), [np.nan] * 100],
            "plan": pd.Series(g.choice(["a", "b"], 500)).astype("category"),
            "code": pd.Series(g.choice(["x", "y"], 500), dtype="str"),
            "new": 1,
        }
    )
    return ref, cur


def test_quality_report_values_and_issues():
    ref, cur = frames()
    q = data_quality(ref, cur)
    json.dumps(q, allow_nan=False)
    assert q["reference_rows"] == 1000 and q["current_rows"] == 500
    age = q["columns"]["age"]
    assert age["reference_min"] == pytest.approx(ref["age"].min())
    assert age["out_of_range_count"] == 100 and age["out_of_range_share"] == pytest.approx(0.2)
    assert age["current_infinite_count"] == 20 and age["above_share"] == pytest.approx(0.2)
    city = q["columns"]["city"]
    assert city["unseen_share"] == pytest.approx(0.1) and city["unseen_count"] == 50
    assert city["unseen_categories"][:2] == [
        {"value": "lille", "count": 30, "share": pytest.approx(0.06)},
        {"value": "brest", "count": 20, "share": pytest.approx(0.04)},
    ]
    score = q["columns"]["score"]
    assert (score["reference_missing_share"], score["current_missing_share"]) == (0.0, 0.2)
    assert q["schema"]["missing_columns"] == ["gone"]
    assert q["schema"]["new_columns"] == ["new"]
    assert q["schema"]["type_changes"] == [
        {
            "column": "code",
            "reference": "numeric",
            "current": "text",
            "reference_dtype": "int64",
            "current_dtype": "str",
        }
    ]
    kinds = sorted((i["column"], i["kind"]) for i in q["issues"])
    assert kinds == [
        ("age", "out_of_range"),
        ("city", "unseen_categories"),
        ("code", "schema"),
        ("gone", "schema"),
        ("new", "schema"),
        ("score", "missing"),
    ]
    by = {(i["column"], i["kind"]): i for i in q["issues"]}
    assert by[("score", "missing")]["value"] == 0.2 and by[("score", "missing")]["limit"] == 0.05
    assert "lille, brest" in by[("city", "unseen_categories")]["message"]
    assert "outside the reference range" in by[("age", "out_of_range")]["message"]
    assert "plan" in q["columns"] and not any(i["column"] == "plan" for i in q["issues"])


def test_limits_are_shares_and_can_be_changed():
    ref, cur = frames()
    q = data_quality(
        ref,
        cur,
        columns=["age", "city", "score"],
        limits={"out_of_range": 0.25, "unseen_categories": 0.2, "missing": 0.5},
    )
    assert q["issues"] == [] and q["limits"]["out_of_range"] == 0.25
    assert set(q["columns"]) == {"age", "city", "score"}
    assert LIMITS == {"missing": 0.05, "out_of_range": 0.05, "unseen_categories": 0.01}
    for bad in ({"missing": 2}, {"nope": 0.1}, {"missing": "x"}):
        with pytest.raises(InvalidInput) as e:
            data_quality(ref, cur, limits=bad)
        assert e.value.details["field"].startswith("limits.")


def test_same_data_has_no_issues_and_kinds_are_stable_through_parquet(tmp_path):
    ref, _ = frames()
    assert data_quality(ref, ref.copy())["issues"] == []
    ref.to_parquet(tmp_path / "r.parquet")
    back = pd.read_parquet(tmp_path / "r.parquet", dtype_backend="pyarrow")
    q = data_quality(ref, back)
    assert q["issues"] == [], q["issues"]
    assert [dtype_kind(back[c]) for c in back] == [dtype_kind(ref[c]) for c in ref]


def test_hostile_inputs():
    ref, cur = frames()
    empty = data_quality(ref, cur.iloc[:0])
    assert empty["current_rows"] == 0
    assert all(i["kind"] == "schema" for i in empty["issues"])
    with pytest.raises(InvalidInput) as e:
        data_quality(ref.iloc[:0], cur)
    assert e.value.details["field"] == "reference"
    with pytest.raises(InvalidInput):
        data_quality("ref.csv", cur)
    with pytest.raises(InvalidInput):
        data_quality(ref, cur, columns=["nowhere"])
    mixed = pd.DataFrame({"m": pd.Series([1, "a", None, [1, 2]] * 5, dtype=object)})
    q = data_quality(mixed, mixed)
    assert q["columns"]["m"]["reference_kind"] == "mixed"
    all_nan = pd.DataFrame({"x": [np.nan] * 10})
    q = data_quality(all_nan, pd.DataFrame({"x": [1.0, 2.0]}))
    assert q["columns"]["x"]["reference_min"] is None
    json.dumps(q, allow_nan=False)


def test_prediction_drift_reuses_compute_drift():
    g = np.random.default_rng(1)
    labels_ref = pd.Series(g.choice([0, 1], 5000, p=[0.7, 0.3]), name="target")
    labels_same = pd.Series(g.choice([0, 1], 4000, p=[0.7, 0.3]), name="prediction")
    labels_shift = pd.Series(g.choice([0, 1], 4000, p=[0.3, 0.7]), name="prediction")
    same = prediction_drift(labels_ref, labels_same)
    assert same["drifted"] is False
    assert list(same["columns"]) == ["target"]
    assert same["columns"]["target"]["method"] == "jensenshannon"
    shifted = prediction_drift(labels_ref, labels_shift)
    assert shifted["drifted"] is True and shifted["dataset_drift"] is True
    # probabilities of two classes as a frame; small reference → KS
    probs_ref = pd.DataFrame({"p0": g.beta(2, 5, 500), "p1": g.beta(5, 2, 500)})
    probs_cur = pd.DataFrame({"p0": g.beta(2, 5, 300), "p1": g.beta(2, 2, 300)})
    out = prediction_drift(probs_ref, probs_cur)
    assert out["columns"]["p1"]["method"] == "ks" and out["columns"]["p1"]["drifted"] is True
    assert out["columns"]["p1"]["p_value"] == pytest.approx(
        stats.ks_2samp(probs_ref["p1"], probs_cur["p1"]).pvalue, abs=1e-9
    )
    assert out["drifted"] is True
    # training labels stored as text, predictions logged as numbers: the same classes
    text_ref = labels_ref.astype(str)
    assert text_ref.iloc[0] in ("0", "1")
    alike = prediction_drift(text_ref, labels_same.astype(float))
    assert alike["drifted"] is False
    assert alike["columns"]["target"]["histogram"]["categories"] == ["0", "1"]
    with pytest.raises(InvalidInput):
        prediction_drift(probs_ref, pd.DataFrame({"other": [1.0]}))
    with pytest.raises(InvalidInput):
        prediction_drift(labels_ref, labels_same.iloc[:0])
