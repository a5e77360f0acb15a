"""Gain, variance, bias, dark and flat corrections; mask bits; robust statistics."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

from quanta.cp.algorithms import (
    MaskBit,
    apply_gain,
    divide_flat,
    edge_slices,
    mask_header,
    robust_sigma,
    saturated,
    subtract_bias,
    subtract_dark,
    variance_plane,
)

MODULES = ["assembly", "combine", "corrections", "mask", "overscan", "stats"]


@pytest.mark.parametrize("name", MODULES)
def test_doctest_examples(name: str) -> None:
    module = importlib.import_module(f"quanta.cp.algorithms.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_mask_bits_are_documented_values() -> None:
    assert (MaskBit.SAT, MaskBit.BAD, MaskBit.EDGE) == (1, 2, 4)
    assert mask_header() == {"MP_SAT": 0, "MP_BAD": 1, "MP_EDGE": 2}


def test_saturation_is_at_or_above_the_level() -> None:
    np.testing.assert_array_equal(saturated(np.array([9, 10, 11]), 10.0), [False, True, True])


@pytest.mark.parametrize("width", [1, 2, 3, 10])
def test_edge_slices_cover_the_border_once(width: int) -> None:
    count = np.zeros((5, 7), dtype=int)
    for region in edge_slices(count.shape, width):
        count[region] += 1
    rows, columns = np.indices(count.shape)
    border = np.minimum.reduce([rows, columns, 4 - rows, 6 - columns]) < width
    np.testing.assert_array_equal(count, border.astype(int))


def test_edge_slices_of_width_zero_are_none() -> None:
    assert edge_slices((3, 3), 0) == []
    with pytest.raises(ValueError, match="negative"):
        edge_slices((3, 3), -1)


def test_gain_turns_adu_into_electrons() -> None:
    np.testing.assert_array_equal(apply_gain(np.array([2.0, 4.0]), 1.5), [3.0, 6.0])
    with pytest.raises(ValueError, match="positive"):
        apply_gain(np.ones(1), 0.0)


def test_variance_in_adu_is_the_variance_in_electrons_over_gain_squared() -> None:
    electrons = np.array([0.0, 100.0, 2500.0])
    gain = 1.7
    in_adu = variance_plane(electrons / gain, read_noise=5.0, electrons_per_unit=gain)
    np.testing.assert_allclose(in_adu, variance_plane(electrons, 5.0) / gain**2)


def test_bias_and_dark_subtraction() -> None:
    image = np.array([[110.0, 120.0]])
    out = subtract_dark(subtract_bias(image, np.array([[10.0, 10.0]])), np.array([[1.0, 2.0]]), 5)
    np.testing.assert_array_equal(out, [[95.0, 100.0]])
    with pytest.raises(ValueError, match="dark time"):
        subtract_dark(image, image, -1.0)


def test_flat_division_marks_unusable_flat_pixels() -> None:
    flat = np.array([0.5, -1.0, np.nan, 2.0])
    out = divide_flat(np.full(4, 8.0), np.full(4, 4.0), flat)
    np.testing.assert_array_equal(out.image, [16.0, 0.0, 0.0, 4.0])
    np.testing.assert_array_equal(out.variance, [16.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(out.bad, [False, True, True, False])


def test_robust_sigma_ignores_outliers_and_nan() -> None:
    rng = np.random.default_rng(0)
    values = 2.0 * rng.standard_normal(100_000)
    values[:100] = 1e6
    values[100:200] = np.nan
    assert robust_sigma(values) == pytest.approx(2.0, rel=0.02)
