"""Power-law fit (gamma, x_min) and the rank statistics used by `hyplora analyze`."""

import numpy as np
import pytest

from hyplora.analysis import fit_power_law, spearman
from hyplora.analysis.token_stats import rankdata


def sample_discrete_power_law(gamma: float, x_min: int, size: int, seed: int) -> np.ndarray:
    """Exact inverse-CDF draws from p(k) = k^-gamma / zeta(gamma, x_min), k >= x_min.

    The support is truncated at 10^6; the dropped mass is below 1e-5 for gamma >= 1.9.
    """
    k = np.arange(x_min, 10**6, dtype=np.float64)
    cdf = np.cumsum(k ** -gamma)
    cdf /= cdf[-1]
    u = np.random.default_rng(seed).random(size)
    return k[np.searchsorted(cdf, u)]


@pytest.mark.parametrize("gamma,x_min", [(1.9, 1), (2.5, 3)])
def test_recovers_known_exponent(gamma, x_min):
    # n = 4000 draws: the MLE's standard error is (gamma-1)/sqrt(n_tail) <= 0.024,
    # and the x_min search adds a little; 0.1 is about four standard errors.
    pytest.importorskip("powerlaw")
    data = sample_discrete_power_law(gamma, x_min, 4000, seed=int(gamma * 10) + x_min)
    fit = fit_power_law(data)
    g, xm = fit
    assert fit.method == "powerlaw-package"
    assert g == pytest.approx(gamma, abs=0.1)
    assert xm >= 1 and fit.n_tail <= fit.n == 4000
    assert set(fit.comparisons) == {"lognormal", "exponential"}
    # An exponential alternative must lose clearly against a true power law.
    assert fit.comparisons["exponential"]["R"] > 0


def test_builtin_fallback_recovers_known_exponent():
    # The fit used where the powerlaw package is missing; same tolerance reasoning.
    data = sample_discrete_power_law(1.9, 1, 4000, seed=11)
    with pytest.warns(UserWarning, match="not installed"):
        fit = fit_power_law(data, use_package=False)
    assert fit.method == "builtin-mle" and fit.gamma == pytest.approx(1.9, abs=0.1)
    assert fit.comparisons == {}


def test_builtin_fallback_agrees_with_package():
    pytest.importorskip("powerlaw")
    data = sample_discrete_power_law(2.2, 1, 1500, seed=7)
    pkg = fit_power_law(data, use_package=True)
    with pytest.warns(UserWarning, match="not installed"):
        own = fit_power_law(data, use_package=False)
    assert own.method == "builtin-mle"
    assert own.gamma == pytest.approx(2.2, abs=0.12)
    if own.x_min == pkg.x_min and own.x_min < 10:      # both use the exact MLE below x_min = 10
        assert own.gamma == pytest.approx(pkg.gamma, abs=5e-3)
    else:
        assert own.gamma == pytest.approx(pkg.gamma, abs=0.1)


def test_exponential_data_is_not_called_a_power_law():
    pytest.importorskip("powerlaw")
    data = np.floor(np.random.default_rng(1).exponential(20.0, 3000)) + 1
    fit = fit_power_law(data, compare=("exponential",))
    assert fit.comparisons["exponential"]["R"] < 0


@pytest.mark.parametrize("bad,match", [
    ([], "no observations"), ([3, 3, 3], "two distinct"), ([1.5, 2, 3], "integer"),
    ([1, -2, 3], "non-negative"), ([1, float("nan"), 3], "NaN"),
])
def test_bad_counts_are_rejected(bad, match):
    with pytest.raises(ValueError, match=match):
        fit_power_law(bad)


def test_rankdata_averages_ties():
    assert rankdata(np.array([10, 20, 10, 30])).tolist() == [1.5, 3.0, 1.5, 4.0]


def test_spearman_against_scipy_and_monotone_cases():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x = rng.integers(1, 50, 300).astype(float)      # many ties, as token counts have
    y = -np.log(x) + rng.normal(0, 1, 300)
    ours = spearman(x, y)
    ref = scipy_stats.spearmanr(x, y)
    assert ours["rho"] == pytest.approx(ref.statistic, abs=1e-12)
    assert ours["p"] == pytest.approx(ref.pvalue, rel=1e-6)
    assert spearman(x, 2 * x + 1)["rho"] == pytest.approx(1.0)
    assert spearman(x, -x ** 3)["rho"] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="one length"):
        spearman(x, y[:-1])
