"""Sigma-clipped combination of stacks, in memory and in row chunks."""

from __future__ import annotations

import numpy as np
import pytest

from quanta.cp.algorithms import ClipOptions, clipped_combine, combine_rows


def _stack(n: int = 9, shape: tuple[int, int] = (30, 40), seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 + 3.0 * rng.standard_normal((n, *shape))


@pytest.mark.parametrize(
    ("sigma", "n"), [("data", 5), ("data", 9), ("variance", 3), ("variance", 9)]
)
def test_clipping_rejects_an_injected_outlier(sigma: str, n: int) -> None:
    stack = _stack(n)
    variance = np.full(stack.shape, 9.0)
    options = ClipOptions(sigma=sigma)  # type: ignore[arg-type]
    clean = clipped_combine(stack, variance, options=options)
    stack[1, 7, 11] = 10_000.0
    result = clipped_combine(stack, variance, options=options)
    assert abs(result.image[7, 11] - 100.0) < 10.0
    assert result.count[7, 11] < n
    # Every other pixel is untouched.
    result.count[7, 11] = clean.count[7, 11]
    np.testing.assert_array_equal(result.count, clean.count)


def test_scatter_from_few_samples_clips_more_than_the_known_variance() -> None:
    stack = np.random.default_rng(0).standard_normal((9, 100_000))
    known = clipped_combine(stack, np.ones_like(stack), options=ClipOptions(sigma="variance"))
    scatter = clipped_combine(stack, np.ones_like(stack), options=ClipOptions(sigma="data"))
    # Known sigma: each sample is clipped with probability 0.27% (a bit more, the median
    # being noisy), so about 3% of the pixels lose one. A scatter estimated from 9 samples
    # is often too small, and about 19% do.
    assert 0.02 < (known.count < 9).mean() < 0.05
    assert 0.1 < (scatter.count < 9).mean() < 0.3


def test_weights_favour_the_deeper_inputs() -> None:
    stack = np.array([[10.0], [12.0], [11.0]])
    result = clipped_combine(stack, np.ones((3, 1)), weights=[1.0, 1.0, 2.0])
    assert result.image[0] == 11.0
    assert result.variance[0] == pytest.approx((1 + 1 + 4) / 16)


def test_clipped_mean_equals_the_plain_mean_when_nothing_is_clipped() -> None:
    stack = np.array([[1.0], [2.0], [3.0], [4.0]])
    result = clipped_combine(stack)
    assert result.image[0] == 2.5 and result.count[0] == 4


def test_median_statistic_and_center() -> None:
    stack = np.array([[1.0], [2.0], [4.0], [100.0], [3.0]])
    median = clipped_combine(stack, options=ClipOptions(statistic="median", center="mean"))
    assert median.image[0] == 2.5 and median.count[0] == 4


def test_masked_and_non_finite_samples_are_left_out() -> None:
    stack = np.array([[1.0, 5.0], [2.0, np.nan], [3.0, 7.0], [50.0, 6.0]])
    valid = np.array([[True, True], [True, True], [True, True], [False, True]])
    result = clipped_combine(stack, valid=valid)
    np.testing.assert_array_equal(result.image, [2.0, 6.0])
    np.testing.assert_array_equal(result.count, [3, 3])


def test_a_pixel_with_no_valid_sample_is_zero_with_count_zero() -> None:
    stack = np.ones((3, 2))
    valid = np.array([[False, True]] * 3)
    result = clipped_combine(stack, np.ones((3, 2)), valid)
    assert result.image.tolist() == [0.0, 1.0] and result.count.tolist() == [0, 3]
    assert result.variance.tolist() == [0.0, 1.0 / 3]


def test_too_few_samples_are_not_clipped() -> None:
    stack = np.array([[0.0], [1000.0]])
    assert clipped_combine(stack).image[0] == 500.0


def test_variance_is_the_mean_input_variance_over_the_samples_kept() -> None:
    stack = _stack(8)
    variance = np.full(stack.shape, 9.0)
    result = clipped_combine(stack, variance)
    np.testing.assert_allclose(result.variance, 9.0 / result.count)
    median = clipped_combine(stack, variance, options=ClipOptions(statistic="median"))
    np.testing.assert_allclose(median.variance, 9.0 * np.pi / 2 / median.count)


def test_identical_frames_combine_exactly() -> None:
    frame = np.random.default_rng(1).uniform(-1e4, 1e4, (5, 7))
    result = clipped_combine(np.stack([frame] * 6))
    np.testing.assert_array_equal(result.image, frame)
    assert (result.count == 6).all()


def test_the_combined_noise_is_that_of_a_mean() -> None:
    stack = _stack(20, (200, 200))
    result = clipped_combine(stack)
    # sigma 3 over 20 frames: 0.67, a few percent higher for the samples clipped.
    assert np.std(result.image) == pytest.approx(3.0 / np.sqrt(20), rel=0.05)


@pytest.mark.parametrize("chunk_rows", [1, 7, 30, 100])
def test_chunked_combine_equals_the_in_memory_combine(chunk_rows: int) -> None:
    stack = _stack(7)
    stack[2, 3, 4] = -5000.0
    variance = np.abs(_stack(7, seed=6))
    valid = np.random.default_rng(8).random(stack.shape) > 0.05
    whole = clipped_combine(stack, variance, valid)
    reads: list[tuple[int, int]] = []

    def read(y0: int, y1: int):
        reads.append((y0, y1))
        return stack[:, y0:y1], variance[:, y0:y1], valid[:, y0:y1]

    chunked = combine_rows(read, stack.shape[1:], chunk_rows=chunk_rows)
    np.testing.assert_array_equal(chunked.image, whole.image.astype(np.float32))
    np.testing.assert_array_equal(chunked.variance, whole.variance.astype(np.float32))
    np.testing.assert_array_equal(chunked.count, whole.count)
    assert max(y1 - y0 for y0, y1 in reads) <= chunk_rows
    assert sum(y1 - y0 for y0, y1 in reads) == stack.shape[1]


def test_combine_rows_checks_what_it_reads() -> None:
    with pytest.raises(ValueError, match="rows 0:2 read with shape"):
        combine_rows(lambda y0, y1: (np.zeros((2, 1, 3)), None, None), (4, 3), chunk_rows=2)
    with pytest.raises(ValueError, match="chunk_rows"):
        combine_rows(lambda y0, y1: (np.zeros((2, 1, 3)), None, None), (4, 3), chunk_rows=0)


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="nsigma"):
        ClipOptions(nsigma=0)
    with pytest.raises(ValueError, match="center"):
        ClipOptions(center="mode")  # type: ignore[arg-type]
