"""The full covariance model of the PTC (Astier et al. 2019, eq. 20) and its fit, against
a direct evaluation of the formula, synthetic covariances and SimCam's simulated truth."""

from __future__ import annotations

import numpy as np
import pytest

from cp.ptc_sim import GAIN, NOISE, flat
from quanta.cp.algorithms import PairOptions, measure_pair
from quanta.cp.algorithms.ptc_cov import CovFit, covariance_errors, fit_covariances
from quanta.cp.algorithms.ptc_cov_model import CovParams, cov_jacobian, cov_model
from quanta.sim.bf_truth import bf_coefficients

A00 = -2e-6
#: Lags fitted to simulated flats (0..MAX_LAG); the simulated a_ij vanish beyond lag 1.
MAX_LAG = 2


def truth_params(r: int, gain: float = GAIN, a00: float = A00) -> CovParams:
    """SimCam's true a, c = ab and a read noise on n_00, over lags 0..r-1."""
    a3, b3 = bf_coefficients(a00)
    a, c, n = np.zeros((r, r)), np.zeros((r, r)), np.zeros((r, r))
    k = min(r, 3)
    a[:k, :k], c[:k, :k] = a3[:k, :k], (a3 * b3)[:k, :k]
    n[0, 0] = NOISE**2
    return CovParams(a, c, n, gain)


def direct_model(mean: float, p: CovParams, i: int, j: int) -> float:
    """Eq. 20 at one lag, convolutions summed term by term over all four quadrants."""
    r = p.a.shape[0]

    def full(q: np.ndarray) -> dict[tuple[int, int], float]:
        span = range(-(r - 1), r)
        return {(y, x): float(q[abs(y), abs(x)]) for y in span for x in span}

    def conv(f: dict, g: dict) -> dict[tuple[int, int], float]:
        out: dict[tuple[int, int], float] = {}
        for (y1, x1), v1 in f.items():
            for (y2, x2), v2 in g.items():
                out[y1 + y2, x1 + x2] = out.get((y1 + y2, x1 + x2), 0.0) + v1 * v2
        return out

    a, c = full(p.a), full(p.c)
    aa = conv(a, a)
    u = p.gain * mean
    x = (i, j)
    second = 2 / 3 * (aa.get(x, 0.0) + c[x])
    third = conv(aa, a).get(x, 0.0) / 3 + 5 / 6 * conv(a, c).get(x, 0.0)
    delta = mean / p.gain if x == (0, 0) else 0.0
    return delta + (a[x] * u**2 + second * u**3 + third * u**4 + p.n[x]) / p.gain**2


def test_the_model_is_eq20_term_by_term() -> None:
    rng = np.random.default_rng(4)
    r = 3
    p = CovParams(
        rng.normal(size=(r, r)) * 1e-6,
        rng.normal(size=(r, r)) * 1e-12,
        rng.normal(size=(r, r)),
        1.4,
    )
    means = np.array([300.0, 20_000.0, 60_000.0])
    model = cov_model(means, p)
    for t, mean in enumerate(means):
        for i in range(r):
            for j in range(r):
                assert model[t, i, j] == pytest.approx(direct_model(mean, p, i, j), rel=1e-9)


def test_the_jacobian_matches_finite_differences() -> None:
    rng = np.random.default_rng(1)
    r = 4
    p = CovParams(
        rng.normal(size=(r, r)) * 1e-6,
        rng.normal(size=(r, r)) * 1e-12,
        rng.normal(size=(r, r)),
        1.5,
    )
    means = np.geomspace(100.0, 60_000.0, 7)
    jac = cov_jacobian(means, p)
    v = p.vector()
    numeric = np.empty_like(jac)
    for k in range(v.size):
        step = abs(v[k]) * 1e-6 + 1e-20
        up, down = v.copy(), v.copy()
        up[k] += step
        down[k] -= step
        diff = cov_model(means, CovParams.from_vector(up, r)) - cov_model(
            means, CovParams.from_vector(down, r)
        )
        numeric[:, k] = diff.ravel() / (2 * step)
    scale = np.abs(numeric).max(axis=0)
    assert np.max(np.abs(jac - numeric) / scale) < 1e-5


def test_synthetic_covariances_give_back_their_parameters_within_errors() -> None:
    """30 pairs of 1,000,000 pixels from 150 e- to 85,000 e-, drawn around eq. 20 with their
    statistical errors: a, gain and n_00 within 4 sigma, and the errors are not tiny (a's
    are 2-5% of a01, as 1e6 pixels predict)."""
    r = 8
    truth = truth_params(r)
    means = np.geomspace(100.0, 85_000.0 / GAIN, 30)
    n_pixels = np.full(means.size, 1e6)
    exact = cov_model(means, truth)
    noisy = exact + covariance_errors(exact, n_pixels) * np.random.default_rng(2).standard_normal(
        exact.shape
    )
    fit = fit_covariances(means, noisy, n_pixels, r - 1)
    assert fit.quality == "good" and fit.chi2_dof == pytest.approx(1.0, abs=0.15)
    assert abs(fit.gain - GAIN) < 4 * fit.gain_err
    assert abs(fit.n[0, 0] - NOISE**2) < 4 * fit.n_err[0, 0]
    pulls = (fit.a - truth.a) / fit.a_err
    assert np.all(np.abs(pulls) < 4.5), pulls
    assert 0.01 < fit.a_err[0, 1] / truth.a[0, 1] < 0.1
    again = fit_covariances(means, exact, n_pixels, r - 1)
    np.testing.assert_allclose(again.a, truth.a, rtol=1e-4, atol=1e-12)
    assert again.b[0, 1] == pytest.approx(truth.c[0, 1] / truth.a[0, 1], rel=1e-3)


@pytest.fixture(scope="module")
def simulated_fit() -> CovFit:
    """SimCam's brighter-fatter flats: 20 pairs of 600 x 600 pixels, 6 from 300 e- to
    20,000 e- and 14 from 25,000 e- to 85,000 e-, where the covariances carry the most
    information, measured and fitted to lag 2.

    The ``ptc`` preset (200 x 200 pixels per amplifier, 20 pairs spaced geometrically) is
    too small for the 15% goal: its Cramer-Rao bound on a01 is 28%, which the fit reaches
    without bias (``test_ptc_cov_bound.py``); through the pipeline, 800 x 800 pixels give
    the 15% (``test_ptc_cov_truth.py``).
    """
    rng = np.random.default_rng(17)
    options = PairOptions(max_lag=MAX_LAG)
    levels = np.concatenate([np.geomspace(300.0, 20_000.0, 6), np.linspace(25_000, 85_000, 14)])
    means, covs, counts = [], [], []
    for level in levels:
        expected = np.full((600, 600), level)
        pair = measure_pair(flat(rng, expected), flat(rng, expected), options=options)
        assert pair.cov is not None
        means.append(pair.mean)
        covs.append(pair.cov)
        counts.append(pair.n_pixels)
    return fit_covariances(np.array(means), np.array(covs), np.array(counts), MAX_LAG)


def test_simulated_a01_a10_gain_and_a00_match_the_truth(simulated_fit: CovFit) -> None:
    """a01 and a10 within 15% of -a00 / 4 (their errors are ~7%), a00 within 10%, gain
    within 0.5%, read noise within 10%; lags the simulator does not couple within 4 sigma
    of 0; b01 and b10 within 3 sigma of -23 a00 / 32 (their errors are ~100%)."""
    fit = simulated_fit
    truth, b_truth = bf_coefficients(A00, MAX_LAG)
    assert fit.quality == "good"
    assert fit.a[0, 1] == pytest.approx(truth[0, 1], rel=0.15)
    assert fit.a[1, 0] == pytest.approx(truth[1, 0], rel=0.15)
    assert fit.a_err[0, 1] < 0.1 * truth[0, 1]
    assert fit.a[0, 0] == pytest.approx(A00, rel=0.10)
    assert fit.gain == pytest.approx(GAIN, rel=0.005)
    assert np.sqrt(fit.n[0, 0]) == pytest.approx(NOISE, rel=0.10)
    uncoupled = truth == 0
    assert np.all(np.abs(fit.a[uncoupled]) < 4 * fit.a_err[uncoupled])
    for lag in ((0, 1), (1, 0)):
        assert abs(fit.b[lag] - b_truth[lag]) < 3 * fit.b_err[lag]


def test_the_fit_refuses_covariances_it_cannot_use() -> None:
    means = np.array([100.0, 1000.0, 10_000.0, 30_000.0])
    covs = cov_model(means, truth_params(2))
    with pytest.raises(ValueError, match="do not reach lag 3"):
        fit_covariances(means, covs, np.full(4, 1e5), 3)
    with pytest.raises(ValueError, match="3 pairs"):
        fit_covariances(means[:3], covs[:3], np.full(3, 1e5), 1)
    covs[1, 1, 1] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        fit_covariances(means, covs, np.full(4, 1e5), 1)
