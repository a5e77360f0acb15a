"""Turning quanta of a graph into jobs, straight from the graph's columns.

The factory tracks which datasets are available and where their files are: existing
inputs (looked up in the registry in bulk), outputs already in the run (on resume) and
outputs written during this execution. A file is forgotten once its last consumer has
its job, so memory follows the quanta in flight, not the size of the graph.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..core.stored_file import StoredFile
from .job import ConnectionSpec, QuantumJob, RefSpec

if TYPE_CHECKING:
    from ..butler import Butler
    from ..graph.model import DatasetNodes, QuantumGraph
    from ..pipe.resolved import ResolvedPipeline

Node = tuple[str, int]


@dataclass
class Planned:
    """A quantum made ready to run: its job, and what the driver needs to record it.

    ``missing`` names input connections left with fewer datasets than they need (because
    an upstream quantum found no work); ``lost`` names existing inputs without a file.
    """

    job: QuantumJob
    inputs: list[bytes]
    outputs: dict[bytes, Node]
    missing: list[str]
    lost: list[str]


@dataclass(frozen=True)
class _Flags:
    multiple: bool
    minimum: int
    defer_load: bool


class JobFactory:
    """Makes ``QuantumJob``s for the quanta of one graph."""

    def __init__(
        self,
        butler: Butler,
        graph: QuantumGraph,
        pipeline: ResolvedPipeline,
        timeout: float | None = None,
    ) -> None:
        self.graph = graph
        self._timeout = timeout
        self._repo = str(butler.root)
        self._tasks = {t.label: t for t in pipeline.tasks}
        self._configs = {t.label: t.config.model_dump(mode="json") for t in pipeline.tasks}
        self._flags: dict[tuple[str, str], _Flags] = {}
        for task in pipeline.tasks:
            for name, conn in task.connections.connections.items():
                self._flags[(task.label, name)] = _Flags(
                    conn.multiple, conn.minimum, conn.defer_load
                )
        self._files: dict[Node, StoredFile] = {}
        self._consumers = _count_consumers(graph)
        self._existing_inputs(butler)

    def _existing_inputs(self, butler: Butler) -> None:
        """File records of the graph's existing datasets that some quantum reads."""
        wanted: dict[uuid.UUID, Node] = {}
        for name, nodes in self.graph.datasets.items():
            consumed = self._consumers[name]
            for node in np.flatnonzero((nodes.producers < 0) & (consumed > 0)).tolist():
                wanted[uuid.UUID(bytes=bytes(nodes.ids[node]))] = (name, node)
        for id_, stored in butler.registry.get_files(list(wanted)).items():
            self._files[wanted[id_]] = stored

    def add_existing(self, files: Mapping[bytes, StoredFile]) -> set[bytes]:
        """Register the files of outputs already in the run (resume); returns the IDs of
        the graph's outputs found among them."""
        found: set[bytes] = set()
        for name, nodes in self.graph.datasets.items():
            produced = np.flatnonzero(nodes.producers >= 0).tolist()
            for node in produced:
                key = bytes(nodes.ids[node])
                stored = files.get(key)
                if stored is not None:
                    found.add(key)
                    if self._consumers[name][node] > 0:
                        self._files[(name, node)] = stored
        return found

    def store(self, node: Node, stored: StoredFile) -> None:
        """Remember a file written during this execution, if a quantum will read it."""
        if self._consumers[node[0]][node[1]] > 0:
            self._files[node] = stored

    def outputs_of(self, index: int) -> dict[bytes, Node]:
        """Output dataset IDs of a quantum and their nodes."""
        task, local = self.graph.locate(index)
        result = {}
        for edges in task.outputs.values():
            ids = self.graph.datasets[edges.dataset_type].ids
            for node in edges.of(local).tolist():
                result[bytes(ids[node])] = (edges.dataset_type, node)
        return result

    def make(self, index: int) -> Planned:
        """The job of one quantum, with only the inputs that are available."""
        graph = self.graph
        task, local = graph.locate(index)
        inputs: list[bytes] = []
        outputs: dict[bytes, Node] = {}
        missing: list[str] = []
        lost: list[str] = []
        connections = []
        for name, edges in task.inputs.items():
            nodes = graph.datasets[edges.dataset_type]
            flags = self._flags[(task.label, name)]
            refs = []
            for node in edges.of(local).tolist():
                stored = self._take((edges.dataset_type, node))
                if stored is None:
                    if nodes.producers[node] < 0 and name not in lost:
                        lost.append(name)
                    continue
                file = (
                    stored.path,
                    stored.storage_class,
                    stored.checksum,
                    stored.size,
                    stored.hdu,
                )
                refs.append(_ref_spec(nodes, node, graph.runs, file))
                inputs.append(bytes(nodes.ids[node]))
            if len(refs) < (flags.minimum if flags.multiple else 1):
                missing.append(name)
            connections.append(_connection(name, nodes, True, flags, refs))
        for name, edges in task.outputs.items():
            nodes = graph.datasets[edges.dataset_type]
            flags = self._flags.get((task.label, name), _Flags(False, 1, False))
            refs = []
            for node in edges.of(local).tolist():
                refs.append(_ref_spec(nodes, node, graph.runs, None))
                outputs[bytes(nodes.ids[node])] = (edges.dataset_type, node)
            connections.append(_connection(name, nodes, False, flags, refs))
        job = QuantumJob(
            index=index,
            repo=self._repo,
            label=task.label,
            task_class=self._tasks[task.label].class_path,
            config=self._configs[task.label],
            dimensions=task.data_ids.group.required,
            values=task.data_ids.row(local),
            extras=task.data_ids.extras_of(local),
            connections=tuple(connections),
            timeout=self._timeout,
            cores=self._tasks[task.label].cores,
        )
        return Planned(job, inputs, outputs, missing, lost)

    def _take(self, node: Node) -> StoredFile | None:
        """The file of an input, forgotten once its last reader has taken it."""
        stored = self._files.get(node)
        counts = self._consumers[node[0]]
        counts[node[1]] -= 1
        if counts[node[1]] <= 0:
            self._files.pop(node, None)
        return stored


def _count_consumers(graph: QuantumGraph) -> dict[str, np.ndarray]:
    """For each dataset type, how many quanta read each node."""
    counts = {name: np.zeros(len(nodes), dtype=np.int64) for name, nodes in graph.datasets.items()}
    for task in graph.tasks:
        for edges in task.inputs.values():
            if len(edges.indices):
                counts[edges.dataset_type] += np.bincount(
                    edges.indices, minlength=len(counts[edges.dataset_type])
                )
    return counts


def _ref_spec(
    nodes: DatasetNodes,
    node: int,
    runs: list[str],
    file: tuple[str, str, str, int, int | None] | None,
) -> RefSpec:
    return RefSpec(
        uuid.UUID(bytes=bytes(nodes.ids[node])).hex,
        runs[int(nodes.runs[node])],
        nodes.data_ids.row(node),
        nodes.data_ids.extras_of(node),
        file,
    )


def _connection(
    name: str, nodes: DatasetNodes, is_input: bool, flags: _Flags, refs: list[RefSpec]
) -> ConnectionSpec:
    dataset_type = nodes.dataset_type
    return ConnectionSpec(
        name=name,
        dataset_type=dataset_type.name,
        dimensions=dataset_type.dimensions.required,
        storage_class=dataset_type.storage_class,
        is_calibration=dataset_type.is_calibration,
        is_input=is_input,
        multiple=flags.multiple,
        defer_load=flags.defer_load,
        refs=tuple(refs),
    )
