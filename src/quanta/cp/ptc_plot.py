"""The plot of a detector's Photon Transfer Curves: mean against variance with the fitted
model per amplifier, and the relative residuals below, rendered to PNG bytes.

It draws on a bare matplotlib ``Figure`` with the Agg canvas (no pyplot state, no
display), so tasks can plot in worker processes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np

from .algorithms.ptc_model import ptc_model


def render_ptc(ptc: Mapping[str, Any]) -> bytes:
    """PNG bytes of the curves of one ``ptc`` dataset (as ``solve_detector`` returns it)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 7), layout="constrained")
    FigureCanvasAgg(figure)
    curves, residuals = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for index, (amp, fit) in enumerate(sorted(ptc["amps"].items())):
        color = f"C{index % 10}"
        means = np.asarray(fit["means"], dtype=float)
        variances = np.asarray(fit["variances"], dtype=float)
        used = np.asarray(fit["used"], dtype=bool)
        model = ptc_model(means, fit["a00"], fit["gain"], fit["noise"])
        label = f"{amp}: gain {fit['gain']:.4f} e-/ADU, noise {fit['noise']:.2f} e-"
        curves.loglog(means[used], variances[used], "o", color=color, ms=4, label=label)
        curves.loglog(means[~used], variances[~used], "x", color=color, ms=5)
        grid = np.geomspace(max(means.min(), 1e-3), means.max(), 200)
        curves.loglog(grid, ptc_model(grid, fit["a00"], fit["gain"], fit["noise"]), "-", c=color)
        relative = (variances - model) / model
        residuals.semilogx(means[used], relative[used], "o", c=color)
        residuals.semilogx(means[~used], relative[~used], "x", c=color)
    curves.set_ylabel("variance (ADU$^2$)")
    curves.set_title(
        f"{ptc['instrument']} detector {ptc['detector']}: Photon Transfer Curve "
        f"({ptc['model']} model; x: rejected)"
    )
    curves.legend(fontsize="small")
    residuals.axhline(0.0, color="0.5", lw=0.8)
    residuals.set_xlabel("mean signal (ADU)")
    residuals.set_ylabel("(data - model) / model")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
