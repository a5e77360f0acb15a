"""Recording finished quanta in the registry: outputs and provenance, in batches.

Only the driver writes the registry (invariant 1). Each batch, of up to
``batch_size`` quanta or whatever finished within ``flush_seconds``, goes in one
transaction: the output datasets, their file records and the quanta's provenance, so a
registry row never points at a missing file and a recorded output always has its quantum.
Batches are written in order by one background thread, so the driver goes on handing out
quanta while the registry writes; the driver leaves the registry to that thread until
``close``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quanta-recorder")
        self._written: list[Future[None]] = []

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
        """Start writing the batch when it is full or old enough; raise the error of a
        batch that could not be written."""
        self._raise_failed()
        if len(self._outcomes) >= self._batch_size or (
            self._outcomes and time.monotonic() - self._last >= self._flush_seconds
        ):
            self._send()

    def flush(self) -> None:
        """Record everything queued and wait until it is recorded."""
        self._send()
        written, self._written = self._written, []
        for future in written:
            future.result()

    def close(self) -> None:
        """Stop the background thread (after the batches it was given)."""
        self._writer.shutdown(wait=True)

    def _send(self) -> None:
        if self._outcomes:
            batch = (self._refs, self._files, self._outcomes)
            self._written.append(self._writer.submit(self._write, *batch))
            self._outcomes, self._refs, self._files = [], [], []
        self._last = time.monotonic()

    def _write(
        self, refs: list[DatasetRef], files: list[StoredFile], outcomes: list[QuantumOutcome]
    ) -> None:
        """Record one batch, in one transaction (on the background thread)."""
        registry = self._registry
        with registry.transaction():
            registry.insert_datasets(refs)
            registry.store_files(files)
            registry.record_quanta(self._run, outcomes)

    def _raise_failed(self) -> None:
        """Forget the batches written; raise the error of one that failed."""
        while self._written and self._written[0].done():
            self._written.pop(0).result()
