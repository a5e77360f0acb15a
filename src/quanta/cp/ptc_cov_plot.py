"""The panels of the full covariance model in the PTC plot: one amplifier's a_ij map and
its measured covariances against the mean at a few lags, with the fitted eq. 20.

``ptc_plot`` adds them under each amplifier's curves when the ``ptc`` dataset carries a
``covariance_fit`` (model ``full-covariance``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .algorithms.ptc_cov import covariance_errors
from .algorithms.ptc_cov_model import CovParams, cov_model

#: The lags (i rows, j columns) whose covariances are drawn against the mean.
LAGS = ((0, 1), (1, 0), (1, 1))
#: a_ij are drawn in units of this (1/e-).
A_UNIT = 1e-7


def has_covariances(fit: Mapping[str, Any]) -> bool:
    """Whether an amplifier's entry of the ``ptc`` dataset has the full covariance fit."""
    return "covariance_fit" in fit


def covariance_panels(map_ax: Any, lag_ax: Any, fit: Mapping[str, Any]) -> None:
    """Draw the a_ij map (a00 left blank: it dwarfs the rest, and is written in the
    title) and C_ij / mean against the mean for ``LAGS``, points used by the fit filled."""
    cov_fit = fit["covariance_fit"]
    a = _grid(cov_fit["a"])
    shown = a.copy()
    shown[0, 0] = math.nan
    limit = float(np.nanmax(np.abs(shown))) / A_UNIT if shown.size > 1 else 1.0
    image = map_ax.imshow(shown / A_UNIT, origin="lower", cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (i, j), value in np.ndenumerate(a[:3, :3]):
        if (i, j) != (0, 0):
            map_ax.text(j, i, f"{value / A_UNIT:.2f}", ha="center", va="center", fontsize=6)
    bar = map_ax.figure.colorbar(image, ax=map_ax, fraction=0.05, pad=0.02)
    bar.set_label("a_ij (1e-7 / e-)", fontsize="small")
    map_ax.set_xlabel(
        f"j (columns); a00 {a[0, 0]:.3g}, chi2/dof {cov_fit['chi2_dof']:.2f}", fontsize="small"
    )
    map_ax.set_ylabel("i (rows)")
    means = np.array([math.nan if m is None else m for m in fit["means"]], dtype=float)
    covs = np.array([_grid(c) for c in fit["covariances"]])
    used = np.asarray(fit["used"], dtype=bool)
    counts = np.array(fit["n_pixels"], dtype=float)
    finite = np.isfinite(means) & np.all(np.isfinite(covs.reshape(len(means), -1)), axis=1)
    errors = np.full(covs.shape, math.nan)
    errors[finite] = covariance_errors(covs[finite], counts[finite])
    grid = np.geomspace(float(np.nanmin(means[used])), float(np.nanmax(means[used])), 100)
    model = fitted_covariances(fit, grid)
    for k, (i, j) in enumerate(LAGS):
        if i >= a.shape[0] or j >= a.shape[1]:
            continue
        color = f"C{k}"
        for chosen, face in ((used & finite, color), (~used & finite, "none")):
            lag_ax.errorbar(
                means[chosen], covs[chosen, i, j] / means[chosen],
                yerr=errors[chosen, i, j] / means[chosen], fmt="o", ms=3, color=color,
                mfc=face, elinewidth=0.8, capsize=0,
            )  # fmt: skip
        lag_ax.plot(grid, model[:, i, j] / grid, "-", color=color, lw=1, label=f"C{i}{j}")
    lag_ax.axhline(0.0, color="0.5", lw=0.8)
    lag_ax.set_xscale("log")
    lag_ax.set_xlabel("mean signal (ADU)")
    lag_ax.set_ylabel("C_ij / mean (ADU)")
    lag_ax.legend(fontsize="x-small", loc="upper left", ncol=3)


def fitted_covariances(fit: Mapping[str, Any], means: np.ndarray) -> np.ndarray:
    """Eq. 20 with an amplifier's fitted parameters at ``means`` (ADU), as ``[mean, i, j]``."""
    cov_fit = fit["covariance_fit"]
    a = _grid(cov_fit["a"])
    c = a * np.nan_to_num(_grid(cov_fit["b"]))
    return cov_model(means, CovParams(a, c, _grid(cov_fit["n"]), cov_fit["gain"]))


def _grid(values: Any) -> np.ndarray:
    """A nested list of JSON numbers (None: NaN) as a float array."""
    return np.array([[math.nan if v is None else v for v in row] for row in values], dtype=float)
