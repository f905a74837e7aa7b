"""The drift statistics (numpy only, ``mlops_nb.monitoring.stats``, copied into every service)
equal SciPy's (which Evidently uses): exact KS p-values, chi-square, z, Jensen-Shannon,
Wasserstein."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from mlops_nb.monitoring import stats as ST

RNG = np.random.default_rng(7)


@pytest.mark.parametrize(
    "m,n", [(5, 7), (30, 30), (200, 60), (1000, 300), (1000, 1000), (300, 10_000), (9, 1000)]
)
@pytest.mark.parametrize("shift", [0.0, 0.15, 1.0])
def test_ks_pvalue_is_scipys_exact_one(m: int, n: int, shift: float) -> None:
    """Within 1e-9 relative, tiny p-values included (they are summed, not 1 - P(inside))."""
    a, b = np.sort(RNG.normal(0, 1, m)), np.sort(RNG.normal(shift, 1, n))
    assert ST.ks_pvalue(a, b) == pytest.approx(stats.ks_2samp(a, b)[1], rel=1e-9, abs=1e-100)


def test_ks_pvalue_beyond_the_exact_range_is_scipys_asymptotic_one() -> None:
    a, b = np.sort(RNG.normal(0, 1, 500)), np.sort(RNG.normal(0.1, 1, ST.EXACT_KS_UP_TO + 1))
    assert ST.ks_pvalue(a, b) == stats.ks_2samp(a, b)[1]


def test_ks_with_ties_and_identical_samples() -> None:
    a = np.sort(RNG.integers(0, 8, 300).astype(float))
    b = np.sort(RNG.integers(0, 9, 250).astype(float))
    assert ST.ks_pvalue(a, b) == pytest.approx(stats.ks_2samp(a, b)[1], rel=1e-9, abs=1e-12)
    assert ST.ks_pvalue(a, a.copy()) == 1.0


@pytest.mark.parametrize("dof", [1, 2, 4, 9, 30])
@pytest.mark.parametrize("x", [0.001, 0.5, 3.0, 12.0, 80.0, 400.0])
def test_chi2_sf(dof: int, x: float) -> None:
    assert ST.chi2_sf(x, dof) == pytest.approx(stats.chi2.sf(x, dof), rel=1e-9, abs=1e-15)


def test_chisquare_z_js_wasserstein() -> None:
    observed = np.array([30.0, 50.0, 20.0, 0.0])
    expected = np.array([25.0, 45.0, 25.0, 5.0])
    assert ST.chisquare_pvalue(observed, expected) == pytest.approx(
        stats.chisquare(observed, expected)[1], rel=1e-9
    )
    for z in (0.0, 0.3, 1.96, 5.0):
        assert ST.normal_sf_two_sided(z) == pytest.approx(2 * (1 - stats.norm.cdf(z)), abs=1e-15)
    p, q = RNG.random(7), RNG.random(7)
    p[2] = 0.0
    assert ST.jensenshannon(p, q) == pytest.approx(distance.jensenshannon(p, q), rel=1e-12)
    u, v = RNG.normal(0, 1, 700), RNG.exponential(1, 900)
    expected = stats.wasserstein_distance(u, v)
    assert ST.wasserstein_sorted(np.sort(u), np.sort(v)) == pytest.approx(expected, rel=1e-12)
