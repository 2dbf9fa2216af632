"""Power-law fit of token frequencies, as the paper did it.

The paper fits p(f) ~ f^-gamma to the token frequencies with the PyPI package
``powerlaw`` (``Fit(freqs, discrete=True).power_law.alpha``): discrete maximum
likelihood above x_min, with x_min chosen to minimise the Kolmogorov-Smirnov
distance between the data and the fit (Clauset, Shalizi & Newman 2009). We call
that package when it is installed, so the numbers are the paper's procedure.

Without it (e.g. on the GPU machine) ``_fit_discrete_mle`` does the same
search itself: for every candidate x_min the exact discrete MLE (Hurwitz zeta
normaliser, CSN eq. 3.5), and the x_min of least KS distance. ``powerlaw`` uses
the closed-form approximation (CSN eq. 3.7) when x_min >= 10, so the two agree
to about 1% there and exactly (to optimiser tolerance) below.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Iterator, Optional

import numpy as np


@dataclass
class PowerLawFit:
    """gamma (the exponent alpha of p(f) ~ f^-alpha) and x_min; unpacks as (gamma, x_min)."""

    gamma: float
    x_min: float
    sigma: float                      # standard error of gamma (CSN eq. 3.2)
    n_tail: int                       # observations >= x_min
    n: int                            # all positive observations
    ks_distance: float
    method: str                       # "powerlaw-package" or "builtin-mle"
    comparisons: dict = field(default_factory=dict)   # alt -> {"R": .., "p": ..}

    def __iter__(self) -> Iterator[float]:
        yield self.gamma
        yield self.x_min

    def to_dict(self) -> dict:
        return asdict(self)


def _as_counts(counts) -> np.ndarray:
    arr = np.asarray(list(counts.values()) if isinstance(counts, dict) else counts, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError("fit_power_law: no observations")
    if not np.all(np.isfinite(arr)):
        raise ValueError("fit_power_law: observations contain NaN or Inf")
    if np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError("fit_power_law: discrete fit needs non-negative integer counts")
    arr = arr[arr > 0]
    if np.unique(arr).size < 2:
        raise ValueError("fit_power_law: need at least two distinct positive values to fit a power law")
    return arr


def fit_power_law(counts, compare=("lognormal", "exponential"), use_package: Optional[bool] = None) -> PowerLawFit:
    """Fit a discrete power law to positive integer observations (e.g. token counts).

    ``counts``: a sequence (or a dict's values) of how often each distinct token
    occurs. ``compare``: alternative distributions for the log-likelihood ratio
    test (R > 0 favours the power law, p its significance; Vuong's test as in
    CSN section 5). ``use_package``: force (True) or avoid (False) the
    ``powerlaw`` package; None uses it when importable.
    """
    data = _as_counts(counts)
    pl = None
    if use_package is not False:
        try:
            import powerlaw as pl  # noqa: F811
        except ImportError:
            if use_package:
                raise
    if pl is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                fit = pl.Fit(data, discrete=True, verbose=False)
                result = PowerLawFit(
                    gamma=float(fit.power_law.alpha), x_min=float(fit.power_law.xmin),
                    sigma=float(fit.power_law.sigma), n_tail=int(np.sum(data >= fit.power_law.xmin)),
                    n=int(data.size), ks_distance=float(fit.power_law.D), method="powerlaw-package")
                for alt in compare:
                    R, p = fit.distribution_compare("power_law", alt, normalized_ratio=True)
                    result.comparisons[alt] = {"R": float(R), "p": float(p)}
        return result
    return _fit_discrete_mle(data, compare)


# ---------------------------------------------------------------- built-in fallback

def _hurwitz_zeta(s: float, q: float) -> float:
    """zeta(s, q) = sum_{k>=0} (k + q)^-s for s > 1, by Euler-Maclaurin after N direct terms."""
    try:
        from scipy.special import zeta
        return float(zeta(s, q))
    except ImportError:
        pass
    N = 20
    k = np.arange(N, dtype=np.float64)
    head = float(np.sum((k + q) ** -s))
    a = q + N
    tail = a ** (1 - s) / (s - 1) + 0.5 * a ** -s
    # Bernoulli terms B2/2!, B4/4!, B6/6! times the rising factorials of s.
    tail += s / 12.0 * a ** (-s - 1)
    tail -= s * (s + 1) * (s + 2) / 720.0 * a ** (-s - 3)
    tail += s * (s + 1) * (s + 2) * (s + 3) * (s + 4) / 30240.0 * a ** (-s - 5)
    return head + tail


def _mle_alpha(tail: np.ndarray, x_min: float) -> float:
    """Maximise L(a) = -n log zeta(a, x_min) - a sum log x by golden-section search on (1, 6)."""
    n = tail.size
    sum_log = float(np.sum(np.log(tail)))

    def nll(a: float) -> float:
        return n * math.log(_hurwitz_zeta(a, x_min)) + a * sum_log

    lo, hi = 1.0 + 1e-6, 6.0
    g = (math.sqrt(5) - 1) / 2
    c, d = hi - g * (hi - lo), lo + g * (hi - lo)
    fc, fd = nll(c), nll(d)
    for _ in range(80):
        if fc < fd:
            hi, d, fd = d, c, fc
            c = hi - g * (hi - lo)
            fc = nll(c)
        else:
            lo, c, fc = c, d, fd
            d = lo + g * (hi - lo)
            fd = nll(d)
    return 0.5 * (lo + hi)


def _ks_distance(tail: np.ndarray, alpha: float, x_min: float) -> float:
    """max |S(x) - P(x)| over the observed support, CDFs of data and fit at x >= x_min."""
    values, counts = np.unique(tail, return_counts=True)
    empirical = np.cumsum(counts) / tail.size
    z = _hurwitz_zeta(alpha, x_min)
    model = np.array([1.0 - _hurwitz_zeta(alpha, v + 1.0) / z for v in values])
    return float(np.max(np.abs(empirical - model)))


def _fit_discrete_mle(data: np.ndarray, compare) -> PowerLawFit:
    data = np.sort(data)
    candidates = np.unique(data)[:-1]           # at least two distinct values must remain above
    best = None
    for x_min in candidates:
        tail = data[data >= x_min]
        if tail.size < 2:
            continue
        alpha = _mle_alpha(tail, float(x_min))
        D = _ks_distance(tail, alpha, float(x_min))
        if best is None or D < best[0]:
            best = (D, float(x_min), alpha, tail)
    D, x_min, alpha, tail = best
    sigma = (alpha - 1.0) / math.sqrt(tail.size)
    if compare:
        warnings.warn("fit_power_law: the 'powerlaw' package is not installed; "
                      "likelihood-ratio comparisons are skipped")
    return PowerLawFit(gamma=alpha, x_min=x_min, sigma=sigma, n_tail=int(tail.size), n=int(data.size),
                       ks_distance=D, method="builtin-mle", comparisons={})
