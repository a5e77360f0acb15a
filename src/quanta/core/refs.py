"""Dataset references: a dataset's ID, type, data ID and run (IDs are derived in ``ids.py``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .data_id import DataCoordinate
from .dataset_type import DatasetType
from .ids import output_dataset_id


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
