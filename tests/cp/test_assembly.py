"""Trimming amplifiers and assembling them into a detector image, flips undone."""

from __future__ import annotations

import numpy as np
import pytest

from quanta.core.raw import Section
from quanta.cp.algorithms import assemble, orient, place, trim


def _detector() -> np.ndarray:
    """The image the four amplifiers below read out: each pixel's value is unique."""
    return np.arange(4 * 6, dtype=np.float64).reshape(4, 6)


QUADRANTS = [
    Section(0, 2, 0, 3),
    Section(0, 2, 3, 6, flip_x=True),
    Section(2, 4, 0, 3, flip_y=True),
    Section(2, 4, 3, 6, flip_x=True, flip_y=True),
]


def _readout(detector: np.ndarray, section: Section) -> np.ndarray:
    """What an amplifier reading ``section`` of ``detector`` stores: flipped as it reads,
    with 1 prescan and 2 overscan columns around the imaging pixels."""
    region = detector[section.slices]
    region = region[:: -1 if section.flip_y else 1, :: -1 if section.flip_x else 1]
    pixels = np.full((region.shape[0], region.shape[1] + 3), -1.0)
    pixels[:, 1:-2] = region
    return pixels


def test_assemble_undoes_every_flip() -> None:
    detector = _detector()
    data = Section(0, 2, 1, 4)
    pieces = [(trim(_readout(detector, s), data), s) for s in QUADRANTS]
    np.testing.assert_array_equal(assemble(pieces, detector.shape, np.float64), detector)


def test_flips_really_reverse_the_readout() -> None:
    detector = _detector()
    pixels = trim(_readout(detector, QUADRANTS[3]), Section(0, 2, 1, 4))
    assert pixels[0, 0] == detector[3, 5]
    np.testing.assert_array_equal(orient(pixels, QUADRANTS[3]), detector[2:4, 3:6])


def test_trim_and_orient_are_views() -> None:
    pixels = np.zeros((2, 6))
    view = orient(trim(pixels, Section(0, 2, 1, 4)), Section(0, 2, 0, 3, flip_x=True))
    view[0, 0] = 7.0
    assert pixels[0, 3] == 7.0


def test_place_writes_in_place_and_leaves_the_rest() -> None:
    image = np.full((2, 4), -1.0)
    place(image, np.array([[1.0, 2.0], [3.0, 4.0]]), Section(0, 2, 2, 4, flip_y=True))
    np.testing.assert_array_equal(image, [[-1, -1, 3, 4], [-1, -1, 1, 2]])


def test_a_section_of_another_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        orient(np.zeros((2, 3)), Section(0, 3, 0, 2))
