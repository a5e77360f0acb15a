"""Reading provenance back: a run's summary and the lineage of datasets."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.collections import CollectionType
from ..core.errors import CollectionTypeError, UnknownNameError
from ..core.implicit import log_name
from ..core.status import QuantumStatus

if TYPE_CHECKING:
    from ..butler import Butler
    from ..core.provenance import Lineage, QuantumRecord

#: Statuses of quanta that wrote no ``<label>_log`` dataset.
UNLOGGED = (QuantumStatus.FAILED, QuantumStatus.BLOCKED)


@dataclass
class RunSummary:
    """Per task, how many quanta ended in each status; and the failed quanta."""

    run: str
    counts: dict[str, dict[QuantumStatus, int]]
    failures: list[Any] = field(default_factory=list)


def resolve_run(butler: Butler, collection: str) -> str:
    """``collection`` itself if it is a RUN, the first child if it is a CHAINED output."""
    registry = butler.registry
    record = registry.get_collection(collection)
    if record.type == CollectionType.RUN:
        return collection
    if record.type == CollectionType.CHAINED:
        chain = registry.get_collection_chain(collection)
        if chain and registry.get_collection(chain[0]).type == CollectionType.RUN:
            return chain[0]
    raise CollectionTypeError(
        f"collection {collection!r} is neither a RUN nor a CHAINED collection starting with one"
    )


def summarize_run(butler: Butler, collection: str) -> RunSummary:
    """Counts by task and status, and the failures, of a run (or an output's last run)."""
    run = resolve_run(butler, collection)
    registry = butler.registry
    counts = {
        label: {status: found.get(status, 0) for status in QuantumStatus}
        for label, found in sorted(registry.quantum_summary(run).items())
    }
    return RunSummary(run, counts, registry.query_quanta(run, statuses=[QuantumStatus.FAILED]))


@dataclass
class QuantumLog:
    """One quantum's provenance and the records it logged, to see why it ended as it did."""

    quantum: QuantumRecord
    records: list[dict[str, Any]]

    @property
    def duration_s(self) -> float | None:
        """Wall-clock seconds the quantum ran, when both ends were recorded."""
        start, end = self.quantum.start_ns, self.quantum.end_ns
        return None if start is None or end is None else (end - start) / 1e9


def quantum_logs(
    butler: Butler,
    collection: str,
    labels: Sequence[str] = (),
    where: str | None = None,
    binds: Mapping[str, Any] | None = None,
    statuses: Collection[str] = (),
) -> list[QuantumLog]:
    """Provenance and log records of a run's quanta of some tasks, data IDs and statuses.

    Empty ``labels`` or ``statuses`` select all. ``where`` is evaluated by one data ID
    query per task over the task's dimensions, as dataset queries evaluate it, and the
    quanta whose dimension values that query returns are kept. Unlike a query of the
    ``<label>_log`` datasets, this also selects failed and blocked quanta, which wrote
    none; free-form keys (``pair=...``) are not dimensions, so ``where`` cannot tell the
    quanta of one data ID apart.
    """
    run = resolve_run(butler, collection)
    registry = butler.registry
    known = sorted(registry.quantum_summary(run))
    unknown = [label for label in labels if label not in known]
    if unknown:
        raise UnknownNameError(
            f"no task {unknown[0]!r} in run {run!r}; its tasks are: {', '.join(known)}"
        )
    logs: list[QuantumLog] = []
    for label in dict.fromkeys(labels or known):
        quanta = registry.query_quanta(run, label=label, statuses=statuses or None)
        if where and quanta:
            quanta = _matching(butler, quanta, where, binds)
        records = _log_records(butler, run, label, quanta, where, binds)
        logs.extend(QuantumLog(q, records.get(q.data_id_key, [])) for q in quanta)
    return logs


def _matching(
    butler: Butler, quanta: list[QuantumRecord], where: str, binds: Mapping[str, Any] | None
) -> list[QuantumRecord]:
    """The quanta (all of one task) whose dimension values satisfy ``where``, compared by
    value because free-form keys are not dimensions."""
    found = {
        frozenset(zip(d.group.required, d.required_values, strict=True))
        for d in butler.query_data_ids(list(quanta[0].data_id), where=where, binds=binds)
    }
    return [q for q in quanta if frozenset(q.data_id.items()) in found]


def _log_records(
    butler: Butler,
    run: str,
    label: str,
    quanta: list[QuantumRecord],
    where: str | None,
    binds: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Each quantum's ``<label>_log`` records by data ID, read in bulk (``where`` only
    narrows the query; failed and blocked quanta wrote none, so are not looked up)."""
    wanted = {q.data_id_key for q in quanta if q.status not in UNLOGGED}
    if not wanted:
        return {}
    refs = butler.query_datasets(log_name(label), [run], where=where, binds=binds)
    refs = [r for r in refs if r.data_id.key() in wanted]
    files = butler.registry.get_files([r.id for r in refs])
    return {r.data_id.key(): butler.datastore.read(files[r.id]) for r in refs}


def lineage_trees(butler: Butler, dataset_ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
    """For each dataset, a tree back to the datasets no recorded quantum wrote.

    A dataset node holds ``id``, ``dataset_type``, ``run``, ``data_id`` (None for IDs
    this registry does not hold) and ``produced_by``: the quantum (``task``, ``data_id``,
    ``status``, ``run``, ``inputs``) or None. A quantum met again is shown once in full;
    later it has ``"repeated": true`` and no inputs.
    """
    lineage = butler.registry.lineage(dataset_ids)
    roots: list[dict[str, Any]] = []
    expanded: set[uuid.UUID] = set()
    pending: list[tuple[uuid.UUID, list[dict[str, Any]]]] = [
        (i, roots) for i in reversed(list(dataset_ids))
    ]
    while pending:
        dataset_id, siblings = pending.pop()
        known = lineage.datasets.get(dataset_id)
        node: dict[str, Any] = {
            "id": str(dataset_id),
            "dataset_type": known.dataset_type if known else None,
            "run": known.run if known else None,
            "data_id": known.data_id_key if known else None,
            "produced_by": None,
        }
        siblings.append(node)
        quantum_id = lineage.producers.get(dataset_id)
        if quantum_id is None:
            continue
        record = lineage.quanta[quantum_id]
        quantum: dict[str, Any] = {
            "id": str(quantum_id),
            "task": record.label,
            "data_id": record.data_id_key,
            "status": record.status,
            "run": record.run,
        }
        node["produced_by"] = quantum
        if quantum_id in expanded:
            quantum["repeated"] = True
            continue
        expanded.add(quantum_id)
        quantum["inputs"] = []
        inputs = sorted(lineage.inputs.get(quantum_id, []), key=lambda i: _order(lineage, i))
        pending.extend((i, quantum["inputs"]) for i in reversed(inputs))
    return roots


def _order(lineage: Lineage, dataset_id: uuid.UUID) -> tuple[Any, ...]:
    """Inputs are shown by dataset type and data ID, numbers in numeric order (unknown
    datasets last, by ID)."""
    known = lineage.datasets.get(dataset_id)
    if known is None:
        return (1, "", (), str(dataset_id))
    parts = re.split(r"(\d+)", known.data_id_key)
    natural = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)
    return (0, known.dataset_type, natural, str(dataset_id))
