"""The full covariance fit of one amplifier's PTC (Astier et al. 2019, eq. 20).

:func:`fit_covariances` fits a_ij, b_ij, the noise covariances n_ij and the gain to the
covariances of every pair at lags 0..``max_lag`` in x and y at once, by least squares
(scipy's trust-region reflective method on the analytic Jacobian of ``ptc_cov_model``,
its steps solved iteratively by LSMR: a few matrix-vector products instead of an SVD of
the (pairs x lags) x parameters Jacobian at every step, twice as fast at lag 7). Each
measured covariance is weighted by its statistical error: over ``N`` pixel pairs the
covariance of two pixels of variance ``V`` is known to ``V / sqrt(N)``, and a variance to
``V sqrt(2 / N)``. The start comes from a quadratic fit of each lag against the mean:
``C_x = n_x / g^2 + delta_x mu / g + a_x mu^2 + ...``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .ptc_cov_model import CovParams, cov_jacobian, cov_model
from .ptc_model import parameter_covariance

#: A fit whose reduced chi-square exceeds this does not describe its points.
MAX_CHI2 = 3.0


@dataclass(frozen=True)
class CovFit:
    """The eq. 20 fit of one amplifier over lags 0..``max_lag``: ``a``, ``b`` (1/e-) and
    ``n`` (e-^2) as ``[i, j]`` arrays (i the lag in rows, j in columns) with their errors,
    the gain (e-/ADU), the reduced chi-square, the pairs fitted and ``quality`` (``good``
    or what makes the fit suspect). ``b = c / a`` is fitted as ``c``; it means little
    where a is within its error of 0, and is NaN where a is exactly 0."""

    max_lag: int
    gain: float
    gain_err: float
    a: np.ndarray
    a_err: np.ndarray
    b: np.ndarray
    b_err: np.ndarray
    n: np.ndarray
    n_err: np.ndarray
    chi2_dof: float
    n_pairs: int
    quality: str

    def to_dict(self) -> dict[str, Any]:
        """The fit as JSON-ready values (arrays as nested lists, non-finite as None)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                out[name] = [[_finite(v) for v in row] for row in value.tolist()]
            else:
                out[name] = _finite(value)
        return out

    def model(self, mean: np.ndarray) -> np.ndarray:
        """The fitted covariances (ADU^2) at ``mean`` ADU, shape (means, lags, lags)."""
        return cov_model(mean, CovParams(self.a, self.a * self.b, self.n, self.gain))


def covariance_errors(covs: np.ndarray, n_pixels: np.ndarray) -> np.ndarray:
    """The statistical error (ADU^2) of every measured covariance ``covs[pair, i, j]``:
    ``V / sqrt(N)`` with V the pair's variance, ``sqrt(2)`` times that at lag 0, and
    ``1 / sqrt(2)`` of it where i and j are both non-zero (the average of the lags
    (i, j) and (i, -j), ``ptc.covariances_fft``)."""
    variance = covs[:, 0, 0]
    errors = np.broadcast_to((variance / np.sqrt(n_pixels))[:, None, None], covs.shape).copy()
    errors[:, 0, 0] *= math.sqrt(2.0)
    errors[:, 1:, 1:] /= math.sqrt(2.0)
    return errors


def start_params(means: np.ndarray, covs: np.ndarray, errors: np.ndarray) -> CovParams:
    """Start values: a weighted quadratic of each lag against the mean (c = ab = 0)."""
    r = covs.shape[1]
    design = np.stack([np.ones_like(means), means, means**2], axis=1)
    coef = np.empty((3, r, r))
    for i in range(r):
        for j in range(r):
            w = 1.0 / errors[:, i, j]
            coef[:, i, j] = np.linalg.lstsq(design * w[:, None], covs[:, i, j] * w, rcond=None)[0]
    if not coef[1, 0, 0] > 0:
        raise ValueError("the variance does not rise with the mean: no gain to fit")
    gain = 1.0 / float(coef[1, 0, 0])
    return CovParams(coef[2], np.zeros((r, r)), coef[0] * gain**2, gain)


def fit_covariances(
    means: np.ndarray, covs: np.ndarray, n_pixels: np.ndarray, max_lag: int
) -> CovFit:
    """Fit eq. 20 to the ``covs[pair, i, j]`` (ADU^2, lags 0..at least ``max_lag``) of pairs
    of ``means`` (ADU), each measured over ``n_pixels`` pixels.

    Errors come from the Jacobian, scaled up by the reduced chi-square when it exceeds 1.
    Fewer pairs than parameters per lag (4) is an error; non-finite covariances too.
    """
    from scipy.optimize import least_squares

    r = max_lag + 1
    means = np.asarray(means, dtype=np.float64)
    if covs.ndim != 3 or covs.shape[1] < r or covs.shape[2] < r:
        raise ValueError(f"covariances of shape {covs.shape} do not reach lag {max_lag}")
    covs = np.asarray(covs[:, :r, :r], dtype=np.float64)
    if means.size < 4:
        raise ValueError(f"{means.size} pairs cannot fit 4 parameters per lag")
    if not np.all(np.isfinite(covs)):
        raise ValueError("some covariances to fit are not finite")
    errors = covariance_errors(covs, np.asarray(n_pixels, dtype=np.float64))
    weight = 1.0 / errors.reshape(means.size, -1)
    measured = covs.reshape(means.size, -1)

    def residuals(p: np.ndarray) -> np.ndarray:
        model = cov_model(means, CovParams.from_vector(p, r)).reshape(means.size, -1)
        return ((model - measured) * weight).ravel()

    def jacobian(p: np.ndarray) -> np.ndarray:
        return cov_jacobian(means, CovParams.from_vector(p, r)) * weight.reshape(-1, 1)

    start = start_params(means, covs, errors)
    result = least_squares(
        residuals, start.vector(), jac=jacobian, method="trf", x_scale="jac", tr_solver="lsmr"
    )
    fitted = CovParams.from_vector(result.x, r)
    jac = np.asarray(result.jac)
    scale = 1.0 / np.where(np.any(jac != 0, axis=0), np.linalg.norm(jac, axis=0), 1.0)
    cov = parameter_covariance(jac * scale, result.fun) * np.outer(scale, scale)
    sigma = CovParams.from_vector(np.sqrt(np.maximum(np.diag(cov), 0.0)), r)
    b, b_err = _b_from_c(fitted, cov)
    dof = result.fun.size - result.x.size
    chi2 = float(result.fun @ result.fun) / dof if dof > 0 else math.nan
    return CovFit(
        max_lag,
        fitted.gain,
        sigma.gain,
        fitted.a,
        sigma.a,
        b,
        b_err,
        fitted.n,
        sigma.n,
        chi2,
        int(means.size),
        _quality(fitted, sigma.gain, chi2, result.status),
    )


def _b_from_c(fitted: CovParams, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``b = c / a`` and its error from the covariance of a and c (NaN where a is 0)."""
    size = fitted.a.size
    a, c = fitted.a.ravel(), fitted.c.ravel()
    index = np.arange(size)
    var_a, var_c = cov[index, index], cov[index + size, index + size]
    cov_ac = cov[index, index + size]
    with np.errstate(invalid="ignore", divide="ignore"):
        b = np.where(a != 0, c / a, np.nan)
        variance = (var_c - 2.0 * b * cov_ac + b * b * var_a) / (a * a)
    return b.reshape(fitted.a.shape), np.sqrt(np.maximum(variance, 0.0)).reshape(fitted.a.shape)


def _quality(fitted: CovParams, gain_err: float, chi2: float, status: int) -> str:
    """``good``, or why the fit is suspect."""
    problems = []
    if status <= 0:
        problems.append("the least-squares fit did not converge")
    if not (math.isfinite(gain_err) and 0 < gain_err < abs(fitted.gain)):
        problems.append(f"gain error {gain_err:.3g} is not physical")
    if not chi2 <= MAX_CHI2:
        problems.append(f"reduced chi-square {chi2:.3g} exceeds {MAX_CHI2:g}")
    return "; ".join(problems) or "good"


def _finite(value: Any) -> Any:
    """A value for JSON: non-finite floats become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
