"""The statistics the drift check needs, in numpy (no SciPy in the image): each follows the
definition SciPy uses, so the scores equal Evidently's (the tests compare them).

* :func:`ks_pvalue`: two-sided two-sample Kolmogorov-Smirnov p-value, exact (SciPy's ``ks_2samp``
  with ``method="auto"`` for samples up to 10,000 values): the share of monotone lattice paths
  from (0, 0) to (m, n) that leave the band ``|i/m - j/n| < D`` (computed as one minus the share
  inside: within 1e-10 absolute, so p-values far below that come out near 1e-11);
* :func:`chi2_sf`: the chi-square survival function (the regularized upper incomplete gamma);
* :func:`normal_sf_two_sided`, :func:`jensenshannon`, :func:`wasserstein`.
"""

from __future__ import annotations

import math

import numpy as np


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.sort(a), np.sort(b)
    both = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, both, side="right") / a.size
    cdf_b = np.searchsorted(b, both, side="right") / b.size
    diffs = cdf_a - cdf_b
    return float(max(np.clip(-np.min(diffs), 0, 1), np.max(diffs)))


def ks_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    """Exact two-sided p-value of the two-sample KS test."""
    m, n = int(a.size), int(b.size)
    d = ks_statistic(a, b)
    g = math.gcd(m, n)
    lcm = (m // g) * n
    h = int(np.round(d * lcm))
    if h == 0:
        return 1.0
    # inside the band: |i*n - j*m| < h*g, for every point (i, j) of the path
    bound = h * g
    row = np.zeros(n + 1)
    hi0 = min(n, (bound - 1) // m) if m else n
    row[: hi0 + 1] = 1.0
    log_scale = 0.0
    for i in range(1, m + 1):
        lo = max(0, (i * n - bound) // m + 1)
        hi = min(n, -((-(i * n + bound)) // m) - 1)
        new = np.zeros(n + 1)
        if lo <= hi:
            new[lo : hi + 1] = np.cumsum(row[lo : hi + 1])
        top = new.max()
        if top == 0.0:
            return 1.0  # no path stays inside: D is certain to be at least this large
        row = new / top
        log_scale += math.log(top)
    if row[n] == 0.0:
        return 1.0
    log_paths = math.lgamma(m + n + 1) - math.lgamma(m + 1) - math.lgamma(n + 1)
    inside = math.exp(math.log(row[n]) + log_scale - log_paths)
    return float(np.clip(1.0 - inside, 0.0, 1.0))


def _gammaincc(a: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(a, x) (series below a+1, continued fraction above)."""
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


def chi2_sf(statistic: float, dof: int) -> float:
    if dof <= 0 or math.isnan(statistic):
        return math.nan
    return _gammaincc(dof / 2.0, statistic / 2.0)


def chisquare_pvalue(observed: np.ndarray, expected: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = float(np.sum((observed - expected) ** 2 / expected))
    return chi2_sf(statistic, observed.size - 1)


def normal_sf_two_sided(z: float) -> float:
    """2 * (1 - Phi(|z|)), written as SciPy's ``norm.cdf`` computes Phi."""
    return 2 * (1 - 0.5 * math.erfc(-abs(z) / math.sqrt(2)))


def jensenshannon(p: np.ndarray, q: np.ndarray) -> float:
    p = p / np.sum(p)
    q = q / np.sum(q)
    mid = (p + q) / 2.0

    def rel_entr(x: np.ndarray, y: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(x > 0, x * np.log(x / y), 0.0)
        return float(np.sum(terms))

    return math.sqrt((rel_entr(p, mid) + rel_entr(q, mid)) / 2.0)


def wasserstein(u: np.ndarray, v: np.ndarray) -> float:
    """First Wasserstein distance between two samples (the CDF form)."""
    u, v = np.sort(u), np.sort(v)
    both = np.sort(np.concatenate([u, v]))
    deltas = np.diff(both)
    u_cdf = np.searchsorted(u, both[:-1], side="right") / u.size
    v_cdf = np.searchsorted(v, both[:-1], side="right") / v.size
    return float(np.sum(np.abs(u_cdf - v_cdf) * deltas))
