"""The comparison report's figures as base64 PNG: histograms of differences and thumbnails
of where an image differs, drawn on a bare matplotlib ``Figure`` (never pyplot, so no
display and no global state) and named for the plane or column they show."""

from __future__ import annotations

import base64
import io
import textwrap
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .report import Histogram, Thumbnail

#: Characters per line of a figure title before it wraps.
TITLE_WIDTH = 48


def png_base64(figure: Figure) -> str:
    """``figure`` rendered by the Agg canvas as base64 PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _title(text: str) -> str:
    """``text`` wrapped to fit the figure's width."""
    return "\n".join(textwrap.wrap(text, TITLE_WIDTH, break_long_words=True)) or text


def histogram_png(histogram: Histogram, name: str) -> str:
    """A histogram of the differences B - A of plane or column ``name``."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.6, 2.8), dpi=80, layout="constrained")
    axes = figure.add_subplot()
    axes.stairs(histogram.counts, histogram.edges, fill=True)
    axes.set_xlabel(f"B - A of {name}", fontsize=9)
    axes.set_ylabel("count" if histogram.stride == 1 else f"count (1 in {histogram.stride})")
    axes.set_title(_title(f"{name}: differences"), fontsize=10)
    axes.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))
    return png_base64(figure)


def thumbnail_png(thumbnail: Thumbnail, name: str) -> str:
    """Where plane ``name`` differs: the largest |B - A| per block (numeric planes) beside
    the mask of differing pixels (their count per block)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    rows, columns = thumbnail.block
    panels: list[tuple[np.ndarray, str, str, float | None]] = []
    if thumbnail.max_abs is not None:
        grid = np.asarray(thumbnail.max_abs, float)
        panels.append((grid, "largest |B - A|", "viridis", None))
    label = "pixels with differing bits" if thumbnail.max_abs is None else "differing pixels"
    panels.append((np.asarray(thumbnail.n_differ, float), label, "Reds", float(rows * columns)))
    figure = Figure(figsize=(3.4 * len(panels) + 0.4, 3.3), dpi=96, layout="constrained")
    block = f"{rows}x{columns} px" if rows * columns > 1 else "pixel"
    figure.suptitle(_title(f"{name}: where A and B differ (per {block})"), fontsize=10)
    for axes, (grid, what, colours, most) in zip(
        figure.subplots(1, len(panels), squeeze=False)[0], panels, strict=True
    ):
        height, width = grid.shape
        shown = np.ma.masked_equal(grid, 0.0)
        image = axes.imshow(
            shown,
            cmap=colormaps[colours].with_extremes(bad="#f4f4f4"),
            extent=(0, width * columns, height * rows, 0),
            interpolation="nearest",
            vmin=None if most is None else 0.0,
            vmax=most,
        )
        axes.set_title(what, fontsize=9)
        axes.set_xlabel("column", fontsize=8)
        axes.set_ylabel("row", fontsize=8)
        axes.tick_params(labelsize=8)
        figure.colorbar(image, ax=axes, shrink=0.8).ax.tick_params(labelsize=8)
    return png_base64(figure)
