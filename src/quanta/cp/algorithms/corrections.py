"""Pixel corrections of ISR: gain, variance, bias, dark and flat.

Each function takes arrays (an amplifier, a detector or rows of one) and returns new
ones, in the units of its input: ADU, or electrons once the gain is applied. Master
calibrations are in the same units as the image they correct; a dark is per second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def apply_gain(adu: np.ndarray, gain: float) -> np.ndarray:
    """ADU to electrons: ``adu * gain`` with ``gain`` in e-/ADU."""
    if not gain > 0:
        raise ValueError(f"gain must be positive, not {gain!r}")
    return adu * gain


def variance_plane(
    signal: np.ndarray, read_noise: float, electrons_per_unit: float = 1.0
) -> np.ndarray:
    """Expected variance of each pixel: Poisson noise of the signal plus read noise.

    ``signal`` is bias-subtracted, in units of ``electrons_per_unit`` electrons (1 for an
    image in electrons, the gain for one in ADU); ``read_noise`` is in electrons. The
    result is in squared units of ``signal``. Negative signal adds no Poisson term.

    >>> variance_plane(np.array([-5.0, 0.0, 100.0]), read_noise=3.0)
    array([  9.,   9., 109.])
    >>> variance_plane(np.array([50.0]), read_noise=4.0, electrons_per_unit=2.0)
    array([29.])
    """
    poisson = np.maximum(signal, 0.0) / electrons_per_unit
    return poisson + (read_noise / electrons_per_unit) ** 2


def subtract_bias(image: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """The image minus a master bias (same units)."""
    return image - bias


def subtract_dark(image: np.ndarray, dark_rate: np.ndarray, dark_time: float) -> np.ndarray:
    """The image minus a master dark (units per second) scaled by the dark time (s).

    >>> subtract_dark(np.array([10.0, 20.0]), np.array([0.5, 1.0]), 10.0)
    array([ 5., 10.])
    """
    if dark_time < 0:
        raise ValueError(f"dark time must not be negative, not {dark_time!r}")
    return image - dark_rate * dark_time


@dataclass(frozen=True)
class FlatCorrected:
    """A flat-fielded image and variance, and where the flat was unusable (set to 0)."""

    image: np.ndarray
    variance: np.ndarray
    bad: np.ndarray


def divide_flat(image: np.ndarray, variance: np.ndarray, flat: np.ndarray) -> FlatCorrected:
    """Divide by a normalised flat; the variance by its square.

    Pixels whose flat is not positive or not finite are set to 0 and reported as bad.

    >>> out = divide_flat(np.array([10.0, 10.0]), np.array([4.0, 4.0]), np.array([2.0, 0.0]))
    >>> out.image, out.variance, out.bad
    (array([5., 0.]), array([1., 0.]), array([False,  True]))
    """
    bad = ~(np.isfinite(flat) & (flat > 0))
    safe = np.where(bad, 1.0, flat)
    return FlatCorrected(
        np.where(bad, 0.0, image / safe), np.where(bad, 0.0, variance / (safe * safe)), bad
    )
