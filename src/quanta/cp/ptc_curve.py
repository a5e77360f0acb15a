"""The ``ptc`` dataset of one detector from its pair tables: every amplifier's fitted curve.

Per amplifier: the fit (gain, intercept read noise, a00, turnoff, errors, ``quality``),
every pair's mean, variance, pixel count and flags, and the read noise of the overscan
(ISR's ``OSNOISE``, in ADU, times the PTC gain), which is recommended over the intercept
when the flats carry it: it is measured on thousands of signal-free pixels per frame,
while the intercept is the small difference of two large numbers at the faintest pairs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .algorithms.ptc_fit import AmpFit, SolveOptions, fit_ptc, json_value

if TYPE_CHECKING:
    import pyarrow as pa

#: The pair table columns a curve is made of.
COLUMNS = ("amp", "pair", "mean", "variance", "n_pixels", "flag", "overscan_noise")


def solve_detector(
    tables: Sequence[pa.Table],
    instrument: str,
    detector: int,
    options: Callable[[str], SolveOptions],
) -> dict[str, Any]:
    """The ``ptc`` dataset of one detector from its pair tables, fitting each amplifier
    with ``options(amp)``. Points are sorted by mean, then pair name (unmeasured pairs
    last, by name), so the result does not depend on the order of the tables."""
    import pyarrow as pa

    if not tables:
        raise ValueError(f"no pair measurements for detector {detector}")
    table = pa.concat_tables(tables)
    _refuse_shared_flats(table.select(["pair", "exposure1", "exposure2"]).to_pylist())
    rows = table.select(list(COLUMNS)).to_pylist()
    by_amp: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_amp.setdefault(row["amp"], []).append(row)
    amps = {}
    for amp in sorted(by_amp):
        points = sorted(by_amp[amp], key=_order)
        means = _floats(points, "mean")
        fit = fit_ptc(means, _floats(points, "variance"), _floats(points, "n_pixels"), options(amp))
        amps[amp] = {
            **fit.to_dict(),
            **read_noise(fit, _floats(points, "overscan_noise")),
            "pairs": [p["pair"] for p in points],
            "means": [json_value(v) for v in means.tolist()],
            "variances": [json_value(p["variance"]) for p in points],
            "n_pixels": [p["n_pixels"] for p in points],
            "pair_flags": [p["flag"] for p in points],
        }
    model = options("").model
    return {"instrument": instrument, "detector": detector, "model": model, "amps": amps}


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
