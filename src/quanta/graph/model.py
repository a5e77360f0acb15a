"""The quantum graph: quanta and datasets as columns, linked by integer indices.

Quanta are numbered globally in topological task order; each task's quanta form one
contiguous block. Each dataset type's nodes hold data IDs, 16-byte IDs, the run of
existing datasets and the producing quantum (-1 for datasets that already exist).
Edges are compressed rows (offsets plus indices) from quanta to dataset nodes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.dataset_type import DatasetType
from ..core.refs import DatasetRef
from .columns import DataIdColumns

if TYPE_CHECKING:
    from .header import GraphHeader


@dataclass
class DatasetNodes:
    """Every dataset of one type in the graph."""

    dataset_type: DatasetType
    data_ids: DataIdColumns
    ids: np.ndarray  # dtype V16: uuid.bytes
    runs: np.ndarray  # int32 index into QuantumGraph.runs
    producers: np.ndarray  # int64 global quantum index, -1 if the dataset already exists

    def __len__(self) -> int:
        return len(self.ids)

    def ref(self, i: int, runs: Sequence[str]) -> DatasetRef:
        """The ref of one node."""
        return DatasetRef(
            uuid.UUID(bytes=self.ids[i].tobytes()),
            self.dataset_type,
            self.data_ids.data_id(i),
            runs[int(self.runs[i])],
        )


@dataclass
class Edges:
    """For each quantum of a task, the node indices of one connection (compressed rows)."""

    dataset_type: str
    offsets: np.ndarray
    indices: np.ndarray

    def of(self, local: int) -> np.ndarray:
        """Node indices of one quantum."""
        return self.indices[self.offsets[local] : self.offsets[local + 1]]


@dataclass
class TaskNodes:
    """The quanta of one task: data IDs and edges per connection."""

    label: str
    first: int
    data_ids: DataIdColumns
    inputs: dict[str, Edges] = field(default_factory=dict)
    outputs: dict[str, Edges] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.data_ids)


@dataclass
class Quantum:
    """One quantum, materialized: its task, data ID and refs per connection."""

    index: int
    label: str
    data_id: Any
    inputs: dict[str, list[DatasetRef]]
    outputs: dict[str, list[DatasetRef]]


@dataclass
class TaskStats:
    """How one task's quanta came about, so that an empty graph explains itself."""

    label: str
    rows: int = 0
    candidates: dict[str, int] = field(default_factory=dict)
    quanta: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    existing: int = 0

    def explain(self) -> str:
        """One line: what the query found, why quanta were skipped, how many were left
        out as done already."""
        found = ", ".join(f"{name}: {n}" for name, n in self.candidates.items())
        skipped = "; ".join(f"{n} {why}" for why, n in self.skipped.items())
        text = f"task {self.label!r}: {self.rows} data ID rows; candidates {{{found}}}; "
        text += f"{self.quanta} quanta"
        text += f"; skipped {skipped}" if skipped else ""
        return text + (f"; {self.existing} done already" if self.existing else "")


@dataclass
class QuantumGraph:
    """Quanta of a pipeline over a query, ready to execute into ``output_run``."""

    header: GraphHeader
    runs: list[str]
    datasets: dict[str, DatasetNodes]
    tasks: list[TaskNodes]
    stats: list[TaskStats] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._firsts = np.array([t.first for t in self.tasks], dtype=np.int64)
        self._by_label = {t.label: t for t in self.tasks}

    def __len__(self) -> int:
        return sum(len(t) for t in self.tasks)

    @property
    def output_run(self) -> str:
        """The RUN collection outputs go to."""
        return self.runs[0]

    def task(self, label: str) -> TaskNodes:
        """The quanta of one task."""
        return self._by_label[label]

    def locate(self, index: int) -> tuple[TaskNodes, int]:
        """The task of a global quantum index and the quantum's index within it."""
        position = int(np.searchsorted(self._firsts, index, side="right")) - 1
        task = self.tasks[position]
        if not 0 <= index - task.first < len(task):
            raise IndexError(f"no quantum {index} in a graph of {len(self)}")
        return task, index - task.first

    def refs(self, edges: Edges, local: int) -> list[DatasetRef]:
        """Refs of one connection of one quantum."""
        nodes = self.datasets[edges.dataset_type]
        return [nodes.ref(int(i), self.runs) for i in edges.of(local)]

    def quantum(self, index: int) -> Quantum:
        """Materialize one quantum with all its refs."""
        task, local = self.locate(index)
        return Quantum(
            index,
            task.label,
            task.data_ids.data_id(local),
            {name: self.refs(e, local) for name, e in task.inputs.items()},
            {name: self.refs(e, local) for name, e in task.outputs.items()},
        )

    def parents(self) -> tuple[np.ndarray, np.ndarray]:
        """For every quantum, the quanta it waits for (compressed rows, duplicates removed)."""
        total = len(self)
        pairs: list[np.ndarray] = []
        for task in self.tasks:
            for edges in task.inputs.values():
                producers = self.datasets[edges.dataset_type].producers[edges.indices]
                counts = np.diff(edges.offsets)
                children = np.repeat(np.arange(len(task), dtype=np.int64) + task.first, counts)
                keep = producers >= 0
                pairs.append(np.stack([children[keep], producers[keep]], axis=1))
        if pairs:
            edges_all = np.unique(np.concatenate(pairs), axis=0)
        else:
            edges_all = np.empty((0, 2), dtype=np.int64)
        offsets = np.zeros(total + 1, dtype=np.int64)
        np.add.at(offsets, edges_all[:, 0] + 1, 1)
        return np.cumsum(offsets), edges_all[:, 1].copy()

    def children(self) -> tuple[np.ndarray, np.ndarray]:
        """For every quantum, the quanta waiting for it (compressed rows)."""
        offsets, parents = self.parents()
        total = len(self)
        child_of = np.repeat(np.arange(total, dtype=np.int64), np.diff(offsets))
        order = np.argsort(parents, kind="stable")
        counts = np.bincount(parents, minlength=total) if len(parents) else np.zeros(total, int)
        child_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return child_offsets, child_of[order]

    def explain(self) -> str:
        """Why the graph has the quanta it has, task by task."""
        return "\n".join(s.explain() for s in self.stats)
