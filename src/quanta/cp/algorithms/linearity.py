"""A linearizer from a flat series: each amplifier's polynomial that makes the signal
proportional to the exposure time.

:func:`fit_linearity` fits ``mean + d2 mean^2 + ... + dK mean^K = k t`` to the mean
signals (ADU) of flats of exposure times ``t``: rewritten as
``mean = k t - d2 mean^2 - ... - dK mean^K`` it is linear in (k, d2..dK), so one weighted
linear least-squares solve gives it. Each point is weighted by the photon noise of its
mean, which grows as ``sqrt(mean)``: relative residuals would let the faintest flats,
whose means are the least precise relative to themselves, pull the curvature. The
linearizer is ``[0, 1, d2, ..., dK]``, the polynomial that ISR's ``linearize`` applies to
the overscan-corrected signal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: The ``quality`` of a fit with nothing to report.
GOOD = "good"


@dataclass(frozen=True)
class LinearityFit:
    """One amplifier's linearizer: ``polynomial`` ``[0, 1, d2, ...]`` (ADU -> ADU) with
    errors, the linearized ``rate`` (ADU/s) with its error, per point whether it was
    ``used`` and its relative residual ``(linearized - rate t) / (rate t)`` (NaN if
    unused), the largest absolute residual, and ``quality`` (``good`` or why not)."""

    polynomial: tuple[float, ...]
    polynomial_err: tuple[float, ...]
    rate: float
    rate_err: float
    used: np.ndarray
    residuals: np.ndarray
    max_residual: float
    quality: str


def fit_linearity(
    times: np.ndarray, means: np.ndarray, order: int = 3, max_mean: float = math.inf
) -> LinearityFit:
    """The linearizer of degree ``order`` (>= 2) from flats of exposure ``times`` (s) and
    mean signals ``means`` (ADU). Points with a non-positive or non-finite time or mean,
    or a mean above ``max_mean``, are left out; fewer than ``order + 2`` usable points is
    an error (the fit needs a degree of freedom to give errors)."""
    if order < 2:
        raise ValueError(f"a linearizer of degree {order} corrects nothing; use order >= 2")
    times = np.asarray(times, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    if times.shape != means.shape:
        raise ValueError(f"{times.size} exposure times for {means.size} means")
    with np.errstate(invalid="ignore"):
        used = np.isfinite(times) & np.isfinite(means) & (times > 0) & (means > 0)
        used &= means <= max_mean
    count = int(np.count_nonzero(used))
    if count < order + 2:
        raise ValueError(
            f"only {count} usable flats for a linearizer of degree {order}; it needs {order + 2}"
        )
    t, mu = times[used], means[used]
    powers = [-(mu**m) for m in range(2, order + 1)]
    weight = 1.0 / np.sqrt(mu)
    design = np.stack([t, *powers], axis=1) * weight[:, np.newaxis]
    coef, *_ = np.linalg.lstsq(design, mu * weight, rcond=None)
    rss = float(np.sum((design @ coef - mu * weight) ** 2))
    cov = np.linalg.pinv(design.T @ design) * rss / (count - design.shape[1])
    errors = np.sqrt(np.maximum(np.diag(cov), 0.0))
    rate, rate_err = float(coef[0]), float(errors[0])
    polynomial = (0.0, 1.0, *(float(c) for c in coef[1:]))
    polynomial_err = (0.0, 0.0, *(float(e) for e in errors[1:]))
    residuals = np.full(means.shape, np.nan)
    linear = np.polynomial.polynomial.polyval(mu, polynomial)
    residuals[used] = linear / (rate * t) - 1.0
    worst = float(np.max(np.abs(residuals[used])))
    quality = GOOD if rate > 0 else f"the linearized rate {rate:.4g} ADU/s is not positive"
    return LinearityFit(polynomial, polynomial_err, rate, rate_err, used, residuals, worst, quality)
