"""Drift statistics: agreement with SciPy, detection power, false alarms, hostile input."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from labcycle.errors import InvalidInput
from labcycle.monitoring import drift as D
from labcycle.monitoring.drift import compute_drift

TOL = 1e-9


def col(report, name):
    return report.to_dict()["columns"][name]


def rng(seed=0):
    return np.random.default_rng(seed)


# -- agreement with SciPy --------------------------------------------------------------------


@pytest.mark.parametrize(
    "n,m,rounding",
    [
        (40, 60, None),
        (800, 1000, 1),
        (1000, 30000, 2),
        (20000, 15000, None),
        (12000, 12000, 1),
        (1, 50, None),
    ],
)
def test_ks_matches_scipy(n, m, rounding):
    g = rng(n + m)
    a, b = g.normal(size=n), g.normal(0.05, 1.1, size=m)
    if rounding is not None:  # many ties
        a, b = a.round(rounding), b.round(rounding)
    d, p = D.ks_2samp_sorted(np.sort(a), np.sort(b))
    ref = stats.ks_2samp(a, b)
    assert d == pytest.approx(ref.statistic, abs=TOL)
    assert p == pytest.approx(ref.pvalue, abs=TOL)
    # and through the public function
    c = col(compute_drift(pd.DataFrame({"x": a}), pd.DataFrame({"x": b}), methods={"x": "ks"}), "x")
    assert c["method"] == "ks"
    assert c["statistic"] == pytest.approx(ref.statistic, abs=TOL)
    assert c["p_value"] == pytest.approx(ref.pvalue, abs=TOL)
    assert c["score"] == c["p_value"]
    assert c["drifted"] is bool(ref.pvalue < 0.05)


@pytest.mark.parametrize(
    "n,m,rounding", [(5, 7, None), (2000, 3000, None), (5000, 5000, 1), (30000, 12000, 2)]
)
def test_wasserstein_matches_scipy(n, m, rounding):
    g = rng(n * 3 + m)
    a, b = g.gamma(2.0, 3.0, size=n), g.gamma(2.2, 3.0, size=m)
    if rounding is not None:
        a, b = a.round(rounding), b.round(rounding)
    raw = D.wasserstein_sorted(np.sort(a), np.sort(b))
    assert raw == pytest.approx(stats.wasserstein_distance(a, b), abs=TOL)
    c = col(
        compute_drift(pd.DataFrame({"x": a}), pd.DataFrame({"x": b}), methods={"*": "wasserstein"}),
        "x",
    )
    expected = stats.wasserstein_distance(a, b) / max(np.std(a), 0.001)
    assert c["statistic"] == pytest.approx(expected, abs=TOL)
    assert c["score"] == c["statistic"] and c["p_value"] is None
    assert c["drifted"] is bool(expected >= 0.1)


def test_wasserstein_constant_reference_uses_std_floor():
    a = np.full(2000, 3.0)
    b = np.r_[np.full(1000, 3.0), np.linspace(3, 4, 1000)]
    c = col(
        compute_drift(pd.DataFrame({"x": a}), pd.DataFrame({"x": b}), methods={"x": "wasserstein"}),
        "x",
    )
    assert c["statistic"] == pytest.approx(stats.wasserstein_distance(a, b) / 0.001, abs=1e-6)
    assert c["drifted"] is True


def test_chisquare_matches_scipy_homogeneity_test():
    ref = pd.Series(["a"] * 300 + ["b"] * 200 + ["c"] * 100)
    cur = pd.Series(["a"] * 250 + ["b"] * 250 + ["c"] * 140)
    c = col(compute_drift(ref.to_frame("k"), cur.to_frame("k")), "k")
    assert c["method"] == "chisquare"
    expected = stats.chi2_contingency([[300, 200, 100], [250, 250, 140]], correction=False)
    assert c["statistic"] == pytest.approx(expected.statistic, abs=TOL)
    assert c["p_value"] == pytest.approx(expected.pvalue, abs=TOL)
    assert c["drifted"] is bool(expected.pvalue < 0.05) is True
    # a category the reference never had is one more cell of the table
    cur2 = pd.concat([cur, pd.Series(["z"] * 3)], ignore_index=True)
    c2 = col(compute_drift(ref.to_frame("k"), cur2.to_frame("k")), "k")
    expected2 = stats.chi2_contingency([[300, 200, 100, 0], [250, 250, 140, 3]], correction=False)
    assert c2["p_value"] == pytest.approx(expected2.pvalue, abs=TOL)
    assert D.chisquare_counts(np.array([5]), np.array([9])) == (0.0, 1.0)


def test_ztest_matches_formula():
    ref = pd.Series(["no"] * 700 + ["yes"] * 300)
    cur = pd.Series(["no"] * 330 + ["yes"] * 170)
    c = col(compute_drift(ref.to_frame("k"), cur.to_frame("k")), "k")
    assert c["method"] == "z"
    p1, p2, pooled = 0.7, 330 / 500, 1030 / 1500
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / 1000 + 1 / 500))
    assert c["statistic"] == pytest.approx(z, abs=TOL)
    assert c["p_value"] == pytest.approx(2 * (1 - stats.norm.cdf(abs(z))), abs=TOL)
    same = col(compute_drift(pd.DataFrame({"k": ["x"] * 10}), pd.DataFrame({"k": ["x"] * 5})), "k")
    # forced on three categories: the share of the most common reference category
    three = col(
        compute_drift(
            pd.DataFrame({"k": ["a"] * 50 + ["b"] * 30 + ["c"] * 20}),
            pd.DataFrame({"k": ["a"] * 20 + ["b"] * 40 + ["c"] * 40}),
            methods={"*": "z"},
        ),
        "k",
    )
    z3 = (0.5 - 0.2) / math.sqrt(0.35 * 0.65 * (1 / 100 + 1 / 100))
    assert three["statistic"] == pytest.approx(z3, abs=TOL) and three["drifted"] is True
    assert "on the share of 'a' of 3 categories" in three["reason"]
    assert same["p_value"] == 1.0 and same["drifted"] is False


def test_jensenshannon_categorical_matches_scipy():
    g = rng(3)
    ref = pd.Series(g.choice(list("abcde"), 5000, p=[0.4, 0.3, 0.15, 0.1, 0.05]))
    cur = pd.Series(g.choice(list("abcdf"), 3000, p=[0.3, 0.3, 0.2, 0.1, 0.1]))
    c = col(compute_drift(ref.to_frame("k"), cur.to_frame("k")), "k")
    assert c["method"] == "jensenshannon"
    keys = sorted(set(ref) | set(cur))
    p = np.array([(ref == k).sum() for k in keys]) / len(ref)
    q = np.array([(cur == k).sum() for k in keys]) / len(cur)
    expected = distance.jensenshannon(p, q)
    assert c["statistic"] == pytest.approx(expected, abs=TOL)
    assert c["drifted"] is bool(expected >= 0.1)


def evidently_binned(a, b, fill):
    """Evidently's get_binned_data for a numeric column with > 20 distinct values."""
    bins = np.histogram_bin_edges(np.concatenate([a, b]), bins="sturges")
    p = np.histogram(a, bins)[0] / len(a)
    q = np.histogram(b, bins)[0] / len(b)
    if fill:
        for arr in (p, q):
            low = arr[arr != 0].min()
            arr[arr == 0] = low / 10**6 if low <= 0.0001 else 0.0001
    return p, q


def test_binned_methods_match_reference_formulas():
    g = rng(4)
    a, b = g.normal(size=4000), g.normal(0.3, 1.2, size=2500)
    ra, rb = pd.DataFrame({"x": a}), pd.DataFrame({"x": b})
    p, q = evidently_binned(a, b, fill=False)
    js = col(compute_drift(ra, rb, methods={"x": "jensenshannon"}), "x")
    assert js["statistic"] == pytest.approx(distance.jensenshannon(p, q), abs=TOL)
    hel = col(compute_drift(ra, rb, methods={"x": "hellinger"}), "x")
    assert hel["statistic"] == pytest.approx(math.sqrt(1 - np.sum(np.sqrt(p * q))), abs=TOL)
    pf, qf = evidently_binned(a, b, fill=True)
    psi = col(compute_drift(ra, rb, methods={"x": "psi"}), "x")
    assert psi["statistic"] == pytest.approx(np.sum((pf - qf) * np.log(pf / qf)), abs=TOL)
    assert psi["threshold"] == 0.1 and psi["drifted"] is bool(psi["statistic"] >= 0.1)
    kl = col(compute_drift(ra, rb, methods={"x": "kl_div"}), "x")
    assert kl["statistic"] == pytest.approx(stats.entropy(pf, qf), abs=TOL)


def test_sturges_edges_and_histogram_match_numpy():
    g = rng(5)
    for size in (30, 1001, 50000):
        a = np.sort(g.normal(size=size).round(1))  # values on edges, ties
        edges = D.sturges_edges(a[0], a[-1], a.size)
        assert np.array_equal(edges, np.histogram_bin_edges(a, bins="sturges"))
        assert np.array_equal(D.histogram_sorted(a, edges), np.histogram(a, edges)[0])
        assert np.array_equal(D._sorted_unique(a), np.unique(a))
        inner = np.linspace(a[0] + 0.05, a[-1] - 0.05, 7)  # values outside are not counted
        assert np.array_equal(D.histogram_sorted(a, inner), np.histogram(a, inner)[0])
    const = np.full(10, 2.0)
    assert np.array_equal(
        D.sturges_edges(2.0, 2.0, 10), np.histogram_bin_edges(const, bins="sturges")
    )


# -- which test runs, and why ----------------------------------------------------------------


def test_default_methods_follow_reference_size_and_type():
    g = rng(6)

    def frame(n):
        return pd.DataFrame(
            {
                "num": g.normal(size=n),
                "few": g.integers(0, 4, n),  # 4 distinct numbers → categorical tests
                "binary": g.integers(0, 2, n),
                "cat": pd.Series(g.choice(list("abc"), n), dtype="str"),
                "flag": g.random(n) > 0.5,
            }
        )

    small = compute_drift(frame(1000), frame(700)).to_dict()["columns"]
    assert {k: v["method"] for k, v in small.items()} == {
        "num": "ks",
        "few": "chisquare",
        "binary": "z",
        "cat": "chisquare",
        "flag": "z",
    }
    assert small["num"]["reason"] == (
        "reference has 1,000 values (≤ 1,000): two-sample "
        "Kolmogorov–Smirnov test, drift when p < 0.05"
    )
    assert "numeric with 4 distinct values (≤ 5), tested as categorical" in small["few"]["reason"]
    assert small["num"]["type"] == "numeric" and small["cat"]["type"] == "categorical"
    large = compute_drift(frame(1001), frame(700)).to_dict()["columns"]
    assert {k: v["method"] for k, v in large.items()} == {
        "num": "wasserstein",
        "few": "jensenshannon",
        "binary": "jensenshannon",
        "cat": "jensenshannon",
        "flag": "jensenshannon",
    }
    assert large["num"]["reason"] == (
        "reference has 1,001 values (> 1,000): Wasserstein distance normalised by the "
        "reference std, drift when ≥ 0.1"
    )
    assert large["num"]["threshold"] == 0.1 and small["num"]["threshold"] == 0.05


def test_overrides_methods_thresholds_types():
    g = rng(7)
    ref = pd.DataFrame(
        {"a": g.normal(size=3000), "b": g.normal(size=3000), "code": g.integers(100, 110, 3000)}
    )
    cur = ref.copy()
    cur["a"] += 0.15
    rep = compute_drift(
        ref,
        cur,
        methods={"*": "psi", "b": "ks"},
        thresholds={"a": 0.5},
        column_types={"code": "categorical"},
    )
    d = rep.to_dict()["columns"]
    assert d["a"]["method"] == "psi" and d["a"]["threshold"] == 0.5
    assert "method 'psi' set for all columns" in d["a"]["reason"]
    assert d["b"]["method"] == "ks" and "set for this column" in d["b"]["reason"]
    assert d["code"]["type"] == "categorical" and d["code"]["method"] == "psi"
    assert len(d["code"]["histogram"]["categories"]) == 10
    # "*" with a method that does not fit a column type: that column keeps its default
    mixed = compute_drift(
        pd.DataFrame({"x": g.normal(size=2000), "c": ["u", "v"] * 1000}),
        pd.DataFrame({"x": g.normal(size=2000), "c": ["u", "v"] * 1000}),
        methods={"*": "wasserstein"},
    ).to_dict()["columns"]
    assert mixed["c"]["method"] == "jensenshannon"
    assert "does not apply to categorical data" in mixed["c"]["reason"]


def test_dataset_verdict_from_drift_share():
    g = rng(8)
    ref = pd.DataFrame({f"c{i}": g.normal(size=2000) for i in range(4)})
    cur = ref.copy()
    cur["c0"] += 1.0
    cur["c1"] += 1.0
    rep = compute_drift(ref, cur)
    d = rep.to_dict()
    assert (d["n_drifted"], d["n_columns"], d["share_drifted"]) == (2, 4, 0.5)
    assert d["dataset_drift"] is True and d["drift_share"] == 0.5
    assert rep.drifted_columns == ["c0", "c1"]
    assert compute_drift(ref, cur, drift_share=0.75).to_dict()["dataset_drift"] is False
    assert d["reference_rows"] == 2000 and d["current_rows"] == 2000


def test_report_shape_histograms_and_summary():
    g = rng(9)
    ref = pd.DataFrame(
        {"x": g.uniform(0, 10, 5000), "k": [f"v{i}" for i in g.integers(0, 40, 5000)]}
    )
    cur = pd.DataFrame(
        {"x": g.uniform(-2, 12, 4000), "k": [f"v{i}" for i in g.integers(0, 45, 4000)]}
    )
    d = compute_drift(ref, cur).to_dict()
    json.dumps(d, allow_nan=False)
    h = d["columns"]["x"]["histogram"]
    assert len(h["edges"]) == 23  # 20 bins over the reference range + one each side
    assert h["edges"][0] == pytest.approx(cur["x"].min())
    assert h["edges"][-1] == pytest.approx(cur["x"].max())
    assert sum(h["reference"]) == pytest.approx(1.0) and sum(h["current"]) == pytest.approx(1.0)
    assert h["reference"][0] == 0 and h["current"][0] > 0.1
    x = d["columns"]["x"]
    assert x["reference_mean"] == pytest.approx(ref["x"].mean())
    assert x["current_median"] == pytest.approx(cur["x"].median())
    assert x["reference_count"] == 5000 and x["current_count"] == 4000
    k = d["columns"]["k"]["histogram"]
    assert len(k["categories"]) == 31 and k["categories"][-1] == "(other)"
    assert sum(k["current"]) == pytest.approx(1.0)
    assert d["columns"]["k"]["unseen_in_reference"] == 5


# -- detection power and false alarms --------------------------------------------------------


def test_mean_shift_and_category_mix_detected():
    g = rng(10)
    small_ref = pd.DataFrame(
        {"x": g.normal(size=500), "k": g.choice(list("abc"), 500, p=[0.5, 0.3, 0.2])}
    )
    small_cur = pd.DataFrame(
        {"x": g.normal(0.5, 1, 500), "k": g.choice(list("abc"), 500, p=[0.3, 0.3, 0.4])}
    )
    d = compute_drift(small_ref, small_cur).to_dict()["columns"]
    assert d["x"]["method"] == "ks" and d["x"]["drifted"] and d["x"]["p_value"] < 1e-6
    assert d["k"]["method"] == "chisquare" and d["k"]["drifted"]
    big_ref = pd.DataFrame(
        {"x": g.normal(size=20000), "k": g.choice(list("abc"), 20000, p=[0.5, 0.3, 0.2])}
    )
    big_cur = pd.DataFrame(
        {"x": g.normal(0.3, 1, 20000), "k": g.choice(list("abc"), 20000, p=[0.3, 0.3, 0.4])}
    )
    d = compute_drift(big_ref, big_cur).to_dict()["columns"]
    assert d["x"]["method"] == "wasserstein" and d["x"]["score"] == pytest.approx(0.3, abs=0.03)
    assert d["x"]["drifted"]
    assert d["k"]["method"] == "jensenshannon" and d["k"]["drifted"]


def test_false_alarm_rates_over_repeated_samples():
    g = rng(11)
    reps = 200
    ks_alarms = chi_alarms = 0
    for _ in range(reps):
        ref = pd.DataFrame(
            {"x": g.normal(size=300), "k": g.choice(list("abcd"), 300, p=[0.4, 0.3, 0.2, 0.1])}
        )
        cur = pd.DataFrame(
            {"x": g.normal(size=200), "k": g.choice(list("abcd"), 200, p=[0.4, 0.3, 0.2, 0.1])}
        )
        d = compute_drift(ref, cur).to_dict()["columns"]
        ks_alarms += d["x"]["drifted"]
        chi_alarms += d["k"]["drifted"]
    # a test at p < 0.05 alarms in ~5% of same-distribution samples: Binomial(200, 0.05)
    # has mean 10 and sd 3.1; [2, 20] holds it with probability > 99.9%
    assert 2 <= ks_alarms <= 20, ks_alarms
    assert 2 <= chi_alarms <= 20, chi_alarms
    # Evidently's goodness-of-fit chi-squared (reference shares taken as exact) on the same
    # kind of samples alarms about four times as often: why LabCycle tests homogeneity
    gof_alarms = 0
    for _ in range(reps):
        r = np.bincount(g.choice(4, 300, p=[0.4, 0.3, 0.2, 0.1]), minlength=4)
        c = np.bincount(g.choice(4, 200, p=[0.4, 0.3, 0.2, 0.1]), minlength=4)
        gof_alarms += stats.chisquare(c, r * 200 / 300).pvalue < 0.05
    assert gof_alarms > 25, gof_alarms
    # the distances with their 0.1 thresholds do not alarm on large same-distribution data
    dist_alarms, max_w, max_js = 0, 0.0, 0.0
    for _ in range(reps):
        ref = pd.DataFrame(
            {"x": g.normal(size=5000), "k": g.choice(list("abcd"), 5000, p=[0.4, 0.3, 0.2, 0.1])}
        )
        cur = pd.DataFrame(
            {"x": g.normal(size=3000), "k": g.choice(list("abcd"), 3000, p=[0.4, 0.3, 0.2, 0.1])}
        )
        rep = compute_drift(ref, cur)
        dist_alarms += rep.n_drifted
        max_w = max(max_w, rep.columns["x"].score)
        max_js = max(max_js, rep.columns["k"].score)
    assert dist_alarms == 0
    assert max_w < 0.08 and max_js < 0.05  # well under the 0.1 thresholds


# -- data types and Parquet ----------------------------------------------------------------


def test_parquet_round_trip_string_category_nullable(tmp_path):
    g = rng(12)
    n = 3000

    def frame(shift):
        return pd.DataFrame(
            {
                "num": g.normal(shift, 1, n),
                "ints": pd.array(
                    np.where(g.random(n) < 0.1, None, g.integers(0, 50, n)), dtype="Int64"
                ),
                "text": pd.Series(g.choice(["red", "green", "blue", None], n), dtype="str"),
                "cat": pd.Series(g.choice(list("xyz"), n)).astype("category"),
                "flag": pd.array(g.random(n) > 0.5, dtype="boolean"),
            }
        )

    ref, cur = frame(0), frame(0.5)
    assert str(ref["text"].dtype) == "str"  # pandas 3's default string dtype
    expected = compute_drift(ref, cur).to_dict()
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_parquet(tmp_path / "cur.parquet")
    for backend in (None, "pyarrow"):
        kw = {"dtype_backend": backend} if backend else {}
        r = pd.read_parquet(tmp_path / "ref.parquet", **kw)
        c = pd.read_parquet(tmp_path / "cur.parquet", **kw)
        if backend:
            assert isinstance(r["num"].dtype, pd.ArrowDtype)
        got = compute_drift(r, c).to_dict()
        for name, want in expected["columns"].items():
            have = got["columns"][name]
            assert (have["type"], have["method"], have["drifted"]) == (
                want["type"],
                want["method"],
                want["drifted"],
            ), name
            assert have["statistic"] == pytest.approx(want["statistic"], abs=TOL), name
    assert expected["columns"]["num"]["drifted"] is True
    assert expected["columns"]["ints"]["reference_count"] == int(ref["ints"].notna().sum())
    assert expected["columns"]["text"]["type"] == "categorical"
    assert expected["columns"]["flag"]["method"] == "jensenshannon"


def test_inputs_are_not_modified():
    g = rng(13)
    ref = pd.DataFrame({"x": g.normal(size=50000)})
    cur = pd.DataFrame({"x": g.normal(size=50000)})
    before = ref["x"].to_numpy().copy()
    compute_drift(ref, cur)
    assert np.array_equal(ref["x"].to_numpy(), before)


# -- hostile input --------------------------------------------------------------------------


def test_empty_frames_are_clear_errors():
    ok = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(InvalidInput) as e:
        compute_drift(ok, ok.iloc[:0])
    assert e.value.details["field"] == "current" and "no rows" in e.value.message
    with pytest.raises(InvalidInput) as e:
        compute_drift(pd.DataFrame(), ok)
    assert e.value.details["field"] == "reference"
    with pytest.raises(InvalidInput):
        compute_drift([1, 2, 3], ok)


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"columns": ["nope"]}, "columns"),
        ({"columns": []}, "columns"),
        ({"methods": {"x": "magic"}}, "methods"),
        ({"methods": {"k": "ks"}}, "methods"),
        ({"thresholds": {"x": -1}}, "thresholds"),
        ({"thresholds": {"*": float("nan")}}, "thresholds"),
        ({"thresholds": {"x": "0.1"}}, "thresholds"),
        ({"column_types": {"x": "text"}}, "column_types"),
        ({"drift_share": 0}, "drift_share"),
        ({"drift_share": 1.5}, "drift_share"),
        ({"methods": ["ks"]}, "methods"),
    ],
)
def test_bad_options_name_the_field(kwargs, field):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "k": ["a", "b", "c"]})
    with pytest.raises(InvalidInput) as e:
        compute_drift(frame, frame, **kwargs)
    assert e.value.details["field"] == field


def test_nan_inf_all_missing_and_missing_columns_are_skipped_or_excluded():
    g = rng(14)
    ref = pd.DataFrame(
        {
            "x": np.r_[g.normal(size=995), [np.nan, np.inf, -np.inf, np.nan, np.nan]],
            "empty_cur": g.normal(size=1000),
            "empty_ref": [np.nan] * 1000,
            "gone": g.normal(size=1000),
            "when": pd.date_range("2024-01-01", periods=1000, freq="h"),
            "text_nan": pd.Series([None] * 1000, dtype="str"),
        }
    )
    cur = pd.DataFrame(
        {
            "x": np.r_[g.normal(size=490), [np.inf] * 10],
            "empty_cur": [np.nan] * 500,
            "empty_ref": g.normal(size=500),
            "when": pd.date_range("2025-01-01", periods=500, freq="h"),
            "text_nan": pd.Series(["a"] * 500, dtype="str"),
        }
    )
    rep = compute_drift(ref, cur)
    d = rep.to_dict()
    json.dumps(d, allow_nan=False)
    x = d["columns"]["x"]
    assert x["skipped"] is False and x["reference_count"] == 995 and x["current_count"] == 490
    assert x["method"] == "ks"
    for name, words in [
        ("empty_cur", "current data has no finite values"),
        ("empty_ref", "reference data has no finite values"),
        ("gone", "current data has no such column"),
        ("when", "dates and times are not tested"),
        ("text_nan", "reference data has only missing values"),
    ]:
        c = d["columns"][name]
        assert c["skipped"] is True and c["drifted"] is False and c["method"] is None, name
        assert words in c["reason"], (name, c["reason"])
    assert d["n_columns"] == 1 and d["n_skipped"] == 5


def test_mixed_objects_one_row_reference_and_unhashable_values():
    mixed_ref = pd.DataFrame({"m": pd.Series([1, "a", 2.5, None, "a", 1] * 20, dtype=object)})
    mixed_cur = pd.DataFrame({"m": pd.Series(["a", "b", 1, 2.5] * 10, dtype=object)})
    c = col(compute_drift(mixed_ref, mixed_cur), "m")
    assert c["type"] == "categorical" and c["method"] == "chisquare" and c["drifted"] is True
    assert set(c["histogram"]["categories"]) == {"1", "a", "2.5", "b"}
    # a numeric reference with text in the current data: numbers compared, text left out
    numeric = col(
        compute_drift(
            pd.DataFrame({"v": np.arange(100.0)}),
            pd.DataFrame({"v": pd.Series([1.0, "oops", 3.0] * 10, dtype=object)}),
        ),
        "v",
    )
    assert numeric["type"] == "numeric" and numeric["current_count"] == 20
    assert "0 reference and 10 current values are not numbers" in numeric["reason"]
    one = col(compute_drift(pd.DataFrame({"x": [1.0]}), pd.DataFrame({"x": np.arange(50.0)})), "x")
    ks = stats.ks_2samp([1.0], np.arange(50.0))
    assert one["method"] == "ks" and one["p_value"] == pytest.approx(ks.pvalue, abs=TOL)
    lists = col(
        compute_drift(
            pd.DataFrame({"l": [[1], [2], [1]] * 10}), pd.DataFrame({"l": [[1], [3]] * 10})
        ),
        "l",
    )
    assert lists["type"] == "categorical" and lists["drifted"] is True
    dup = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(InvalidInput):
        compute_drift(dup, dup)


def test_summarize_column():
    s = D.summarize_column(pd.Series([1.0, 2.0, np.nan, 4.0]))
    assert (
        s["type"] == "numeric" and s["missing_share"] == 0.25 and s["mean"] == pytest.approx(7 / 3)
    )
    t = D.summarize_column(pd.Series(["a", "b", "a", None], dtype="str"))
    assert t["unique"] == 2 and t["top"][0] == {"value": "a", "share": pytest.approx(2 / 3)}
    assert set(D.METHODS) >= {"ks", "wasserstein", "chisquare", "jensenshannon", "psi"}
