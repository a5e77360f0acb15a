"""The PTC's second step: curves fitted (Astier et al. 2019 eq. 16 or a quadratic), points
left out for a reason (unmeasured, out of range, above the turnoff, outlying against
their own statistical error), and fits that cannot be trusted flagged; against truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cp.ptc_sim import A00, GAIN, LEVELS, NOISE, ptc_points
from quanta.cp.algorithms import SolveOptions, fit_ptc, ptc_model
from quanta.sim.physics import astier_variance

Points = tuple[np.ndarray, np.ndarray, np.ndarray]


@pytest.fixture(scope="module")
def points() -> Points:
    return ptc_points(LEVELS, 300, seed=11)


# -- the model ------------------------------------------------------------------------------


def test_model_is_astier_eq16_in_adu_and_continuous_at_zero_a00() -> None:
    mean = np.geomspace(10.0, 60_000.0, 30)
    electrons = astier_variance(mean * GAIN, A00) / GAIN**2
    expected = electrons + (NOISE / GAIN) ** 2
    np.testing.assert_allclose(ptc_model(mean, A00, GAIN, NOISE), expected, rtol=1e-12)
    poisson = mean / GAIN + (NOISE / GAIN) ** 2
    np.testing.assert_array_equal(ptc_model(mean, 0.0, GAIN, NOISE), poisson)
    np.testing.assert_allclose(ptc_model(mean, 1e-15, GAIN, NOISE), poisson, rtol=1e-9)
    assert np.all(np.isfinite(ptc_model(np.array([0.0, 1.0]), A00, GAIN, NOISE)))


def test_model_derivative_is_accurate_on_both_sides_of_its_series() -> None:
    # The Astier fit's Jacobian rests on d/dx (expm1(x) / x), a series below |x| = 0.01.
    from quanta.cp.algorithms.ptc_model import _expm1_ratio, _expm1_ratio_slope

    x = np.concatenate([-np.geomspace(1e-6, 0.5, 40), [0.0], np.geomspace(1e-6, 0.5, 40)])
    step = 1e-4
    numeric = (_expm1_ratio(x + step) - _expm1_ratio(x - step)) / (2 * step)
    np.testing.assert_allclose(_expm1_ratio_slope(x), numeric, rtol=1e-7)


# -- fitting --------------------------------------------------------------------------------


def test_astier_fit_recovers_gain_noise_and_a00(
    points: Points,
) -> None:
    means, variances, counts = points
    fit = fit_ptc(means, variances, counts)
    # Each variance of 296^2 pixels is known to sqrt(2 / 87616) = 0.5%; over 20 pairs
    # the gain comes out to 0.2%, the noise to 1% and a00 to 3% (seed-to-seed scatter).
    assert fit.gain == pytest.approx(GAIN, rel=0.01)
    assert fit.noise == pytest.approx(NOISE, rel=0.05)
    assert fit.a00 == pytest.approx(A00, rel=0.15)
    # The errors are realistic: neither zero nor so large that any answer would pass.
    for value, error, truth in [
        (fit.gain, fit.gain_err, GAIN),
        (fit.noise, fit.noise_err, NOISE),
        (fit.a00, fit.a00_err, A00),
    ]:
        assert 0 < error < 0.1 * abs(truth)
        assert abs(value - truth) < 4 * error
    assert fit.model == "astier"
    assert fit.n_pairs_used == 20 and fit.used.all()
    assert fit.turnoff == means.max()
    assert np.std(fit.residuals) < 0.01
    assert fit.quality == "good" and fit.flags == ("",) * 20
    np.testing.assert_allclose(
        fit.variance_errors, ptc_model(means, fit.a00, fit.gain, fit.noise) * np.sqrt(2 / counts)
    )


def test_polynomial_fit_recovers_the_gain(points: Points) -> None:
    fit = fit_ptc(*points, SolveOptions(model="polynomial"))
    assert fit.model == "polynomial"
    assert fit.gain == pytest.approx(GAIN, rel=0.015)
    assert fit.noise == pytest.approx(NOISE, rel=0.05)
    # Gain and noise rest on the same information as in the Astier fit: same errors.
    astier = fit_ptc(*points)
    assert fit.gain_err == pytest.approx(astier.gain_err, rel=0.15)
    assert fit.noise_err == pytest.approx(astier.noise_err, rel=0.15)
    # c2 is a00 to first order only: a quadratic absorbs part of the exponential's
    # higher terms (about -10% here), but sign and size are right.
    assert fit.a00 == pytest.approx(A00, rel=0.3)


def test_turnoff_leaves_out_saturating_pairs() -> None:
    full_well = 60_000.0
    near = full_well * np.array([0.97, 1.0, 1.05, 1.2, 1.4])
    levels = np.concatenate([np.geomspace(100.0, 0.9 * full_well, 20), near])
    means, variances, counts = ptc_points(levels, 200, seed=5, full_well=full_well)
    # Above the full well the variance collapses to the read noise's.
    assert variances[-1] < 0.01 * variances[20]
    fit = fit_ptc(means, variances, counts)
    np.testing.assert_array_equal(fit.used, np.arange(levels.size) <= 20)
    assert fit.turnoff == means[20]
    assert fit.gain == pytest.approx(GAIN, rel=0.01)
    assert fit.residuals[-1] < -0.9
    assert fit.flags[21:] == ("above the turnoff",) * 4


def test_turnoff_is_not_fooled_by_one_outlying_pair() -> None:
    rng = np.random.default_rng(2)
    means = np.geomspace(70.0, 60_000.0, 25)
    # 222,222 pixels per pair: each variance is known to 0.3%.
    counts = np.full(25, 222_222)
    variances = ptc_model(means, A00, GAIN, NOISE) * (1 + 0.003 * rng.standard_normal(25))
    saturated = means > 30_000.0
    variances[saturated] = variances[~saturated][-1] * np.array([0.9, 0.4, 0.05])
    # A pair with stray light, say, whose variance exceeds even the turnoff's.
    variances[18] *= 3.0
    assert variances[18] > variances[~saturated][-1]
    fit = fit_ptc(means, variances, counts)
    expected = ~saturated
    expected[18] = False
    np.testing.assert_array_equal(fit.used, expected)
    assert fit.turnoff == means[~saturated].max()
    assert fit.gain == pytest.approx(GAIN, rel=0.005)
    assert fit.a00 == pytest.approx(A00, rel=0.05)
    # Without turnoff detection some of the collapsed pairs stay in.
    assert fit.flags[18].startswith("rejected: +")
    # Without turnoff detection the collapsed pairs are left out as outliers instead.
    blind = fit_ptc(means, variances, counts, SolveOptions(turnoff=False))
    assert all(f.startswith("rejected") for f in np.array(blind.flags)[saturated])


def test_too_few_usable_points_raise() -> None:
    means = np.geomspace(100.0, 40_000.0, 7)
    variances = ptc_model(means, A00, GAIN, NOISE)
    counts = np.full(7, 40_000)
    assert fit_ptc(means, variances, counts).n_pairs_used == 7
    variances[[1, 3, 5]] = [np.nan, 0.0, -1.0]
    with pytest.raises(ValueError, match="only 4 usable PTC points"):
        fit_ptc(means, variances, counts)
    with pytest.raises(ValueError, match="only 4 usable"):
        fit_ptc(means[:4], ptc_model(means[:4], A00, GAIN, NOISE), counts[:4])


def test_fit_to_dict_is_strict_json(points: Points) -> None:
    means, variances, counts = points
    variances = variances.copy()
    variances[3] = np.nan
    fit = fit_ptc(means, variances, counts)
    data = json.loads(json.dumps(fit.to_dict(), allow_nan=False))
    assert data["gain"] == fit.gain and data["n_pairs_used"] == 19
    assert data["residuals"][3] is None and data["used"][3] is False
    assert len(data["residuals"]) == 20 and data["model"] == "astier"
    assert data["flags"][3] == "not measured" and data["quality"] == "good"


def test_options_validate_themselves() -> None:
    with pytest.raises(ValueError, match="unknown PTC model"):
        SolveOptions(model="cubic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_points"):
        SolveOptions(min_points=2)
    with pytest.raises(ValueError, match="min_mean < max_mean"):
        SolveOptions(min_mean=5.0, max_mean=5.0)


# -- rejection and quality ------------------------------------------------------------------


def _planted(points: Points) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """The points with two outliers planted: 8% high at pair 6, 6% low at pair 14 (about
    ten and eight statistical errors of 0.8%)."""
    means, variances, counts = points
    variances = variances.copy()
    variances[6] *= 1.08
    variances[14] *= 0.94
    return means, variances, counts, [6, 14]


def test_rejection_finds_exactly_the_planted_outliers(points: Points) -> None:
    means, variances, counts, planted = _planted(points)
    fit = fit_ptc(means, variances, counts)
    assert np.flatnonzero(~fit.used).tolist() == planted
    assert fit.flags[6].startswith("rejected: +") and fit.flags[14].startswith("rejected: -")
    assert fit.n_fits == 1 and fit.quality == "good"
    clean = fit_ptc(*points)
    assert fit.gain == pytest.approx(clean.gain, rel=0.002)
    assert fit.gain == pytest.approx(GAIN, rel=0.01)


def test_the_answer_does_not_depend_on_max_iter_once_converged(points: Points) -> None:
    means, variances, counts, _ = _planted(points)
    fits = [fit_ptc(means, variances, counts, SolveOptions(max_iter=n)) for n in (3, 9, 10, 50)]
    for fit in fits[1:]:
        assert fit.to_dict() == fits[0].to_dict()


def test_a_scatter_of_good_points_is_not_rejected(points: Points) -> None:
    # The old rejection compared residuals with their own robust spread, which can be a
    # third of the statistical error: good points went. Against each point's error,
    # none of 20 points at the 0.5-0.8% level lies 5 sigma off.
    fit = fit_ptc(*points, SolveOptions(nsigma=3.0))
    assert fit.used.all()


def test_turnoff_is_stable_with_outliers_near_the_top() -> None:
    rng = np.random.default_rng(3)
    means = np.geomspace(70.0, 60_000.0, 25)
    counts = np.full(25, 222_222)
    variances = ptc_model(means, A00, GAIN, NOISE) * (1 + 0.003 * rng.standard_normal(25))
    saturated = means > 30_000.0
    variances[saturated] = variances[~saturated][-1] * np.array([0.9, 0.4, 0.05])
    variances[[19, 20]] *= [1.4, 0.7]  # two pairs next to each other below the turnoff
    fit = fit_ptc(means, variances, counts)
    assert fit.turnoff == means[~saturated].max()
    assert [f for f in fit.flags if f] == [fit.flags[19], fit.flags[20]] + ["above the turnoff"] * 3
    assert fit.gain == pytest.approx(GAIN, rel=0.005)


def test_signal_range_leaves_points_out(points: Points) -> None:
    means, variances, counts = points
    options = SolveOptions(min_mean=means[2], max_mean=means[-3])
    fit = fit_ptc(means, variances, counts, options)
    assert fit.used.tolist() == [False] * 2 + [True] * 16 + [False] * 2
    assert fit.flags[0] == f"below min_mean {means[2]:g}"
    assert fit.flags[-1] == f"above max_mean {means[-3]:g}"


def test_a_noise_on_its_bound_is_flagged() -> None:
    # Bright pairs only, and an intercept pushed below zero: no read noise to find. The
    # fit stops at noise 0 and says so instead of reporting 0 +- nothing.
    means = np.geomspace(1_000.0, 60_000.0, 8)
    variances = ptc_model(means, A00, GAIN, 0.0) - 5.0
    fit = fit_ptc(means, variances, np.full(8, 40_000))
    assert fit.noise < 1e-9
    assert "noise on its bound" in fit.quality


def test_a_rejection_stopped_before_it_converged_says_so() -> None:
    # Exact eq. 16 points known to 0.01%: the robust eq. 16 screen keeps them all, but a
    # quadratic cannot follow the exponential that closely, so its rejection goes on.
    means = np.geomspace(100.0, 55_000.0, 20)
    variances = ptc_model(means, A00, GAIN, NOISE)
    counts = np.full(20, 2e8)
    options = SolveOptions(model="polynomial", max_iter=1)
    assert fit_ptc(means, variances, counts, options).quality == (
        "outlier rejection did not converge in 1 fits"
    )
    assert fit_ptc(means, variances, counts).quality == "good"
