"""The plot of a detector's Photon Transfer Curves, one panel per amplifier, as PNG bytes.

Each amplifier gets a column of four panels: variance against mean on log axes and on
linear axes, variance / mean against mean (where the brighter-fatter slope and the
turnoff show), and the residuals in units of each point's statistical error. Points are
drawn with their error bars; rejected points, points above the turnoff and flagged pairs
are marked; the fitted gain, read noise (intercept and overscan) and a00 with their
uncertainties, and the fit's quality, are written in each column. Amplifiers are laid out
in rows of up to four columns, so 16 amplifiers make a 4 x 4 grid of columns. Under the
full covariance model each column has two more panels (``ptc_cov_plot``): the a_ij map
and the covariances at a few lags against the mean, with the fitted model.

It draws on a bare matplotlib ``Figure`` with the Agg canvas (no pyplot state, no
display), so tasks can plot in worker processes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .algorithms.ptc_model import ptc_model
from .ptc_cov_plot import covariance_panels, fitted_covariances, has_covariances

#: Amplifier columns per row of the figure.
COLUMNS = 4
#: Panels per amplifier, top to bottom (two more under the full covariance model).
PANELS = 4
#: Relative heights of an amplifier's panels, and of the gap under its x labels.
HEIGHTS = [3.0, 3.0, 2.0, 1.5]
COV_HEIGHTS = [3.0, 2.5]
GAP = 0.6
#: Inches the two panels of the full covariance model add to each row of amplifiers.
COV_INCHES = 5.5


def render_ptc(ptc: Mapping[str, Any]) -> bytes:
    """PNG bytes of the curves of one ``ptc`` dataset (as ``solve_detector`` returns it)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    amps = sorted(ptc["amps"].items())
    columns = min(COLUMNS, len(amps))
    rows = math.ceil(len(amps) / columns)
    covariances = any(has_covariances(fit) for _, fit in amps)
    ratios = HEIGHTS + (COV_HEIGHTS if covariances else [])
    panels = len(ratios)
    height = (10.0 + (COV_INCHES if covariances else 0.0)) * rows + 0.6
    figure = Figure(figsize=(4.6 * columns, height))
    FigureCanvasAgg(figure)
    axes = figure.subplots(
        (panels + 1) * rows,
        columns,
        squeeze=False,
        gridspec_kw={
            "height_ratios": [*ratios, GAP] * rows,
            "left": 0.9 / (4.6 * columns),
            "right": 1 - 0.1 / columns,
            "top": 1 - 0.7 / height,
            "bottom": 0.1 / height,
            "wspace": 0.35,
            "hspace": 0.3,
        },
    )
    for index in range(rows * columns):
        row, column = divmod(index, columns)
        block = axes[(panels + 1) * row : (panels + 1) * (row + 1), column]
        block[panels].set_visible(False)  # the space under each amplifier's x labels
        if index < len(amps):
            _amp_column(block[:PANELS], *amps[index])
            if covariances and has_covariances(amps[index][1]):
                covariance_panels(block[PANELS], block[PANELS + 1], amps[index][1])
        else:
            for ax in block:
                ax.set_visible(False)
    figure.suptitle(
        f"{ptc['instrument']} detector {ptc['detector']}: Photon Transfer Curves "
        f"({ptc['model']} model). o used, x rejected, v above turnoff/out of range, "
        "open: flagged pair",
        y=1 - 0.15 / height,
        va="top",
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def _plain_log(ax: Any, axes: str) -> None:
    """Log scale on ``axes`` ("x", "xy") with plain tick labels and minor ticks at 2 and 5
    only: mathtext labels and the eight default minor ticks per decade took most of the
    drawing time of a large grid."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    for name in axes:
        axis = getattr(ax, f"{name}axis")
        getattr(ax, f"set_{name}scale")("log")
        axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        axis.set_minor_formatter(NullFormatter())


def _floats(values: list[Any]) -> np.ndarray:
    """JSON numbers (None for missing) as floats (NaN)."""
    return np.array([math.nan if v is None else v for v in values], dtype=float)


def _amp_column(axes: Any, amp: str, fit: Mapping[str, Any]) -> None:
    """The four panels of one amplifier."""
    from matplotlib.ticker import MaxNLocator

    log_ax, lin_ax, ratio_ax, pull_ax = axes
    means, variances = _floats(fit["means"]), _floats(fit["variances"])
    errors = _floats(fit["variance_errors"])
    used = np.asarray(fit["used"], dtype=bool)
    flags = fit["flags"]
    rejected = np.array([f.startswith("rejected") for f in flags], dtype=bool)
    left_out = ~used & ~rejected & np.isfinite(means) & np.isfinite(variances)
    flagged = np.array([bool(f) for f in fit["pair_flags"]], dtype=bool)
    finite = means[np.isfinite(means)]
    grid = np.geomspace(max(float(finite.min()), 1e-3), float(finite.max()), 200)
    curve = _variance_model(fit, grid)
    for ax, scale in ((log_ax, "log"), (lin_ax, "linear")):
        ax.plot(grid, curve, "-", color="C0", lw=1)
        _points(ax, means, variances, errors, used, rejected, left_out, flagged)
        if scale == "log":
            _plain_log(ax, "xy")
        else:
            ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.set_ylabel("variance (ADU²)")
    log_ax.axvline(fit["turnoff"], color="C3", ls=":", lw=1)
    lin_ax.axvline(fit["turnoff"], color="C3", ls=":", lw=1, label="turnoff")
    lin_ax.legend(fontsize="x-small", loc="upper left")
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio, ratio_err = variances / means, errors / means
    ratio_ax.plot(grid, curve / grid, "-", color="C0", lw=1)
    _points(ratio_ax, means, ratio, ratio_err, used, rejected, left_out, flagged)
    ratio_ax.axvline(fit["turnoff"], color="C3", ls=":", lw=1)
    _plain_log(ratio_ax, "x")
    ratio_ax.set_ylabel("variance / mean")
    top = np.nanmax(ratio[used]) if used.any() else 1.0
    low = np.nanmin(ratio[used]) if used.any() else 0.0
    ratio_ax.set_ylim(low - 0.1 * (top - low), top + 0.1 * (top - low))
    with np.errstate(invalid="ignore", divide="ignore"):
        model = _variance_model(fit, means)
        pulls = (variances - model) / errors
    ones = np.ones_like(pulls)
    _points(pull_ax, means, pulls, ones, used, rejected, left_out, flagged)
    pull_ax.axhline(0.0, color="0.5", lw=0.8)
    _plain_log(pull_ax, "x")
    pull_ax.set_ylim(-6, 6)
    pull_ax.set_ylabel("residual / error")
    pull_ax.set_xlabel("mean signal (ADU)")
    log_ax.text(
        0.03, 0.97, _summary(amp, fit), transform=log_ax.transAxes, va="top", ha="left",
        fontsize="small", bbox={"facecolor": "white", "edgecolor": "0.8", "alpha": 0.9},
    )  # fmt: skip


def _variance_model(fit: Mapping[str, Any], means: np.ndarray) -> np.ndarray:
    """The fitted variance at ``means``: eq. 20's C00 under the full covariance model,
    whose gain, a00 and noise the amplifier reports, else eq. 16 (or its quadratic)."""
    if has_covariances(fit):
        return fitted_covariances(fit, means)[:, 0, 0]
    return ptc_model(means, fit["a00"], fit["gain"], fit["noise"])


def _points(
    ax: Any,
    x: np.ndarray,
    y: np.ndarray,
    err: np.ndarray,
    used: np.ndarray,
    rejected: np.ndarray,
    left_out: np.ndarray,
    flagged: np.ndarray,
) -> None:
    """The points of one panel: used (with error bars), rejected, left out; flagged pairs
    drawn open."""
    for subset, marker, color in ((used, "o", "C0"), (rejected, "x", "C3"), (left_out, "v", "0.5")):
        for hollow in (False, True):
            chosen = subset & (flagged == hollow)
            if not chosen.any():
                continue
            face = "none" if hollow else color
            ax.errorbar(
                x[chosen], y[chosen], yerr=err[chosen], fmt=marker, ms=3.5, color=color,
                mfc=face, elinewidth=0.8, capsize=0,
            )  # fmt: skip


def _summary(amp: str, fit: Mapping[str, Any]) -> str:
    """The fitted parameters of one amplifier with their errors, and the fit's quality."""
    overscan = fit.get("noise_overscan")
    lines = [
        f"{amp}: gain {fit['gain']:.4f} ± {_err(fit['gain_err'], '.4f')} e-/ADU",
        f"noise (intercept) {fit['noise']:.2f} ± {_err(fit['noise_err'], '.2f')} e-",
    ]
    if overscan is not None:
        lines.append(
            f"noise (overscan) {overscan:.3f} ± {_err(fit['noise_overscan_err'], '.3f')} e-"
        )
    lines.append(f"a00 {fit['a00']:.3e} ± {_err(fit['a00_err'], '.1e')} /e-")
    quality = fit["quality"]
    unmeasured = sum(v is None for v in fit["variances"])
    missing = f" ({unmeasured} not measured)" if unmeasured else ""
    lines.append(f"used {fit['n_pairs_used']} of {len(fit['means'])} pairs{missing}")
    lines.append(f"fit: {quality}")
    if quality != "good":
        lines[0] = "SUSPECT " + lines[0]
    return "\n".join(lines)


def _err(value: float | None, spec: str) -> str:
    """An error, or ``?`` when the fit gave none."""
    return "?" if value is None else format(value, spec)
