"""How a quantum ended: the statuses provenance records, reports count and the CLI prints."""

from __future__ import annotations

from enum import StrEnum


class QuantumStatus(StrEnum):
    """The outcome of one quantum; the values are stored in the registry and printed as is.

    Members are declared in the order reports show them.
    """

    #: The task ran and wrote its outputs.
    DONE = "done"
    #: The task found nothing to do (``NoWorkFound``), or an input was never produced.
    NO_WORK = "no_work"
    #: A resumed run found the quantum's outputs already recorded.
    SKIPPED_EXISTING = "skipped_existing"
    #: The task (or its worker) failed, after any retries.
    FAILED = "failed"
    #: Not run: an upstream quantum failed, or execution stopped after a failure.
    BLOCKED = "blocked"
