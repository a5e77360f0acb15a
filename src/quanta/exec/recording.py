"""Recording finished quanta in the registry: outputs and provenance, in batches.

Only the driver writes the registry (invariant 1). Each batch, of up to
``batch_size`` quanta or whatever finished within ``flush_seconds``, goes in one
transaction: the output datasets, their file records and the quanta's provenance, so a
registry row never points at a missing file and a recorded output always has its quantum.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core.provenance import QuantumOutcome
from ..core.refs import DatasetRef
from ..core.stored_file import StoredFile

if TYPE_CHECKING:
    from ..butler import Butler


class Recorder:
    """Collects outcomes with their written datasets and records them in batches."""

    def __init__(
        self, butler: Butler, run: str, batch_size: int = 500, flush_seconds: float = 2.0
    ) -> None:
        self._registry = butler.registry
        self._run = run
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._outcomes: list[QuantumOutcome] = []
        self._refs: list[DatasetRef] = []
        self._files: list[StoredFile] = []
        self._last = time.monotonic()

    def add(
        self,
        outcome: QuantumOutcome,
        refs: Sequence[DatasetRef] = (),
        files: Sequence[StoredFile] = (),
    ) -> None:
        """Queue one quantum's outcome and the datasets it wrote."""
        self._outcomes.append(outcome)
        self._refs.extend(refs)
        self._files.extend(files)

    def maybe_flush(self) -> None:
        """Flush when the batch is full or old enough."""
        if len(self._outcomes) >= self._batch_size or (
            self._outcomes and time.monotonic() - self._last >= self._flush_seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Record everything queued, in one transaction."""
        if self._outcomes:
            registry = self._registry
            with registry.transaction():
                registry.insert_datasets(self._refs)
                registry.store_files(self._files)
                registry.record_quanta(self._run, self._outcomes)
            self._outcomes, self._refs, self._files = [], [], []
        self._last = time.monotonic()
