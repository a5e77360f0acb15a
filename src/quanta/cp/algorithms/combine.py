"""Sigma-clipped combination of a stack of frames, pixel by pixel, in bounded memory.

Each pixel has one sample per input frame (masked ones left out). The first clipping
pass keeps the samples within ``nsigma`` standard deviations of their median; later
passes clip around the ``center`` (median or mean) of the samples kept, until nothing
changes or ``max_iter`` passes have run. A pass never empties a pixel. The standard
deviation is the same for every sample of a pixel, either

- ``sigma="variance"``: the one the inputs' variance planes predict (their mean, so that
  no sample sets its own threshold: with Poisson variance, low samples would be clipped
  more often than high ones, biasing the result up), free of the noise of a scatter
  estimated from a few samples; or
- ``sigma="data"``: the pixel's scatter, from the interquartile range in the first pass
  (one wild sample among a few cannot hide itself by inflating it), then the standard
  deviation of the samples kept. With fewer than about ten inputs it clips good samples
  noticeably more often than 3 sigma should.

So the samples kept are a contiguous range of the pixel's sorted samples: the stack is
sorted once, and each pass only counts samples below and above its bounds. The result
is the mean (weighted by per-input ``weights`` when given) or the median of the samples
kept. ``combine_rows`` runs the same computation over row chunks read on demand, so
that memory depends on the chunk size and the number of inputs, not on the frames'
size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .stats import Center

#: sigma = IQR / 1.349 for a normal distribution.
IQR_TO_SIGMA = 0.7413011092528009

#: Rows ``y0:y1`` of every input: values, variances (or None) and validity (or None),
#: each shaped (inputs, rows, columns).
StackChunk = tuple[np.ndarray, np.ndarray | None, np.ndarray | None]
RowReader = Callable[[int, int], StackChunk]


@dataclass(frozen=True)
class ClipOptions:
    """How to combine: clip at ``nsigma`` standard deviations (predicted by the variance,
    or the pixel's scatter) for up to ``max_iter`` passes around ``center``, then take the
    ``statistic`` of the samples kept. Pixels with fewer than ``min_clip`` valid samples
    are not clipped."""

    nsigma: float = 3.0
    max_iter: int = 5
    center: Center = "median"
    statistic: Literal["mean", "median"] = "mean"
    sigma: Literal["data", "variance"] = "data"
    min_clip: int = 3

    def __post_init__(self) -> None:
        if not self.nsigma > 0 or self.max_iter < 1 or self.min_clip < 1:
            raise ValueError("nsigma must be positive, max_iter and min_clip at least 1")
        if self.center not in ("median", "mean") or self.statistic not in ("median", "mean"):
            raise ValueError("center and statistic are 'median' or 'mean'")
        if self.sigma not in ("data", "variance"):
            raise ValueError("sigma is 'data' or 'variance'")


@dataclass(frozen=True)
class Combined:
    """The combined image, its variance and how many samples each pixel kept (0: none
    valid; the image and variance are 0 there)."""

    image: np.ndarray
    variance: np.ndarray
    count: np.ndarray


def clipped_combine(
    values: np.ndarray,
    variance: np.ndarray | None = None,
    valid: np.ndarray | None = None,
    options: ClipOptions | None = None,
    weights: Sequence[float] | None = None,
) -> Combined:
    """Combine a stack (inputs first) pixel by pixel with iterative sigma clipping.

    The variance of the result is propagated from the input variances of the samples
    kept (times pi/2 for the median); zero when ``variance`` is None.

    >>> stack = np.array([[10.0], [11.0], [9.0], [10.0], [500.0]])
    >>> result = clipped_combine(stack)
    >>> float(result.image[0]), int(result.count[0])
    (10.0, 4)
    """
    opts = options or ClipOptions()
    n, shape = values.shape[0], values.shape[1:]
    x = np.array(values, dtype=np.float64).reshape(n, -1)
    ok = np.isfinite(x)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool).reshape(n, -1)
    var = None
    if variance is not None:
        var = np.asarray(variance, dtype=np.float64).reshape(n, -1)
        ok &= np.isfinite(var)
    elif opts.sigma == "variance":
        raise ValueError("sigma='variance' needs the input variances")
    x[~ok] = np.nan
    stack = _Sorted(x, ok, None if weights is None else np.asarray(weights, dtype=np.float64))
    lo, hi = _clip(stack, var, opts)
    kept = stack.kept(lo, hi)
    image = stack.mean(kept) if opts.statistic == "mean" else stack.quantile(lo, hi, 0.5)
    count = hi - lo
    image = np.where(count > 0, image + stack.ref, 0.0)
    result_var = np.zeros_like(image)
    if var is not None:
        w = stack.weights(kept)
        total = w.sum(axis=0)
        result_var = (w * w * np.where(kept, var, 0.0)).sum(axis=0)
        result_var /= np.where(total > 0, total, 1.0) ** 2
        if opts.statistic == "median":
            result_var *= np.pi / 2
    return Combined(image.reshape(shape), result_var.reshape(shape), count.reshape(shape))


def combine_rows(
    read: RowReader,
    shape: tuple[int, int],
    options: ClipOptions | None = None,
    chunk_rows: int = 64,
    weights: Sequence[float] | None = None,
) -> Combined:
    """``clipped_combine`` of a stack too large for memory, ``chunk_rows`` rows at a time.

    ``read(y0, y1)`` returns rows ``y0:y1`` of every input; the result (float32 image and
    variance, int32 count) equals ``clipped_combine`` of the whole stack.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")
    image = np.zeros(shape, dtype=np.float32)
    variance = np.zeros(shape, dtype=np.float32)
    count = np.zeros(shape, dtype=np.int32)
    for y0 in range(0, shape[0], chunk_rows):
        y1 = min(y0 + chunk_rows, shape[0])
        values, var, valid = read(y0, y1)
        if values.shape[1:] != (y1 - y0, shape[1]):
            raise ValueError(f"rows {y0}:{y1} read with shape {values.shape[1:]}")
        part = clipped_combine(values, var, valid, options, weights)
        image[y0:y1], variance[y0:y1], count[y0:y1] = part.image, part.variance, part.count
    return Combined(image, variance, count)


class _Sorted:
    """A stack (inputs, pixels) as offsets from each pixel's median, and sorted along the
    inputs (masked samples are NaN, sorted last); a range ``lo:hi`` of the sorted samples
    is what a pixel keeps."""

    def __init__(self, x: np.ndarray, ok: np.ndarray, weights: np.ndarray | None) -> None:
        self.ok = ok
        self.valid = ok.sum(axis=0)
        self.columns = np.arange(x.shape[1])
        self.ordered = np.sort(x, axis=0)
        # Offsets from the median keep sums exact for equal samples, precise for large ones.
        self.ref = np.nan_to_num(self.quantile(np.zeros_like(self.valid), self.valid, 0.5))
        self.ordered -= self.ref
        self.x = x - self.ref
        self.input_weights = weights

    def quantile(self, lo: np.ndarray, hi: np.ndarray, q: float) -> np.ndarray:
        """The ``q`` quantile (linear interpolation) of samples ``lo:hi`` of each pixel."""
        last = np.maximum(hi - 1, lo)
        position = lo + q * (last - lo)
        below = np.floor(position).astype(np.intp)
        low = self.ordered[below, self.columns]
        high = self.ordered[np.minimum(below + 1, last), self.columns]
        with np.errstate(invalid="ignore"):
            return low + (position - below) * (high - low)

    def count(self, bound: np.ndarray, inclusive: bool) -> np.ndarray:
        """How many samples of each pixel lie below ``bound`` (or at it, if inclusive)."""
        with np.errstate(invalid="ignore"):
            below = self.ordered <= bound if inclusive else self.ordered < bound
        return np.count_nonzero(below, axis=0)

    def kept(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Which samples, in input order, fall in each pixel's sorted range ``lo:hi``."""
        first = self.ordered[np.minimum(lo, self.ordered.shape[0] - 1), self.columns]
        last = self.ordered[np.maximum(hi - 1, 0), self.columns]
        with np.errstate(invalid="ignore"):
            return self.ok & (self.x >= first) & (self.x <= last) & (hi > lo)

    def weights(self, kept: np.ndarray) -> np.ndarray:
        """Each kept sample's weight (0 for the others)."""
        if self.input_weights is None:
            return kept.astype(np.float64)
        return np.where(kept, self.input_weights[:, np.newaxis], 0.0)

    def mean(self, kept: np.ndarray) -> np.ndarray:
        """The (weighted) mean of the kept samples of each pixel."""
        w = self.weights(kept)
        total = w.sum(axis=0)
        return (w * np.where(kept, self.x, 0.0)).sum(axis=0) / np.where(total > 0, total, 1.0)

    def std(self, kept: np.ndarray) -> np.ndarray:
        """The standard deviation (ddof=1) of the kept samples of each pixel."""
        count = kept.sum(axis=0)
        mean = np.where(kept, self.x, 0.0).sum(axis=0) / np.maximum(count, 1)
        deviation = np.where(kept, self.x - mean, 0.0)
        return np.sqrt((deviation * deviation).sum(axis=0) / np.maximum(count - 1, 1))


def _clip(
    stack: _Sorted, var: np.ndarray | None, opts: ClipOptions
) -> tuple[np.ndarray, np.ndarray]:
    """The range ``lo:hi`` of sorted samples each pixel keeps."""
    lo, hi = np.zeros_like(stack.valid), stack.valid.copy()
    clip = stack.valid >= opts.min_clip
    expected = None
    if opts.sigma == "variance" and var is not None:
        mean_var = np.where(stack.ok, var, 0.0).sum(axis=0) / np.maximum(stack.valid, 1)
        expected = np.sqrt(mean_var)
    for iteration in range(opts.max_iter):
        if iteration == 0 or opts.center == "median":
            center = stack.quantile(lo, hi, 0.5)
        else:
            center = stack.mean(stack.kept(lo, hi))
        if expected is not None:
            sigma = expected
        elif iteration == 0:
            sigma = IQR_TO_SIGMA * (stack.quantile(lo, hi, 0.75) - stack.quantile(lo, hi, 0.25))
        else:
            sigma = stack.std(stack.kept(lo, hi))
        new_lo = stack.count(center - opts.nsigma * sigma, inclusive=False)
        new_hi = stack.count(center + opts.nsigma * sigma, inclusive=True)
        keep = clip & (new_hi > new_lo)
        new_lo, new_hi = np.where(keep, new_lo, lo), np.where(keep, new_hi, hi)
        if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
            break
        lo, hi = new_lo, new_hi
    return lo, hi
