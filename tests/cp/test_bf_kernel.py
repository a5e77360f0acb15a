"""The brighter-fatter kernel against simulated truth: the Poisson solver on a_ij made
from a known kernel, and the correction of SimCam's brighter-fatter flats with the
kernel derived from their own full-covariance PTC."""

from __future__ import annotations

import numpy as np
import pytest

from cp.ptc_sim import GAIN, flat
from quanta.cp.algorithms import PairOptions, measure_pair
from quanta.cp.algorithms.bf_kernel import (
    average_a,
    charge_moved,
    correct_brighter_fatter,
    solve_kernel,
)
from quanta.cp.algorithms.ptc_cov import CovFit, fit_covariances
from quanta.sim.bf_truth import bf_coefficients

A00 = -2e-6
MAX_LAG = 2


def laplacian(kernel: np.ndarray) -> np.ndarray:
    """The 5-point Laplacian of a centred kernel, on a grid one pixel wider each side."""
    k = np.pad(kernel, 2)
    out = -4.0 * k
    out[1:, :] += k[:-1, :]
    out[:-1, :] += k[1:, :]
    out[:, 1:] += k[:, :-1]
    out[:, :-1] += k[:, 1:]
    return out[1:-1, 1:-1]


def test_the_solver_recovers_a_kernel_from_its_laplacian() -> None:
    """A random kernel symmetric in the four quadrants over lags 0..3: its Laplacian's
    quadrant (lags 0..4) gives it back to 1e-12 relative, in a box that just holds the
    a_ij and in a larger one (0 outside the kernel)."""
    rng = np.random.default_rng(3)
    quadrant = rng.normal(size=(4, 4)) * 1e-7
    lags = np.abs(np.arange(-3, 4))
    kernel = quadrant[np.ix_(lags, lags)]
    a = laplacian(kernel)[4:, 4:]
    assert a.shape == (5, 5)
    scale = np.abs(kernel).max()
    np.testing.assert_allclose(solve_kernel(a, 4)[1:-1, 1:-1], kernel, atol=1e-12 * scale)
    wider = solve_kernel(a, 9)
    np.testing.assert_allclose(wider[6:-6, 6:-6], kernel, atol=1e-12 * scale)
    wider[6:-6, 6:-6] = 0.0
    assert np.abs(wider).max() < 1e-12 * scale


def test_simcams_a_ij_give_a_point_kernel() -> None:
    """SimCam's a00 and a01 = a10 = -a00 / 4 are the Laplacian of -a00 / 4 at lag 0."""
    a, _ = bf_coefficients(A00, MAX_LAG)
    kernel = solve_kernel(a, 5)
    expected = np.zeros((11, 11))
    expected[5, 5] = -A00 / 4
    np.testing.assert_allclose(kernel, expected, atol=1e-12 * abs(A00))


def test_the_solver_refuses_a_box_too_small() -> None:
    with pytest.raises(ValueError, match="half-size 1 cannot hold a_ij to lag 2"):
        solve_kernel(np.zeros((3, 3)), 1)


def test_average_weights_each_lag_by_its_errors() -> None:
    a = np.array([[[1.0, 2.0]], [[3.0, 4.0]]])
    err = np.array([[[1.0, 1.0]], [[1.0, np.nan]]])
    mean, mean_err = average_a(a, err)
    np.testing.assert_allclose(mean, [[2.0, 2.0]])
    np.testing.assert_allclose(mean_err, [[1 / np.sqrt(2), 1.0]])
    with pytest.raises(ValueError, match="no amplifier with a finite, positive error"):
        average_a(a, np.zeros_like(a))


def test_the_charge_moved_is_simcams_exchange_to_first_order() -> None:
    """On a flat of 10,000 e- the charge the point kernel moves is SimCam's
    (``physics.brighter_fatter``) to 2% of its spread (SimCam's exchange strength is
    ``a00 mu / 2 (1 + 17 a00 mu / 48 + ...)``: 0.7% more at 10,000 e-, 3.5% at 50,000), and
    sums to 0."""
    from quanta.sim.physics import brighter_fatter

    rng = np.random.default_rng(5)
    expected = np.full((200, 200), 10_000.0)
    poisson = rng.poisson(expected).astype(float)
    simulated = brighter_fatter(poisson, expected, A00) - poisson
    kernel = solve_kernel(bf_coefficients(A00, MAX_LAG)[0], 3)
    moved = charge_moved(poisson, kernel)
    assert abs(moved.sum()) < 1e-6
    inner = np.s_[1:-1, 1:-1]
    assert np.std(moved[inner] - simulated[inner]) < 0.02 * np.std(simulated[inner])


def fit(pairs: list[tuple[np.ndarray, np.ndarray]]) -> CovFit:
    """The eq. 20 fit (lags 0..2) of flat pairs in ADU."""
    options = PairOptions(max_lag=MAX_LAG)
    measured = [measure_pair(one, two, options=options) for one, two in pairs]
    covs = np.array([m.cov for m in measured])
    means = np.array([m.mean for m in measured])
    return fit_covariances(means, covs, np.array([m.n_pixels for m in measured]), MAX_LAG)


@pytest.fixture(scope="module")
def flats() -> list[tuple[np.ndarray, np.ndarray]]:
    """SimCam's brighter-fatter flats in ADU: 16 pairs of 300 x 300 pixels, 5 from 300 e-
    to 20,000 e- and 11 from 25,000 e- to 85,000 e-."""
    rng = np.random.default_rng(17)
    levels = np.concatenate([np.geomspace(300.0, 20_000.0, 5), np.linspace(25_000, 85_000, 11)])
    return [
        (flat(rng, np.full((300, 300), level)), flat(rng, np.full((300, 300), level)))
        for level in levels
    ]


def test_the_kernel_of_the_ptc_removes_the_variance_excess(
    flats: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    """The kernel solved (half-size 4) from the flats' own eq. 20 fit, applied in
    electrons: refitted, |a00| drops by at least 80% (seed 17: from -2.62e-6 to 1.0e-7,
    96%; a01 and a10 to under 10% of theirs), every correction converges (largest change
    below 1e-3 e- within 10 iterations), and each flat's mean is unchanged to 1e-10."""
    before = fit(flats)
    assert before.quality == "good" and before.a[0, 0] == pytest.approx(A00, rel=0.5)
    kernel = solve_kernel(before.a, 4)
    corrected = []
    for pair in flats:
        both = []
        for image in pair:
            result = correct_brighter_fatter(image * GAIN, kernel)
            assert result.change < 1e-3 and result.iterations <= 10
            assert result.image.mean() == pytest.approx(image.mean() * GAIN, rel=1e-10)
            both.append(result.image / GAIN)
        corrected.append((both[0], both[1]))
    after = fit(corrected)
    assert after.quality == "good"
    assert abs(after.a[0, 0]) < 0.2 * abs(before.a[0, 0])
    for lag in ((0, 1), (1, 0)):
        assert abs(after.a[lag]) < 0.2 * abs(before.a[lag])
