"""Pixel comparison: counts, NaN/infinity patterns, mask bits, tolerances, locations."""

from __future__ import annotations

import numpy as np
import pytest

from quanta.compare import (
    CompareOptions,
    compare_array,
    compare_image_chunks,
    compare_images,
    compare_numpy,
    compare_raw_images,
)
from quanta.compare.arrays import CHUNK
from quanta.core.image import Image
from quanta.core.raw import AmpGeometry, RawAmp, RawImage, Section

EXACT = CompareOptions()


def noise(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(1000.0, 30.0, shape).astype(np.float32)


def test_identical_arrays_have_nothing_unequal() -> None:
    a = noise((40, 50))
    plane = compare_array("image", a, a.copy(), EXACT)
    assert plane.status == "identical"
    assert (plane.n_total, plane.n_unequal, plane.n_differ) == (2000, 0, 0)
    assert plane.max_abs_at is None and plane.histogram is None


def test_counts_and_locates_the_largest_absolute_and_relative_differences() -> None:
    a = noise((40, 50))
    b = a.copy()
    b[3, 7] += 5.0  # the largest absolute difference
    a[30, 2], b[30, 2] = 1.0, 2.0  # the largest relative difference: 1 / 2
    b[10, 10] += 1.0
    plane = compare_array("image", a, b, EXACT)
    assert plane.status == "different"
    assert plane.n_differ == plane.n_unequal == 3
    assert plane.max_abs_at == [3, 7] and plane.max_abs == pytest.approx(5.0, rel=1e-6)
    assert plane.max_rel_at == [30, 2] and plane.max_rel == pytest.approx(0.5)
    assert plane.differing_at == [[3, 7], [10, 10], [30, 2]]
    assert plane.histogram is not None and sum(plane.histogram.counts) == 3


def test_nan_and_infinity_patterns_are_counted_apart_from_value_differences() -> None:
    a = noise((20, 20))
    b = a.copy()
    a[0, 0] = b[0, 0] = np.nan  # the same pattern: equal
    a[1, 1] = b[1, 1] = np.inf  # the same infinity: equal
    b[2, 2] = np.nan  # NaN on one side only
    a[3, 3], b[3, 3] = np.inf, -np.inf  # infinities of other signs
    b[4, 4] += 1.0  # one ordinary difference
    plane = compare_array("image", a, b, EXACT)
    assert plane.n_nonfinite_mismatch == 2
    assert plane.n_differ == plane.n_unequal == 1
    assert plane.max_abs_at == [4, 4]
    assert plane.differing_at == [[2, 2], [3, 3], [4, 4]]
    assert plane.status == "different"


def test_a_nan_mismatch_alone_makes_a_plane_different() -> None:
    a = noise((8, 8))
    b = a.copy()
    b[5, 6] = np.nan
    plane = compare_array("variance", a, b, EXACT)
    assert (plane.n_differ, plane.n_nonfinite_mismatch, plane.status) == (0, 1, "different")


def test_nan_payloads_and_signed_zeros_are_equal() -> None:
    a = np.zeros((4, 4), dtype=np.float32)
    b = a.copy()
    b[0, 0] = -0.0
    a[1, 1] = np.float32(np.nan)
    b[1, 1] = np.uint32(0x7FC00001).view(np.float32)  # another NaN bit pattern
    plane = compare_array("image", a, b, EXACT)
    assert plane.status == "identical" and plane.n_nonfinite_mismatch == 0


def test_tolerances_follow_atol_plus_rtol_times_b() -> None:
    a = np.full((10, 10), 100.0)
    b = a.copy()
    b[0, 0] = 100.5  # |d| = 0.5 <= 0.1 + 0.01 * 100.5
    b[9, 9] = 102.0  # |d| = 2 > 0.1 + 0.01 * 102
    plane = compare_array("image", a, b, CompareOptions(rtol=0.01, atol=0.1))
    assert (plane.n_unequal, plane.n_differ) == (2, 1)
    assert plane.differing_at == [[9, 9]] and plane.status == "different"
    b[9, 9] = 100.0
    within = compare_array("image", a, b, CompareOptions(rtol=0.01, atol=0.1))
    assert (within.n_unequal, within.n_differ, within.status) == (1, 0, "within_tolerance")
    assert compare_array("image", a, b, EXACT).status == "different"


def test_masks_compare_bit_by_bit_and_count_each_bit() -> None:
    a = np.zeros((16, 16), dtype=np.int32)
    b = a.copy()
    b[2, 3] = 0b101  # bits 0 and 2
    b[5, 5] = 0b100  # bit 2
    a[7, 1], b[7, 1] = np.int32(-(2**31)), 0  # bit 31 (the sign bit)
    plane = compare_array("mask", a, b, EXACT, bitwise=True)
    assert plane.n_differ == 3
    assert plane.bits == {0: 1, 2: 2, 31: 1}
    assert plane.differing_at == [[2, 3], [5, 5], [7, 1]]
    # Tolerances never apply to masks.
    assert compare_array("mask", a, b, CompareOptions(atol=10), bitwise=True).n_differ == 3


def test_differences_in_several_chunks_add_up_and_keep_the_first_maximum() -> None:
    rows = 2 * CHUNK // 1000 + 5
    a = noise((rows, 1000), seed=3)
    b = a.copy()
    positions = [(0, 0), (CHUNK // 1000 + 1, 17), (rows - 1, 999)]
    for y, x in positions:
        b[y, x] += 3.0
    b[rows - 2, 5] += 3.0  # ties the maximum in the last chunk: the first one is kept
    plane = compare_array("image", a, b, CompareOptions(max_listed=3))
    assert plane.n_differ == 4
    assert plane.differing_at == [list(p) for p in positions[:2]] + [[rows - 2, 5]]
    assert plane.max_abs_at == [0, 0]


def test_shape_and_dtype_changes_make_a_plane_different() -> None:
    a = noise((4, 5))
    shape = compare_array("image", a, noise((5, 4)), EXACT)
    assert shape.status == "different" and shape.n_total == 0
    assert "shape (4, 5) in A, (5, 4) in B" in shape.describe()
    dtype = compare_array("image", a, a.astype(np.float64), EXACT)
    assert (dtype.n_unequal, dtype.status) == (0, "different")


def test_numpy_arrays_of_any_rank_report_full_indices() -> None:
    a = np.arange(60, dtype=np.int64).reshape(3, 4, 5)
    b = a.copy()
    b[2, 1, 3] = -7
    detail = compare_numpy(a, b, EXACT)
    (plane,) = detail.planes
    assert plane.name == "array" and plane.max_abs_at == [2, 1, 3]
    assert plane.max_abs == 2 * 5 * 4 + 1 * 5 + 3 + 7


def test_images_compare_planes_and_header() -> None:
    a = Image(noise((10, 12)), np.zeros((10, 12), np.int32), noise((10, 12), 1), {"GAIN": 1.5})
    b = Image(a.image.copy(), a.mask.copy(), a.variance.copy(), {"GAIN": 1.5, "EXTRA": "x"})
    b.mask[4, 4] = 8
    detail = compare_images(a, b, EXACT)
    assert [p.name for p in detail.planes] == ["image", "mask", "variance"]
    assert [p.status for p in detail.planes] == ["identical", "different", "identical"]
    assert detail.planes[1].bits == {3: 1}
    assert [(d.path, d.kind) for d in detail.header] == [("EXTRA", "only_in_b")]
    assert detail.status == "different"


def raw(pixels: dict[str, np.ndarray], gain: float) -> RawImage:
    amps = []
    for i, (name, data) in enumerate(pixels.items()):
        section = Section(0, data.shape[0], 0, data.shape[1])
        detector = Section(0, data.shape[0], i * data.shape[1], (i + 1) * data.shape[1])
        amps.append(RawAmp(AmpGeometry(name, section, section, detector), data, {"GAIN": gain}))
    return RawImage(amps, {"EXPTIME": 1.0})


def test_raw_images_compare_each_amplifier_and_its_header() -> None:
    pixels = {"C00": np.arange(12, dtype=np.int32).reshape(3, 4), "C01": np.ones((3, 4), np.int32)}
    changed = {"C00": pixels["C00"].copy(), "C01": pixels["C01"]}
    changed["C00"][2, 1] = 100
    detail = compare_raw_images(raw(pixels, 1.5), raw(changed, 1.6), EXACT)
    assert {p.name: p.n_differ for p in detail.planes} == {"C00": 1, "C01": 0}
    assert detail.planes[0].max_abs_at == [2, 1]
    paths = {d.path for d in detail.header}
    assert paths == {"amps.C00.header.GAIN", "amps.C01.header.GAIN"}


def row_chunks(image: Image, rows: int) -> list[Image]:
    """``image`` as consecutive chunks of ``rows`` rows sharing its header, as the image
    formatter's ``iter_rows`` reads them."""
    return [
        Image(
            image.image[y : y + rows],
            image.mask[y : y + rows],
            image.variance[y : y + rows],
            image.header,
        )
        for y in range(0, image.shape[0], rows)
    ]


def test_images_streamed_in_row_chunks_compare_as_whole_images() -> None:
    a = Image(noise((11, 7)), np.zeros((11, 7), np.int32), noise((11, 7), 1), {"K": 1})
    b = Image(a.image.copy(), a.mask.copy(), a.variance.copy(), {"K": 2})
    b.image[9, 6] += 2.0
    b.image[0, 1] -= 1.0
    b.mask[5, 0] = 2
    whole = compare_images(a, b, EXACT)
    streamed = compare_image_chunks(row_chunks(a, 3), row_chunks(b, 3), EXACT)
    assert streamed == whole
    image, mask, _ = streamed.planes
    assert image.shape_a == [11, 7] and image.differing_at == [[0, 1], [9, 6]]
    assert image.max_abs_at == [9, 6] and mask.differing_at == [[5, 0]]
    assert [d.path for d in streamed.header] == ["K"]


@pytest.mark.parametrize(("shape_b", "rows"), [((13, 7), 4), ((11, 8), 3), ((10, 7), 11)])
def test_images_of_different_shapes_report_both_shapes(shape_b: tuple[int, int], rows: int) -> None:
    a = Image(noise((11, 7)))
    b = Image(noise(shape_b))
    detail = compare_image_chunks(row_chunks(a, rows), row_chunks(b, rows), EXACT)
    for plane in detail.planes:
        assert (plane.shape_a, plane.shape_b) == ([11, 7], list(shape_b))
        assert plane.status == "different" and plane.n_total == 0
