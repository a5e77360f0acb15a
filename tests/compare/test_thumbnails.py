"""Thumbnails of where two images differ: blocks of pixels, the same whether the images
are compared whole or streamed in chunks of rows, tall images merged to the size cap."""

from __future__ import annotations

import numpy as np

from quanta.compare import CompareOptions, compare_array, compare_image_chunks
from quanta.compare.arrays import CHUNK
from quanta.core.image import Image

SHAPE = (300, 200)
#: Pixel -> how much higher it is in B.
CHANGES = {(150, 100): 1.0, (299, 199): 2.0, (3, 5): 0.25}


def pair() -> tuple[np.ndarray, np.ndarray]:
    a = np.random.default_rng(1).normal(100.0, 5.0, SHAPE)
    b = a.copy()
    for pixel, step in CHANGES.items():
        b[pixel] += step
    return a, b


def test_blocks_hold_the_largest_difference_and_the_count_of_differing_pixels() -> None:
    a, b = pair()
    thumbnail = compare_array("image", a, b, CompareOptions(atol=0.5)).thumbnail
    assert thumbnail is not None and thumbnail.max_abs is not None
    # 200 columns in cells of 4 (<= 64 cells); 75 rows of cells merged by 2 to 38
    assert thumbnail.block == [8, 4]
    max_abs, n_differ = np.array(thumbnail.max_abs), np.array(thumbnail.n_differ)
    assert max_abs.shape == n_differ.shape == (38, 50)
    for (row, column), step in CHANGES.items():
        cell = row // 8, column // 4
        assert abs(max_abs[cell] - step) < 1e-9
        assert n_differ[cell] == (1 if step > 0.5 else 0)  # within tolerance: not counted
    assert np.count_nonzero(max_abs) == 3 and n_differ.sum() == 2


def test_streamed_images_give_the_thumbnail_of_whole_ones() -> None:
    a, b = pair()
    zeros = np.zeros(SHAPE, np.int32)
    whole_a, whole_b = Image(a, zeros, a, {}), Image(b, zeros, b, {})
    options = CompareOptions()
    whole = compare_image_chunks([whole_a], [whole_b], options).planes[0].thumbnail

    def chunks(image: Image) -> list[Image]:
        return [
            Image(image.image[r : r + 7], zeros[r : r + 7], image.variance[r : r + 7], {})
            for r in range(0, SHAPE[0], 7)
        ]

    streamed = compare_image_chunks(chunks(whole_a), chunks(whole_b), options)
    assert whole is not None and streamed.planes[0].thumbnail == whole
    assert streamed.planes[1].thumbnail is None  # the mask planes are equal


def test_identical_and_one_dimensional_arrays_have_no_thumbnail() -> None:
    a, _ = pair()
    assert compare_array("image", a, a.copy(), CompareOptions()).thumbnail is None
    line = np.arange(10.0)
    assert compare_array("array", line, line + 1, CompareOptions()).thumbnail is None


def test_images_that_differ_everywhere_give_each_block_its_largest_difference() -> None:
    # every pixel differs, so every chunk takes the dense path (whole rows by blocks, the
    # partial rows at the chunk boundary pixel by pixel): 701 x 403 is more than one
    # chunk; blocks of 7 columns (the last 4 wide), rows merged 7 + 7 = 14 per cell
    rng = np.random.default_rng(2)
    a = rng.normal(0.0, 1.0, (701, 403))
    b = a + rng.uniform(0.1, 1.0, a.shape)
    assert a.size > CHUNK
    thumbnail = compare_array("image", a, b, CompareOptions(atol=0.5)).thumbnail
    assert thumbnail is not None and thumbnail.max_abs is not None
    assert thumbnail.block == [14, 7]
    size = np.abs(b - a)
    expected_max = np.zeros((51, 58))
    expected_count = np.zeros((51, 58), int)
    for row in range(0, 701, 14):
        for column in range(0, 403, 7):
            block = size[row : row + 14, column : column + 7]
            expected_max[row // 14, column // 7] = block.max()
            expected_count[row // 14, column // 7] = np.count_nonzero(block > 0.5)
    np.testing.assert_allclose(thumbnail.max_abs, expected_max, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(thumbnail.n_differ, expected_count)
