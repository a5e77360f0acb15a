"""Per-quantum steps of graph building after the default grouping of rows into quanta.

* ``PrerequisiteFinder``: prerequisite inputs for every quantum of a task, looked up in
  bulk. Calibrations come from CALIBRATION collections: the certification whose validity
  overlaps the quantum's exposure (or visit) timespan. Other prerequisites come from RUN
  and TAGGED collections by data ID. Collections are searched in order and the first
  match wins; a quantum with a missing prerequisite is skipped and counted.
* ``TaskHooks``: a task's ``generate_quanta``, ``adjust_quantum`` and ``check_quanta``.
  They take data IDs and refs quantum by quantum, so the builder's columns become one
  ``_Quantum`` object per quantum for them, and back: only tasks that override a hook
  pay for that.
"""

from __future__ import annotations

import uuid
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.collections import CollectionType
from ..core.data_id import DataCoordinate
from ..core.errors import ConflictError, DatasetNotFoundError
from ..core.refs import DatasetRef
from ..core.timespan import Timespan
from ..pipe.task import Candidate, NoWorkFound, PipelineTask
from .accumulators import NodeAccumulator, TaskQuanta, group_pairs, int64_array
from .columns import Extras

if TYPE_CHECKING:
    from ..butler import Butler, Registry
    from ..pipe.connections import ResolvedConnection
    from ..pipe.pipeline import TaskDef
    from .builder import GraphBuilder
    from .model import TaskStats

_AMBIGUOUS = object()


class PrerequisiteFinder:
    """Finds prerequisite datasets for the quanta of each task."""

    def __init__(self, registry: Registry, collections: Sequence[str]) -> None:
        self._registry = registry
        self._records = registry.flatten_collections(collections) if collections else []
        self._lookups: dict[str, list[tuple[bool, dict[Any, Any]]]] = {}

    def _lookup(self, conn: ResolvedConnection) -> list[tuple[bool, dict[Any, Any]]]:
        """Per collection in search order: (is_calibration, index of candidates)."""
        dataset_type = conn.dataset_type
        name = dataset_type.name
        if name in self._lookups:
            return self._lookups[name]
        known = {d.name for d in self._registry.query_dataset_types()}
        lookups: list[tuple[bool, dict[Any, Any]]] = []
        for record in self._records if name in known else []:
            if record.type == CollectionType.CALIBRATION:
                if not dataset_type.is_calibration:
                    continue
                certs: dict[str, list[tuple[Timespan, uuid.UUID]]] = {}
                for dataset_id, key, span in self._registry.certifications(
                    record.name, dataset_type
                ):
                    certs.setdefault(key, []).append((span, dataset_id))
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

    def _timespans(self, task: TaskDef, names: tuple[str, ...], rows: list[tuple]) -> list:
        """The exposure (or visit) timespan of each quantum, or None if it has neither."""
        for dim in ("exposure", "visit"):
            if dim in task.connections.dimensions.required:
                element = self._registry.universe[dim]
                cols = (*element.required, dim)
                pos = [names.index(c) for c in cols]
                keys = list(dict.fromkeys(tuple(row[i] for i in pos) for row in rows))
                records = self._registry.fetch_dimension_records(
                    dim, [dict(zip(cols, k, strict=True)) for k in keys]
                )
                spans = {k: r.timespan for k, r in zip(keys, records, strict=True)}
                return [spans[tuple(row[i] for i in pos)] for row in rows]
        return [None] * len(rows)

    def attach(
        self,
        task: TaskDef,
        names: tuple[str, ...],
        quanta: TaskQuanta,
        builder: GraphBuilder,
        stat: TaskStats,
    ) -> TaskQuanta:
        """Give each quantum its prerequisites; drop (and count) those missing one."""
        prerequisites = task.connections.prerequisites
        if not prerequisites or not len(quanta):
            return quanta
        spans = self._timespans(task, names, quanta.rows)
        found: list[tuple[str, Any]] = []
        keep = np.zeros(len(quanta), dtype=bool)
        for local, (row, span) in enumerate(zip(quanta.rows, spans, strict=True)):
            choices = []
            for name, conn in prerequisites.items():
                pos = [names.index(d) for d in conn.dataset_type.dimensions.required]
                match = self._find(conn, tuple(row[i] for i in pos), span)
                if match is None or match is _AMBIGUOUS:
                    what = "no" if match is None else "more than one"
                    reason = f"with {what} {conn.dataset_type.name} prerequisite"
                    stat.skipped[reason] = stat.skipped.get(reason, 0) + 1
                    break
                choices.append((name, match))
            else:
                keep[local] = True
                found.extend(choices)
        ids = list({m for _, m in found if not isinstance(m, DatasetRef)})
        by_id = {r.id: r for r in self._registry.get_refs(ids)} if ids else {}
        nodes: dict[str, list[int]] = {name: [] for name in prerequisites}
        for name, match in found:
            ref = match if isinstance(match, DatasetRef) else by_id[match]
            acc = builder._accumulator(prerequisites[name])
            nodes[name].append(acc.add_ref(ref, builder._run(ref.run)))  # type: ignore[union-attr]
        quanta = quanta.select(keep)
        offsets = np.arange(len(quanta) + 1, dtype=np.int64)  # one each: shared, read-only
        offsets.flags.writeable = False
        for name, indices in nodes.items():
            quanta.inputs[name] = (offsets, np.asarray(indices, dtype=np.int64))
        return quanta


def records_for(registry: Registry, refs: Sequence[DatasetRef]) -> list[dict[str, Any]]:
    """Dimension records of each ref's data ID, fetched in bulk per dimension."""
    universe = registry.universe
    by_dim: dict[str, dict[tuple, Any]] = {}
    for ref in refs:
        for name in ref.data_id.group.required:
            dim = universe[name]
            key = tuple(ref.data_id[k] for k in (*dim.required, name))
            by_dim.setdefault(name, {})[key] = None
    for name, keys in by_dim.items():
        dim = universe[name]
        cols = (*dim.required, name)
        records = registry.fetch_dimension_records(
            name, [dict(zip(cols, k, strict=True)) for k in keys]
        )
        by_dim[name] = dict(zip(keys, records, strict=True))
    result = []
    for ref in refs:
        recs = {}
        for name in ref.data_id.group.required:
            dim = universe[name]
            recs[name] = by_dim[name][tuple(ref.data_id[k] for k in (*dim.required, name))]
        result.append(recs)
    return result


class _Quantum:
    """One quantum as the task hooks see it: first row, free-form keys, input nodes."""

    __slots__ = ("extras", "inputs", "row")

    def __init__(self, row: tuple, extras: Extras) -> None:
        self.row = row
        self.extras = extras
        self.inputs: dict[str, dict[int, None]] = {}


def _overridden(task_class: type[PipelineTask], name: str) -> bool:
    return getattr(task_class, name).__func__ is not getattr(PipelineTask, name).__func__


class TaskHooks:
    """The graph-building hooks of one task, over the quanta of the default grouping."""

    def __init__(self, builder: GraphBuilder, task: TaskDef, names: tuple[str, ...]) -> None:
        self.builder = builder
        self.task = task
        self.names = names
        self.generates = _overridden(task.task_class, "generate_quanta")
        self.adjusts = _overridden(task.task_class, "adjust_quantum")
        self.checks = _overridden(task.task_class, "check_quanta")

    def _objects(self, quanta: TaskQuanta) -> list[_Quantum]:
        result = []
        for i, row in enumerate(quanta.rows):
            quantum = _Quantum(row, quanta.extras_of(i))
            for name, (offsets, indices) in quanta.inputs.items():
                quantum.inputs[name] = dict.fromkeys(indices[offsets[i] : offsets[i + 1]].tolist())
            result.append(quantum)
        return result

    def _columns(self, quanta: list[_Quantum]) -> TaskQuanta:
        inputs = {}
        for name in self.task.connections.inputs:
            pairs_q, pairs_n = array("q"), array("q")
            for i, quantum in enumerate(quanta):
                nodes = quantum.inputs.get(name, ())
                pairs_q.extend([i] * len(nodes))
                pairs_n.extend(nodes)
            inputs[name] = group_pairs(int64_array(pairs_q), int64_array(pairs_n), len(quanta))
        return TaskQuanta([q.row for q in quanta], [q.extras for q in quanta], inputs)

    def _data_id(self, quantum: _Quantum) -> DataCoordinate:
        group = self.task.connections.dimensions
        values = tuple(quantum.row[self.names.index(d)] for d in group.required)
        return DataCoordinate(group, values, None, None, quantum.extras)

    def _accumulator(self, name: str) -> NodeAccumulator:
        return self.builder._accumulator(self.task.connections.inputs[name])

    def generate(self, default: TaskQuanta) -> TaskQuanta:
        """Let the task's generation hook replace the default quanta."""
        task = self.task
        quanta = self._objects(default)
        candidates: dict[str, list[Candidate]] = {}
        for name, conn in task.connections.inputs.items():
            nodes = sorted({n for q in quanta for n in q.inputs.get(name, ())})
            refs = self.builder.refs_of(conn, nodes)
            records = records_for(self.builder.registry, refs)
            data = (
                read_at_build_time(self.builder.butler, task.label, name, refs)
                if name in task.task_class.build_time_inputs
                else [None] * len(refs)
            )
            candidates[name] = [
                Candidate(ref, rec, value)
                for ref, rec, value in zip(refs, records, data, strict=True)
            ]
        data_ids = [self._data_id(q) for q in quanta]
        specs = task.task_class.generate_quanta(task.config, data_ids, candidates)
        if specs is None:
            return default
        rows = {d.required_values: q.row for d, q in zip(data_ids, quanta, strict=True)}
        result = []
        for spec in specs:
            row = rows.get(spec.data_id.required_values)
            if row is None:
                raise ConflictError(
                    f"task {task.label!r}: generate_quanta returned data ID {spec.data_id}, "
                    "which the query did not find"
                )
            quantum = _Quantum(row, spec.data_id._extras)
            for name, refs in spec.inputs.items():
                acc = self._accumulator(name)
                indices = [acc.index_of(r.id.bytes) for r in refs]
                if any(i is None for i in indices):
                    raise ConflictError(
                        f"task {task.label!r}: generate_quanta used a {name} input that was "
                        "not among the candidates"
                    )
                quantum.inputs[name] = dict.fromkeys(indices)  # type: ignore[arg-type]
            result.append(quantum)
        return self._columns(result)

    def adjust(self, quanta: TaskQuanta, stat: TaskStats) -> TaskQuanta:
        """Let the task drop inputs or whole quanta (the caller checks what is left)."""
        task = self.task
        conns = task.connections.inputs
        kept = []
        for quantum in self._objects(quanta):
            data_id = self._data_id(quantum)
            inputs = {
                n: self.builder.refs_of(conns[n], list(nodes))
                for n, nodes in quantum.inputs.items()
            }
            try:
                adjusted = task.task_class.adjust_quantum(task.config, data_id, inputs)
            except NoWorkFound as err:
                reason = f"dropped by adjust_quantum ({err})" if str(err) else "dropped"
                stat.skipped[reason] = stat.skipped.get(reason, 0) + 1
                continue
            for name, refs in adjusted.items():
                acc = self._accumulator(name)
                quantum.inputs[name] = dict.fromkeys(_node_of(acc, r) for r in refs)
            kept.append(quantum)
        return self._columns(kept)

    def check(self, quanta: TaskQuanta) -> None:
        """Let the task refuse its quanta as a whole (it raises)."""
        conns = self.task.connections.inputs
        whole = [
            (
                self._data_id(quantum),
                {n: self.builder.refs_of(conns[n], list(ns)) for n, ns in quantum.inputs.items()},
            )
            for quantum in self._objects(quanta)
        ]
        self.task.task_class.check_quanta(self.task.config, whole)


def read_at_build_time(
    butler: Butler, label: str, name: str, refs: Sequence[DatasetRef]
) -> list[Any]:
    """The datasets of a build-time input, read now; one that is only predicted (made by
    an earlier task of the same graph) is an error: such a pipeline runs in steps."""
    files = butler.registry.get_files([ref.id for ref in refs])
    missing = [ref for ref in refs if ref.id not in files]
    if missing:
        raise DatasetNotFoundError(
            f"task {label!r} reads its {name} inputs while the graph is built, but "
            f"{missing[0].dataset_type.name} {missing[0].data_id} does not exist yet; run the "
            "pipeline with `quanta run`, which runs the steps that make them first"
        )
    return [butler.datastore.read(files[ref.id]) for ref in refs]


def _node_of(acc: NodeAccumulator, ref: DatasetRef) -> int:
    node = acc.index_of(ref.id.bytes)
    if node is None:
        raise KeyError(ref.id.bytes)
    return node
