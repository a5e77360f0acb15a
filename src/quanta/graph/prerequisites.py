"""Prerequisite inputs for every quantum of a task, looked up in bulk.

Calibrations come from CALIBRATION collections: the certification whose validity
overlaps the quantum's exposure (or visit) timespan. Other prerequisites come from
RUN and TAGGED collections by data ID. Collections are searched in order and the
first match wins; a quantum with a missing prerequisite is skipped and counted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..core.collections import CollectionType
from ..core.data_id import DataCoordinate
from ..core.refs import DatasetRef
from ..core.timespan import Timespan

if TYPE_CHECKING:
    from ..pipe.connections import ResolvedConnection
    from ..pipe.pipeline import TaskDef
    from ..registry import Registry
    from .builder import GraphBuilder, _Quantum
    from .model import TaskStats

_AMBIGUOUS = object()


class PrerequisiteFinder:
    """Finds prerequisite datasets for the quanta of each task."""

    def __init__(self, registry: Registry, collections: Sequence[str]) -> None:
        self._registry = registry
        self._records = registry.collections.flatten(collections) if collections else []
        self._lookups: dict[str, list[tuple[bool, dict[Any, Any]]]] = {}

    def _lookup(self, conn: ResolvedConnection) -> list[tuple[bool, dict[Any, Any]]]:
        """Per collection in search order: (is_calibration, index of candidates)."""
        dataset_type = conn.dataset_type
        name = dataset_type.name
        if name in self._lookups:
            return self._lookups[name]
        known = {d.name for d in self._registry.dataset_types.query()}
        lookups: list[tuple[bool, dict[Any, Any]]] = []
        for record in self._records if name in known else []:
            if record.type == CollectionType.CALIBRATION:
                if not dataset_type.is_calibration:
                    continue
                certs: dict[str, list[tuple[Timespan, uuid.UUID]]] = {}
                for dataset_id, key, span in self._registry.calibrations.certifications(
                    record.id, dataset_type
                ):
                    certs.setdefault(key, []).append((span, dataset_id))  # type: ignore[arg-type]
                lookups.append((True, certs))
            else:
                refs = self._registry.query_datasets(dataset_type, [record.name])
                lookups.append((False, {r.data_id.required_values: r for r in refs}))
        self._lookups[name] = lookups
        return lookups

    def _find(self, conn: ResolvedConnection, values: tuple, span: Timespan | None) -> Any:
        key = DataCoordinate(conn.dataset_type.dimensions, values).key()
        for is_calibration, index in self._lookup(conn):
            if not is_calibration:
                ref = index.get(values)
                if ref is not None:
                    return ref
                continue
            certs = index.get(key, ())
            matches = [d for s, d in certs if span is None or s.overlaps(span)]
            if len(matches) > 1:
                return _AMBIGUOUS
            if matches:
                return matches[0]
        return None

    def _timespans(self, task: TaskDef, names: tuple[str, ...], quanta: list[_Quantum]) -> list:
        """The exposure (or visit) timespan of each quantum, or None if it has neither."""
        for dim in ("exposure", "visit"):
            if dim in task.connections.dimensions.required:
                element = self._registry.universe[dim]
                cols = (*element.required, dim)
                pos = [names.index(c) for c in cols]
                keys = list(dict.fromkeys(tuple(q.row[i] for i in pos) for q in quanta))
                records = self._registry.dimensions.fetch(
                    dim, [dict(zip(cols, k, strict=True)) for k in keys]
                )
                spans = {k: r.timespan for k, r in zip(keys, records, strict=True)}
                return [spans[tuple(q.row[i] for i in pos)] for q in quanta]
        return [None] * len(quanta)

    def attach(
        self,
        task: TaskDef,
        names: tuple[str, ...],
        quanta: list[_Quantum],
        builder: GraphBuilder,
        stat: TaskStats,
    ) -> list[_Quantum]:
        """Give each quantum its prerequisites; drop (and count) those missing one."""
        prerequisites = task.connections.prerequisites
        if not prerequisites or not quanta:
            return quanta
        spans = self._timespans(task, names, quanta)
        found: list[tuple[_Quantum, str, Any]] = []
        kept: list[_Quantum] = []
        for quantum, span in zip(quanta, spans, strict=True):
            choices = []
            for name, conn in prerequisites.items():
                pos = [names.index(d) for d in conn.dataset_type.dimensions.required]
                match = self._find(conn, tuple(quantum.row[i] for i in pos), span)
                if match is None or match is _AMBIGUOUS:
                    what = "no" if match is None else "more than one"
                    reason = f"with {what} {conn.dataset_type.name} prerequisite"
                    stat.skipped[reason] = stat.skipped.get(reason, 0) + 1
                    break
                choices.append((quantum, name, match))
            else:
                kept.append(quantum)
                found.extend(choices)
        ids = list({m for _, _, m in found if not isinstance(m, DatasetRef)})
        by_id = {r.id: r for r in self._registry.datasets.get_refs(ids)} if ids else {}
        for quantum, name, match in found:
            ref = match if isinstance(match, DatasetRef) else by_id[match]
            acc = builder._accumulator(prerequisites[name])
            quantum.inputs[name] = {acc.add_ref(ref, builder._run(ref.run)): None}
        return kept
