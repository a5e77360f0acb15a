"""The brighter-fatter kernel from a PTC's a_ij, and the correction that applies it.

Following Coulton et al. (2018), the charge a pixel attracts from its neighbours is the
divergence of a current ``I grad(phi) / 2`` driven by the potential ``phi = K * I`` of
the image ``I`` (electrons), where the kernel ``K`` solves the Poisson equation
``laplacian(K) = a`` for the a_ij of Astier et al. (2019) unfolded to the four quadrants.
To first order in a flat of mean ``mu`` and excess ``d`` the charge moved is then
``mu (a * d) / 2``, which is what makes the covariances grow as ``a_ij mu^2``.

:func:`solve_kernel` solves the Poisson equation with the 5-point Laplacian, exactly, by
a type-I discrete sine transform on a box of half-size ``half`` (the kernel is 0 just
outside it); :func:`correct_brighter_fatter` removes the charge moved, iterating because
the charge moved depends on the true image. The exchange moves charge between
neighbouring pixels only, so the correction conserves the total charge exactly, also with
a kernel per amplifier (each pixel's potential from its amplifier's kernel).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

from .ptc_cov_model import unfold

#: One kernel for the whole image, or one per region ((rows, columns) slices that tile it).
Kernels: TypeAlias = np.ndarray | Sequence[tuple[tuple[slice, slice], np.ndarray]]


@dataclass(frozen=True)
class BfCorrected:
    """A corrected image (electrons), the iterations made and the last iteration's largest
    change (electrons): below the threshold when the correction converged."""

    image: np.ndarray
    iterations: int
    change: float


def average_a(a: np.ndarray, a_err: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The inverse-variance weighted mean of amplifiers' ``a[amp, i, j]`` with errors
    ``a_err`` (1/e-), and its error, lag by lag; a lag with no finite positive error in any
    amplifier is an error."""
    a = np.asarray(a, dtype=np.float64)
    err = np.asarray(a_err, dtype=np.float64)
    usable = np.isfinite(a) & np.isfinite(err) & (err > 0)
    if not np.all(np.any(usable, axis=0)):
        raise ValueError("some lags of a_ij have no amplifier with a finite, positive error")
    weight = np.where(usable, 1.0 / np.where(usable, err, 1.0) ** 2, 0.0)
    total = weight.sum(axis=0)
    mean = np.where(usable, a, 0.0) * weight
    return mean.sum(axis=0) / total, 1.0 / np.sqrt(total)


def solve_kernel(a: np.ndarray, half: int) -> np.ndarray:
    """The kernel ``K`` (shape ``2 half + 1`` square, centred) with ``laplacian(K) = a``
    for the quadrant ``a[i, j]`` (lags 0..r-1, 1/e-) unfolded to all four quadrants, and
    ``K = 0`` at lags ``half + 1``; ``half`` must be at least r - 1."""
    from scipy.fft import dstn, idstn

    r = a.shape[0]
    if a.ndim != 2 or a.shape[1] != r:
        raise ValueError(f"a_ij of shape {a.shape} is not a square quadrant")
    if half < r - 1:
        raise ValueError(f"a kernel of half-size {half} cannot hold a_ij to lag {r - 1}")
    source = unfold(np.asarray(a, dtype=np.float64), half)
    size = 2 * half + 1
    eigen = 2.0 * np.cos(np.pi * np.arange(1, size + 1) / (size + 1)) - 2.0
    spectrum = dstn(source, type=1) / (eigen[:, None] + eigen[None, :])
    kernel: np.ndarray = idstn(spectrum, type=1)
    return kernel


def potential(image: np.ndarray, kernel: Kernels) -> np.ndarray:
    """``kernel * image``: one kernel for every pixel, or per region the potential of its
    own kernel in its pixels (from the charge of the whole image around them)."""
    from scipy.signal import oaconvolve

    if isinstance(kernel, np.ndarray):
        return np.asarray(oaconvolve(image, kernel, mode="same"))
    phi = np.zeros(image.shape, dtype=np.float64)
    for (rows, cols), own in kernel:
        half_y, half_x = own.shape[0] // 2, own.shape[1] // 2
        y0, x0 = max(rows.start - half_y, 0), max(cols.start - half_x, 0)
        y1, x1 = min(rows.stop + half_y, image.shape[0]), min(cols.stop + half_x, image.shape[1])
        around = oaconvolve(image[y0:y1, x0:x1], own, mode="same")
        phi[rows, cols] = around[rows.start - y0 : rows.stop - y0, cols.start - x0 : cols.stop - x0]
    return phi


def charge_moved(image: np.ndarray, kernel: Kernels) -> np.ndarray:
    """The charge (electrons) each pixel of ``image`` gained from its four neighbours by
    the brighter-fatter effect of ``kernel`` (one, or one per region: :func:`potential`):
    across each edge between two pixels, half the mean of their charges times the
    difference of their potentials."""
    phi = potential(image, kernel)
    moved = np.zeros(image.shape, dtype=np.float64)
    across = 0.25 * (image[:, 1:] + image[:, :-1]) * (phi[:, 1:] - phi[:, :-1])
    moved[:, :-1] += across
    moved[:, 1:] -= across
    down = 0.25 * (image[1:, :] + image[:-1, :]) * (phi[1:, :] - phi[:-1, :])
    moved[:-1, :] += down
    moved[1:, :] -= down
    return moved


def correct_brighter_fatter(
    image: np.ndarray, kernel: Kernels, max_iter: int = 10, threshold: float = 1e-3
) -> BfCorrected:
    """``image`` (electrons) without the charge the brighter-fatter effect moved: the true
    image ``T`` solves ``image = T + charge_moved(T)``, found by fixed-point iteration
    from ``image`` until no pixel changes by ``threshold`` electrons or more, for at
    most ``max_iter`` iterations."""
    observed = np.asarray(image, dtype=np.float64)
    current = observed
    change = np.inf
    iterations = 0
    while iterations < max_iter and not change < threshold:
        following = observed - charge_moved(current, kernel)
        change = float(np.max(np.abs(following - current))) if following.size else 0.0
        current = following
        iterations += 1
    return BfCorrected(current, iterations, change)
