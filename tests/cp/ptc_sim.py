"""Flat pairs simulated with SimCam's physics for the PTC tests: Poisson charge,
brighter-fatter, read noise, gain, and an optional full well."""

from __future__ import annotations

import numpy as np

from quanta.cp.algorithms import PairOptions, measure_pair
from quanta.sim.physics import brighter_fatter

GAIN, NOISE, A00 = 1.5, 6.0, -2e-6  # e-/ADU, e-, 1/e-
#: Exposure levels of the simulated PTC, in electrons.
LEVELS = np.geomspace(100.0, 85_000.0, 20)
NO_COV = PairOptions(covariances=False)


def flat(
    rng: np.random.Generator, expected: np.ndarray, a00: float = A00, full_well: float = np.inf
) -> np.ndarray:
    """An ISR'd flat in ADU as SimCam makes one: Poisson electrons, brighter-fatter,
    charge clipped at the full well, read noise, divided by the gain."""
    electrons = brighter_fatter(rng.poisson(expected).astype(float), expected, a00)
    np.minimum(electrons, full_well, out=electrons)
    return (electrons + NOISE * rng.standard_normal(expected.shape)) / GAIN


def ptc_points(
    levels: np.ndarray, size: int, seed: int, full_well: float = np.inf
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, variance (ADU) and pixel count of one simulated pair of ``size`` x ``size``
    pixels per level."""
    rng = np.random.default_rng(seed)
    means, variances, counts = [], [], []
    for level in levels:
        expected = np.full((size, size), level)
        pair = (flat(rng, expected, full_well=full_well) for _ in range(2))
        measured = measure_pair(*pair, options=NO_COV)
        means.append(measured.mean)
        variances.append(measured.variance)
        counts.append(measured.n_pixels)
    return np.array(means), np.array(variances), np.array(counts)
