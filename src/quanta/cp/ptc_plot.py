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

Each amplifier's column is a figure of its own, drawn to pixels on the quantum's workers
(processes: drawing is pure Python), and the columns and a title strip are joined into
one image, so the PNG is the same bytes whatever the number of workers. It draws on bare
matplotlib ``Figure`` objects with the Agg canvas (no pyplot state, no display).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np

from ..pipe import parallel
from .algorithms.ptc_model import ptc_model
from .ptc_cov_plot import covariance_panels, fitted_covariances, has_covariances

#: Amplifier columns per row of the figure.
COLUMNS = 4
#: Panels per amplifier, top to bottom (two more under the full covariance model).
PANELS = 4
#: Relative heights of an amplifier's panels.
HEIGHTS = [3.0, 3.0, 2.0, 1.5]
COV_HEIGHTS = [3.0, 2.5]
#: Pixels per inch; every size below is a whole number of pixels at it.
DPI = 80
#: Inches of an amplifier's column: width, height (and what the covariance panels add).
CELL_WIDTH, CELL_HEIGHT, COV_INCHES = 4.6, 10.0, 5.5
#: Margins of a column (inches): left of the axes (tick labels), right, top, and below
#: the last panel (its x labels).
LEFT, RIGHT, TOP, BOTTOM = 0.9, 0.25, 0.1, 0.6
#: Inches of the title strip over the columns.
TITLE_HEIGHT = 0.6


def render_ptc(ptc: Mapping[str, Any]) -> bytes:
    """PNG bytes of the curves of one ``ptc`` dataset (as ``solve_detector`` returns it):
    each amplifier's column drawn on the quantum's workers, then joined in order."""
    from matplotlib.image import imsave

    amps = sorted(ptc["amps"].items())
    columns = min(COLUMNS, len(amps))
    covariances = any(has_covariances(fit) for _, fit in amps)
    cells = parallel.current().map(
        partial(amp_pixels, covariances=covariances),
        amps,
        kind="forked",
        label=lambda amp: f"amplifier {amp[0]}",
        preload=("matplotlib.figure", "matplotlib.backends.backend_agg"),
    )
    blank = np.full_like(cells[0], 255)
    cells += [blank] * (-len(cells) % columns)
    rows = [np.hstack(cells[i : i + columns]) for i in range(0, len(cells), columns)]
    buffer = io.BytesIO()
    imsave(buffer, np.vstack([_title_pixels(ptc, columns), *rows]), format="png", dpi=DPI)
    return buffer.getvalue()


def amp_pixels(amp: tuple[str, Mapping[str, Any]], covariances: bool) -> np.ndarray:
    """One amplifier's column (with room for the covariance panels if ``covariances``)
    drawn as an RGBA array of ``CELL_WIDTH`` x its height in pixels."""
    name, fit = amp
    ratios = HEIGHTS + (COV_HEIGHTS if covariances else [])
    height = CELL_HEIGHT + (COV_INCHES if covariances else 0.0)
    figure, canvas = _figure(CELL_WIDTH, height)
    axes = figure.subplots(
        len(ratios),
        1,
        squeeze=False,
        gridspec_kw={
            "height_ratios": ratios,
            "left": LEFT / CELL_WIDTH,
            "right": 1 - RIGHT / CELL_WIDTH,
            "top": 1 - TOP / height,
            "bottom": BOTTOM / height,
            "hspace": 0.3,
        },
    )[:, 0]
    _amp_column(axes[:PANELS], name, fit)
    if has_covariances(fit):
        covariance_panels(axes[PANELS], axes[PANELS + 1], fit)
    else:
        for ax in axes[PANELS:]:
            ax.set_visible(False)
    return _pixels(canvas)


def _title_pixels(ptc: Mapping[str, Any], columns: int) -> np.ndarray:
    """The strip over the columns: what the curves are, and what the markers mean."""
    figure, canvas = _figure(CELL_WIDTH * columns, TITLE_HEIGHT)
    title = (
        f"{ptc['instrument']} detector {ptc['detector']}: Photon Transfer Curves "
        f"({ptc['model']} model)"
    )
    figure.text(0.5, 0.92, title, ha="center", va="top", fontsize="large")
    figure.text(
        0.5, 0.08, "o used, x rejected, v above turnoff/out of range, open: flagged pair",
        ha="center", va="bottom", fontsize="small",
    )  # fmt: skip
    return _pixels(canvas)


def _figure(width: float, height: float) -> tuple[Any, Any]:
    """A bare figure of ``width`` x ``height`` inches at ``DPI``, with its Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    return figure, FigureCanvasAgg(figure)


def _pixels(canvas: Any) -> np.ndarray:
    """The canvas drawn, as an RGBA array of its own (the canvas's buffer is reused)."""
    canvas.draw()
    return np.array(canvas.buffer_rgba())


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
