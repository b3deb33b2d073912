"""Drift statistics: is the current data distributed like the reference data?

One function, :func:`compute_drift`, tests every column of a pair of data frames and gives a
dataset-level verdict from the share of drifting columns. The statistics are vectorised
NumPy/SciPy; every column result says which test ran and why.

How a test is chosen (the defaults of Evidently's ``DataDriftPreset``, which practitioners
know, with one correction: the chi-squared test compares the two samples, see
:func:`chisquare_counts`; ``n`` is the number of non-missing reference values of the column, ``k`` the number of
distinct values in reference and current together):

============================  ==================================  ===========================
column                        n ≤ 1,000 (small reference)         n > 1,000 (large reference)
============================  ==================================  ===========================
numeric, k > 5                two-sample Kolmogorov–Smirnov,      Wasserstein distance divided
                              drift when p < 0.05 (``ks``)        by the reference standard
                                                                  deviation, drift when ≥ 0.1
                                                                  (``wasserstein``)
categorical (or numeric with  chi-squared test of homogeneity,    Jensen–Shannon distance of
k ≤ 5), k > 2                 drift when p < 0.05 (``chisquare``)  the value shares, drift
                                                                  when ≥ 0.1 (``jensenshannon``)
categorical, k ≤ 2            z-test of two proportions,          as above (``jensenshannon``)
                              drift when p < 0.05 (``z``)
============================  ==================================  ===========================

A tiny reference makes a test weak, so a p-value test (which knows the sample size) is
used; with a large reference every p-value is tiny for a negligible shift, so an effect-size
distance with a fixed threshold is used instead. Numeric columns with at most five distinct
values (flags, ratings) behave like categories and are tested as such, as Evidently does.

Selectable with ``methods=`` (per column, or ``"*"`` for all): ``ks``, ``wasserstein``,
``chisquare``, ``z``, ``jensenshannon``, ``psi`` (population stability index, drift when
≥ 0.1), ``kl_div`` (Kullback–Leibler divergence of reference from current, ≥ 0.1) and
``hellinger`` (Hellinger distance, ≥ 0.1). The binned methods (``jensenshannon``, ``psi``,
``kl_div``, ``hellinger``) bin a numeric column with more than 20 distinct reference values
into equal-width bins over the range of both samples, with NumPy's Sturges rule (as
Evidently), otherwise they use the shares of each distinct value. ``psi`` and ``kl_div``
replace empty shares by a small number (Evidently's rule: 1e-4, or a millionth of the
smallest non-zero share when that is at most 1e-4) so the logarithms stay finite.

Missing values (None, NaN, NaT) and ±inf are left out of every test; the data quality report
(:mod:`labcycle.monitoring.quality`) counts them. A column with no values left on either side
is reported as skipped, with the reason, and does not count in the dataset verdict.

Agreement with SciPy: ``ks`` gives the statistic and p-value of ``scipy.stats.ks_2samp``
(method ``auto``: exact up to 10,000 rows a side, asymptotic beyond); ``wasserstein`` equals
``scipy.stats.wasserstein_distance`` divided by ``max(std(reference), 0.001)``; ``chisquare``
is ``scipy.stats.chi2_contingency`` of the 2 × k table of counts, without Yates' correction
(Evidently runs a goodness-of-fit ``scipy.stats.chisquare`` instead, which over-alarms: see
:func:`chisquare_counts`); ``jensenshannon`` is ``scipy.spatial.distance.jensenshannon``;
``kl_div`` is ``scipy.stats.entropy``. Both sides are sorted once per numeric column and the KS statistic,
the Wasserstein integral, the histograms and the quantiles are read from the sorted arrays
(``np.searchsorted``, ``np.cumsum``) instead of sorting again for every statistic, and the
columns are computed on a small thread pool (NumPy releases the GIL while it sorts).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

from ..errors import InvalidInput

# -- names and defaults, in one place ---------------------------------------------------------

NUMERIC = "numeric"
CATEGORICAL = "categorical"
COLUMN_TYPES = (NUMERIC, CATEGORICAL)

KS = "ks"
WASSERSTEIN = "wasserstein"
CHISQUARE = "chisquare"
ZTEST = "z"
JENSENSHANNON = "jensenshannon"
PSI = "psi"
KL_DIV = "kl_div"
HELLINGER = "hellinger"


@dataclass(frozen=True)
class Method:
    """A drift statistic: its name, what its score is, and its default threshold."""

    name: str
    title: str
    kind: str  # "p_value": drift when score < threshold; "distance": drift when score >= threshold
    default_threshold: float
    types: tuple[str, ...]  # column types it applies to

    def drifted(self, score: float, threshold: float) -> bool:
        if self.kind == "p_value":
            return bool(score < threshold)
        return bool(score >= threshold)

    def rule(self, threshold: float) -> str:
        return (
            f"drift when p < {threshold:g}"
            if self.kind == "p_value"
            else f"drift when ≥ {threshold:g}"
        )


METHODS: dict[str, Method] = {
    KS: Method(KS, "two-sample Kolmogorov–Smirnov test", "p_value", 0.05, (NUMERIC,)),
    WASSERSTEIN: Method(
        WASSERSTEIN,
        "Wasserstein distance normalised by the reference std",
        "distance",
        0.1,
        (NUMERIC,),
    ),
    CHISQUARE: Method(CHISQUARE, "chi-squared test", "p_value", 0.05, (CATEGORICAL, NUMERIC)),
    ZTEST: Method(ZTEST, "z-test of two proportions", "p_value", 0.05, (CATEGORICAL, NUMERIC)),
    JENSENSHANNON: Method(
        JENSENSHANNON, "Jensen–Shannon distance", "distance", 0.1, (CATEGORICAL, NUMERIC)
    ),
    PSI: Method(PSI, "population stability index", "distance", 0.1, (CATEGORICAL, NUMERIC)),
    KL_DIV: Method(KL_DIV, "Kullback–Leibler divergence", "distance", 0.1, (CATEGORICAL, NUMERIC)),
    HELLINGER: Method(HELLINGER, "Hellinger distance", "distance", 0.1, (CATEGORICAL, NUMERIC)),
}

#: at most this many non-missing reference values → p-value tests; more → distances
SMALL_REFERENCE = 1000
#: a numeric column with at most this many distinct values is tested as a categorical one
FEW_VALUES = 5
#: binned methods bin a numeric column with more distinct reference values than this
BIN_ABOVE = 20
#: display histograms: bins over the reference range, categories shown before "(other)"
HISTOGRAM_BINS = 20
TOP_CATEGORIES = 30
OTHER = "(other)"
#: floor of the std that normalises the Wasserstein distance (Evidently's)
MIN_STD = 0.001
#: threads for the per-column work (NumPy sorts release the GIL); LABCYCLE_DRIFT_THREADS
DEFAULT_THREADS = 2


# -- results ---------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    """A JSON-safe float: None for NaN/inf/None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass
class ColumnDrift:
    """The drift result of one column (``skipped`` when it could not be tested)."""

    column: str
    type: str
    method: str | None
    statistic: float | None
    p_value: float | None
    score: float | None
    threshold: float | None
    drifted: bool
    reason: str
    reference_count: int = 0
    current_count: int = 0
    skipped: bool = False
    histogram: dict[str, Any] | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "method": self.method,
            "statistic": _num(self.statistic),
            "p_value": _num(self.p_value),
            "score": _num(self.score),
            "threshold": _num(self.threshold),
            "drifted": bool(self.drifted),
            "reason": self.reason,
            "skipped": bool(self.skipped),
            "reference_count": int(self.reference_count),
            "current_count": int(self.current_count),
            "histogram": self.histogram,
        }
        out.update(self.summary)
        return out


@dataclass
class DriftReport:
    """Per-column drift results and the dataset verdict.

    ``dataset_drift`` is true when ``share_drifted >= drift_share`` over the columns that
    were tested (skipped columns count in neither the numerator nor ``n_columns``).
    """

    columns: dict[str, ColumnDrift]
    drift_share: float
    reference_rows: int
    current_rows: int

    @property
    def tested(self) -> list[ColumnDrift]:
        return [c for c in self.columns.values() if not c.skipped]

    @property
    def n_columns(self) -> int:
        return len(self.tested)

    @property
    def n_drifted(self) -> int:
        return sum(1 for c in self.tested if c.drifted)

    @property
    def share_drifted(self) -> float:
        return self.n_drifted / self.n_columns if self.n_columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.n_columns) and self.share_drifted >= self.drift_share

    @property
    def drifted_columns(self) -> list[str]:
        return [name for name, c in self.columns.items() if c.drifted]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset_drift": self.dataset_drift,
            "drift_share": float(self.drift_share),
            "share_drifted": float(self.share_drifted),
            "n_drifted": self.n_drifted,
            "n_columns": self.n_columns,
            "n_skipped": sum(1 for c in self.columns.values() if c.skipped),
            "reference_rows": int(self.reference_rows),
            "current_rows": int(self.current_rows),
            "columns": {str(name): c.to_dict() for name, c in self.columns.items()},
        }


# -- SciPy-equivalent statistics on sorted arrays ----------------------------------------------


def _merge_counts(
    ref_sorted: np.ndarray, cur_sorted: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge two sorted samples: the merged values and, at each merged position, how many
    reference / current values are at or before it (a stable merge, reference first on ties).

    At the last position of a run of equal values the counts are the ``searchsorted(...,
    side="right")`` counts SciPy uses; inside a run they are partial, which only matters for
    statistics evaluated there (the KS statistic looks at run ends only; the Wasserstein
    integral multiplies them by a zero-width step).
    """
    n, m = ref_sorted.size, cur_sorted.size
    pos_cur = np.searchsorted(ref_sorted, cur_sorted, side="right")
    pos_cur += np.arange(m, dtype=pos_cur.dtype)
    is_cur = np.zeros(n + m, dtype=bool)
    is_cur[pos_cur] = True
    merged = np.empty(n + m, dtype=np.float64)
    merged[pos_cur] = cur_sorted
    merged[~is_cur] = ref_sorted
    cur_counts = np.cumsum(is_cur, dtype=np.int64)
    ref_counts = np.arange(1, n + m + 1, dtype=np.int64)
    ref_counts -= cur_counts
    return merged, ref_counts, cur_counts


def ks_2samp_sorted(
    ref_sorted: np.ndarray,
    cur_sorted: np.ndarray,
    merged: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[float, float]:
    """Two-sided two-sample KS statistic and p-value, as ``scipy.stats.ks_2samp`` (auto).

    Up to 10,000 values a side SciPy computes the exact p-value; that is cheap there, so it
    is delegated to SciPy. Beyond, the statistic is read from the merged sorted samples and the
    p-value is Smirnov's asymptotic ``kstwo.sf(d, round(n·m/(n+m)))``, as SciPy does.
    """
    n, m = ref_sorted.size, cur_sorted.size
    if n == 0 or m == 0:
        raise ValueError("KS needs values on both sides")
    if max(n, m) <= 10000:
        res = stats.ks_2samp(ref_sorted, cur_sorted)
        return float(res.statistic), float(res.pvalue)
    values, rc, cc = merged if merged is not None else _merge_counts(ref_sorted, cur_sorted)
    ends = np.empty(values.size, dtype=bool)
    np.not_equal(values[1:], values[:-1], out=ends[:-1])
    ends[-1] = True
    diff = rc[ends] / n - cc[ends] / m
    d = float(max(diff.max(), np.clip(-diff.min(), 0, 1)))
    big, small = sorted([float(n), float(m)], reverse=True)
    en = big * small / (big + small)
    p = float(np.clip(stats.kstwo.sf(d, np.round(en)), 0, 1))
    return d, p


def wasserstein_sorted(
    ref_sorted: np.ndarray,
    cur_sorted: np.ndarray,
    merged: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> float:
    """``scipy.stats.wasserstein_distance`` (unweighted) of two sorted samples:
    the integral of ``|F_ref - F_cur|`` over the merged values."""
    n, m = ref_sorted.size, cur_sorted.size
    if n == 0 or m == 0:
        raise ValueError("Wasserstein needs values on both sides")
    values, rc, cc = merged if merged is not None else _merge_counts(ref_sorted, cur_sorted)
    gap = rc[:-1] / n
    gap -= cc[:-1] / m
    np.abs(gap, out=gap)
    return float(np.dot(gap, np.diff(values)))


def sturges_edges(lo: float, hi: float, size: int) -> np.ndarray:
    """``np.histogram_bin_edges(a, bins="sturges")`` from ``a``'s min, max and size."""
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
        # numpy computes the width on the data (ptp 0 → width 0 → 1 bin)
        return np.linspace(lo, hi, 2)
    width = (hi - lo) / (np.log2(size) + 1.0)
    bins = int(np.ceil((hi - lo) / width))
    return np.linspace(lo, hi, bins + 1, endpoint=True)


def histogram_sorted(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(values, edges)[0]`` from sorted values: bins ``[e_i, e_i+1)``, the last
    one closed, values outside the edges not counted."""
    left = np.searchsorted(sorted_values, edges, side="left")
    counts = np.diff(left)
    counts[-1] = np.searchsorted(sorted_values, edges[-1], side="right") - left[-2]
    return counts


def _sorted_unique(sorted_values: np.ndarray) -> np.ndarray:
    """``np.unique`` of an already sorted array, without sorting it again."""
    if sorted_values.size == 0:
        return sorted_values
    keep = np.empty(sorted_values.size, dtype=bool)
    keep[0] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=keep[1:])
    return sorted_values[keep]


def _sorted_counts(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct values of two sorted arrays and how often each occurs in each."""
    keys = np.union1d(_sorted_unique(ref), _sorted_unique(cur))
    return (
        keys,
        np.diff(np.searchsorted(ref, keys, side="left"), append=ref.size),
        np.diff(np.searchsorted(cur, keys, side="left"), append=cur.size),
    )


def _fill_zeroes(shares: np.ndarray) -> np.ndarray:
    """Evidently's rule for empty bins in PSI/KL: 1e-4, or a millionth of the smallest
    non-zero share when that is at most 1e-4."""
    shares = shares.astype(np.float64, copy=True)
    nonzero = shares[shares != 0]
    if nonzero.size:
        low = nonzero.min()
        shares[shares == 0] = low / 10**6 if low <= 0.0001 else 0.0001
    return shares


def _binned_score(method: str, ref_share: np.ndarray, cur_share: np.ndarray) -> float:
    if method == JENSENSHANNON:
        return float(distance.jensenshannon(ref_share, cur_share))
    if method == HELLINGER:
        total = float(np.sum(np.sqrt(ref_share * cur_share)))
        return math.sqrt(1.0 - min(max(total, 0.0), 1.0))
    ref_f, cur_f = _fill_zeroes(ref_share), _fill_zeroes(cur_share)
    if method == PSI:
        return float(np.sum((ref_f - cur_f) * np.log(ref_f / cur_f)))
    if method == KL_DIV:
        return float(stats.entropy(ref_f, cur_f))
    raise ValueError(method)


def chisquare_counts(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """Chi-squared test of homogeneity of the two samples' category counts (the 2 × k table):
    ``scipy.stats.chi2_contingency(table, correction=False)``.

    Not Evidently's variant, which tests the current counts for goodness of fit to the
    reference shares (``scipy.stats.chisquare``) as if those shares were exact: they are
    estimates from a sample too, so that test alarms far more often than its p-value says
    (about 20% of same-distribution samples at p < 0.05 with 300 reference and 200 current
    rows, measured in tests/monitoring/test_drift_stats.py); the homogeneity test keeps the
    nominal 5%. A category seen on one side only is an ordinary cell of the table.
    """
    table = np.vstack(
        [np.asarray(ref_counts, dtype=np.float64), np.asarray(cur_counts, dtype=np.float64)]
    )
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0  # one category on both sides: nothing can differ
    res = stats.chi2_contingency(table, correction=False)
    return float(res.statistic), float(res.pvalue)


def ztest_counts(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """Two-proportion z-test on the share of the first category (of at most two), as
    Evidently: ``z = (p1 - p2) / sqrt(P(1-P)(1/n1 + 1/n2))``, two-sided normal p-value.
    Both samples holding the one same value → z = 0, p = 1."""
    ref_counts = np.asarray(ref_counts, dtype=np.float64)
    cur_counts = np.asarray(cur_counts, dtype=np.float64)
    n1, n2 = ref_counts.sum(), cur_counts.sum()
    p1, p2 = ref_counts[0] / n1, cur_counts[0] / n2
    pooled = (ref_counts[0] + cur_counts[0]) / (n1 + n2)
    var = pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2)
    if var == 0:
        return 0.0, 1.0
    z = (p1 - p2) / math.sqrt(var)
    return float(z), float(2 * stats.norm.sf(abs(z)))


# -- column preparation ------------------------------------------------------------------------


def infer_column_type(series: pd.Series) -> str | None:
    """``numeric`` for numbers (not booleans), ``categorical`` for strings, categories,
    booleans and other objects, ``None`` for dates and times (not tested)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return CATEGORICAL
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        t = dtype.pyarrow_dtype
        if pa.types.is_boolean(t):
            return CATEGORICAL
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            return NUMERIC
        if pa.types.is_temporal(t):
            return None
        return CATEGORICAL
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return None
    if isinstance(dtype, pd.PeriodDtype | pd.IntervalDtype):
        return None
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return NUMERIC
    return CATEGORICAL


def _numeric_values(series: pd.Series) -> tuple[np.ndarray, int]:
    """Finite float64 values, sorted, and how many entries were not numbers at all."""
    not_numbers = 0
    if (
        pd.api.types.is_numeric_dtype(series.dtype)
        and not pd.api.types.is_bool_dtype(series.dtype)
        and not pd.api.types.is_complex_dtype(series.dtype)
    ):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        coerced = pd.to_numeric(series.astype(object), errors="coerce")
        not_numbers = int(coerced.isna().sum() - series.isna().sum())
        values = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(values)
    if not finite.all():
        values = values[finite]  # a new array
    elif not values.flags.owndata:  # a view of the caller's data: never sort that in place
        values = values.copy()
    values.sort()
    return values, not_numbers


def _value_counts(series: pd.Series) -> pd.Series:
    """Counts of each non-missing value (±inf counted as missing, as for numbers)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        counts = np.bincount(codes[codes >= 0], minlength=len(series.cat.categories))
        out = pd.Series(counts, index=series.cat.categories.astype(object))
        return out[out > 0]
    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        series = pd.Series(values[np.isfinite(values)])
    try:
        counts = series.value_counts(dropna=True, sort=False)
        if counts.index.dtype == object:
            hash(tuple(counts.index))  # lists or dicts can slip through value_counts
    except TypeError:  # unhashable values (lists, dicts): compare their text
        counts = series.dropna().map(repr).value_counts(sort=False)
    counts = counts[counts > 0]
    if counts.index.dtype == object:
        keep = [not (isinstance(k, float) and not math.isfinite(k)) for k in counts.index]
        counts = counts[keep]
    return counts.astype(np.int64)


def _aligned_counts(ref: pd.Series, cur: pd.Series) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """The union of the categories and the counts of each on both sides."""
    both = pd.concat([ref.rename("r"), cur.rename("c")], axis=1, sort=False).fillna(0)
    return list(both.index), both["r"].to_numpy(np.int64), both["c"].to_numpy(np.int64)


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


# -- per-column drift --------------------------------------------------------------------------


@dataclass
class _Choice:
    method: str
    threshold: float
    reason: str


def _default_method(col_type: str, n_ref: int, distinct: int) -> tuple[str, str]:
    small = n_ref <= SMALL_REFERENCE
    size = f"reference has {n_ref:,} values ({'≤' if small else '>'} {SMALL_REFERENCE:,})"
    if col_type == NUMERIC and distinct > FEW_VALUES:
        return (KS, size) if small else (WASSERSTEIN, size)
    prefix = ""
    if col_type == NUMERIC:
        prefix = (
            f"numeric with {distinct} distinct values (≤ {FEW_VALUES}), tested as categorical; "
        )
    if not small:
        return JENSENSHANNON, prefix + size
    if distinct <= 2:
        return ZTEST, prefix + size + f", {distinct} categor{'y' if distinct == 1 else 'ies'}"
    return CHISQUARE, prefix + size


def _choose(
    name: str,
    col_type: str,
    n_ref: int,
    distinct: int,
    methods: dict[str, str],
    thresholds: dict[str, float],
) -> _Choice:
    method, why = _default_method(col_type, n_ref, distinct)
    if name in methods:
        method = methods[name]
        why = f"method {method!r} set for this column"
    elif "*" in methods:
        wanted = methods["*"]
        if col_type in METHODS[wanted].types:
            method, why = wanted, f"method {wanted!r} set for all columns"
        else:
            why += f" (the method {wanted!r} set for all columns does not apply to {col_type} data)"
    spec = METHODS[method]
    if name in thresholds:
        threshold = thresholds[name]
    elif "*" in thresholds:
        threshold = thresholds["*"]
    else:
        threshold = spec.default_threshold
    return _Choice(method, float(threshold), f"{why}: {spec.title}, {spec.rule(float(threshold))}")


def _skipped(
    name: str, col_type: str | None, reason: str, n_ref: int = 0, n_cur: int = 0
) -> ColumnDrift:
    return ColumnDrift(
        column=name,
        type=col_type or "other",
        method=None,
        statistic=None,
        p_value=None,
        score=None,
        threshold=None,
        drifted=False,
        reason=reason,
        reference_count=n_ref,
        current_count=n_cur,
        skipped=True,
    )


def _numeric_histogram(ref: np.ndarray, cur: np.ndarray) -> dict[str, Any]:
    """Shares in ~20 equal bins over the reference range; when the current data goes beyond
    it, one more bin on that side reaches the current minimum / maximum."""
    lo, hi = float(ref[0]), float(ref[-1])
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, HISTOGRAM_BINS + 1)
    if cur.size and cur[0] < lo:
        edges = np.concatenate([[float(cur[0])], edges])
    if cur.size and cur[-1] > hi:
        edges = np.concatenate([edges, [float(cur[-1])]])
    r = histogram_sorted(ref, edges) / max(ref.size, 1)
    c = histogram_sorted(cur, edges) / max(cur.size, 1)
    return {
        "edges": [float(e) for e in edges],
        "reference": [float(x) for x in r],
        "current": [float(x) for x in c],
    }


def _numeric_summary(ref: np.ndarray, cur: np.ndarray) -> dict[str, Any]:
    def part(prefix: str, a: np.ndarray) -> dict[str, Any]:
        if not a.size:
            return {f"{prefix}_{k}": None for k in ("mean", "std", "min", "median", "max")}
        return {
            f"{prefix}_mean": _num(a.mean()),
            f"{prefix}_std": _num(a.std()),
            f"{prefix}_min": _num(a[0]),
            f"{prefix}_median": _num((a[(a.size - 1) // 2] + a[a.size // 2]) / 2),  # sorted
            f"{prefix}_max": _num(a[-1]),
        }

    return {**part("reference", ref), **part("current", cur)}


def _categorical_histogram(keys: list[Any], rc: np.ndarray, cc: np.ndarray) -> dict[str, Any]:
    nr, nc = max(int(rc.sum()), 1), max(int(cc.sum()), 1)
    order = np.argsort(-(rc / nr + cc / nc), kind="stable")
    top = order[:TOP_CATEGORIES]
    labels = [_label(keys[i]) for i in top]
    ref_share = [float(rc[i] / nr) for i in top]
    cur_share = [float(cc[i] / nc) for i in top]
    if len(order) > TOP_CATEGORIES:
        rest = order[TOP_CATEGORIES:]
        labels.append(OTHER)
        ref_share.append(float(rc[rest].sum() / nr))
        cur_share.append(float(cc[rest].sum() / nc))
    return {"categories": labels, "reference": ref_share, "current": cur_share}


def _categorical_summary(keys: list[Any], rc: np.ndarray, cc: np.ndarray) -> dict[str, Any]:
    def top(counts: np.ndarray) -> str | None:
        return _label(keys[int(np.argmax(counts))]) if counts.sum() else None

    return {
        "reference_unique": int((rc > 0).sum()),
        "current_unique": int((cc > 0).sum()),
        "reference_top": top(rc),
        "current_top": top(cc),
        "unseen_in_reference": int(((rc == 0) & (cc > 0)).sum()),
    }


def _column_drift(
    name: str,
    ref: pd.Series,
    cur: pd.Series,
    col_type: str | None,
    methods: dict[str, str],
    thresholds: dict[str, float],
) -> ColumnDrift:
    if col_type is None:
        return _skipped(
            name,
            None,
            f"{ref.dtype} column: dates and times are not tested for "
            "drift (set column_types to test it as numeric or categorical)",
        )
    if col_type == NUMERIC:
        return _numeric_drift(name, ref, cur, methods, thresholds)
    return _categorical_drift(name, ref, cur, methods, thresholds, col_type)


def _numeric_drift(
    name: str,
    ref_s: pd.Series,
    cur_s: pd.Series,
    methods: dict[str, str],
    thresholds: dict[str, float],
) -> ColumnDrift:
    ref, ref_bad = _numeric_values(ref_s)
    cur, cur_bad = _numeric_values(cur_s)
    note = ""
    if ref_bad or cur_bad:
        note = (
            f" ({ref_bad:,} reference and {cur_bad:,} current values are not numbers and "
            "were left out)"
        )
    if not ref.size or not cur.size:
        side = "reference" if not ref.size else "current"
        return _skipped(
            name,
            NUMERIC,
            f"the {side} data has no finite values in this column" + note,
            ref.size,
            cur.size,
        )
    # distinct values of both together, without hashing: count value changes in sorted data
    ref_distinct = int(np.count_nonzero(ref[1:] != ref[:-1])) + 1
    cur_distinct = int(np.count_nonzero(cur[1:] != cur[:-1])) + 1
    counts = None  # (values, reference counts, current counts), computed once when needed
    if max(ref_distinct, cur_distinct) > FEW_VALUES:
        distinct = max(ref_distinct, cur_distinct)
    else:
        counts = _sorted_counts(ref, cur)
        distinct = int(counts[0].size)
    choice = _choose(name, NUMERIC, ref.size, distinct, methods, thresholds)
    method = METHODS[choice.method]
    statistic: float
    p_value: float | None = None
    if choice.method in (KS, WASSERSTEIN):
        merged = (
            _merge_counts(ref, cur)
            if max(ref.size, cur.size) > 10000 or (choice.method == WASSERSTEIN)
            else None
        )
        if choice.method == KS:
            statistic, p_value = ks_2samp_sorted(ref, cur, merged)
            score = p_value
        else:
            raw = wasserstein_sorted(ref, cur, merged)
            statistic = raw / max(float(ref.std()), MIN_STD)
            score = statistic
    elif choice.method in (CHISQUARE, ZTEST) or ref_distinct <= BIN_ABOVE:
        if counts is None:
            counts = _sorted_counts(ref, cur)
        _, rc, cc = counts
        if choice.method == CHISQUARE:
            statistic, p_value = chisquare_counts(rc, cc)
            score = p_value
        elif choice.method == ZTEST:
            statistic, p_value = ztest_counts(rc, cc)
            score = p_value
        else:
            statistic = score = _binned_score(choice.method, rc / ref.size, cc / cur.size)
    else:
        edges = sturges_edges(min(ref[0], cur[0]), max(ref[-1], cur[-1]), ref.size + cur.size)
        statistic = score = _binned_score(
            choice.method,
            histogram_sorted(ref, edges) / ref.size,
            histogram_sorted(cur, edges) / cur.size,
        )
    if distinct <= FEW_VALUES:  # a handful of values: shown as categories (counted above)
        assert counts is not None  # few distinct values: counted above
        keys, rc, cc = counts
        histogram = _categorical_histogram(list(keys.tolist()), rc, cc)
    else:
        histogram = _numeric_histogram(ref, cur)
    return ColumnDrift(
        column=name,
        type=NUMERIC,
        method=choice.method,
        statistic=statistic,
        p_value=p_value,
        score=score,
        threshold=choice.threshold,
        drifted=method.drifted(score, choice.threshold) if score == score else False,
        reason=choice.reason + note,
        reference_count=ref.size,
        current_count=cur.size,
        histogram=histogram,
        summary=_numeric_summary(ref, cur),
    )


def _categorical_drift(
    name: str,
    ref_s: pd.Series,
    cur_s: pd.Series,
    methods: dict[str, str],
    thresholds: dict[str, float],
    col_type: str,
) -> ColumnDrift:
    keys, rc, cc = _aligned_counts(_value_counts(ref_s), _value_counts(cur_s))
    n_ref, n_cur = int(rc.sum()), int(cc.sum())
    if not n_ref or not n_cur:
        side = "reference" if not n_ref else "current"
        return _skipped(
            name,
            CATEGORICAL,
            f"the {side} data has only missing values in this column",
            n_ref,
            n_cur,
        )
    choice = _choose(name, CATEGORICAL, n_ref, len(keys), methods, thresholds)
    method = METHODS[choice.method]
    p_value: float | None = None
    if choice.method == CHISQUARE:
        if len(keys) < 2:
            statistic, p_value = 0.0, 1.0
        else:
            statistic, p_value = chisquare_counts(rc, cc)
        score = p_value
    elif choice.method == ZTEST:
        first = 0
        if len(keys) > 2:  # more than two categories: the share of the most common one
            first = int(np.argmax(rc))
            choice.reason += f" (on the share of {_label(keys[first])!r} of {len(keys)} categories)"
        order = [first] + [i for i in range(len(keys)) if i != first]
        statistic, p_value = ztest_counts(rc[order], cc[order])
        score = p_value
    else:
        statistic = score = _binned_score(choice.method, rc / n_ref, cc / n_cur)
    return ColumnDrift(
        column=name,
        type=CATEGORICAL,
        method=choice.method,
        statistic=statistic,
        p_value=p_value,
        score=score,
        threshold=choice.threshold,
        drifted=method.drifted(score, choice.threshold) if score == score else False,
        reason=choice.reason,
        reference_count=n_ref,
        current_count=n_cur,
        histogram=_categorical_histogram(keys, rc, cc),
        summary=_categorical_summary(keys, rc, cc),
    )


# -- validation and the public entry point ---------------------------------------------------


def _frame(value: Any, field_name: str) -> pd.DataFrame:
    if isinstance(value, pd.Series):
        value = value.to_frame(name=value.name if value.name is not None else "value")
    if not isinstance(value, pd.DataFrame):
        raise InvalidInput(
            f"{field_name} must be a pandas DataFrame, not {type(value).__name__}.",
            field=field_name,
        )
    if not value.columns.is_unique:
        dup = value.columns[value.columns.duplicated()][0]
        raise InvalidInput(f"{field_name} has the column {dup!r} more than once.", field=field_name)
    if len(value) == 0:
        raise InvalidInput(
            f"{field_name} has no rows: drift needs data on both sides.", field=field_name
        )
    return value


def _mapping(value: Any, field_name: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(
            f'{field_name} must map column names (or "*") to values.', field=field_name
        )
    return value


def _validate(
    reference: pd.DataFrame,
    columns: list[str] | None,
    column_types: Any,
    methods: Any,
    thresholds: Any,
    drift_share: Any,
) -> tuple[list[Any], dict, dict, dict, float]:
    if (
        isinstance(drift_share, bool)
        or not isinstance(drift_share, int | float)
        or not (0 < drift_share <= 1)
    ):
        raise InvalidInput(
            "drift_share must be a number above 0 and at most 1 (the share of "
            "drifting columns that makes the dataset drift).",
            field="drift_share",
        )
    if columns is None:
        names = list(reference.columns)
    else:
        if isinstance(columns, str) or not hasattr(columns, "__iter__"):
            raise InvalidInput("columns must be a list of column names.", field="columns")
        names = list(dict.fromkeys(columns))
        unknown = [c for c in names if c not in reference.columns]
        if unknown:
            raise InvalidInput(
                f"The reference data has no column {unknown[0]!r}; it has "
                f"{', '.join(map(str, list(reference.columns)[:20]))}.",
                field="columns",
            )
        if not names:
            raise InvalidInput("columns is empty: name at least one column.", field="columns")
    types = _mapping(column_types, "column_types")
    for col, kind in types.items():
        if kind not in COLUMN_TYPES:
            raise InvalidInput(
                f'column_types[{col!r}] must be "numeric" or "categorical", not {kind!r}.',
                field="column_types",
            )
    meths = _mapping(methods, "methods")
    for col, meth in meths.items():
        if meth not in METHODS:
            raise InvalidInput(
                f"methods[{col!r}] must be one of {', '.join(METHODS)}, not {meth!r}.",
                field="methods",
            )
    limits = {}
    for col, limit in _mapping(thresholds, "thresholds").items():
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int | float)
            or not (math.isfinite(limit) and limit > 0)
        ):
            raise InvalidInput(
                f"thresholds[{col!r}] must be a finite number above 0, not {limit!r}.",
                field="thresholds",
            )
        limits[col] = float(limit)
    return names, types, meths, limits, float(drift_share)


def _threads() -> int:
    try:
        wanted = int(os.environ.get("LABCYCLE_DRIFT_THREADS", DEFAULT_THREADS))
    except ValueError:
        wanted = DEFAULT_THREADS
    return max(1, min(wanted, os.cpu_count() or 1))


def compute_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: list[str] | None = None,
    column_types: dict[str, str] | None = None,
    methods: dict[str, str] | None = None,
    thresholds: dict[str, float] | None = None,
    drift_share: float = 0.5,
) -> DriftReport:
    """Test each column of ``current`` for drift from ``reference``.

    Parameters
    ----------
    reference, current
        The two samples (a Series is taken as a one-column frame). Both need rows.
    columns
        Columns to test; default every column of ``reference`` (a column missing from
        ``current`` is reported as skipped). A name not in ``reference`` is an error.
    column_types
        ``"numeric"`` or ``"categorical"`` per column, overriding the inference (numbers →
        numeric; strings, categories, booleans → categorical; dates and times → skipped).
    methods
        A method of :data:`METHODS` per column; the key ``"*"`` applies to every column it
        suits (a column-specific entry wins). Default: the module docstring's table.
    thresholds
        Threshold per column (``"*"`` for all): the p-value limit of a test or the distance
        limit of a distance. Default: the method's (0.05 for tests, 0.1 for distances).
    drift_share
        The dataset drifts when at least this share of the tested columns drift.

    Returns
    -------
    DriftReport
        ``.to_dict()`` is JSON-ready (no NaN).

    Raises
    ------
    InvalidInput
        Empty frames, unknown columns, methods or types, bad thresholds.
    """
    reference = _frame(reference, "reference")
    current = _frame(current, "current")
    names, types, meths, limits, share = _validate(
        reference, columns, column_types, methods, thresholds, drift_share
    )
    for col, meth in meths.items():
        if col == "*" or col not in reference.columns:
            continue
        kind = types.get(col) or infer_column_type(reference[col])
        if kind is not None and kind not in METHODS[meth].types:
            raise InvalidInput(
                f"methods[{col!r}] = {meth!r} does not apply to a {kind} column; "
                f"use one of {', '.join(m for m, s in METHODS.items() if kind in s.types)}.",
                field="methods",
            )

    def one(name: Any) -> ColumnDrift:
        if name not in current.columns:
            return _skipped(
                name,
                types.get(name) or infer_column_type(reference[name]),
                "the current data has no such column (see the data quality report)",
            )
        ref_s, cur_s = reference[name], current[name]
        col_type = types.get(name) or infer_column_type(ref_s)
        try:
            return _column_drift(str(name), ref_s, cur_s, col_type, meths, limits)
        except (TypeError, ValueError, ArithmeticError) as exc:  # odd data in one column
            return _skipped(
                name, col_type, f"could not be tested: {type(exc).__name__}: {exc}"[:300]
            )

    threads = _threads()
    if threads > 1 and len(names) > 1 and len(reference) + len(current) > 200_000:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(one, names))
    else:
        results = [one(n) for n in names]
    return DriftReport(
        columns=dict(zip(names, results, strict=True)),
        drift_share=share,
        reference_rows=len(reference),
        current_rows=len(current),
    )


def summarize_column(series: pd.Series, column_type: str | None = None) -> dict[str, Any]:
    """A small JSON-ready summary of one column: count, missing share and either the
    mean/std/min/median/max (numeric) or the distinct count and top values (categorical)."""
    kind = column_type or infer_column_type(series)
    total = len(series)
    out: dict[str, Any] = {
        "type": kind or "other",
        "count": total,
        "missing_share": float(series.isna().mean()) if total else 0.0,
    }
    if kind == NUMERIC:
        values, _ = _numeric_values(series)
        part = _numeric_summary(values, values[:0])
        out.update(
            {k.replace("reference_", ""): v for k, v in part.items() if k.startswith("reference_")}
        )
    elif kind == CATEGORICAL:
        counts = _value_counts(series).sort_values(ascending=False, kind="stable")
        n = max(int(counts.sum()), 1)
        out["unique"] = len(counts)
        out["top"] = [
            {"value": _label(k), "share": float(v / n)} for k, v in counts.head(10).items()
        ]
    return out
