"""What provenance holds: a quantum's outcome as recorded, and the lineage of datasets.

These are the plain records the executor hands the registry and the registry returns;
they live in core so that every package can name them without reaching into the registry.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .data_id import DataCoordinate
from .status import QuantumStatus


@dataclass(frozen=True, slots=True)
class QuantumOutcome:
    """The final outcome of one quantum, as the executor hands it to provenance."""

    label: str
    data_id: DataCoordinate
    status: QuantumStatus
    attempts: int = 0
    start_ns: int | None = None
    end_ns: int | None = None
    host: str | None = None
    peak_memory_bytes: int | None = None
    error: str | None = None
    traceback: str | None = None
    inputs: Sequence[uuid.UUID] = ()
    outputs: Sequence[uuid.UUID] = ()


@dataclass(frozen=True, slots=True)
class QuantumRecord:
    """One recorded quantum; ``data_id`` holds the dimension values, ``extras`` the
    free-form keys, and ``data_id_key`` the canonical text of both."""

    id: uuid.UUID
    run: str
    label: str
    data_id: dict[str, Any]
    extras: dict[str, str]
    data_id_key: str
    status: QuantumStatus
    attempts: int
    start_ns: int | None
    end_ns: int | None
    host: str | None
    peak_memory_bytes: int | None
    error: str | None
    traceback: str | None


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    """A dataset as provenance shows it: type, run and canonical data ID."""

    id: uuid.UUID
    dataset_type: str
    run: str
    data_id_key: str


@dataclass
class Lineage:
    """The quanta and datasets upstream of some datasets.

    ``producers`` maps a dataset to the quantum that wrote it (datasets without one were
    ingested, or produced outside this repository); ``inputs`` maps a quantum to what it
    read; ``datasets`` describes every dataset met that this registry knows.
    """

    roots: list[uuid.UUID]
    datasets: dict[uuid.UUID, DatasetSummary] = field(default_factory=dict)
    producers: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    quanta: dict[uuid.UUID, QuantumRecord] = field(default_factory=dict)
    inputs: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
