"""The rule every run obeys: each output its saved quantum graph predicted exists.

Output IDs are deterministic (invariant 2), so the graph holds the ID of
every predicted output; the check compares them, one dataset type at a time, with the
IDs the registry holds in the run, one query per dataset type. Missing outputs of quanta
the expectations allow to fail are ignored; each other one is a problem that says, from
the run's provenance, what became of the quantum that should have written it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..core.collections import CollectionType
from ..core.errors import DatasetTypeNotFoundError
from ..core.status import QuantumStatus
from ..graph.io import load_graph
from .report import ExpectationResult

if TYPE_CHECKING:
    from ..butler import Butler
    from ..core.data_id import DataCoordinate
    from ..core.dataset_type import DatasetType
    from .expectations import Expectations

#: How a problem says what became of a quantum, by recorded status.
_FATES = {
    QuantumStatus.FAILED: "failed",
    QuantumStatus.NO_WORK: "found no work",
    QuantumStatus.BLOCKED: "was blocked",
    QuantumStatus.DONE: "is recorded done without it",
    QuantumStatus.SKIPPED_EXISTING: "is recorded done without it",
}


def runs_with_graphs(butler: Butler, collection: str) -> list[str]:
    """The RUN collections that ``collection`` is or searches (through chains, in search
    order) whose executed graph is saved in the repository."""
    return [
        record.name
        for record in butler.registry.flatten_collections([collection])
        if record.type == CollectionType.RUN and butler.graph_path(record.name).is_file()
    ]


def check_predicted(butler: Butler, run: str, expectations: Expectations) -> ExpectationResult:
    """Whether every output the saved graph of ``run`` predicted is in the run."""
    graph = load_graph(butler.graph_path(run), butler.universe)
    fates = _Fates(butler, run)
    problems = []
    for name, nodes in graph.datasets.items():
        predicted = np.flatnonzero(nodes.producers >= 0).tolist()
        if not predicted:
            continue
        found = _ids_in_run(butler, nodes.dataset_type, run)
        for node in predicted:
            if bytes(nodes.ids[node]) in found:
                continue
            task, local = graph.locate(int(nodes.producers[node]))
            quantum = task.data_ids.data_id(local)
            if expectations.allows(task.label, quantum):
                continue
            problems.append(
                f"{name} {nodes.data_ids.data_id(node)}: predicted but missing in run {run}; "
                f"quantum {task.label} {quantum} {fates.of(task.label, quantum)}"
            )
    return ExpectationResult(f"predicted outputs of run {run}", tuple(problems))


def _ids_in_run(butler: Butler, dataset_type: DatasetType, run: str) -> set[bytes]:
    """The IDs of every dataset of one type in a run (none if the type is unregistered)."""
    try:
        return {ref.id.bytes for ref in butler.query_datasets(dataset_type, run)}
    except DatasetTypeNotFoundError:
        return set()


class _Fates:
    """What became of the quanta of a run, read from provenance on first need."""

    def __init__(self, butler: Butler, run: str) -> None:
        self._registry = butler.registry
        self._run = run
        self._statuses: dict[tuple[str, str], QuantumStatus] | None = None
        self._errors: dict[tuple[str, str], str] = {}

    def of(self, label: str, data_id: DataCoordinate) -> str:
        """``failed: <error>``, ``found no work: <reason>``, ``never ran``..."""
        if self._statuses is None:
            self._statuses = self._registry.quantum_statuses(self._run)
            unfinished = self._registry.query_quanta(
                self._run,
                statuses=(QuantumStatus.FAILED, QuantumStatus.NO_WORK, QuantumStatus.BLOCKED),
            )
            self._errors = {(q.label, q.data_id_key): _first_line(q.error) for q in unfinished}
        key = (label, data_id.key())
        status = self._statuses.get(key)
        if status is None:
            return "never ran"
        error = self._errors.get(key, "")
        if status == QuantumStatus.BLOCKED and error.startswith("blocked "):
            return f"was {error}"
        return _FATES[status] + (f": {error}" if error else "")


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else ""
