"""The photon transfer curve (PTC): flat pairs measured, then gain, read noise and a00 fitted.

:func:`measure_pair` takes one amplifier of two flats of the same exposure level and
measures their mean and the variance of their flux-scaled difference, in which the
flat-field pattern cancels, and, by FFT, the covariances of that difference between
pixels up to a few lags apart (Astier et al. 2019, sec. 3). :func:`fit_ptc` fits the
variance against the mean over all pairs of an amplifier: Astier et al. (2019) eq. 16,
which includes the brighter-fatter effect, or a quadratic polynomial; the pairs above
the turnoff (saturation) and outliers are left out.

scipy is imported inside the functions that use it: importing the ISR algorithms, which
share this package, does not pay for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

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
    measured up to ``max_lag`` in x and y unless ``covariances`` is false.
    """

    nsigma: float = 5.0
    max_iter: int = 3
    edge: int = 2
    max_lag: int = 8
    covariances: bool = True

    def __post_init__(self) -> None:
        if self.nsigma <= 0 or self.max_iter < 1 or self.edge < 0 or self.max_lag < 0:
            raise ValueError(
                f"invalid {self!r}: need nsigma > 0, max_iter >= 1, edge >= 0, max_lag >= 0"
            )


@dataclass(frozen=True)
class PairMeasurement:
    """One amplifier of one flat pair, in ADU.

    ``variance`` is half the variance of ``D = (mean2 * I1 - mean1 * I2) / mean``, the
    per-image variance; ``cov[dy, dx]`` the covariances of D halved the same way
    (``cov[0, 0] == variance``), or None when they were not asked for.
    """

    mean1: float
    mean2: float
    mean: float
    variance: float
    n_pixels: int
    cov: np.ndarray | None


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
    common, (mean1, mean2), _ = _sigma_clip((image1, image2), mask, options)
    mean = 0.5 * (mean1 + mean2)
    if not mean > 0:
        raise ValueError(f"the pair's mean is {mean!r} ADU; a flat pair needs a positive mean")
    dtype = np.result_type(image1, image2, np.float32)
    diff = np.multiply(image1, dtype.type(mean2 / mean), dtype=dtype)
    diff -= np.multiply(image2, dtype.type(mean1 / mean), dtype=dtype)
    used, _, (diff_variance,) = _sigma_clip((diff,), common, options)
    cov = None
    if options.covariances:
        cov = covariances_fft(diff, used, options.max_lag) / 2.0
        cov[0, 0] = diff_variance / 2.0  # the same number, without the FFT's rounding
    count = int(np.count_nonzero(used))
    return PairMeasurement(mean1, mean2, mean, diff_variance / 2.0, count, cov)


def covariances_fft(diff: np.ndarray, good: np.ndarray, max_lag: int) -> np.ndarray:
    """Covariances of ``diff`` over its ``good`` pixels at lags 0..``max_lag``, as ``[dy, dx]``.

    The mean of the good pixels is subtracted; each lag's sum of products is divided by
    the number of good pixel pairs at that lag. For dx and dy both non-zero the lags
    (dy, dx) and (dy, -dx) are averaged, weighted by their pairs. Both sums come from
    one zero-padded real FFT of the image and of the mask (in float32 for float32 input).
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
    padded = np.zeros((2, *shape), dtype=dtype)
    center = float(np.mean(diff, where=good, dtype=np.float64))
    np.subtract(diff, center, out=padded[0, :rows, :columns], where=good)
    padded[1, :rows, :columns] = good
    spectra = scipy.fft.rfft2(padded, overwrite_x=True)
    power = np.square(spectra.real)
    power += np.square(spectra.imag)
    del spectra
    # The inverse transform along y is needed at lags 0..max_lag only: a small matrix
    # product instead of a full inverse FFT. einsum rather than matmul: BLAS threads
    # would fight over a worker pinned to one core, and cost ten times more.
    lags = np.arange(max_lag + 1)
    angle = (2.0 * np.pi / shape[0]) * (np.outer(lags, np.arange(shape[0])) % shape[0])
    real = np.einsum("ly,byx->blx", np.cos(angle).astype(dtype), power)
    rows_y = real + 1j * np.einsum("ly,byx->blx", np.sin(angle).astype(dtype), power)
    sums, pairs = scipy.fft.irfft(rows_y, n=shape[1], axis=-1) / shape[0]
    total = sums[:, lags].astype(np.float64)
    count = np.rint(pairs[:, lags])
    mirrored = (-lags[1:]) % shape[1]  # the columns of lags -dx
    total[1:, 1:] += sums[1:, mirrored]
    count[1:, 1:] += np.rint(pairs[1:, mirrored])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


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
) -> tuple[np.ndarray, list[float], list[float]]:
    """The pixels of ``mask`` within ``nsigma`` of every image's clipped mean; the means and
    variances of the images over them.

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
            raise ValueError("no usable pixels: every pixel is masked or not finite")
        sigma = robust_sigma(sample)
        centers.append(float(np.median(sample)))
        sigmas.append(sigma if sigma > 0 else float(np.std(sample, dtype=np.float64)))
    keep, count = mask, -1
    for _ in range(options.max_iter):
        within = mask.copy()
        for image, center, sigma in zip(images, centers, sigmas, strict=True):
            within &= image >= center - options.nsigma * sigma
            within &= image <= center + options.nsigma * sigma
        new_count = int(np.count_nonzero(within))
        if new_count == count:
            break
        if new_count == 0:
            raise ValueError("sigma clipping left no pixels")
        keep, count = within, new_count
        for i, image in enumerate(images):
            kept = image[keep]
            centers[i] = float(kept.mean(dtype=np.float64))
            sigmas[i] = float(kept.std())  # pairwise sums: float32 loses nothing that matters
    return keep, centers, [s * s for s in sigmas]


@dataclass(frozen=True)
class SolveOptions:
    """How to fit a PTC.

    ``model`` is ``astier`` (Astier et al. 2019, eq. 16) or ``polynomial`` (quadratic);
    points whose relative residual is more than ``nsigma`` robust standard deviations
    off are left out, over at most ``max_iter`` fits; ``turnoff`` leaves out the points
    above the turnoff first; fewer than ``min_points`` usable points is an error.
    """

    model: Literal["astier", "polynomial"] = "astier"
    nsigma: float = 5.0
    max_iter: int = 10
    turnoff: bool = True
    min_points: int = 5

    def __post_init__(self) -> None:
        if self.model not in ("astier", "polynomial"):
            raise ValueError(f"unknown PTC model {self.model!r}; use astier or polynomial")
        if self.nsigma <= 0 or self.max_iter < 1 or self.min_points < 4:
            raise ValueError(f"invalid {self!r}: need nsigma > 0, max_iter >= 1, min_points >= 4")


@dataclass(frozen=True)
class AmpFit:
    """The PTC fit of one amplifier: gain (e-/ADU), read noise (e-), a00 (1/e-), with errors.

    ``turnoff`` is the highest mean (ADU) of the points used; ``used`` and ``residuals``
    (``(variance - model) / model``, NaN where not computable) have one entry per point.
    """

    gain: float
    gain_err: float
    noise: float
    noise_err: float
    a00: float
    a00_err: float
    turnoff: float
    n_pairs_used: int
    used: np.ndarray
    model: str
    residuals: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """The fit as JSON-ready values; NaN and infinities become None."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                out[name] = [_json_value(v) for v in value.tolist()]
            else:
                out[name] = _json_value(value)
        return out


def ptc_model(mean: np.ndarray, a00: float, gain: float, noise: float) -> np.ndarray:
    """Astier et al. (2019) eq. 16 in ADU: the variance of flats of ``mean`` ADU.

    ``(exp(2 a00 mean gain) - 1) / (2 a00 gain^2) + noise^2 / gain^2``, with ``gain`` in
    e-/ADU, ``noise`` in e- and ``a00`` in 1/e-; ``mean / gain + noise^2 / gain^2`` at
    ``a00 = 0``, and continuous there.
    """
    mean = np.asarray(mean, dtype=np.float64)
    return mean / gain * _expm1_ratio(2.0 * a00 * gain * mean) + (noise / gain) ** 2


def fit_ptc(
    means: np.ndarray, variances: np.ndarray, options: SolveOptions = SolveOptions()
) -> AmpFit:
    """Fit the PTC of one amplifier to every pair's mean and variance (ADU).

    Points with a non-finite value or no variance are never used; with ``turnoff``, nor
    are those above the turnoff. The fit is weighted by the relative error of a variance
    (the same for every pair of an amplifier); points more than ``nsigma`` robust
    standard deviations of the relative residuals off are left out and the fit repeated
    until the points used stop changing. Errors come from the Jacobian, scaled by the
    scatter of the residuals.
    """
    means = np.asarray(means, dtype=np.float64).ravel()
    variances = np.asarray(variances, dtype=np.float64).ravel()
    if means.shape != variances.shape:
        raise ValueError(f"{means.size} means but {variances.size} variances")
    usable = np.isfinite(means) & np.isfinite(variances) & (variances > 0)
    if options.turnoff:
        usable &= _below_turnoff(means, variances, usable)
    used = usable
    for iteration in range(options.max_iter):
        if np.count_nonzero(used) < options.min_points:
            raise ValueError(
                f"only {np.count_nonzero(used)} usable PTC points (of {means.size}); "
                f"the fit needs at least {options.min_points}"
            )
        solution, model = _FITTERS[options.model](means[used], variances[used])
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = model(means)
            residuals = np.where(expected > 0, (variances - expected) / expected, np.nan)
        scatter = robust_sigma(residuals[used])
        again = usable & (np.abs(residuals) <= options.nsigma * scatter)
        if not scatter > 0 or np.array_equal(again, used) or iteration == options.max_iter - 1:
            break
        used = again
    turnoff = float(np.max(means[used]))
    n_used = int(np.count_nonzero(used))
    return AmpFit(*solution, turnoff, n_used, used, options.model, residuals)


#: A fit's gain, gain error, noise, noise error, a00 and a00 error; and its model.
_Solution = tuple[
    tuple[float, float, float, float, float, float], Callable[[np.ndarray], np.ndarray]
]


def _fit_polynomial(mean: np.ndarray, variance: np.ndarray) -> _Solution:
    """``variance = c0 + c1 mean + c2 mean^2``: gain ``1 / c1``, noise ``sqrt(c0) gain`` and
    a00 ``c2`` (eq. 16 to first order in a00). A linear fit weighted by relative errors, in
    ``mean / max(mean)`` for conditioning.
    """
    scale = float(np.max(mean))
    t = mean / scale
    design = np.stack([np.ones_like(t), t, t * t], axis=1) / variance[:, np.newaxis]
    coef, *_ = np.linalg.lstsq(design, np.ones_like(t), rcond=None)
    rescale = np.array([1.0, 1.0 / scale, 1.0 / scale**2])
    c0, c1, c2 = (float(c) for c in coef * rescale)
    if not c1 > 0:
        raise ValueError("the PTC does not rise with the mean: no gain to fit")
    cov = _covariance(design, design @ coef - 1.0) * np.outer(rescale, rescale)
    gain = 1.0 / c1
    noise = math.sqrt(max(c0, 0.0)) * gain
    if noise > 0:
        noise_err = _propagate(np.array([0.5 * gain**2 / noise, -noise * gain, 0.0]), cov)
    else:  # the noise that c0 one standard deviation above 0 would mean
        noise_err = math.sqrt(math.sqrt(cov[0, 0])) * gain
    gain_err = _propagate(np.array([0.0, -(gain**2), 0.0]), cov)
    solution = (gain, gain_err, noise, noise_err, c2, math.sqrt(cov[2, 2]))

    def model(x: np.ndarray) -> np.ndarray:
        return c0 + c1 * x + c2 * x * x

    return solution, model


def _fit_astier(mean: np.ndarray, variance: np.ndarray) -> _Solution:
    """Astier et al. (2019) eq. 16 by non-linear least squares on relative residuals,
    started from the quadratic fit."""
    from scipy.optimize import least_squares

    (gain, _, noise, _, a00, _), _ = _fit_polynomial(mean, variance)
    noise = max(noise, gain * math.sqrt(0.01 * float(np.min(variance))))

    def residuals(p: np.ndarray) -> np.ndarray:
        return ptc_model(mean, *p) / variance - 1.0

    def jacobian(p: np.ndarray) -> np.ndarray:
        a, g, n = p
        x = 2.0 * a * g * mean
        slope = _expm1_ratio_slope(x)
        columns = [
            2.0 * mean**2 * slope,
            -mean / g**2 * _expm1_ratio(x) + 2.0 * a * mean**2 / g * slope - 2.0 * n**2 / g**3,
            np.full_like(mean, 2.0 * n / g**2),
        ]
        return np.stack(columns, axis=1) / variance[:, np.newaxis]

    result = least_squares(residuals, [a00, gain, noise], jac=jacobian, method="lm", x_scale="jac")
    a00, gain, noise = (float(v) for v in result.x)
    cov = _covariance(np.asarray(result.jac), result.fun)
    a00_err, gain_err, noise_err = (math.sqrt(v) for v in np.diag(cov))
    solution = (gain, gain_err, abs(noise), noise_err, a00, a00_err)

    def model(x: np.ndarray) -> np.ndarray:
        return ptc_model(x, a00, gain, noise)

    return solution, model


_FITTERS: dict[str, Callable[[np.ndarray, np.ndarray], _Solution]] = {
    "astier": _fit_astier,
    "polynomial": _fit_polynomial,
}


def _covariance(jacobian: np.ndarray, residuals: np.ndarray) -> np.ndarray:
    """Parameter covariance of a least-squares fit, scaled by its residuals' variance (the
    absolute errors of the points are not known, only their relative weights)."""
    dof = jacobian.shape[0] - jacobian.shape[1]
    scale = float(residuals @ residuals) / dof if dof > 0 else np.nan
    return np.linalg.pinv(jacobian.T @ jacobian) * scale


def _propagate(gradient: np.ndarray, cov: np.ndarray) -> float:
    """The standard deviation of a function of the parameters with this ``gradient``."""
    return math.sqrt(max(float(gradient @ cov @ gradient), 0.0))


def _expm1_ratio(x: np.ndarray) -> np.ndarray:
    """``expm1(x) / x``, 1 at ``x = 0``."""
    safe = np.where(x == 0, 1.0, x)
    return np.where(x == 0, 1.0, np.expm1(safe) / safe)


def _expm1_ratio_slope(x: np.ndarray) -> np.ndarray:
    """The derivative of :func:`_expm1_ratio`; a series near 0, where the closed form
    ``(x e^x - expm1(x)) / x^2`` cancels."""
    small = np.abs(x) < 1e-2
    safe = np.where(small, 1.0, x)
    closed = (safe * np.exp(safe) - np.expm1(safe)) / safe**2
    series = 0.5 + x / 3.0 + x**2 / 8.0 + x**3 / 30.0
    return np.where(small, series, closed)


def _below_turnoff(means: np.ndarray, variances: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """The points not above the turnoff, where the variance stops rising with the mean.

    The turnoff is the maximum of the variances (in order of mean) after a running median
    of three, so that one outlying pair is not taken for it, moved up while the variance
    still rises.
    """
    order = np.flatnonzero(usable)[np.argsort(means[usable], kind="stable")]
    v = variances[order]
    smooth = v.copy()
    if v.size >= 3:
        smooth[1:-1] = np.median(np.stack([v[:-2], v[1:-1], v[2:]]), axis=0)
    top = int(np.argmax(smooth)) if v.size else -1
    while top + 1 < v.size and v[top + 1] > v[top]:
        top += 1
    below = np.zeros(means.shape, dtype=bool)
    below[order[: top + 1]] = True
    return below


def _json_value(value: Any) -> Any:
    """A value for JSON: non-finite floats become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
