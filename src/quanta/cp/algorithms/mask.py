"""Mask plane bits set by ISR, and the masks they come from.

=========  =====  ===========================================================
bit        value  meaning
=========  =====  ===========================================================
``SAT``    1      the raw pixel reached the saturation level (ADU)
``BAD``    2      a calibration marks the pixel unusable (no valid input in a
                  master, a flat that is not positive), or its value is not finite
``EDGE``   4      within ``edge_width`` pixels of the detector's border
=========  =====  ===========================================================

Bit numbers go into image headers as ``MP_SAT = 0``, ``MP_BAD = 1``, ``MP_EDGE = 2``.
"""

from __future__ import annotations

from enum import IntFlag

import numpy as np


class MaskBit(IntFlag):
    """Mask plane bits (values of the int32 mask plane)."""

    SAT = 1
    BAD = 2
    EDGE = 4


def mask_header() -> dict[str, int]:
    """Header cards naming each mask bit's number (``MP_SAT = 0``, ...)."""
    return {f"MP_{bit.name}": bit.value.bit_length() - 1 for bit in MaskBit}


def saturated(raw: np.ndarray, level: float) -> np.ndarray:
    """True where raw pixel values (ADU, as read) are at or above ``level``."""
    return np.asarray(raw) >= level


def edge_slices(shape: tuple[int, int], width: int) -> list[tuple[slice, slice]]:
    """The regions within ``width`` pixels of the border of an image of ``shape``: the
    bottom and top rows, and the left and right columns between them.

    >>> edge = np.zeros((4, 5), dtype=int)
    >>> for region in edge_slices(edge.shape, 1):
    ...     edge[region] = 1
    >>> edge
    array([[1, 1, 1, 1, 1],
           [1, 0, 0, 0, 1],
           [1, 0, 0, 0, 1],
           [1, 1, 1, 1, 1]])
    """
    if width < 0:
        raise ValueError(f"edge width must not be negative, not {width}")
    if width == 0:
        return []
    rows, columns = shape
    low_rows, low_columns = min(width, rows), min(width, columns)
    high_rows, high_columns = max(rows - width, low_rows), max(columns - width, low_columns)
    inner = slice(low_rows, high_rows)
    return [
        (slice(0, low_rows), slice(None)),
        (slice(high_rows, rows), slice(None)),
        (inner, slice(0, low_columns)),
        (inner, slice(high_columns, columns)),
    ]
