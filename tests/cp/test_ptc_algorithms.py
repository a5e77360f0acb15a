"""The PTC core: flat pairs measured (means, variance, FFT covariances) and PTCs fitted,
checked against flats simulated with SimCam's physics (Poisson charge, brighter-fatter,
read noise, gain)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from quanta.cp.algorithms import (
    PairOptions,
    SolveOptions,
    covariances_fft,
    fit_ptc,
    measure_pair,
    ptc_model,
)
from quanta.sim.physics import (
    FlatPattern,
    astier_variance,
    bf_strength,
    brighter_fatter,
    flat_pattern,
)

GAIN, NOISE, A00 = 1.5, 6.0, -2e-6  # e-/ADU, e-, 1/e-
#: Exposure levels of the simulated PTC, in electrons.
LEVELS = np.geomspace(100.0, 85_000.0, 20)
NO_COV = PairOptions(covariances=False)


def _flat(
    rng: np.random.Generator, expected: np.ndarray, a00: float = A00, full_well: float = np.inf
) -> np.ndarray:
    """An ISR'd flat in ADU as SimCam makes one: Poisson electrons, brighter-fatter,
    charge clipped at the full well, read noise, divided by the gain."""
    electrons = brighter_fatter(rng.poisson(expected).astype(float), expected, a00)
    np.minimum(electrons, full_well, out=electrons)
    return (electrons + NOISE * rng.standard_normal(expected.shape)) / GAIN


def _ptc_points(
    levels: np.ndarray, size: int, seed: int, full_well: float = np.inf
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance (ADU) of one simulated pair of ``size`` x ``size`` pixels per level."""
    rng = np.random.default_rng(seed)
    means, variances = [], []
    for level in levels:
        expected = np.full((size, size), level)
        pair = (_flat(rng, expected, full_well=full_well) for _ in range(2))
        measured = measure_pair(*pair, options=NO_COV)
        means.append(measured.mean)
        variances.append(measured.variance)
    return np.array(means), np.array(variances)


@pytest.fixture(scope="module")
def ptc_points() -> tuple[np.ndarray, np.ndarray]:
    return _ptc_points(LEVELS, 300, seed=11)


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
    from quanta.cp.algorithms.ptc import _expm1_ratio, _expm1_ratio_slope

    x = np.concatenate([-np.geomspace(1e-6, 0.5, 40), [0.0], np.geomspace(1e-6, 0.5, 40)])
    step = 1e-4
    numeric = (_expm1_ratio(x + step) - _expm1_ratio(x - step)) / (2 * step)
    np.testing.assert_allclose(_expm1_ratio_slope(x), numeric, rtol=1e-7)


# -- fitting --------------------------------------------------------------------------------


def test_astier_fit_recovers_gain_noise_and_a00(
    ptc_points: tuple[np.ndarray, np.ndarray],
) -> None:
    means, variances = ptc_points
    fit = fit_ptc(means, variances)
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


def test_polynomial_fit_recovers_the_gain(ptc_points: tuple[np.ndarray, np.ndarray]) -> None:
    fit = fit_ptc(*ptc_points, SolveOptions(model="polynomial"))
    assert fit.model == "polynomial"
    assert fit.gain == pytest.approx(GAIN, rel=0.015)
    assert fit.noise == pytest.approx(NOISE, rel=0.05)
    # Gain and noise rest on the same information as in the Astier fit: same errors.
    astier = fit_ptc(*ptc_points)
    assert fit.gain_err == pytest.approx(astier.gain_err, rel=0.15)
    assert fit.noise_err == pytest.approx(astier.noise_err, rel=0.15)
    # c2 is a00 to first order only: a quadratic absorbs part of the exponential's
    # higher terms (about -10% here), but sign and size are right.
    assert fit.a00 == pytest.approx(A00, rel=0.3)


def test_turnoff_leaves_out_saturating_pairs() -> None:
    full_well = 60_000.0
    near = full_well * np.array([0.97, 1.0, 1.05, 1.2, 1.4])
    levels = np.concatenate([np.geomspace(100.0, 0.9 * full_well, 20), near])
    means, variances = _ptc_points(levels, 200, seed=5, full_well=full_well)
    # Above the full well the variance collapses to the read noise's.
    assert variances[-1] < 0.01 * variances[20]
    fit = fit_ptc(means, variances)
    np.testing.assert_array_equal(fit.used, np.arange(levels.size) <= 20)
    assert fit.turnoff == means[20]
    assert fit.gain == pytest.approx(GAIN, rel=0.01)
    assert fit.residuals[-1] < -0.9


def test_turnoff_is_not_fooled_by_one_outlying_pair() -> None:
    rng = np.random.default_rng(2)
    means = np.geomspace(70.0, 60_000.0, 25)
    variances = ptc_model(means, A00, GAIN, NOISE) * (1 + 0.003 * rng.standard_normal(25))
    saturated = means > 30_000.0
    variances[saturated] = variances[~saturated][-1] * np.array([0.9, 0.4, 0.05])
    # A pair with stray light, say, whose variance exceeds even the turnoff's.
    variances[18] *= 3.0
    assert variances[18] > variances[~saturated][-1]
    fit = fit_ptc(means, variances)
    expected = ~saturated
    expected[18] = False
    np.testing.assert_array_equal(fit.used, expected)
    assert fit.turnoff == means[~saturated].max()
    assert fit.gain == pytest.approx(GAIN, rel=0.005)
    assert fit.a00 == pytest.approx(A00, rel=0.05)
    # Without turnoff detection some of the collapsed pairs stay in.
    assert fit_ptc(means, variances, SolveOptions(turnoff=False)).used[saturated].any()


def test_too_few_usable_points_raise() -> None:
    means = np.geomspace(100.0, 40_000.0, 7)
    variances = ptc_model(means, A00, GAIN, NOISE)
    assert fit_ptc(means, variances).n_pairs_used == 7
    variances[[1, 3, 5]] = [np.nan, 0.0, -1.0]
    with pytest.raises(ValueError, match="only 4 usable PTC points"):
        fit_ptc(means, variances)
    with pytest.raises(ValueError, match="only 4 usable"):
        fit_ptc(means[:4], ptc_model(means[:4], A00, GAIN, NOISE))


def test_fit_to_dict_is_strict_json(ptc_points: tuple[np.ndarray, np.ndarray]) -> None:
    means, variances = ptc_points
    variances = variances.copy()
    variances[3] = np.nan
    fit = fit_ptc(means, variances)
    data = json.loads(json.dumps(fit.to_dict(), allow_nan=False))
    assert data["gain"] == fit.gain and data["n_pairs_used"] == 19
    assert data["residuals"][3] is None and data["used"][3] is False
    assert len(data["residuals"]) == 20 and data["model"] == "astier"


def test_options_validate_themselves() -> None:
    with pytest.raises(ValueError, match="unknown PTC model"):
        SolveOptions(model="cubic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_points"):
        SolveOptions(min_points=2)
    with pytest.raises(ValueError, match="nsigma"):
        PairOptions(nsigma=0.0)


# -- measuring pairs ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_identical_images_have_exactly_zero_variance(dtype: type) -> None:
    pattern = FlatPattern(0.1, -0.2, 0.3, 0.05, -0.1)
    image = (20_000.0 / GAIN * flat_pattern(pattern, (120, 150))).astype(dtype)
    measured = measure_pair(image, image.copy())
    assert measured.variance == 0.0
    assert measured.cov is not None and measured.cov.shape == (9, 9)
    assert np.all(measured.cov == 0.0)
    assert measured.mean1 == measured.mean2 == measured.mean
    assert measured.n_pixels == 116 * 146


def test_flux_scaling_removes_a_flux_difference() -> None:
    image1 = _flat(np.random.default_rng(1), np.full((150, 150), 20_000.0))
    measured = measure_pair(image1, 1.01 * image1)
    assert measured.mean2 / measured.mean1 == pytest.approx(1.01, rel=1e-12)
    assert measured.variance < 1e-12 * np.var(image1)
    assert measured.cov is not None and np.max(np.abs(measured.cov)) < 1e-12 * np.var(image1)


def test_flat_field_pattern_cancels_in_the_difference() -> None:
    rng = np.random.default_rng(4)
    pattern = flat_pattern(FlatPattern(0.3, -0.2, 0.4, 0.3, -0.2), (250, 250))
    expected1, expected2 = 20_000.0 * pattern, 20_600.0 * pattern
    measured = measure_pair(_flat(rng, expected1, 0.0), _flat(rng, expected2, 0.0), options=NO_COV)
    # Per pixel, D = f1 I1 - f2 I2 has variance f1^2 var1 + f2^2 var2.
    f1, f2 = measured.mean2 / measured.mean, measured.mean1 / measured.mean
    pixel_variance = [(e[2:-2, 2:-2] + NOISE**2) / GAIN**2 for e in (expected1, expected2)]
    truth = np.mean(f1**2 * pixel_variance[0] + f2**2 * pixel_variance[1]) / 2
    # 246^2 pixels: the variance is known to sqrt(2 / 60516) = 0.6%.
    assert measured.variance == pytest.approx(truth, rel=0.03)
    assert measured.mean2 / measured.mean1 == pytest.approx(1.03, rel=1e-3)
    # The pattern and the flux step are large: a plain difference would be far off.
    naive = np.var(_flat(rng, expected1, 0.0) - _flat(rng, expected2, 0.0)) / 2
    assert naive > 1.5 * truth


def _bf_pair(shape: tuple[int, int], level: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    expected = np.full(shape, level)
    return _flat(rng, expected), _flat(rng, expected)


def test_masked_pixels_are_never_used() -> None:
    image1, image2 = _bf_pair((128, 160), 20_000.0, seed=8)
    good = np.ones(image1.shape, dtype=bool)
    good[40:50, 60:70] = False
    good[np.random.default_rng(9).integers(2, 126, 30), np.arange(30) * 5 + 3] = False
    clean = measure_pair(image1, image2, good)
    image1[~good], image2[~good] = 1e6, np.nan  # saturated in one image, bad in the other
    image1[0], image2[:, -1] = 1e6, np.nan  # and the edges, masked by default
    dirty = measure_pair(image1, image2, good)
    for name in ("mean1", "mean2", "variance", "n_pixels"):
        assert getattr(dirty, name) == getattr(clean, name)
    assert clean.cov is not None and dirty.cov is not None
    np.testing.assert_array_equal(dirty.cov, clean.cov)
    interior = good[2:-2, 2:-2]
    assert clean.n_pixels == np.count_nonzero(interior)
    wider = measure_pair(image1, image2, good, PairOptions(edge=4))
    assert wider.n_pixels == np.count_nonzero(good[4:-4, 4:-4])


def test_outliers_are_clipped() -> None:
    image1, image2 = _bf_pair((200, 200), 20_000.0, seed=3)
    rng = np.random.default_rng(10)
    hot = rng.choice(200 * 200, 80, replace=False)
    good = np.ones(image1.shape, dtype=bool)
    good.flat[hot] = False
    reference = measure_pair(image1, image2, good, NO_COV)
    image1.flat[hot[:40]] *= 5.0  # saturated or hot pixels
    image2.flat[hot[40:]] += 4_000.0  # cosmic rays, 30 sigma of the difference
    clipped = measure_pair(image1, image2, options=NO_COV)
    assert clipped.n_pixels == reference.n_pixels
    assert clipped.variance == pytest.approx(reference.variance, rel=1e-12)
    assert clipped.mean == pytest.approx(reference.mean, rel=1e-12)
    unclipped = measure_pair(image1, image2, options=PairOptions(nsigma=1e9, covariances=False))
    assert unclipped.variance > 2 * reference.variance


def test_float32_images_agree_with_float64() -> None:
    image1, image2 = _bf_pair((200, 240), 50_000.0, seed=6)
    wide = measure_pair(image1, image2)
    narrow = measure_pair(image1.astype(np.float32), image2.astype(np.float32))
    assert narrow.mean == pytest.approx(wide.mean, rel=1e-6)
    assert narrow.variance == pytest.approx(wide.variance, rel=1e-4)
    assert narrow.cov is not None and wide.cov is not None
    np.testing.assert_allclose(narrow.cov, wide.cov, rtol=0, atol=2e-4 * wide.variance)


def test_pair_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="one shape"):
        measure_pair(np.ones((10, 10)), np.ones((10, 11)))
    with pytest.raises(ValueError, match="mask"):
        measure_pair(np.ones((10, 10)), np.ones((10, 10)), np.ones((9, 10), dtype=bool))
    with pytest.raises(ValueError, match="no good pixels"):
        covariances_fft(np.ones((10, 10)), np.zeros((10, 10), dtype=bool), 2)


# -- covariances ----------------------------------------------------------------------------


def _direct_covariances(diff: np.ndarray, good: np.ndarray, max_lag: int) -> np.ndarray:
    """Covariances by explicit sums over pixel pairs, (dy, dx) and (dy, -dx) pooled."""
    rows, columns = diff.shape
    values = np.where(good, diff - diff[good].mean(), 0.0)
    weights = good.astype(float)
    out = np.empty((max_lag + 1, max_lag + 1))
    for dy in range(max_lag + 1):
        for dx in range(max_lag + 1):
            total = count = 0.0
            for sx in (dx, -dx) if dx and dy else (dx,):
                x0, x1 = max(0, -sx), columns - max(0, sx)
                first = (slice(0, rows - dy), slice(x0, x1))
                second = (slice(dy, rows), slice(x0 + sx, x1 + sx))
                total += np.sum(values[first] * values[second])
                count += np.sum(weights[first] * weights[second])
            out[dy, dx] = total / count
    return out


def test_fft_covariances_equal_direct_sums_with_a_mask() -> None:
    rng = np.random.default_rng(12)
    diff = 50.0 + 7.0 * rng.standard_normal((40, 53))
    diff[:, 1:] += 0.5 * diff[:, :-1]  # some correlation, so the lags are not all ~0
    good = rng.random(diff.shape) > 0.25
    truth = _direct_covariances(diff, good, 4)
    np.testing.assert_allclose(covariances_fft(diff, good, 4), truth, rtol=1e-10, atol=1e-10)
    single = covariances_fft(diff.astype(np.float32), good, 4)
    np.testing.assert_allclose(single, truth, rtol=0, atol=1e-5 * truth[0, 0])


def test_white_noise_has_no_covariance_beyond_lag_zero() -> None:
    rng = np.random.default_rng(13)
    image1, image2 = (1_000.0 + 10.0 * rng.standard_normal((256, 256)) for _ in range(2))
    measured = measure_pair(image1, image2)
    assert measured.cov is not None
    assert measured.cov[0, 0] == measured.variance
    assert measured.variance == pytest.approx(100.0, rel=0.03)
    # Each lag's covariance scatters by variance / sqrt(pixels) about 0.
    off = measured.cov.copy()
    off[0, 0] = 0.0
    assert np.max(np.abs(off)) < 4 * measured.variance / np.sqrt(measured.n_pixels)


def test_correlated_noise_gives_the_expected_covariance() -> None:
    rng = np.random.default_rng(14)

    def image() -> np.ndarray:
        white = 5.0 * rng.standard_normal((256, 257))
        return 1_000.0 + white[:, :-1] + white[:, 1:]  # neighbours in x share a term

    measured = measure_pair(image(), image())
    assert measured.cov is not None
    ratio = measured.cov / measured.cov[0, 0]
    assert measured.variance == pytest.approx(50.0, rel=0.03)
    assert ratio[0, 1] == pytest.approx(0.5, abs=0.02)
    for lag in [(1, 0), (1, 1), (0, 2), (2, 0), (3, 3)]:
        assert abs(ratio[lag]) < 0.02


def test_brighter_fatter_correlates_neighbours() -> None:
    level = 80_000.0
    measured = measure_pair(*_bf_pair((400, 400), level, seed=15))
    assert measured.cov is not None
    strength = float(bf_strength(np.array(level), A00))
    neighbour = -level * strength * (1 + strength) / 2 / GAIN**2  # physics.brighter_fatter
    variance = astier_variance(level, A00) / GAIN**2 + (NOISE / GAIN) ** 2
    assert measured.variance == pytest.approx(variance, rel=0.015)
    # 396^2 pixels: each neighbour covariance is known to about 6%.
    assert (measured.cov[0, 1] + measured.cov[1, 0]) / 2 == pytest.approx(neighbour, rel=0.15)
    for lag in [(1, 1), (0, 2), (2, 0)]:
        assert abs(measured.cov[lag]) < 0.25 * neighbour
