"""Where two 2-d arrays differ, coarsely: a grid of blocks built as the arrays stream by.

Each cell of the grid covers a block of pixels and holds the largest ``|B - A|`` in it
and how many of its pixels differ (beyond tolerance; for masks, in any bit), so that the
HTML report can draw a thumbnail of the difference image and of the mask of differing
pixels without ever holding the images. The grid is at most ``CELLS`` cells wide and
tall whatever the image size.
"""

from __future__ import annotations

import numpy as np

from .report import Thumbnail

#: Most cells of a thumbnail along each axis.
CELLS = 64


class DiffGrid:
    """Blocks of a 2-d array with ``columns`` columns (rows arrive as they stream)."""

    def __init__(self, columns: int, cells: int = CELLS) -> None:
        self.columns = max(1, columns)
        self.cells = cells
        self.block = -(-self.columns // cells)
        width = -(-self.columns // self.block)
        self.max_abs = np.zeros((0, width))
        self.n_differ = np.zeros((0, width), dtype=np.int64)

    def add(self, flat: np.ndarray, size: np.ndarray | None, differ: np.ndarray) -> None:
        """Take pixels at flat positions ``flat`` with their ``|B - A|`` (None for masks)
        and whether each differs."""
        if flat.size == 0:
            return
        rows = flat // self.columns // self.block
        cols = flat % self.columns // self.block
        height = int(rows.max()) + 1
        if height > self.max_abs.shape[0]:
            extra = height - self.max_abs.shape[0]
            self.max_abs = np.vstack([self.max_abs, np.zeros((extra, self.max_abs.shape[1]))])
            self.n_differ = np.vstack(
                [self.n_differ, np.zeros((extra, self.n_differ.shape[1]), dtype=np.int64)]
            )
        if size is not None:
            np.maximum.at(self.max_abs, (rows, cols), size)
        np.add.at(self.n_differ, (rows[differ], cols[differ]), 1)

    def finish(self, rows: int, numeric: bool) -> Thumbnail:
        """The grid of an array of ``rows`` rows, tall ones merged to at most ``cells``."""
        height = max(1, -(-rows // self.block))
        max_abs = _pad(self.max_abs, height)
        n_differ = _pad(self.n_differ, height)
        merge = -(-height // self.cells)
        if merge > 1:
            max_abs = _merge(max_abs, merge, np.maximum)
            n_differ = _merge(n_differ, merge, np.add)
        return Thumbnail(
            block=[self.block * merge, self.block],
            max_abs=max_abs.tolist() if numeric else None,
            n_differ=n_differ.tolist(),
        )


def _pad(grid: np.ndarray, height: int) -> np.ndarray:
    """``grid`` cut or padded with zero rows to ``height`` rows."""
    if grid.shape[0] >= height:
        return grid[:height]
    return np.vstack([grid, np.zeros((height - grid.shape[0], grid.shape[1]), grid.dtype)])


def _merge(grid: np.ndarray, factor: int, combine: np.ufunc) -> np.ndarray:
    """Every ``factor`` consecutive rows of ``grid`` combined into one."""
    starts = np.arange(0, grid.shape[0], factor)
    return combine.reduceat(grid, starts, axis=0)
