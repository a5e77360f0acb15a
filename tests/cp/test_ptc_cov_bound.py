"""How well the ``ptc`` preset's flats can fix a_01: the Cramer-Rao bound of eq. 20 over
its pixels and pairs, and a fit of simulated flats of that size that reaches it."""

from __future__ import annotations

import numpy as np
import pytest

from cp.ptc_sim import GAIN, LEVELS, flat
from cp.test_ptc_cov import truth_params
from quanta.cp.algorithms import PairOptions, measure_pair
from quanta.cp.algorithms.ptc_cov import covariance_errors, fit_covariances
from quanta.cp.algorithms.ptc_cov_model import cov_jacobian, cov_model

#: Pixels of a 200 x 200 amplifier once ISR's 2-pixel border is left out.
PRESET_PIXELS = 196 * 196


def a01_bound(levels: np.ndarray, n_pixels: float, fixed_c: bool = False) -> float:
    """The smallest error (relative to the truth) of a01 that any unbiased fit of eq. 20 to
    lag 2 can reach over pairs at ``levels`` electrons of ``n_pixels`` each."""
    truth = truth_params(3)
    means = levels / GAIN
    errors = covariance_errors(cov_model(means, truth), np.full(means.size, n_pixels))
    jac = cov_jacobian(means, truth) / errors.reshape(-1, 1)
    size = truth.a.size
    free = [k for k in range(jac.shape[1]) if not (fixed_c and size <= k < 2 * size)]
    information = jac[:, free].T @ jac[:, free]
    a01 = free.index(1)
    return float(np.sqrt(np.linalg.inv(information)[a01, a01]) / truth.a[0, 1])


def test_the_preset_cannot_give_a01_to_15_percent() -> None:
    """28% with b fitted (9% were b known): a01 trades against b01, the u^3 term."""
    assert a01_bound(LEVELS, PRESET_PIXELS) == pytest.approx(0.28, abs=0.02)
    assert a01_bound(LEVELS, PRESET_PIXELS, fixed_c=True) < 0.10
    # One over the side of the amplifier: 15% is met well from ~800 x 800 pixels.
    assert a01_bound(LEVELS, 796 * 796) < 0.075


def test_the_fit_of_preset_sized_flats_reaches_the_bound() -> None:
    rng = np.random.default_rng(3)
    means, covs, counts = [], [], []
    for level in LEVELS:
        expected = np.full((200, 200), level)
        pair = measure_pair(
            flat(rng, expected), flat(rng, expected), options=PairOptions(max_lag=2)
        )
        assert pair.cov is not None
        means.append(pair.mean)
        covs.append(pair.cov)
        counts.append(pair.n_pixels)
    fit = fit_covariances(np.array(means), np.array(covs), np.array(counts), 2)
    truth = truth_params(3)
    bound = a01_bound(LEVELS, float(np.mean(counts)))
    assert fit.a_err[0, 1] / truth.a[0, 1] == pytest.approx(bound, rel=0.2)
    assert abs(fit.a[0, 1] - truth.a[0, 1]) < 3 * fit.a_err[0, 1]
