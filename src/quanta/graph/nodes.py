"""Accumulators for the graph builder: dataset nodes and quanta as they are found."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np

from ..core.data_id import DataCoordinate
from ..core.dataset_type import DatasetType
from ..core.refs import DatasetRef
from .columns import DataIdColumns, Extras, csr
from .model import DatasetNodes, Edges


class NodeAccumulator:
    """The datasets of one type that the graph uses, indexed by data ID values."""

    def __init__(self, dataset_type: DatasetType) -> None:
        self.dataset_type = dataset_type
        self.values: list[tuple] = []
        self.extras: list[Extras] = []
        self.ids: list[bytes] = []
        self.runs: list[int] = []
        self.producers: list[int] = []
        self.by_values: dict[tuple, list[int]] = {}
        self.by_id: dict[bytes, int] = {}

    def add(self, values: tuple, extras: Extras, id_: bytes, run: int, producer: int) -> int:
        """Add one dataset (once per ID) and return its node index."""
        found = self.by_id.get(id_)
        if found is not None:
            return found
        index = len(self.ids)
        self.values.append(values)
        self.extras.append(extras)
        self.ids.append(id_)
        self.runs.append(run)
        self.producers.append(producer)
        self.by_values.setdefault(values, []).append(index)
        self.by_id[id_] = index
        return index

    def add_ref(self, ref: DatasetRef, run: int) -> int:
        """Add an existing dataset."""
        return self.add(ref.data_id.required_values, ref.data_id._extras, ref.id.bytes, run, -1)

    def ref(self, index: int, runs: Sequence[str]) -> DatasetRef:
        """The ref of one node."""
        data_id = DataCoordinate(
            self.dataset_type.dimensions, self.values[index], None, None, self.extras[index]
        )
        return DatasetRef(
            uuid.UUID(bytes=self.ids[index]), self.dataset_type, data_id, runs[self.runs[index]]
        )

    def finish(self) -> DatasetNodes:
        """The columnar nodes."""
        return DatasetNodes(
            self.dataset_type,
            DataIdColumns.from_rows(self.dataset_type.dimensions, self.values, self.extras),
            np.array(self.ids, dtype="V16") if self.ids else np.empty(0, dtype="V16"),
            np.asarray(self.runs, dtype=np.int32),
            np.asarray(self.producers, dtype=np.int64),
        )


def edges(dataset_type: str, per_quantum: Sequence[Sequence[int]]) -> Edges:
    """Compressed edges of one connection."""
    offsets, indices = csr(per_quantum, len(per_quantum))
    return Edges(dataset_type, offsets, indices)
