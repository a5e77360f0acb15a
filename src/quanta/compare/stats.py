"""Statistics of a stream of differences in bounded memory: exact count, mean and maximum,
and a thinned sample for the robust spread and the histogram."""

from __future__ import annotations

import numpy as np

from .report import Histogram

#: Most differences a sample keeps; beyond, it keeps every 2nd, 4th, 8th... one.
SAMPLE_SIZE = 65_536
#: Bins of a histogram of differences.
HISTOGRAM_BINS = 40
#: Turns a median absolute deviation into a Gaussian sigma.
MAD_TO_SIGMA = 1.4826


class DiffSample:
    """Non-zero differences seen so far: their exact count, sum and largest size, and every
    ``stride``-th one (the stride doubles whenever more than ``capacity`` are kept)."""

    def __init__(self, capacity: int = SAMPLE_SIZE) -> None:
        self.capacity = capacity
        self.count = 0
        self.total = 0.0
        self.largest = 0.0
        self.stride = 1
        self._parts: list[np.ndarray] = []
        self._kept = 0

    def add(self, values: np.ndarray) -> None:
        """Add differences (float64, finite)."""
        if values.size == 0:
            return
        first = (-self.count) % self.stride
        kept = values[first :: self.stride].copy()
        self.count += values.size
        self.total += float(values.sum())
        self.largest = max(self.largest, float(np.abs(values).max()))
        self._parts.append(kept)
        self._kept += kept.size
        while self._kept > self.capacity:
            merged = np.concatenate(self._parts)[::2]
            self._parts, self._kept = [merged], merged.size
            self.stride *= 2

    def values(self) -> np.ndarray:
        """The kept differences."""
        return np.concatenate(self._parts) if self._parts else np.empty(0)

    @property
    def mean(self) -> float | None:
        """Exact mean of every difference added."""
        return self.total / self.count if self.count else None

    @property
    def max_abs(self) -> float | None:
        """Exact largest absolute difference added."""
        return self.largest if self.count else None

    def spread(self) -> float | None:
        """1.4826 times the median absolute deviation of the sample (a robust sigma)."""
        values = self.values()
        if values.size == 0:
            return None
        return MAD_TO_SIGMA * float(np.median(np.abs(values - np.median(values))))

    def histogram(self) -> Histogram | None:
        """A histogram of the sample, counts scaled by the stride."""
        values = self.values()
        if values.size == 0:
            return None
        counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
        return Histogram(
            edges=edges.tolist(), counts=(counts * self.stride).tolist(), stride=self.stride
        )
