"""The drift tests: Evidently 0.7's default column tests, in numpy and the standard library.

This one module is the drift engine of both ``mlops_nb.drift`` and the services made by
``mlops-nb productionize``: it is copied byte for byte into a service as ``app/statistics.py``
when the service is rendered, so it imports nothing but numpy (a service image has no pandas,
SciPy or Evidently). ``tests/unit/monitoring/test_stats_parity.py`` checks the scores against
Evidently's, and ``tests/unit/monitoring/test_stats_scipy.py`` each statistic against SciPy's.

==========  ==============  =========================  =============  =============
column      reference rows  distinct values (both)     test           drift when
==========  ==============  =========================  =============  =============
numerical   > 1000          > 5                        wasserstein    score >= 0.1
numerical   > 1000          <= 5                       jensenshannon  score >= 0.1
numerical   <= 1000         > 5                        ks             p <= 0.05
numerical   <= 1000         3..5 / <= 2                chisquare / z  p < 0.05
categorical > 1000          any                        jensenshannon  score >= 0.1
categorical <= 1000         > 2 / <= 2                 chisquare / z  p < 0.05
==========  ==============  =========================  =============  =============

Integer columns with at most 10 distinct reference values are categorical; the dataset drifts when
at least half of its columns do. A :class:`ColumnValues` holds what a test needs from one side
(sorted finite values for numerical columns, value counts for few-valued ones), so a reference's
is built once and every later check only prepares the current side.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SMALL_REFERENCE = 1000  # up to this many reference rows: statistical tests (p-values)
FEW_VALUES = 5  # numerical columns with this few distinct values are tested by value
COUNTS_UP_TO = 20  # keep value counts for numerical columns with at most this many values
MIN_NORM = 0.001  # floor of the Wasserstein normalisation (the reference's std)
INTEGER_CARDINALITY_LIMIT = 10  # integer columns with at most this many values are categorical
SHARE_THRESHOLD = 0.5  # the dataset drifts when this share of its columns drift
EXACT_KS_UP_TO = 10_000  # SciPy's ks_2samp(method="auto"): exact p-values up to this many values

STATTEST_NAMES = {
    "wasserstein": "Wasserstein distance (normed)",
    "jensenshannon": "Jensen-Shannon distance",
    "ks": "K-S p_value",
    "chisquare": "chi-square p_value",
    "z": "Z-test p_value",
}
THRESHOLDS = {"wasserstein": 0.1, "jensenshannon": 0.1, "ks": 0.05, "chisquare": 0.05, "z": 0.05}
IS_DISTANCE = {"wasserstein", "jensenshannon"}


def integer_kind(n_distinct: int) -> str:
    """The kind of an integer column with ``n_distinct`` reference values (Evidently's rule)."""
    return "cat" if n_distinct <= INTEGER_CARDINALITY_LIMIT else "num"


@dataclass(frozen=True)
class ColumnValues:
    """One side of one column, prepared for the tests (nulls and infinities dropped)."""

    kind: str  # "num" or "cat"
    n: int
    n_unique: int
    sorted_values: np.ndarray | None = None  # numerical columns
    counts: Mapping[Any, int] | None = None  # value -> count (categorical, or few numerical values)
    std: float = 0.0

    @classmethod
    def numerical(cls, values: Any) -> ColumnValues:
        """From numbers (``None`` and NaN are missing; infinities are dropped too)."""
        array = np.asarray(values, dtype=np.float64)
        array = np.sort(array[np.isfinite(array)])
        n = int(array.size)
        n_unique = int(np.count_nonzero(np.diff(array))) + 1 if n else 0
        counts = None
        if n_unique <= COUNTS_UP_TO:
            uniq, cnt = np.unique(array, return_counts=True)
            counts = dict(zip(uniq.tolist(), cnt.tolist(), strict=True))
        std = float(np.std(array)) if n else 0.0
        return cls("num", n, n_unique, sorted_values=array, counts=counts, std=std)

    @classmethod
    def categorical(cls, values: Iterable[Any]) -> ColumnValues:
        """From hashable values (``None`` and NaN are missing)."""
        counted = Counter(v for v in values if not _missing(v))
        return cls.from_counts(counted)

    @classmethod
    def from_counts(cls, counts: Mapping[Any, int]) -> ColumnValues:
        """From value counts already made (without missing values)."""
        kept = {k: int(c) for k, c in counts.items() if c > 0}
        return cls("cat", sum(kept.values()), len(kept), counts=kept)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class TestResult:
    """The outcome of one column's test."""

    stattest: str
    score: float
    threshold: float
    drifted: bool


def choose_test(ref: ColumnValues, cur: ColumnValues) -> str:
    """Evidently 0.7's default test for this column (``_get_default_stattest``)."""
    n_values = _n_values(ref, cur)
    small = ref.n <= SMALL_REFERENCE
    if ref.kind == "num" and n_values > FEW_VALUES:
        return "ks" if small else "wasserstein"
    if small:
        return "chisquare" if n_values > 2 else "z"
    return "jensenshannon"


def run_test(ref: ColumnValues, cur: ColumnValues) -> TestResult:
    """Run the default test on one column (both sides must have at least one value)."""
    if ref.n == 0 or cur.n == 0:
        raise ValueError("a drift test needs at least one value on each side")
    test = choose_test(ref, cur)
    score = float(_TESTS[test](ref, cur))
    threshold = THRESHOLDS[test]
    if test in IS_DISTANCE:
        drifted = score >= threshold
    elif test == "ks":
        drifted = score <= threshold
    else:
        drifted = score < threshold
    return TestResult(test, score, threshold, bool(drifted))


def dataset_verdict(drifted: Sequence[bool]) -> dict[str, Any]:
    """Evidently's dataset drift: drifted when the share of drifted columns >= the threshold."""
    n_drifted = sum(bool(d) for d in drifted)
    share = n_drifted / len(drifted) if drifted else 0.0
    return {
        "dataset_drift": bool(drifted) and share >= SHARE_THRESHOLD,
        "drift_share": share,
        "n_drifted": n_drifted,
        "n_columns": len(drifted),
        "share_threshold": SHARE_THRESHOLD,
    }


# --- the tests -----------------------------------------------------------------------------------


def _n_values(ref: ColumnValues, cur: ColumnValues) -> int:
    if ref.kind == "num" and ref.n_unique > COUNTS_UP_TO:
        return ref.n_unique  # already above every cut-off
    if ref.counts is not None and cur.counts is not None:
        return len(ref.counts.keys() | cur.counts.keys())
    assert ref.sorted_values is not None and cur.sorted_values is not None
    return int(np.union1d(ref.sorted_values, cur.sorted_values).size)


def _counts(side: ColumnValues) -> Mapping[Any, int]:
    if side.counts is not None:
        return side.counts
    assert side.sorted_values is not None
    uniq, cnt = np.unique(side.sorted_values, return_counts=True)
    return dict(zip(uniq.tolist(), cnt.tolist(), strict=True))


def _aligned_counts(ref: ColumnValues, cur: ColumnValues) -> tuple[np.ndarray, np.ndarray]:
    r, c = _counts(ref), _counts(cur)
    keys = list(dict.fromkeys([*r, *c]))
    return (
        np.array([r.get(k, 0) for k in keys], dtype=np.float64),
        np.array([c.get(k, 0) for k in keys], dtype=np.float64),
    )


def _wasserstein(ref: ColumnValues, cur: ColumnValues) -> float:
    u, v = ref.sorted_values, cur.sorted_values
    assert u is not None and v is not None
    return wasserstein_sorted(u, v) / max(ref.std, MIN_NORM)


def _jensenshannon(ref: ColumnValues, cur: ColumnValues) -> float:
    r, c = _aligned_counts(ref, cur)
    return jensenshannon(r / ref.n, c / cur.n)


def _ks(ref: ColumnValues, cur: ColumnValues) -> float:
    assert ref.sorted_values is not None and cur.sorted_values is not None
    return ks_pvalue(ref.sorted_values, cur.sorted_values)


def _chisquare(ref: ColumnValues, cur: ColumnValues) -> float:
    r, c = _aligned_counts(ref, cur)
    return chisquare_pvalue(c, r * (cur.n / ref.n))


def _z(ref: ColumnValues, cur: ColumnValues) -> float:
    rc, cc = _counts(ref), _counts(cur)
    if len(rc) == 1 and len(cc) == 1 and rc.keys() == cc.keys():
        return 1.0
    keys = list(rc.keys() | cc.keys())
    try:
        first = sorted(keys)[0]
    except TypeError:
        first = sorted(keys, key=str)[0]
    p1 = (ref.n - float(rc.get(first, 0))) / ref.n
    p2 = (cur.n - float(cc.get(first, 0))) / cur.n
    pooled = (p1 * ref.n + p2 * cur.n) / (ref.n + cur.n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / ref.n + 1.0 / cur.n))
    return normal_sf_two_sided(float(z))


_TESTS = {
    "wasserstein": _wasserstein,
    "jensenshannon": _jensenshannon,
    "ks": _ks,
    "chisquare": _chisquare,
    "z": _z,
}


# --- the statistics (each as SciPy defines it) ---------------------------------------------------


def wasserstein_sorted(u: np.ndarray, v: np.ndarray) -> float:
    """SciPy's ``wasserstein_distance`` (the CDF form) of two sorted samples."""
    merged = np.concatenate((u, v))
    order = np.argsort(merged, kind="stable")  # two sorted runs: a linear merge
    deltas = np.diff(merged[order])
    from_u = order < u.size
    # Counting instead of SciPy's searchsorted: where deltas > 0 the counts are the same, and
    # where deltas == 0 the term is zero either way, so the sum is SciPy's, term by term.
    u_cdf = np.cumsum(from_u)[:-1] / u.size
    v_cdf = np.cumsum(~from_u)[:-1] / v.size
    return float(np.sum(np.multiply(np.abs(u_cdf - v_cdf), deltas)))


def jensenshannon(p: np.ndarray, q: np.ndarray) -> float:
    """SciPy's ``spatial.distance.jensenshannon`` (natural log)."""
    p = p / np.sum(p)
    q = q / np.sum(q)
    mid = (p + q) / 2.0
    return math.sqrt((_rel_entr(p, mid) + _rel_entr(q, mid)) / 2.0)


def _rel_entr(x: np.ndarray, y: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(x > 0, x * np.log(x / y), 0.0)
    return float(np.sum(terms))


def normal_sf_two_sided(z: float) -> float:
    """``2 * (1 - Phi(|z|))`` as SciPy's ``norm.cdf`` computes Phi (NaN stays NaN)."""
    return 2 * (1 - 0.5 * math.erfc(-abs(z) / math.sqrt(2)))


def chisquare_pvalue(observed: np.ndarray, expected: np.ndarray) -> float:
    """SciPy's ``chisquare(observed, expected)`` p-value."""
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = float(np.sum((observed - expected) ** 2 / expected))
    return chi2_sf(statistic, observed.size - 1)


def chi2_sf(statistic: float, dof: int) -> float:
    """The chi-square survival function: the regularized upper incomplete gamma Q(dof/2, x/2)."""
    if dof <= 0 or math.isnan(statistic):
        return math.nan
    return _gammaincc(dof / 2.0, statistic / 2.0)


def _gammaincc(a: float, x: float) -> float:
    """Q(a, x): a power series below a + 1, a continued fraction (modified Lentz) above."""
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        k = a
        for _ in range(10_000):
            k += 1
            term *= x / k
            total += term
            if abs(term) < abs(total) * 1e-17:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    f = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        step = d * c
        f *= step
        if abs(step - 1) < 1e-16:
            break
    return math.exp(log_front) * f


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sided two-sample KS statistic D of two sorted samples."""
    both = np.concatenate([a, b])
    diffs = (
        np.searchsorted(a, both, side="right") / a.size
        - np.searchsorted(b, both, side="right") / b.size
    )
    return float(max(np.clip(-np.min(diffs), 0, 1), np.max(diffs)))


def ks_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    """SciPy's ``ks_2samp(a, b)[1]`` (two-sided, ``method="auto"``) of two sorted samples.

    Up to :data:`EXACT_KS_UP_TO` values per side the p-value is exact: the share of monotone
    lattice paths from (0, 0) to (m, n) that reach ``|i/m - j/n| >= D``, summed over the points
    where paths first leave the band (no cancellation, so tiny p-values keep their precision).
    Beyond that SciPy uses an asymptotic distribution; only ``mlops_nb.drift`` gets there (it
    imports SciPy for it), as a service never compares more than ``EXACT_KS_UP_TO`` values.
    """
    m, n = int(a.size), int(b.size)
    if max(m, n) > EXACT_KS_UP_TO:
        from scipy.stats import ks_2samp

        return float(ks_2samp(a, b)[1])
    return _ks_exact(m, n, ks_statistic(a, b))


def _ks_exact(m: int, n: int, d: float) -> float:
    if m > n:
        m, n = n, m  # symmetric: loop over the shorter side
    g = math.gcd(m, n)
    h = round(d * (m // g) * n)  # D on the lattice's grid: |i*n - j*m| >= h*g is outside
    if h == 0:
        return 1.0
    bound = h * g
    log_fact = np.array([math.lgamma(k + 1) for k in range(m + n + 1)])
    log_total = log_fact[m + n] - log_fact[m] - log_fact[n]
    # Row i's points inside the band are j in [lo, hi]; both ends only move up with i. alive[k]
    # counts the paths reaching (i, lo + k) without leaving the band, times exp(-log_scale).
    lo, hi = 0, min(n, -(-bound // m) - 1)
    alive = np.ones(hi + 1)
    log_scale = 0.0
    outside = 0.0
    if hi < n:  # along the first row, out of the band's top
        outside += math.exp(
            log_fact[m + n - hi - 1] - log_fact[m] - log_fact[n - hi - 1] - log_total
        )
    for i in range(1, m + 1):
        new_lo = max(0, (i * n - bound) // m + 1)
        new_hi = min(n, -(-(i * n + bound) // m) - 1)
        if new_lo > lo:  # paths from below onto points under the band leave it there
            gone = alive[: new_lo - lo]
            kept = np.flatnonzero(gone)
            if kept.size:
                j = lo + kept
                rest = log_fact[m - i + n - j] - log_fact[m - i] - log_fact[n - j]
                terms = np.log(gone[kept]) + (log_scale - log_total) + rest
                outside += float(np.sum(np.exp(terms)))
        if new_lo > new_hi:
            break  # every path has left the band
        carried = alive[new_lo - lo :]
        alive = np.empty(new_hi - new_lo + 1)
        np.cumsum(carried, out=alive[: carried.size])
        alive[carried.size :] = alive[carried.size - 1]  # new points: reached from the left only
        lo, hi = new_lo, new_hi
        top = float(alive[-1])  # the largest: counts only grow along a row
        if top == 0.0:
            break
        if hi < n:  # paths from the left, out of the band's top
            rest = log_fact[m - i + n - hi - 1] - log_fact[m - i] - log_fact[n - hi - 1]
            outside += math.exp(math.log(top) + log_scale - log_total + rest)
        if top > 1e200:
            alive /= top
            log_scale += math.log(top)
    return float(min(1.0, outside))
