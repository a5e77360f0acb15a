"""How many quanta a pool worker gets per message: enough to keep it busy for a moment.

A small quantum (a few milliseconds) costs the driver about as much to hand over as the
worker spends running it, and a worker waiting for its next quantum idles for a round
trip; a long one should not wait behind others while a worker is free. So the batch
holds about ``TARGET_SECONDS`` of work, by the mean duration of the quanta seen so far.
"""

from __future__ import annotations

from collections.abc import Iterable

from .job import QuantumResult

#: Seconds of work one batch aims at.
TARGET_SECONDS = 0.05
#: The largest batch, so that the last quanta of a run are still shared out.
MAX_SIZE = 32
#: Weight of each new duration in the running mean.
_WEIGHT = 0.2


class BatchSizer:
    """A running mean of quantum durations, and the batch size it gives (always
    ``fixed``, when given)."""

    def __init__(self, fixed: int | None = None) -> None:
        self.mean: float | None = None
        self.fixed = fixed
        self.size = fixed or 1

    def observe(self, results: Iterable[QuantumResult]) -> None:
        """Update the mean with the durations of ``results`` and the size with it."""
        if self.fixed:
            return
        for result in results:
            seconds = max(0.0, (result.end_ns - result.start_ns) / 1e9)
            if self.mean is None:
                self.mean = seconds
            else:
                self.mean += _WEIGHT * (seconds - self.mean)
        if self.mean is not None:
            self.size = max(1, min(MAX_SIZE, int(TARGET_SECONDS / max(self.mean, 1e-6))))
