"""Reading provenance back: a run's summary and the lineage of datasets."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.collections import CollectionType
from ..core.errors import CollectionTypeError
from .driver import STATUSES

if TYPE_CHECKING:
    from ..butler import Butler
    from ..registry.provenance import Lineage


@dataclass
class RunSummary:
    """Per task, how many quanta ended in each status; and the failed quanta."""

    run: str
    counts: dict[str, dict[str, int]]
    failures: list[Any] = field(default_factory=list)


def resolve_run(butler: Butler, collection: str) -> str:
    """``collection`` itself if it is a RUN, the first child if it is a CHAINED output."""
    collections = butler.registry.collections
    record = collections.get(collection)
    if record.type == CollectionType.RUN:
        return collection
    if record.type == CollectionType.CHAINED:
        chain = collections.get_chain(collection)
        if chain and collections.get(chain[0]).type == CollectionType.RUN:
            return chain[0]
    raise CollectionTypeError(
        f"collection {collection!r} is neither a RUN nor a CHAINED collection starting with one"
    )


def summarize_run(butler: Butler, collection: str) -> RunSummary:
    """Counts by task and status, and the failures, of a run (or an output's last run)."""
    run = resolve_run(butler, collection)
    provenance = butler.registry.provenance
    counts = {
        label: {status: found.get(status, 0) for status in STATUSES}
        for label, found in sorted(provenance.summary(run).items())
    }
    return RunSummary(run, counts, provenance.quanta(run, statuses=["failed"]))


def lineage_trees(butler: Butler, dataset_ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
    """For each dataset, a tree back to the datasets no recorded quantum wrote.

    A dataset node holds ``id``, ``dataset_type``, ``run``, ``data_id`` (None for IDs
    this registry does not hold) and ``produced_by``: the quantum (``task``, ``data_id``,
    ``status``, ``run``, ``inputs``) or None. A quantum met again is shown once in full;
    later it has ``"repeated": true`` and no inputs.
    """
    lineage = butler.registry.provenance.lineage(dataset_ids)
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
