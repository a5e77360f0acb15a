"""The PTC's first step: flat pairs measured (means, variance, FFT covariances), checked
against flats simulated with SimCam's physics (Poisson charge, brighter-fatter, read
noise, gain); pairs that cannot be measured become points without a value."""

from __future__ import annotations

import numpy as np
import pytest

from cp.ptc_sim import A00, GAIN, NO_COV, NOISE, flat
from quanta.cp.algorithms import PairOptions, covariances_fft, measure_pair
from quanta.sim.physics import FlatPattern, astier_variance, bf_strength, flat_pattern

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
    image1 = flat(np.random.default_rng(1), np.full((150, 150), 20_000.0))
    measured = measure_pair(image1, 1.01 * image1)
    assert measured.mean2 / measured.mean1 == pytest.approx(1.01, rel=1e-12)
    assert measured.variance < 1e-12 * np.var(image1)
    assert measured.cov is not None and np.max(np.abs(measured.cov)) < 1e-12 * np.var(image1)


def test_flat_field_pattern_cancels_in_the_difference() -> None:
    rng = np.random.default_rng(4)
    pattern = flat_pattern(FlatPattern(0.3, -0.2, 0.4, 0.3, -0.2), (250, 250))
    expected1, expected2 = 20_000.0 * pattern, 20_600.0 * pattern
    measured = measure_pair(flat(rng, expected1, 0.0), flat(rng, expected2, 0.0), options=NO_COV)
    # Per pixel, D = f1 I1 - f2 I2 has variance f1^2 var1 + f2^2 var2.
    f1, f2 = measured.mean2 / measured.mean, measured.mean1 / measured.mean
    pixel_variance = [(e[2:-2, 2:-2] + NOISE**2) / GAIN**2 for e in (expected1, expected2)]
    truth = np.mean(f1**2 * pixel_variance[0] + f2**2 * pixel_variance[1]) / 2
    # 246^2 pixels: the variance is known to sqrt(2 / 60516) = 0.6%.
    assert measured.variance == pytest.approx(truth, rel=0.03)
    assert measured.mean2 / measured.mean1 == pytest.approx(1.03, rel=1e-3)
    # The pattern and the flux step are large: a plain difference would be far off.
    naive = np.var(flat(rng, expected1, 0.0) - flat(rng, expected2, 0.0)) / 2
    assert naive > 1.5 * truth


def test_a_saturated_pair_is_a_point_without_a_value() -> None:
    image1, image2 = _bf_pair((100, 100), 20_000.0, seed=6)
    good = np.zeros(image1.shape, dtype=bool)
    good[40:50, 40:50] = True  # 100 usable pixels, fewer than min_pixels
    measured = measure_pair(image1, image2, good)
    assert not measured.measured and np.isnan(measured.variance) and np.isnan(measured.mean)
    assert measured.n_pixels == 100 and measured.cov is None
    assert measured.flag == "too few usable pixels: 100 < min_pixels 1000"
    assert measure_pair(image1, image2, good, PairOptions(min_pixels=50)).measured
    nothing = measure_pair(image1, image2, np.zeros(image1.shape, dtype=bool))
    assert nothing.n_pixels == 0 and nothing.flag.startswith("too few usable pixels: 0")


def test_a_half_masked_pair_is_measured_and_flagged() -> None:
    image1, image2 = _bf_pair((200, 200), 20_000.0, seed=7)
    good = np.ones(image1.shape, dtype=bool)
    good[:, 100:] = False
    half = measure_pair(image1, image2, good, NO_COV)
    whole = measure_pair(image1, image2, options=NO_COV)
    assert half.measured and half.flag == "partly masked: 50.0% of pixels"
    assert whole.flag == "" and half.n_pixels == pytest.approx(whole.n_pixels / 2, rel=0.02)
    # Both halves see the same physics: the variance agrees within its error, 1% here.
    assert half.variance == pytest.approx(whole.variance, rel=0.02)


def _bf_pair(shape: tuple[int, int], level: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    expected = np.full(shape, level)
    return flat(rng, expected), flat(rng, expected)


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
