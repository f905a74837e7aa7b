"""The drift tests, with the reference's side computed once and reused.

This mirrors Evidently 0.7's default column tests exactly (same test choice, formulas and
thresholds; ``tests/unit/monitoring/test_stats_parity.py`` checks the scores against Evidently):

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

A :class:`ColumnValues` holds what a test needs from one side (sorted finite values for numerical
columns, value counts for few-valued ones), so the reference's is built once per reference and
every later check only prepares the current side. Needs numpy, pandas and scipy, not Evidently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops_nb.monitoring.frames import ColumnSpec

SMALL_REFERENCE = 1000  # Evidently: up to this many reference rows, statistical tests (p-values)
FEW_VALUES = 5  # Evidently: numerical columns with this few distinct values are binned by value
COUNTS_UP_TO = 20  # keep value counts for numerical columns with at most this many values
MIN_NORM = 0.001  # Evidently's floor for the Wasserstein normalisation (reference std)

STATTEST_NAMES = {
    "wasserstein": "Wasserstein distance (normed)",
    "jensenshannon": "Jensen-Shannon distance",
    "ks": "K-S p_value",
    "chisquare": "chi-square p_value",
    "z": "Z-test p_value",
}
THRESHOLDS = {"wasserstein": 0.1, "jensenshannon": 0.1, "ks": 0.05, "chisquare": 0.05, "z": 0.05}
IS_DISTANCE = {"wasserstein", "jensenshannon"}


@dataclass(frozen=True)
class ColumnValues:
    """One side of one column, prepared for the tests (nulls and infinities dropped)."""

    spec: ColumnSpec
    n: int
    n_unique: int
    sorted_values: np.ndarray | None = None  # numerical columns
    counts: pd.Series | None = None  # value -> count (categorical, or numerical with few values)
    std: float = 0.0

    @classmethod
    def prepare(cls, spec: ColumnSpec, column: pd.Series) -> ColumnValues:
        if spec.kind == "num":
            values = np.asarray(column, dtype="float64")
            values = np.sort(values[np.isfinite(values)])
            n = int(values.size)
            n_unique = int(np.count_nonzero(np.diff(values))) + 1 if n else 0
            counts = None
            if n_unique <= COUNTS_UP_TO:
                uniq, cnt = np.unique(values, return_counts=True)
                counts = pd.Series(cnt, index=uniq)
            std = float(np.std(values)) if n else 0.0
            return cls(spec, n, n_unique, sorted_values=values, counts=counts, std=std)
        clean = column.replace([-np.inf, np.inf], np.nan) if column.dtype.kind == "f" else column
        vc = clean.value_counts(dropna=True)
        return cls(spec, int(vc.sum()), int(vc.size), counts=vc)


@dataclass(frozen=True)
class ColumnDrift:
    """The outcome of one column's test (the shape of the summary's ``columns`` entries)."""

    name: str
    kind: str
    role: str
    stattest: str
    score: float
    threshold: float
    drifted: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "type": self.kind,
            "role": self.role,
            "stattest": self.stattest,
            "score": self.score,
            "threshold": self.threshold,
            "drifted": self.drifted,
        }


def choose_test(ref: ColumnValues, cur: ColumnValues) -> str:
    """Evidently 0.7's default test for this column (``_get_default_stattest``)."""
    n_values = _n_values(ref, cur)
    small = ref.n <= SMALL_REFERENCE
    if ref.spec.kind == "num":
        if n_values <= FEW_VALUES:
            if small:
                return "chisquare" if n_values > 2 else "z"
            return "jensenshannon"
        return "ks" if small else "wasserstein"
    if small:
        return "chisquare" if n_values > 2 else "z"
    return "jensenshannon"


def run_test(ref: ColumnValues, cur: ColumnValues) -> ColumnDrift:
    """Run the default test on one column."""
    test = choose_test(ref, cur)
    score = float(_TESTS[test](ref, cur))
    threshold = THRESHOLDS[test]
    if test in IS_DISTANCE:
        drifted = score >= threshold
    elif test == "ks":
        drifted = score <= threshold
    else:
        drifted = score < threshold
    spec = ref.spec
    return ColumnDrift(spec.name, spec.kind, spec.role, test, score, threshold, bool(drifted))


def dataset_verdict(
    columns: Sequence[ColumnDrift], share_threshold: float = 0.5
) -> dict[str, object]:
    """Evidently's dataset drift: drifted when the share of drifted columns >= the threshold."""
    n_drifted = sum(c.drifted for c in columns)
    share = n_drifted / len(columns) if columns else 0.0
    return {
        "dataset_drift": bool(share >= share_threshold),
        "drift_share": share,
        "n_drifted": n_drifted,
        "n_columns": len(columns),
        "share_threshold": share_threshold,
    }


# --- the tests -----------------------------------------------------------------------------------


def _n_values(ref: ColumnValues, cur: ColumnValues) -> int:
    if ref.spec.kind == "num" and ref.n_unique > COUNTS_UP_TO:
        return ref.n_unique  # already above every cut-off
    if ref.counts is not None and cur.counts is not None:
        return len(ref.counts.index.union(cur.counts.index))
    assert ref.sorted_values is not None and cur.sorted_values is not None
    return int(np.union1d(np.unique(ref.sorted_values), np.unique(cur.sorted_values)).size)


def _aligned_counts(ref: ColumnValues, cur: ColumnValues) -> tuple[np.ndarray, np.ndarray]:
    r, c = _counts(ref), _counts(cur)
    both = pd.concat([r.rename("r"), c.rename("c")], axis=1).fillna(0)
    return both["r"].to_numpy(dtype="float64"), both["c"].to_numpy(dtype="float64")


def _counts(side: ColumnValues) -> pd.Series:
    if side.counts is not None:
        return side.counts
    assert side.sorted_values is not None
    uniq, cnt = np.unique(side.sorted_values, return_counts=True)
    return pd.Series(cnt, index=uniq)


def _wasserstein(ref: ColumnValues, cur: ColumnValues) -> float:
    """scipy's ``wasserstein_distance`` (the CDF form) on pre-sorted values, over ref's std."""
    u, v = ref.sorted_values, cur.sorted_values
    assert u is not None and v is not None
    merged = np.concatenate((u, v))
    order = np.argsort(merged, kind="stable")  # two sorted runs: a linear merge
    all_values = merged[order]
    deltas = np.diff(all_values)
    from_u = order < u.size
    # Counting instead of scipy's searchsorted: where deltas > 0 the counts are the same, and
    # where deltas == 0 the term is zero either way, so the sum is scipy's, term by term.
    u_cdf = np.cumsum(from_u)[:-1] / u.size
    v_cdf = np.cumsum(~from_u)[:-1] / v.size
    distance = float(np.sum(np.multiply(np.abs(u_cdf - v_cdf), deltas)))
    return distance / max(ref.std, MIN_NORM)


def _jensenshannon(ref: ColumnValues, cur: ColumnValues) -> float:
    from scipy.spatial import distance

    r, c = _aligned_counts(ref, cur)
    return float(distance.jensenshannon(r / ref.n, c / cur.n))


def _ks(ref: ColumnValues, cur: ColumnValues) -> float:
    from scipy.stats import ks_2samp

    return float(ks_2samp(ref.sorted_values, cur.sorted_values)[1])


def _chisquare(ref: ColumnValues, cur: ColumnValues) -> float:
    from scipy.stats import chisquare

    r, c = _aligned_counts(ref, cur)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(chisquare(c, r * (cur.n / ref.n))[1])


def _z(ref: ColumnValues, cur: ColumnValues) -> float:
    from scipy.special import ndtr

    rc, cc = _counts(ref), _counts(cur)
    if rc.size == 1 and cc.size == 1 and rc.index[0] == cc.index[0]:
        return 1.0
    keys = list(rc.index.union(cc.index))
    try:
        first = sorted(keys)[0]
    except TypeError:
        first = sorted(keys, key=str)[0]
    p1 = (ref.n - float(rc.get(first, 0))) / ref.n
    p2 = (cur.n - float(cc.get(first, 0))) / cur.n
    pooled = (p1 * ref.n + p2 * cur.n) / (ref.n + cur.n)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / ref.n + 1.0 / cur.n))
    return float(2 * (1 - ndtr(np.abs(z))))


_TESTS = {
    "wasserstein": _wasserstein,
    "jensenshannon": _jensenshannon,
    "ks": _ks,
    "chisquare": _chisquare,
    "z": _z,
}
