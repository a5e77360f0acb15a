"""Overscan level (mean, median, polynomial; per row or scalar) and overscan noise."""

from __future__ import annotations

import numpy as np
import pytest

from quanta.core.raw import Section
from quanta.cp.algorithms import OverscanOptions, correct_overscan, fit_overscan, overscan_noise

ROWS, COLUMNS, NOISE = 400, 32, 4.0


def _overscan(level: np.ndarray, seed: int = 3) -> np.ndarray:
    """Per-row ``level`` plus white noise of ``NOISE`` ADU."""
    rng = np.random.default_rng(seed)
    return level[:, None] + NOISE * rng.standard_normal((level.size, COLUMNS))


@pytest.mark.parametrize("method", ["mean", "median"])
def test_scalar_level_of_a_flat_overscan(method: str) -> None:
    fit = fit_overscan(_overscan(np.full(ROWS, 1000.0)), OverscanOptions(method, per_row=False))
    assert np.all(fit.level == fit.level[0])
    # The level of 12,800 pixels of sigma 4 is known to 4 / sqrt(12800) = 0.035 ADU.
    assert fit.mean_level == pytest.approx(1000.0, abs=0.15)


def test_polynomial_follows_a_gradient_along_rows() -> None:
    rows = np.arange(ROWS)
    truth = 1000.0 + 0.05 * rows - 2e-5 * rows**2
    fit = fit_overscan(_overscan(truth), OverscanOptions("poly", order=2))
    # A smooth fit to 400 row means of sigma 4/sqrt(32) = 0.71 ADU: error well below 0.3 ADU,
    # far below the per-row scatter that per-row levels would subtract.
    assert np.max(np.abs(fit.level - truth)) < 0.3
    per_row = fit_overscan(_overscan(truth), OverscanOptions("mean"))
    assert np.std(per_row.level - truth) > 3 * np.std(fit.level - truth)


def test_scalar_level_misses_a_gradient_that_per_row_levels_follow() -> None:
    truth = 1000.0 + 0.1 * np.arange(ROWS)
    scalar = fit_overscan(_overscan(truth), OverscanOptions("median", per_row=False))
    per_row = fit_overscan(_overscan(truth), OverscanOptions("median"))
    assert np.max(np.abs(scalar.level - truth)) > 15
    assert np.max(np.abs(per_row.level - truth)) < 5 * NOISE / np.sqrt(COLUMNS)


@pytest.mark.parametrize("method", ["mean", "median", "poly"])
def test_cosmic_rays_in_the_overscan_are_clipped(method: str) -> None:
    pixels = _overscan(np.full(ROWS, 500.0))
    clean = fit_overscan(pixels, OverscanOptions(method, order=0))
    pixels[::7, 5] += 5000.0
    hit = fit_overscan(pixels, OverscanOptions(method, order=0))
    np.testing.assert_allclose(hit.level, clean.level, atol=1.0)
    assert hit.noise == pytest.approx(clean.noise, rel=0.01)


def test_without_clipping_a_cosmic_ray_moves_the_mean_of_its_row() -> None:
    pixels = _overscan(np.full(ROWS, 500.0))
    pixels[10, 5] += 5000.0
    unclipped = fit_overscan(pixels, OverscanOptions("mean", nsigma=None))
    clipped = fit_overscan(pixels, OverscanOptions("mean"))
    assert unclipped.level[10] - clipped.level[10] == pytest.approx(5000.0 / COLUMNS, rel=0.05)


def test_noise_ignores_row_to_row_level_changes() -> None:
    rng = np.random.default_rng(9)
    jumps = 20.0 * rng.standard_normal(2000)
    pixels = 800.0 + jumps[:, None] + NOISE * rng.standard_normal((2000, COLUMNS))
    # 62,000 degrees of freedom: the estimate is good to about 0.3%.
    assert overscan_noise(pixels) == pytest.approx(NOISE, rel=0.01)


def test_noise_of_a_single_column_uses_the_whole_column() -> None:
    rng = np.random.default_rng(2)
    pixels = 100.0 + NOISE * rng.standard_normal((5000, 1))
    assert overscan_noise(pixels) == pytest.approx(NOISE, rel=0.03)
    with pytest.raises(ValueError, match="no noise"):
        overscan_noise(np.zeros((1, 1)))


def test_correct_overscan_subtracts_the_level_of_each_row() -> None:
    level = np.array([10.0, 20.0, 30.0])
    pixels = np.zeros((3, 6))
    pixels[:, :4] = level[:, None] + np.arange(4)
    pixels[:, 4:] = level[:, None]
    signal, fit = correct_overscan(pixels, Section(0, 3, 0, 4), Section(0, 3, 4, 6))
    np.testing.assert_array_equal(signal, np.tile(np.arange(4.0), (3, 1)))
    assert fit.mean_level == 20.0 and fit.noise == 0.0


def test_correct_overscan_refuses_an_overscan_that_misses_rows() -> None:
    with pytest.raises(ValueError, match="do not cover"):
        correct_overscan(np.zeros((4, 6)), Section(0, 4, 0, 4), Section(1, 4, 4, 6))


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="unknown overscan method"):
        OverscanOptions("mode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="order"):
        OverscanOptions("poly", order=-1)
