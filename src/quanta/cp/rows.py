"""Images read a range of rows at a time: deferred inputs, or images already in memory.

ISR reads master calibrations and the combine tasks read their inputs this way, so that
no more than a chunk of rows of each is in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.deferred import DeferredInput
from ..core.image import Image


@dataclass(frozen=True)
class InMemoryRows:
    """An ``Image`` already in memory, as a ``DeferredInput``."""

    image: Image
    ref: None = None

    def get(self, rows: tuple[int, int] | None = None) -> Image:
        """Views of rows ``y0:y1`` of every plane."""
        if rows is None:
            return self.image
        image, mask, variance = planes(self.image)
        part = slice(*rows)
        return Image(image[part], mask[part], variance[part], self.image.header)

    def iter_rows(self, chunk_rows: int) -> Iterator[Image]:
        """Views of consecutive chunks of ``chunk_rows`` rows."""
        rows = self.image.shape[0]
        for y0 in range(0, rows, chunk_rows):
            yield self.get(rows=(y0, min(y0 + chunk_rows, rows)))

    def shape(self) -> tuple[int, int]:
        """Rows and columns of the image."""
        return self.image.shape


def row_sources(images: Sequence[Image | DeferredInput]) -> list[DeferredInput]:
    """Every item as a ``DeferredInput`` (``Image``s wrapped in ``InMemoryRows``)."""
    sources: list[DeferredInput] = [InMemoryRows(i) if isinstance(i, Image) else i for i in images]
    return sources


def planes(image: Image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image, mask and variance (an ``Image`` always has all three once constructed)."""
    assert image.mask is not None and image.variance is not None
    return image.image, image.mask, image.variance
