"""The photon transfer curve (PTC), first step: one amplifier of a flat pair measured.

:func:`measure_pair` takes one amplifier of two flats of the same exposure level and
measures their mean and the variance of their flux-scaled difference, in which the
flat-field pattern cancels, and, by FFT, the covariances of that difference between
pixels up to a few lags apart (Astier et al. 2019, sec. 3). A pair with too few usable
pixels (saturated, masked) is not an error: it is a point without a value, with the
reason, so that the rest of the curve is still measured and fitted (``ptc_fit``).

scipy is imported inside the functions that use it: importing the ISR algorithms, which
share this package, does not pay for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .stats import robust_sigma

#: Size of the subsample that starts sigma clipping: its median and robust sigma are as
#: good a start as those of a million pixels, at a fraction of the cost.
_START_SAMPLE = 8192


@dataclass(frozen=True)
class PairOptions:
    """How to measure a flat pair.

    ``nsigma`` and ``max_iter`` govern the iterative clipping of each image's pixels and
    of the difference image; ``edge`` pixels are masked at each border; covariances are
    measured up to ``max_lag`` in x and y unless ``covariances`` is false. A pair with
    fewer than ``min_pixels`` usable pixels is not measured; one with more than
    ``flag_masked`` of its pixels (inside the edges) masked is measured and flagged.
    """

    nsigma: float = 5.0
    max_iter: int = 3
    edge: int = 2
    max_lag: int = 8
    covariances: bool = True
    min_pixels: int = 1000
    flag_masked: float = 0.05

    def __post_init__(self) -> None:
        if (
            self.nsigma <= 0
            or self.max_iter < 1
            or self.edge < 0
            or self.max_lag < 0
            or self.min_pixels < 2
            or not 0 <= self.flag_masked <= 1
        ):
            raise ValueError(
                f"invalid {self!r}: need nsigma > 0, max_iter >= 1, edge >= 0, max_lag >= 0, "
                "min_pixels >= 2, 0 <= flag_masked <= 1"
            )


@dataclass(frozen=True)
class PairMeasurement:
    """One amplifier of one flat pair, in ADU.

    ``variance`` is half the variance of ``D = (mean2 * I1 - mean1 * I2) / mean``, the
    per-image variance; ``cov[dy, dx]`` the covariances of D halved the same way
    (``cov[0, 0] == variance``), or None when they were not asked for. ``flag`` says
    why the pair is not measured (means and variance NaN) or what is unusual about it;
    it is empty for a clean pair.
    """

    mean1: float
    mean2: float
    mean: float
    variance: float
    n_pixels: int
    cov: np.ndarray | None
    flag: str = ""

    @property
    def measured(self) -> bool:
        """Whether the pair has a mean and a variance."""
        return math.isfinite(self.variance)


def unmeasured(n_pixels: int, reason: str) -> PairMeasurement:
    """A pair without a measurement, and why."""
    nan = float("nan")
    return PairMeasurement(nan, nan, nan, nan, n_pixels, None, reason)


def measure_pair(
    image1: np.ndarray,
    image2: np.ndarray,
    good: np.ndarray | None = None,
    options: PairOptions = PairOptions(),
) -> PairMeasurement:
    """Mean, variance and covariances of one amplifier of a flat pair.

    The images are ISR'd (overscan and bias subtracted, not gain corrected); ``good``
    marks the usable pixels (False: saturated, bad). The means are sigma clipped over the
    pixels good in both images; scaling each image by the other's mean before
    subtracting cancels the flat-field pattern and any flux difference between the two
    exposures. Outliers of the difference are clipped before its variance and
    covariances are taken. Identical images give exactly zero variance and covariances.
    Float32 images are processed in float32.
    """
    if image1.ndim != 2 or image1.shape != image2.shape:
        raise ValueError(
            f"a pair needs two 2-d images of one shape, not {image1.shape}, {image2.shape}"
        )
    mask = _usable_pixels(image1.shape, good, options.edge)
    available = int(np.count_nonzero(mask))
    if available < options.min_pixels:
        return unmeasured(
            available, f"too few usable pixels: {available} < min_pixels {options.min_pixels}"
        )
    clipped = _sigma_clip((image1, image2), mask, options)
    if clipped is None:
        return unmeasured(available, "no pixels survive sigma clipping")
    common, (mean1, mean2), _ = clipped
    mean = 0.5 * (mean1 + mean2)
    if not mean > 0:
        return unmeasured(available, f"mean {mean:.6g} ADU is not positive")
    dtype = np.result_type(image1, image2, np.float32)
    diff = np.multiply(image1, dtype.type(mean2 / mean), dtype=dtype)
    diff -= np.multiply(image2, dtype.type(mean1 / mean), dtype=dtype)
    clipped = _sigma_clip((diff,), common, options)
    count = 0 if clipped is None else int(np.count_nonzero(clipped[0]))
    if clipped is None or count < options.min_pixels:
        return unmeasured(count, f"too few pixels after clipping: {count}")
    used, _, (diff_variance,) = clipped
    cov = None
    if options.covariances:
        cov = covariances_fft(diff, used, options.max_lag) / 2.0
        cov[0, 0] = diff_variance / 2.0  # the same number, without the FFT's rounding
    inside = (image1.shape[0] - 2 * options.edge) * (image1.shape[1] - 2 * options.edge)
    masked = 1.0 - available / inside
    flag = f"partly masked: {100 * masked:.1f}% of pixels" if masked > options.flag_masked else ""
    return PairMeasurement(mean1, mean2, mean, diff_variance / 2.0, count, cov, flag)


def covariances_fft(diff: np.ndarray, good: np.ndarray, max_lag: int) -> np.ndarray:
    """Covariances of ``diff`` over its ``good`` pixels at lags 0..``max_lag``, as ``[dy, dx]``.

    The mean of the good pixels is subtracted; each lag's sum of products is divided by
    the number of good pixel pairs at that lag. For dx and dy both non-zero the lags
    (dy, dx) and (dy, -dx) are averaged, weighted by their pairs. The sums of products
    come from a zero-padded real FFT of the image (in float32 for float32 input); the
    pairs are counted from the few bad pixels inside the good ones' bounding box, or, for
    a partly masked image, from an FFT of the mask done with the image's.
    """
    import scipy.fft

    if good.shape != diff.shape or not good.any():
        raise ValueError(f"no good pixels for covariances (mask {good.shape}, image {diff.shape})")
    rows, columns = diff.shape
    dtype = np.float32 if diff.dtype == np.float32 else np.float64
    shape = (
        scipy.fft.next_fast_len(rows + max_lag, real=True),
        scipy.fft.next_fast_len(columns + max_lag, real=True),
    )
    lags = np.arange(max_lag + 1)
    mirrored = (-lags[1:]) % shape[1]  # the columns of lags -dx
    counts = _sparse_pair_counts(good, max_lag)
    padded = np.zeros((1 if counts is not None else 2, *shape), dtype=dtype)
    center = float(np.mean(diff, where=good, dtype=np.float64))
    np.subtract(diff, center, out=padded[0, :rows, :columns], where=good)
    if counts is None:
        padded[1, :rows, :columns] = good
    spectra = scipy.fft.rfft2(padded, overwrite_x=True)
    power = np.square(spectra.real)
    power += np.square(spectra.imag)
    del spectra
    # The inverse transform along y is needed at lags 0..max_lag only: a small matrix
    # product instead of a full inverse FFT. einsum rather than matmul: BLAS threads
    # would fight over a worker pinned to one core, and cost ten times more.
    angle = (2.0 * np.pi / shape[0]) * (np.outer(lags, np.arange(shape[0])) % shape[0])
    real = np.einsum("ly,byx->blx", np.cos(angle).astype(dtype), power)
    rows_y = real + 1j * np.einsum("ly,byx->blx", np.sin(angle).astype(dtype), power)
    inverse = scipy.fft.irfft(rows_y, n=shape[1], axis=-1) / shape[0]
    sums = inverse[0]
    total = sums[:, lags].astype(np.float64)
    total[1:, 1:] += sums[1:, mirrored]
    if counts is None:
        pairs = inverse[1]
        counts = np.rint(pairs[:, lags])
        counts[1:, 1:] += np.rint(pairs[1:, mirrored])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, total / counts, np.nan)


#: Most bad pixels inside the good pixels' bounding box for which pairs are counted from
#: them; with more, the mask is transformed too.
_SPARSE_BAD = 4096


def _sparse_pair_counts(good: np.ndarray, max_lag: int) -> np.ndarray | None:
    """Pairs of good pixels at lags (dy, dx), with (dy, -dx) added where both are non-zero,
    as ``covariances_fft`` sums them: those of the good pixels' bounding box, less those
    with a bad pixel inside it. None when the box holds more than ``_SPARSE_BAD`` bad
    pixels (a partly masked amplifier), for which a transform of the mask is cheaper."""
    rows_any, columns_any = np.flatnonzero(good.any(axis=1)), np.flatnonzero(good.any(axis=0))
    y0, y1, x0, x1 = rows_any[0], rows_any[-1] + 1, columns_any[0], columns_any[-1] + 1
    box = good[y0:y1, x0:x1]
    bad_y, bad_x = np.nonzero(~box)
    if bad_y.size > _SPARSE_BAD:
        return None
    height, width = box.shape
    lags = np.arange(max_lag + 1)
    dy, dx = lags[:, None, None], lags[None, :, None]
    counts = np.zeros((max_lag + 1, max_lag + 1))
    bad_codes = np.sort(bad_y * width + bad_x)
    for sign in (1, -1):
        shift = sign * dx
        inside = np.maximum(height - dy, 0) * np.maximum(width - np.abs(shift), 0)
        counts_sign = inside[..., 0].astype(np.float64)
        # Pairs (p, p + lag) and (p - lag, p) with p bad and the partner in the box.
        for step in (1, -1):
            ys, xs = bad_y + step * dy, bad_x + step * shift
            partner = (ys >= 0) & (ys < height) & (xs >= 0) & (xs < width)
            counts_sign -= partner.sum(axis=-1)
            # Pairs of two bad pixels were subtracted twice: once from each end.
            if step == 1:
                codes = np.where(partner, ys * width + xs, -1)
                where = np.searchsorted(bad_codes, codes).clip(max=max(bad_codes.size - 1, 0))
                both = partner & (bad_codes[where] == codes) if bad_codes.size else partner
                counts_sign += both.sum(axis=-1)
        if sign == 1:
            counts += counts_sign
        else:
            counts[1:, 1:] += counts_sign[1:, 1:]
    return counts


def _usable_pixels(shape: tuple[int, ...], good: np.ndarray | None, edge: int) -> np.ndarray:
    """The pixels to measure: ``good`` (all, if None) minus ``edge`` pixels at each border."""
    if good is not None and good.shape != shape:
        raise ValueError(f"the good-pixel mask has shape {good.shape}, the images {shape}")
    if 2 * edge >= min(shape):
        raise ValueError(f"masking {edge} edge pixels leaves nothing of a {shape} amplifier")
    mask = np.ones(shape, dtype=bool) if good is None else good.astype(bool, copy=True)
    if edge:
        mask[:edge] = mask[-edge:] = False
        mask[:, :edge] = mask[:, -edge:] = False
    return mask


def _sigma_clip(
    images: Sequence[np.ndarray], mask: np.ndarray, options: PairOptions
) -> tuple[np.ndarray, list[float], list[float]] | None:
    """The pixels of ``mask`` within ``nsigma`` of every image's clipped mean; the means and
    variances of the images over them; None when no pixel is left.

    Clipping starts from the median and robust sigma of a subsample and iterates on the
    mean and standard deviation of the pixels kept, until the count stops changing.
    Non-finite pixels are never kept.
    """
    step = max(1, math.isqrt(mask.size // _START_SAMPLE))
    start_mask = mask[::step, ::step]
    centers, sigmas = [], []
    for image in images:
        sample = image[::step, ::step][start_mask]
        sample = sample[np.isfinite(sample)]
        if sample.size == 0:
            return None
        sigma = robust_sigma(sample)
        centers.append(float(np.median(sample)))
        sigmas.append(sigma if sigma > 0 else float(np.std(sample, dtype=np.float64)))
    keep, count = mask, -1
    test = np.empty(mask.shape, dtype=bool)  # one buffer for every comparison
    for _ in range(options.max_iter):
        within = mask.copy()
        for image, center, sigma in zip(images, centers, sigmas, strict=True):
            within &= np.greater_equal(image, center - options.nsigma * sigma, out=test)
            within &= np.less_equal(image, center + options.nsigma * sigma, out=test)
        new_count = int(np.count_nonzero(within))
        if new_count == count:
            break
        if new_count == 0:
            return None
        keep, count = within, new_count
        for i, image in enumerate(images):
            kept = image[keep]
            centers[i] = float(kept.mean(dtype=np.float64))
            sigmas[i] = float(kept.std())  # pairwise sums: float32 loses nothing that matters
    return keep, centers, [s * s for s in sigmas]
