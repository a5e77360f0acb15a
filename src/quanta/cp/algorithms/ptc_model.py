"""The PTC model (Astier et al. 2019, eq. 16, or a quadratic) and its weighted least-squares fits.

Every point is weighted by the inverse of its relative statistical error: the variance of
``N`` Gaussian pixels is known to ``sqrt(2 / N)`` of itself, so a pair measured over fewer
pixels (partly masked) counts less. The parameter errors come from the Jacobian, scaled
up (never down) by the reduced chi-square when the points scatter more than their errors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class ModelFit:
    """One fit of one amplifier's points: gain (e-/ADU), read noise (e-), a00 (1/e-), their
    errors, the parameters that ended on a bound, and the fitted curve (ADU -> ADU^2)."""

    gain: float
    gain_err: float
    noise: float
    noise_err: float
    a00: float
    a00_err: float
    at_bound: tuple[str, ...]
    curve: Callable[[np.ndarray], np.ndarray]


def ptc_model(mean: np.ndarray, a00: float, gain: float, noise: float) -> np.ndarray:
    """Astier et al. (2019) eq. 16 in ADU: the variance of flats of ``mean`` ADU.

    ``(exp(2 a00 mean gain) - 1) / (2 a00 gain^2) + noise^2 / gain^2``, with ``gain`` in
    e-/ADU, ``noise`` in e- and ``a00`` in 1/e-; ``mean / gain + noise^2 / gain^2`` at
    ``a00 = 0``, and continuous there.
    """
    mean = np.asarray(mean, dtype=np.float64)
    return mean / gain * _expm1_ratio(2.0 * a00 * gain * mean) + (noise / gain) ** 2


def fit_polynomial(mean: np.ndarray, variance: np.ndarray, weight: np.ndarray) -> ModelFit:
    """``variance = c0 + c1 mean + c2 mean^2``: gain ``1 / c1``, noise ``sqrt(c0) gain`` (0,
    on its bound, when ``c0 <= 0``) and a00 ``c2`` (eq. 16 to first order in a00). A linear
    fit of relative residuals times ``weight``, in ``mean / max(mean)`` for conditioning.
    """
    scale = float(np.max(mean))
    t = mean / scale
    design = np.stack([np.ones_like(t), t, t * t], axis=1) * (weight / variance)[:, np.newaxis]
    coef, *_ = np.linalg.lstsq(design, weight, rcond=None)
    rescale = np.array([1.0, 1.0 / scale, 1.0 / scale**2])
    c0, c1, c2 = (float(c) for c in coef * rescale)
    if not c1 > 0:
        raise ValueError("the PTC does not rise with the mean: no gain to fit")
    cov = parameter_covariance(design, design @ coef - weight) * np.outer(rescale, rescale)
    gain = 1.0 / c1
    noise = math.sqrt(max(c0, 0.0)) * gain
    if noise > 0:
        noise_err = _propagate(np.array([0.5 * gain**2 / noise, -noise * gain, 0.0]), cov)
    else:  # the noise that c0 one standard deviation above 0 would mean
        noise_err = math.sqrt(math.sqrt(cov[0, 0])) * gain
    gain_err = _propagate(np.array([0.0, -(gain**2), 0.0]), cov)

    def curve(x: np.ndarray) -> np.ndarray:
        return c0 + c1 * x + c2 * x * x

    bound = ("noise",) if c0 <= 0 else ()
    return ModelFit(gain, gain_err, noise, noise_err, c2, math.sqrt(cov[2, 2]), bound, curve)


def fit_astier(
    mean: np.ndarray,
    variance: np.ndarray,
    weight: np.ndarray,
    loss: Literal["linear", "cauchy"] = "linear",
) -> ModelFit:
    """Astier et al. (2019) eq. 16 by non-linear least squares on relative residuals times
    ``weight``, started from the quadratic fit, with the gain positive and the noise not
    negative (a noise that ends at 0 is reported as on its bound). ``loss="cauchy"``
    makes it robust: points many errors off barely pull it (for finding outliers)."""
    from scipy.optimize import least_squares

    start = fit_polynomial(mean, variance, weight)
    noise = max(start.noise, start.gain * math.sqrt(0.01 * float(np.min(variance))))

    def residuals(p: np.ndarray) -> np.ndarray:
        return (ptc_model(mean, *p) / variance - 1.0) * weight

    def jacobian(p: np.ndarray) -> np.ndarray:
        a, g, n = p
        x = 2.0 * a * g * mean
        slope = _expm1_ratio_slope(x)
        columns = [
            2.0 * mean**2 * slope,
            -mean / g**2 * _expm1_ratio(x) + 2.0 * a * mean**2 / g * slope - 2.0 * n**2 / g**3,
            np.full_like(mean, 2.0 * n / g**2),
        ]
        return np.stack(columns, axis=1) * (weight / variance)[:, np.newaxis]

    result = least_squares(
        residuals,
        [start.a00, start.gain, noise],
        jac=jacobian,
        bounds=([-np.inf, 1e-12, 0.0], [np.inf, np.inf, np.inf]),
        method="trf",
        x_scale="jac",
        loss=loss,
    )
    a00, gain, noise = (float(v) for v in result.x)
    cov = parameter_covariance(np.asarray(result.jac), result.fun)
    a00_err, gain_err, noise_err = (math.sqrt(max(v, 0.0)) for v in np.diag(cov))
    names = ("a00", "gain", "noise")
    bound = tuple(name for name, active in zip(names, result.active_mask, strict=True) if active)

    def curve(x: np.ndarray) -> np.ndarray:
        return ptc_model(x, a00, gain, noise)

    return ModelFit(gain, gain_err, noise, noise_err, a00, a00_err, bound, curve)


FITTERS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], ModelFit]] = {
    "astier": fit_astier,
    "polynomial": fit_polynomial,
}


def parameter_covariance(jacobian: np.ndarray, residuals: np.ndarray) -> np.ndarray:
    """Parameter covariance of a fit whose residuals are in units of their errors, scaled up
    by the reduced chi-square when it exceeds 1 (scatter beyond the statistical errors)."""
    dof = jacobian.shape[0] - jacobian.shape[1]
    scale = max(float(residuals @ residuals) / dof, 1.0) if dof > 0 else np.nan
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
