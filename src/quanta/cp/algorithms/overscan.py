"""The serial overscan: its level (per row or one number) and its noise.

The overscan columns of an amplifier hold the bias level and read noise without any
signal. ISR fits their level and subtracts it from the amplifier's imaging pixels, row by
row, so that slow drifts of the bias during readout go away too. Three methods:

- ``mean`` and ``median``: per row (``per_row=True``) or one number for the amplifier;
  pixels farther than ``nsigma`` times the overscan noise from their row's median
  (cosmic rays, hot pixels) are left out first, iteratively.
- ``poly``: a polynomial of degree ``order`` in the row number, fitted to the clipped
  per-row means; it follows a gradient without adding the noise of per-row levels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ...core.raw import Section
from .stats import robust_sigma

OverscanMethod = Literal["mean", "median", "poly"]


@dataclass(frozen=True)
class OverscanOptions:
    """How to fit the overscan level.

    ``per_row`` applies to ``mean`` and ``median`` (``poly`` always gives a level per
    row); ``order`` to ``poly``; ``nsigma=None`` turns clipping off.
    """

    method: OverscanMethod = "median"
    per_row: bool = True
    order: int = 1
    nsigma: float | None = 3.0
    max_iter: int = 3

    def __post_init__(self) -> None:
        if self.method not in ("mean", "median", "poly"):
            raise ValueError(f"unknown overscan method {self.method!r}; use mean, median or poly")
        if self.order < 0 or self.max_iter < 1:
            raise ValueError("overscan order must be >= 0 and max_iter >= 1")


@dataclass(frozen=True)
class OverscanFit:
    """The fitted overscan: a level per row (ADU) and the overscan noise (ADU)."""

    level: np.ndarray
    noise: float

    @property
    def mean_level(self) -> float:
        """The level averaged over rows (ADU)."""
        return float(np.mean(self.level))


def overscan_noise(overscan: np.ndarray, nsigma: float = 5.0) -> float:
    """The white (pixel-to-pixel) noise of the overscan in ADU.

    The standard deviation of the pixels about the mean of their row (of the whole
    overscan, for a single column), with the degrees of freedom those means take
    corrected for: a level that changes from row to row does not inflate it. Pixels
    farther than ``nsigma`` robust standard deviations from their row's median (cosmic
    rays) are left out first.

    >>> rng = np.random.default_rng(1)
    >>> pixels = 1000.0 + 5.0 * rng.standard_normal((2000, 32))
    >>> pixels += np.arange(2000)[:, None] * 0.01     # a drift along the rows
    >>> round(overscan_noise(pixels), 1)
    5.0
    """
    pixels = np.asarray(overscan, dtype=np.float64)
    if pixels.shape[1] < 2:
        pixels = pixels.reshape(1, -1)
    if pixels.size < 2:
        raise ValueError(f"an overscan of shape {overscan.shape} has no noise to measure")
    deviations = pixels - np.median(pixels, axis=1, keepdims=True)
    sigma = robust_sigma(deviations)
    kept = np.isfinite(pixels)
    if sigma > 0:
        kept &= np.abs(deviations) <= nsigma * sigma
    counts = kept.sum(axis=1)
    sums = np.where(kept, pixels, 0.0).sum(axis=1)
    means = sums / np.maximum(counts, 1)
    residuals = np.where(kept, pixels - means[:, np.newaxis], 0.0)
    dof = int(counts.sum()) - int(np.count_nonzero(counts))
    return float(np.sqrt((residuals * residuals).sum() / max(dof, 1)))


def fit_overscan(overscan: np.ndarray, options: OverscanOptions | None = None) -> OverscanFit:
    """Fit the level of an overscan region (rows x columns, ADU).

    >>> pixels = np.array([[9.0, 10, 10, 11], [11, 12, 12, 90], [13, 14, 14, 15]])
    >>> fit_overscan(pixels, OverscanOptions("median")).level  # 90 is clipped
    array([10., 12., 14.])
    >>> ramp = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    >>> fit_overscan(ramp, OverscanOptions("poly", order=1)).level.round(9)
    array([1., 2., 3.])
    >>> fit_overscan(ramp, OverscanOptions("mean", per_row=False)).level
    array([2., 2., 2.])
    """
    opts = options or OverscanOptions()
    pixels = np.asarray(overscan, dtype=np.float64)
    rows = pixels.shape[0]
    noise = overscan_noise(pixels) if pixels.size > 1 else 0.0
    kept = _clip_rows(pixels, noise, opts)
    if not opts.per_row and opts.method != "poly":
        value = np.nanmean(kept) if opts.method == "mean" else np.nanmedian(kept)
        return OverscanFit(np.full(rows, value), noise)
    if opts.method == "median":
        return OverscanFit(_row_median(kept), noise)
    means = np.nanmean(kept, axis=1)
    if opts.method == "mean":
        return OverscanFit(means, noise)
    return OverscanFit(polynomial_level(means, opts.order), noise)


def polynomial_level(profile: np.ndarray, order: int) -> np.ndarray:
    """A least-squares polynomial of degree ``order`` through a per-row profile, evaluated
    at every row (rows are mapped to [-1, 1], so high orders stay well conditioned).

    >>> polynomial_level(np.array([1.0, 2.1, 2.9, 4.0]), 1).round(2)
    array([1.03, 2.01, 2.99, 3.97])
    """
    x = np.linspace(-1.0, 1.0, profile.size) if profile.size > 1 else np.zeros(1)
    good = np.isfinite(profile)
    coeffs = np.polynomial.polynomial.polyfit(x[good], profile[good], min(order, good.sum() - 1))
    return np.polynomial.polynomial.polyval(x, coeffs)


def _clip_rows(pixels: np.ndarray, noise: float, opts: OverscanOptions) -> np.ndarray:
    """The pixels with outliers (beyond ``nsigma * noise`` of their row's median) as NaN."""
    kept = pixels.copy()
    if opts.nsigma is None or noise <= 0:
        return kept
    for _ in range(opts.max_iter):
        center = _row_median(kept)[:, np.newaxis]
        outliers = np.abs(kept - center) > opts.nsigma * noise
        if not outliers.any():
            break
        kept[outliers] = np.nan
    return kept


def correct_overscan(
    pixels: np.ndarray, data: Section, overscan: Section, options: OverscanOptions | None = None
) -> tuple[np.ndarray, OverscanFit]:
    """An amplifier's imaging pixels minus the overscan level of their rows (ADU, float64),
    and the fit; the overscan must cover the imaging rows.

    >>> pixels = np.array([[5.0, 6.0, 1.0, 1.0], [7.0, 8.0, 2.0, 2.0]])
    >>> signal, fit = correct_overscan(pixels, Section(0, 2, 0, 2), Section(0, 2, 2, 4))
    >>> signal
    array([[4., 5.],
           [5., 6.]])
    """
    if not overscan.y0 <= data.y0 < data.y1 <= overscan.y1:
        raise ValueError(f"overscan rows {overscan} do not cover imaging rows {data}")
    fit = fit_overscan(pixels[overscan.slices], options)
    level = fit.level[data.y0 - overscan.y0 : data.y1 - overscan.y0]
    return pixels[data.slices] - level[:, np.newaxis], fit


def _row_median(pixels: np.ndarray) -> np.ndarray:
    """The median of each row, ignoring NaN (NaN for a row of NaN). Sorting puts NaN last,
    so the median is picked by each row's count; numpy's ``nanmedian`` is much slower."""
    ordered = np.sort(pixels, axis=1)
    count = np.count_nonzero(~np.isnan(pixels), axis=1)
    rows = np.arange(pixels.shape[0])
    low, high = np.maximum((count - 1) // 2, 0), np.maximum(count // 2, 0)
    return np.where(count > 0, 0.5 * (ordered[rows, low] + ordered[rows, high]), np.nan)
