"""The photon transfer curve (PTC), second step: one amplifier's points fitted.

:func:`fit_ptc` fits the variance against the mean over all pairs of an amplifier
(``ptc_model``: Astier et al. 2019 eq. 16, or a quadratic). Points outside the
amplifier's signal range, above the turnoff (saturation) or not measured are left out;
outliers are rejected one at a time against each point's own statistical error, so the
rejection never cycles and its answer does not depend on the iteration limit once it has
converged. Every point says why it was left out, and the fit says whether it can be
trusted (``quality``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .ptc_model import FITTERS, ModelFit, fit_astier

#: The ``quality`` of a fit with nothing to report.
GOOD = "good"
#: A relative error at or below this is a degenerate fit, not a precise one.
TINY_RELATIVE_ERROR = 1e-7
#: A relative error above this (gain, noise) means the fit determined nothing.
MAX_RELATIVE_ERROR = 1.0


@dataclass(frozen=True)
class SolveOptions:
    """How to fit a PTC.

    ``model`` is ``astier`` (Astier et al. 2019, eq. 16), ``polynomial`` (quadratic) or
    ``full-covariance`` (eq. 20 over the covariances up to lag ``cov_max_lag``, fitted by
    ``ptc_cov`` to the points that eq. 16 selects here);
    points more than ``nsigma`` statistical errors off a robust fit are rejected, then
    those off the model, the worst first, one per fit, over at most ``max_iter`` fits;
    ``turnoff`` leaves out the points above the turnoff first; only points with a mean in
    ``[min_mean, max_mean]`` (ADU) are fitted; fewer than ``min_points`` usable points is
    an error.
    """

    model: Literal["astier", "polynomial", "full-covariance"] = "astier"
    nsigma: float = 5.0
    max_iter: int = 10
    turnoff: bool = True
    min_points: int = 5
    min_mean: float = 0.0
    max_mean: float = math.inf
    cov_max_lag: int = 7

    def __post_init__(self) -> None:
        if self.model not in ("astier", "polynomial", "full-covariance"):
            raise ValueError(
                f"unknown PTC model {self.model!r}; use astier, polynomial or full-covariance"
            )
        if self.nsigma <= 0 or self.max_iter < 1 or self.min_points < 4 or self.cov_max_lag < 0:
            raise ValueError(
                f"invalid {self!r}: need nsigma > 0, max_iter >= 1, min_points >= 4, "
                "cov_max_lag >= 0"
            )
        if not self.min_mean < self.max_mean:
            raise ValueError(f"invalid {self!r}: need min_mean < max_mean")

    @property
    def curve_model(self) -> Literal["astier", "polynomial"]:
        """The model of the variance curve that selects the points: ``astier`` under the
        full covariance model."""
        return "polynomial" if self.model == "polynomial" else "astier"


@dataclass(frozen=True)
class AmpFit:
    """The PTC fit of one amplifier: gain (e-/ADU), read noise (e-), a00 (1/e-), with errors.

    ``turnoff`` is the highest mean (ADU) of the points used. Per point: ``used``,
    ``residuals`` (``(variance - model) / model``, NaN where not computable),
    ``variance_errors`` (the model's statistical error, ADU^2) and ``flags`` (why the
    point is not used, empty if it is). ``quality`` is ``good`` or what makes the fit
    suspect: a parameter on its bound, an error that is not finite, zero or larger than
    the value, a rejection that did not converge within ``max_iter``.
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
    variance_errors: np.ndarray
    flags: tuple[str, ...]
    quality: str
    n_fits: int

    def to_dict(self) -> dict[str, Any]:
        """The fit as JSON-ready values; NaN and infinities become None."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, np.ndarray | tuple):
                out[name] = [json_value(v) for v in np.asarray(value).tolist()]
            else:
                out[name] = json_value(value)
        return out


def fit_ptc(
    means: np.ndarray,
    variances: np.ndarray,
    n_pixels: np.ndarray,
    options: SolveOptions = SolveOptions(),
) -> AmpFit:
    """Fit the PTC of one amplifier to every pair's mean and variance (ADU), each measured
    over ``n_pixels`` pixels.

    A variance over ``N`` pixels has the statistical error ``model * sqrt(2 / N)``; the fit
    is weighted by it. Points more than ``nsigma`` such errors off a robust fit of eq. 16
    (Cauchy loss, which gross outliers cannot drag towards themselves; whatever the
    ``model``) are rejected first; then
    the worst point beyond ``nsigma`` of the least-squares fit, one per fit, until none
    is left. A rejected point is never re-admitted, so the rejection cannot cycle.
    """
    means = np.asarray(means, dtype=np.float64).ravel()
    variances = np.asarray(variances, dtype=np.float64).ravel()
    n_pixels = np.asarray(n_pixels, dtype=np.float64).ravel()
    if not means.shape == variances.shape == n_pixels.shape:
        raise ValueError(f"{means.size} means, {variances.size} variances, {n_pixels.size} counts")
    flags = _usability(means, variances, n_pixels, options)
    used = np.array([not f for f in flags])
    relative = np.sqrt(2.0 / np.where(n_pixels > 0, n_pixels, np.nan))
    if np.count_nonzero(used) >= options.min_points:
        robust = fit_astier(means[used], variances[used], 1.0 / relative[used], loss="cauchy")
        pulls = _pulls(robust.curve(means), variances, relative)
        for i in np.flatnonzero(used & (np.abs(pulls) > options.nsigma)).tolist():
            used[i] = False
            flags[i] = f"rejected: {pulls[i]:+.1f} sigma from a robust fit"
    converged, n_fits = False, 0
    while True:
        if np.count_nonzero(used) < options.min_points:
            raise ValueError(
                f"only {np.count_nonzero(used)} usable PTC points (of {means.size}); "
                f"the fit needs at least {options.min_points}"
            )
        fit = FITTERS[options.curve_model](means[used], variances[used], 1.0 / relative[used])
        n_fits += 1
        expected = fit.curve(means)
        pulls = _pulls(expected, variances, relative)
        outlying = used & (np.abs(pulls) > options.nsigma)
        converged = not outlying.any()
        if converged or n_fits == options.max_iter:
            break
        worst = int(np.argmax(np.where(outlying, np.abs(pulls), -np.inf)))
        used[worst] = False
        flags[worst] = f"rejected: {pulls[worst]:+.1f} sigma"
    with np.errstate(invalid="ignore", divide="ignore"):
        residuals = np.where(expected > 0, (variances - expected) / expected, np.nan)
    return AmpFit(
        fit.gain,
        fit.gain_err,
        fit.noise,
        fit.noise_err,
        fit.a00,
        fit.a00_err,
        float(np.max(means[used])),
        int(np.count_nonzero(used)),
        used,
        options.model,
        residuals,
        expected * relative,
        tuple(flags),
        _quality(fit, converged, options.max_iter),
        n_fits,
    )


def _pulls(expected: np.ndarray, variances: np.ndarray, relative: np.ndarray) -> np.ndarray:
    """Each point's distance from the model in statistical errors (NaN if not computable)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(expected > 0, (variances - expected) / (expected * relative), np.nan)


def _usability(
    means: np.ndarray, variances: np.ndarray, n_pixels: np.ndarray, options: SolveOptions
) -> list[str]:
    """Why each point cannot be fitted (empty if it can): not measured, outside the signal
    range, above the turnoff."""
    flags = [""] * means.size
    for i in range(means.size):
        if not (math.isfinite(means[i]) and math.isfinite(variances[i]) and variances[i] > 0):
            flags[i] = "not measured"
        elif not n_pixels[i] > 1:
            flags[i] = "no pixel count"
        elif means[i] < options.min_mean:
            flags[i] = f"below min_mean {options.min_mean:g}"
        elif means[i] > options.max_mean:
            flags[i] = f"above max_mean {options.max_mean:g}"
    if options.turnoff:
        usable = np.array([not f for f in flags])
        for i in np.flatnonzero(usable & ~below_turnoff(means, variances, usable)).tolist():
            flags[i] = "above the turnoff"
    return flags


def below_turnoff(means: np.ndarray, variances: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """The points not above the turnoff, where the variance stops rising with the mean.

    The turnoff is the maximum of the variances (in order of mean) after a running median
    of five (three for short curves), so that a few outlying pairs are not taken for it,
    moved up while the variance still rises.
    """
    order = np.flatnonzero(usable)[np.argsort(means[usable], kind="stable")]
    v = variances[order]
    half = 2 if v.size >= 9 else 1
    smooth = np.array(
        [np.median(v[max(0, i - half) : i + half + 1]) for i in range(v.size)], dtype=np.float64
    )
    top = int(np.argmax(smooth)) if v.size else -1
    while top + 1 < v.size and v[top + 1] > v[top]:
        top += 1
    below = np.zeros(means.shape, dtype=bool)
    below[order[: top + 1]] = True
    return below


def _quality(fit: ModelFit, converged: bool, max_iter: int) -> str:
    """``good``, or why the fit is suspect."""
    problems = [f"{name} on its bound" for name in fit.at_bound]
    for name, value, error in [
        ("gain", fit.gain, fit.gain_err),
        ("noise", fit.noise, fit.noise_err),
        ("a00", fit.a00, fit.a00_err),
    ]:
        if not (math.isfinite(error) and error > TINY_RELATIVE_ERROR * abs(value)):
            problems.append(f"{name} error {error:.3g} is not physical")
        elif name != "a00" and error > MAX_RELATIVE_ERROR * abs(value):
            problems.append(f"{name} error {error:.3g} exceeds the value {value:.3g}")
    if not converged:
        problems.append(f"outlier rejection did not converge in {max_iter} fits")
    return "; ".join(problems) or GOOD


def json_value(value: Any) -> Any:
    """A value for JSON: non-finite floats become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
