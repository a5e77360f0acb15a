"""The pure physics functions of SimCam, on arrays built here."""

from __future__ import annotations

import numpy as np
import pytest

from quanta.core.raw import AmpGeometry, Section
from quanta.sim import FlatPattern, flat_pattern
from quanta.sim.physics import (
    Star,
    astier_variance,
    bf_strength,
    brighter_fatter,
    pattern_section,
    readout,
    render_stars,
)

MEAN = 80_000.0
A00 = -2e-6


def uniform_flat(shape: tuple[int, int], a00: float, seed: int = 3) -> np.ndarray:
    """A uniform Poisson flat of MEAN electrons with the brighter-fatter redistribution."""
    expected = np.full(shape, MEAN)
    electrons = np.random.default_rng(seed).poisson(expected).astype(float)
    return brighter_fatter(electrons, expected, a00)


def test_brighter_fatter_variance_follows_astier_eq16() -> None:
    """Interior pixels of a 1000 x 1000 flat: variance / eq. 16 within 1% (standard error
    0.14%), which is 15% below Poisson at 80,000 e- with a00 = -2e-6."""
    interior = uniform_flat((1000, 1000), A00)[1:-1, 1:-1]
    assert interior.var() / astier_variance(MEAN, A00) == pytest.approx(1.0, abs=0.01)
    assert interior.var() / MEAN == pytest.approx(0.853, abs=0.01)


def test_brighter_fatter_correlates_nearest_neighbours() -> None:
    """Cov(x, x+1) = -mu e (1 + e) / 2 within 10% (standard error ~3%), within 15% of the
    first order -a00 mu^2 / 4 at 80,000 e-; second neighbours get only e^2 terms (under a
    tenth of it)."""
    flat = uniform_flat((1000, 1000), A00)[1:-1, 1:-1]
    excess = flat - flat.mean()
    e = float(bf_strength(np.array(MEAN), A00))
    predicted = -MEAN * e * (1 + e) / 2
    assert predicted == pytest.approx(-A00 * MEAN**2 / 4, rel=0.15)
    for neighbour in (np.mean(excess[:, :-1] * excess[:, 1:]), np.mean(excess[:-1] * excess[1:])):
        assert neighbour == pytest.approx(predicted, rel=0.10)
    assert abs(np.mean(excess[:, :-2] * excess[:, 2:])) < predicted / 10


def test_brighter_fatter_conserves_charge_and_vanishes_without_a00() -> None:
    electrons = np.random.default_rng(1).poisson(np.full((50, 40), 5e4)).astype(float)
    expected = np.full(electrons.shape, 5e4)
    moved = brighter_fatter(electrons, expected, A00)
    assert not np.array_equal(moved, electrons)
    assert moved.sum() == pytest.approx(electrons.sum(), rel=1e-12)
    np.testing.assert_array_equal(brighter_fatter(electrons, expected, 0.0), electrons)
    np.testing.assert_array_equal(brighter_fatter(expected, expected, A00), expected)


def test_bf_strength_is_about_half_a00_mu() -> None:
    means = np.array([0.0, 1e3, 1e4, 8e4])
    strength = bf_strength(means, A00)
    assert strength[0] == 0.0
    np.testing.assert_allclose(strength[1:3], A00 * means[1:3] / 2, rtol=0.02)
    assert np.all(np.diff(strength) < 0)


def geometry(flip_y: bool, flip_x: bool) -> AmpGeometry:
    """A 3 x 4 amplifier with 1 prescan and 2 overscan columns."""
    return AmpGeometry(
        "C11",
        data=Section(0, 3, 1, 5),
        overscan=Section(0, 3, 5, 7),
        detector=Section(3, 6, 4, 8, flip_y, flip_x),
        prescan=Section(0, 3, 0, 1),
    )


@pytest.mark.parametrize(("flip_y", "flip_x"), [(False, False), (True, False), (True, True)])
def test_readout_flips_converts_and_clips(flip_y: bool, flip_x: bool) -> None:
    imaging = np.arange(12.0).reshape(3, 4) * 1000
    amp = geometry(flip_y, flip_x)
    noise = np.full((3, 7), 0.4)
    pixels = readout(imaging, amp, gain=2.0, bias_level=100.25, saturation=5000.0, read_noise=noise)
    assert pixels.dtype == np.int32 and pixels.shape == (3, 7)
    data = pixels[amp.data.slices][:: -1 if flip_y else 1, :: -1 if flip_x else 1]
    np.testing.assert_array_equal(data, np.minimum(np.rint((imaging + 0.4) / 2 + 100.25), 5000))
    assert (pixels[:, [0, 5, 6]] == 100).all()  # round(0.4 / 2 + 100.25)


def test_readout_without_noise_is_exact_float32() -> None:
    imaging = np.full((3, 4), 1234.5)
    pixels = readout(imaging, geometry(False, True), 1.5, 99.5, 1e6, read_noise=None)
    assert pixels.dtype == np.float32
    np.testing.assert_array_equal(pixels[:, 1:5], np.float32(1234.5 / 1.5 + 99.5))
    np.testing.assert_array_equal(pixels[:, [0, 5, 6]], np.float32(99.5))


def test_stars_keep_their_flux_across_sections() -> None:
    star = Star(x=20.3, y=9.7, flux=5e4, sigma=1.5)
    halves = [Section(0, 20, 0, 20), Section(0, 20, 20, 40)]
    parts = [render_stars([star], section).sum() for section in halves]
    assert all(part > 1e4 for part in parts)
    assert sum(parts) == pytest.approx(5e4, rel=1e-6)
    assert render_stars([Star(100.0, 100.0, 1e5, 1.5)], halves[0]).sum() == 0


def test_flat_pattern_follows_its_formula_and_tiles() -> None:
    params = FlatPattern(center_x=0.1, center_y=-0.2, vignetting=0.2, gradient_x=0.03, gradient_y=0)
    pattern = flat_pattern(params.to_dict(), (40, 60))
    u, v = 2 * 0.5 / 60 - 1, 2 * 39.5 / 40 - 1  # the top-left pixel (row 39, column 0)
    r2 = ((u - 0.1) ** 2 + (v + 0.2) ** 2) / 2
    assert pattern[39, 0] == pytest.approx((1 - 0.2 * r2) * (1 + 0.03 * u))
    part = pattern_section(params, (40, 60), Section(10, 30, 25, 60))
    np.testing.assert_array_equal(part, pattern[10:30, 25:60])
