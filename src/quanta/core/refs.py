"""Dataset references and the deterministic IDs that keep ingest and resume idempotent."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from .data_id import DataCoordinate
from .dataset_type import DatasetType

#: Namespace of every UUIDv5 quanta derives; changing it would change every dataset ID.
QUANTA_NAMESPACE = uuid.UUID("6f1e6a52-4c1b-5a3e-9d54-7a6b3c2f0e11")
_NAMESPACE_BYTES = QUANTA_NAMESPACE.bytes


def uuid5_bytes(name: str) -> bytes:
    """The 16 bytes of ``uuid.uuid5(QUANTA_NAMESPACE, name)``, without building a UUID
    object (graph building makes millions of them)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    return bytes(digest)


def output_id_prefix(run: str, dataset_type: str) -> str:
    """The part of an output ID's name shared by every dataset of one type in one run."""
    return f"{run}\x1f{dataset_type}\x1f"


def output_dataset_id(run: str, dataset_type: str, data_id: DataCoordinate) -> uuid.UUID:
    """UUIDv5 of (run, dataset type, canonical data ID): the ID of a produced dataset."""
    return uuid.uuid5(QUANTA_NAMESPACE, output_id_prefix(run, dataset_type) + data_id.key())


def raw_dataset_id(instrument: str, obs_id: str, detector: int) -> uuid.UUID:
    """UUIDv5 of (instrument, obs_id, detector): the ID of a raw, whatever run holds it."""
    return uuid.uuid5(QUANTA_NAMESPACE, f"raw\x1f{instrument}\x1f{obs_id}\x1f{detector}")


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """A dataset: its ID, type, data ID and the RUN collection it was born in."""

    id: uuid.UUID
    dataset_type: DatasetType
    data_id: DataCoordinate
    run: str

    @classmethod
    def for_output(cls, dataset_type: DatasetType, data_id: DataCoordinate, run: str) -> DatasetRef:
        """A ref whose ID is derived deterministically from run, type and data ID."""
        return cls(output_dataset_id(run, dataset_type.name, data_id), dataset_type, data_id, run)

    def __str__(self) -> str:
        return f"{self.dataset_type.name}@{self.data_id} [{self.run}] ({self.id})"
