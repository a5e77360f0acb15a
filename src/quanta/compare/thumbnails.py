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
    """Blocks of a 2-d array with ``columns`` columns (rows arrive as they stream), kept
    as flat arrays of cells, row after row of ``width`` cells."""

    def __init__(self, columns: int, cells: int = CELLS) -> None:
        self.columns = max(1, columns)
        self.cells = cells
        self.block = -(-self.columns // cells)
        self.width = -(-self.columns // self.block)
        self.max_abs = np.zeros(0)
        self.n_differ = np.zeros(0, dtype=np.int64)

    def add(self, flat: np.ndarray, size: np.ndarray | None, differ: np.ndarray) -> None:
        """Take pixels at ascending flat positions ``flat`` with their ``|B - A|`` (None
        for masks) and whether each differs."""
        if flat.size == 0:
            return
        row = flat // self.columns
        cell = (row // self.block) * self.width + (flat - row * self.columns) // self.block
        self._grow(int(cell.max()) // self.width + 1)
        counts = np.bincount(cell[differ])
        self.n_differ[: counts.size] += counts
        if size is not None:
            # consecutive pixels of one block form runs: reduce each run, then the runs
            starts = np.concatenate([[0], np.flatnonzero(cell[1:] != cell[:-1]) + 1])
            np.maximum.at(self.max_abs, cell[starts], np.maximum.reduceat(size, starts))

    def add_run(self, start: int, size: np.ndarray | None, differ: np.ndarray) -> None:
        """Take the pixels from flat position ``start`` on (a whole chunk, ``size`` 0 where
        equal): whole rows are reduced block by block, without a position per pixel."""
        n = differ.size
        head = min(n, -start % self.columns)
        rows = (n - head) // self.columns
        tail = head + rows * self.columns
        for lo, hi in ((0, head), (tail, n)):
            if hi > lo:
                part = None if size is None else size[lo:hi]
                self.add(np.arange(start + lo, start + hi), part, differ[lo:hi])
        if not rows:
            return
        shape = rows, self.columns
        cell_rows = ((start + head) // self.columns + np.arange(rows)) // self.block
        starts = np.concatenate([[0], np.flatnonzero(np.diff(cell_rows)) + 1])
        ids = cell_rows[starts]
        self._grow(int(ids[-1]) + 1)
        counts = _blocks(differ[head:tail].reshape(shape), self.block, np.add)
        n_differ = self.n_differ.reshape(-1, self.width)
        n_differ[ids] += np.add.reduceat(counts, starts, axis=0)
        if size is not None:
            peaks = _blocks(size[head:tail].reshape(shape), self.block, np.maximum)
            max_abs = self.max_abs.reshape(-1, self.width)
            max_abs[ids] = np.maximum(max_abs[ids], np.maximum.reduceat(peaks, starts, axis=0))

    def _grow(self, height: int) -> None:
        """Make room for ``height`` rows of cells."""
        extra = height * self.width - self.max_abs.size
        if extra > 0:
            self.max_abs = np.concatenate([self.max_abs, np.zeros(extra)])
            self.n_differ = np.concatenate([self.n_differ, np.zeros(extra, dtype=np.int64)])

    def finish(self, rows: int, numeric: bool) -> Thumbnail:
        """The grid of an array of ``rows`` rows, tall ones merged to at most ``cells``."""
        height = max(1, -(-rows // self.block))
        max_abs = _shaped(self.max_abs, height, self.width)
        n_differ = _shaped(self.n_differ, height, self.width)
        merge = -(-height // self.cells)
        if merge > 1:
            starts = np.arange(0, height, merge)
            max_abs = np.maximum.reduceat(max_abs, starts, axis=0)
            n_differ = np.add.reduceat(n_differ, starts, axis=0)
        return Thumbnail(
            block=[self.block * merge, self.block],
            max_abs=max_abs.tolist() if numeric else None,
            n_differ=n_differ.tolist(),
        )


def _blocks(values: np.ndarray, block: int, combine: np.ufunc) -> np.ndarray:
    """Rows of ``values`` with every ``block`` columns combined (the last block may be
    narrower); counts of booleans are integers."""
    rows, columns = values.shape
    full = columns // block * block
    dtype = np.int64 if values.dtype == bool else None
    parts = [combine.reduce(values[:, :full].reshape(rows, -1, block), axis=2, dtype=dtype)]
    if full < columns:
        parts.append(combine.reduce(values[:, full:], axis=1, keepdims=True, dtype=dtype))
    return np.concatenate(parts, axis=1)


def _shaped(cells: np.ndarray, height: int, width: int) -> np.ndarray:
    """Flat ``cells`` as ``height`` rows of ``width``, cut or padded with zeros."""
    grid = np.zeros(height * width, cells.dtype)
    grid[: min(cells.size, grid.size)] = cells[: grid.size]
    return grid.reshape(height, width)
