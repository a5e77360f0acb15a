"""The true a_ij, b_ij of SimCam's brighter-fatter exchange and its non-linearity."""

from __future__ import annotations

import numpy as np
import pytest

from quanta.sim.bf_truth import bf_coefficients, kernel_covariances
from quanta.sim.physics import bf_strength, brighter_fatter, nonlinear
from quanta.sim.truth import draw_detector

A00 = -2e-6


def test_the_kernel_covariances_are_the_first_and_second_order_of_eq20() -> None:
    """A cubic fit of the exact C_ij / mu over 1,000-20,000 e- recovers a_ij (linear term)
    to 1e-4 relative, and, where a_ij is not 0, the second-order term of Astier eq. 20,
    2/3 [(a (x) a) + a b], to 1%: the analytic a and b are the series of the exchange."""
    a, b = bf_coefficients(A00)
    mus = np.linspace(1e3, 2e4, 40)
    cov = np.array([kernel_covariances(mu, A00) for mu in mus])
    lags = range(-2, 3)
    full = {(i, j): a[abs(i), abs(j)] for i in lags for j in lags}  # a over all four quadrants
    conv = np.array(
        [
            [
                sum(full[k, m] * full.get((i - k, j - m), 0.0) for k in lags for m in lags)
                for j in range(3)
            ]
            for i in range(3)
        ]
    )
    for i in range(3):
        for j in range(3):
            series = cov[:, i, j] / mus - (1.0 if i == j == 0 else 0.0)
            _, first, second, _ = np.polynomial.polynomial.polyfit(mus, series, 3)
            assert first == pytest.approx(a[i, j], rel=1e-4, abs=1e-12), (i, j)
            if a[i, j]:
                expected = 2.0 / 3.0 * (conv[i, j] + a[i, j] * b[i, j])
                assert second == pytest.approx(expected, rel=0.01), (i, j)


def test_the_sum_rule_holds_and_b_is_zero_where_a_is() -> None:
    a, b = bf_coefficients(A00)
    assert a[0, 0] + 2 * a[0, 1] + 2 * a[1, 0] == pytest.approx(0.0, abs=1e-18)
    assert a[0, 1] == a[1, 0] == pytest.approx(-A00 / 4)
    assert np.all(b[a == 0] == 0)


def test_a_monte_carlo_flat_has_the_kernel_covariances() -> None:
    """A 1000 x 1000 flat of 80,000 e-: C01 and C10 within 10% of the exact kernel value
    (standard error ~3%)."""
    mean = 80_000.0
    expected = np.full((1000, 1000), mean)
    electrons = np.random.default_rng(5).poisson(expected).astype(float)
    flat = brighter_fatter(electrons, expected, A00)[1:-1, 1:-1]
    excess = flat - flat.mean()
    exact = kernel_covariances(mean, A00)
    assert np.mean(excess[:, :-1] * excess[:, 1:]) == pytest.approx(exact[0, 1], rel=0.10)
    assert np.mean(excess[:-1] * excess[1:]) == pytest.approx(exact[1, 0], rel=0.10)
    assert exact[1, 1] == pytest.approx(mean * float(bf_strength(np.array(mean), A00)) ** 2 / 8)


def test_nonlinearity_is_a_quadratic_term_zero_by_default() -> None:
    electrons = np.array([0.0, 1e4, 5e4])
    np.testing.assert_array_equal(nonlinear(electrons, 0.0), electrons)
    np.testing.assert_allclose(nonlinear(electrons, -1e-7), electrons - 1e-7 * electrons**2)
    plain = draw_detector(3, 1, "S01", ["A", "B"])
    bent = draw_detector(3, 1, "S01", ["A", "B"], nonlinearity=1e-7)
    assert all(amp.nonlinearity == 0.0 for amp in plain.amps.values())
    for name, amp in bent.amps.items():
        assert -1.5e-7 <= amp.nonlinearity <= -0.5e-7
        assert amp.gain == plain.amps[name].gain and amp.a00 == plain.amps[name].a00
    assert bent.flat == plain.flat
    entry = bent.to_dict()["amps"]["A"]
    assert entry["nonlinearity"] == bent.amps["A"].nonlinearity
    assert entry["a"][0][1] == pytest.approx(-bent.amps["A"].a00 / 4)
