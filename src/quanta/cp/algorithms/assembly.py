"""Trimming amplifiers to their imaging pixels and assembling them into a detector image.

An amplifier's pixels are stored as read out; its ``detector`` section says where they go
in the detector and whether the readout ran against an axis (``flip_x``, ``flip_y``).
Placing an amplifier flips it back, so that every amplifier of the assembled image has
the detector's orientation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...core.raw import Section


def trim(pixels: np.ndarray, data: Section) -> np.ndarray:
    """The imaging pixels of an amplifier array (a view, not a copy)."""
    return pixels[data.slices]


def orient(data: np.ndarray, detector: Section) -> np.ndarray:
    """Imaging pixels turned to the detector's orientation (a view).

    >>> orient(np.array([[1, 2, 3]]), Section(0, 1, 0, 3, flip_x=True))
    array([[3, 2, 1]])
    """
    if data.shape != detector.shape:
        raise ValueError(f"imaging pixels of shape {data.shape} do not fit section {detector}")
    return data[:: -1 if detector.flip_y else 1, :: -1 if detector.flip_x else 1]


def place(target: np.ndarray, data: np.ndarray, detector: Section) -> None:
    """Write one amplifier's imaging pixels into the detector image ``target``, in place."""
    target[detector.slices] = orient(data, detector)


def assemble(
    pieces: Sequence[tuple[np.ndarray, Section]],
    shape: tuple[int, int],
    dtype: np.dtype | type = np.float32,
) -> np.ndarray:
    """A new detector image of ``shape`` from (imaging pixels, detector section) pairs.

    Pixels no amplifier covers are zero.

    >>> left = np.array([[1, 2], [3, 4]])
    >>> right = np.array([[5, 6], [7, 8]])
    >>> assemble(
    ...     [(left, Section(0, 2, 0, 2)), (right, Section(0, 2, 2, 4, flip_x=True, flip_y=True))],
    ...     (2, 4),
    ...     int,
    ... )
    array([[1, 2, 8, 7],
           [3, 4, 6, 5]])
    """
    image = np.zeros(shape, dtype=dtype)
    for data, detector in pieces:
        place(image, data, detector)
    return image
