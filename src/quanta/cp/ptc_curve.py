"""The ``ptc`` dataset of one detector from its pair tables: every amplifier's fitted curve.

Per amplifier: the fit (gain, intercept read noise, a00, turnoff, errors, ``quality``),
every pair's mean, variance, pixel count and flags, and the read noise of the overscan
(ISR's ``OSNOISE``, in ADU, times the PTC gain), which is recommended over the intercept
when the flats carry it: it is measured on thousands of signal-free pixels per frame,
while the intercept is the small difference of two large numbers at the faintest pairs.

Under the ``full-covariance`` model each amplifier also carries ``covariance_fit`` (eq. 20:
a_ij, b_ij, n_ij and the gain with errors, ``ptc_cov``) and every pair's measured
``covariances`` up to ``cov_max_lag``; its gain, a00 and noise (``sqrt(n_00)``) replace
those of eq. 16, which still selects the points (and gives the ``residuals``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..pipe import parallel
from .algorithms.ptc_cov import CovFit, fit_covariances
from .algorithms.ptc_fit import AmpFit, SolveOptions, fit_ptc, json_value

if TYPE_CHECKING:
    import pyarrow as pa

#: The pair table columns a curve is made of.
COLUMNS = ("amp", "pair", "mean", "variance", "n_pixels", "flag", "overscan_noise", "cov")


def solve_detector(
    tables: Sequence[pa.Table],
    instrument: str,
    detector: int,
    options: Callable[[str], SolveOptions],
) -> dict[str, Any]:
    """The ``ptc`` dataset of one detector from its pair tables, fitting each amplifier
    with ``options(amp)`` (under the full covariance model on the quantum's workers).
    Points are sorted by mean, then pair name (unmeasured pairs last, by name), so the
    result does not depend on the order of the tables, nor, since each amplifier's fit
    is the same code, on the workers."""
    import pyarrow as pa

    if not tables:
        raise ValueError(f"no pair measurements for detector {detector}")
    table = pa.concat_tables(tables)
    _refuse_shared_flats(table.select(["pair", "exposure1", "exposure2"]).to_pylist())
    rows = table.select(list(COLUMNS)).to_pylist()
    by_amp: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_amp.setdefault(row["amp"], []).append(row)
    items = []
    for amp in sorted(by_amp):
        points, amp_options = sorted(by_amp[amp], key=_order), options(amp)
        covs = None
        if amp_options.model == "full-covariance":
            covs = _covariances(points, amp_options.cov_max_lag)
        items.append((points, amp_options, covs))
    # Eq. 16 fits an amplifier in milliseconds, less than starting a process; eq. 20 in
    # about a second.
    model = options("").model
    workers = parallel.current() if model == "full-covariance" else parallel.SERIAL
    fits = workers.map(
        _fit_amp,
        items,
        kind="forked",
        label=lambda item: f"amplifier {item[0][0]['amp']}",
        preload=("scipy.optimize",),
    )
    amps = dict(zip(sorted(by_amp), fits, strict=True))
    return {"instrument": instrument, "detector": detector, "model": model, "amps": amps}


def _fit_amp(
    item: tuple[list[dict[str, Any]], SolveOptions, np.ndarray | None],
) -> dict[str, Any]:
    """One amplifier's entry of ``ptc`` from its points (in curve order), fit options and,
    under the full covariance model, covariances (a worker's map item: pure Python and
    scipy, so processes)."""
    points, options, covs = item
    means = _floats(points, "mean")
    fit = fit_ptc(means, _floats(points, "variance"), _floats(points, "n_pixels"), options)
    extra: dict[str, Any] = {}
    if covs is not None:
        cov_fit = fit_covariances(
            means[fit.used],
            covs[fit.used],
            _floats(points, "n_pixels")[fit.used],
            options.cov_max_lag,
        )
        fit = _with_covariance_fit(fit, cov_fit)
        extra = {
            "covariance_fit": cov_fit.to_dict(),
            "covariances": [[[json_value(v) for v in row] for row in c] for c in covs.tolist()],
        }
    return {
        **fit.to_dict(),
        **extra,
        **read_noise(fit, _floats(points, "overscan_noise")),
        "pairs": [p["pair"] for p in points],
        "means": [json_value(v) for v in means.tolist()],
        "variances": [json_value(p["variance"]) for p in points],
        "n_pixels": [p["n_pixels"] for p in points],
        "pair_flags": [p["flag"] for p in points],
    }


def read_noise(fit: AmpFit, overscan_adu: np.ndarray) -> dict[str, Any]:
    """The overscan read noise (e-) of the pairs the fit used, with its error (their
    scatter and the gain's), and the recommended read noise: the overscan's when known,
    else the intercept's."""
    values = overscan_adu[fit.used & np.isfinite(overscan_adu)]
    noise, error = math.nan, math.nan
    if values.size:
        mean = float(np.mean(values))
        scatter = float(np.std(values, ddof=1)) / math.sqrt(values.size) if values.size > 1 else 0
        noise = mean * fit.gain
        error = noise * math.hypot(scatter / mean, fit.gain_err / fit.gain)
    source = "overscan" if math.isfinite(noise) else "ptc"
    chosen = (noise, error) if source == "overscan" else (fit.noise, fit.noise_err)
    return {
        "noise_overscan": json_value(noise),
        "noise_overscan_err": json_value(error),
        "read_noise": json_value(chosen[0]),
        "read_noise_err": json_value(chosen[1]),
        "read_noise_source": source,
    }


def _covariances(points: Sequence[dict[str, Any]], max_lag: int) -> np.ndarray:
    """Every point's covariances at lags 0..``max_lag`` as ``[point, i, j]`` (NaN for an
    unmeasured pair); an error if the pairs were measured without them or to fewer lags."""
    r = max_lag + 1
    out = np.full((len(points), r, r), math.nan)
    for k, point in enumerate(points):
        values = point["cov"]
        if values is None:
            if point["mean"] is not None and math.isfinite(point["mean"]):
                raise ValueError(
                    f"pair {point['pair']!r} has no covariances: the full covariance model "
                    "needs pairs measured with covariances: true"
                )
            continue
        side = math.isqrt(len(values))
        if side < r:
            raise ValueError(
                f"pair {point['pair']!r} has covariances to lag {side - 1}, the fit asks for "
                f"cov_max_lag {max_lag}: measure with max_lag >= {max_lag}"
            )
        grid = np.array(values, dtype=float).reshape(side, side)[:r, :r]
        out[k] = grid
    return out


def _with_covariance_fit(fit: AmpFit, cov_fit: CovFit) -> AmpFit:
    """The amplifier's fit with the gain, a00 and noise of eq. 20, and its quality joined."""
    n00, n00_err = float(cov_fit.n[0, 0]), float(cov_fit.n_err[0, 0])
    noise = math.sqrt(max(n00, 0.0))
    quality = fit.quality
    if cov_fit.quality != "good":
        quality = f"full covariance: {cov_fit.quality}" + (
            "" if quality == "good" else f"; {quality}"
        )
    return replace(
        fit,
        gain=cov_fit.gain,
        gain_err=cov_fit.gain_err,
        a00=float(cov_fit.a[0, 0]),
        a00_err=float(cov_fit.a_err[0, 0]),
        noise=noise,
        noise_err=n00_err / (2.0 * noise) if noise > 0 else math.sqrt(n00_err),
        quality=quality,
    )


def _refuse_shared_flats(rows: Sequence[dict[str, Any]]) -> None:
    """Raise if one flat is in two pairs: the curve would count it twice."""
    owner: dict[int, str] = {}
    for row in rows:
        for exposure in (row["exposure1"], row["exposure2"]):
            if owner.setdefault(exposure, row["pair"]) != row["pair"]:
                raise ValueError(
                    f"exposure {exposure} is in pairs {owner[exposure]!r} and {row['pair']!r}; "
                    "a PTC uses each flat once (define the pairs as an exclusive group system)"
                )


def _order(row: dict[str, Any]) -> tuple[bool, float, str]:
    """Measured points by mean, then unmeasured ones, each by pair name."""
    mean = row["mean"]
    measured = mean is not None and math.isfinite(mean)
    return (not measured, mean if measured else 0.0, row["pair"])


def _floats(points: Sequence[dict[str, Any]], column: str) -> np.ndarray:
    """One column of the points as floats, null as NaN."""
    return np.array([math.nan if p[column] is None else p[column] for p in points], dtype=float)
