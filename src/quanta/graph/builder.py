"""Building a quantum graph: one set-based registry query per task, joins in Python.

For each task, in topological order, one query returns the distinct data IDs over the
task's dimensions and its inputs' dimensions, constrained by the ``where`` expression
and by the existence of the pipeline's overall inputs in the input collections. Each
row is matched against the candidate datasets of every input: existing ones (one
``query_datasets`` per dataset type) and predicted ones (the graph built so far). Rows
group into quanta; quanta missing a required input are skipped and counted. Tasks may
reshape their quanta through ``generate_quanta`` (free-form keys) and
``adjust_quantum``; prerequisites (calibrations by the quantum's timespan) are looked
up in bulk. Outputs get deterministic IDs in the output run.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..core.collections import CollectionType
from ..core.data_id import DataCoordinate
from ..core.errors import ConflictError, QuantaError
from ..core.memory import paused_gc
from ..core.refs import DatasetRef, output_id_prefix, uuid5_bytes
from ..pipe.task import Candidate, NoWorkFound, PipelineTask
from .columns import DataIdColumns, Extras
from .model import QuantumGraph, TaskNodes, TaskStats
from .nodes import NodeAccumulator, edges
from .prerequisites import PrerequisiteFinder

if TYPE_CHECKING:
    from ..butler import Butler
    from ..pipe.connections import ResolvedConnection
    from ..pipe.pipeline import ResolvedPipeline, TaskDef

#: Connection names of the datasets every quantum writes besides its declared outputs.
METADATA_CONNECTION = "_metadata"
LOG_CONNECTION = "_log"


class EmptyGraphError(QuantaError):
    """The pipeline and query produced no quanta; the message says where they were lost."""


class _Quantum:
    """A quantum while the graph is built: full row values, extras, and input nodes."""

    __slots__ = ("extras", "inputs", "row")

    def __init__(self, row: tuple, extras: Extras) -> None:
        self.row = row
        self.extras = extras
        self.inputs: dict[str, dict[int, None]] = {}


def _overridden(task_class: type[PipelineTask], name: str) -> bool:
    return getattr(task_class, name).__func__ is not getattr(PipelineTask, name).__func__


class GraphBuilder:
    """Builds the ``QuantumGraph`` of a resolved pipeline over a query."""

    def __init__(
        self,
        butler: Butler,
        pipeline: ResolvedPipeline,
        collections: Sequence[str],
        output_run: str,
        output_collection: str | None = None,
        where: str | None = None,
        binds: Mapping[str, Any] | None = None,
    ) -> None:
        self.butler = butler
        self.registry = butler.registry
        self.universe = butler.universe
        self.pipeline = pipeline
        self.collections = list(collections)
        self.output_run = output_run
        self.output_collection = output_collection
        self.where = where
        self.binds = dict(binds or {})
        self.runs = [output_run]
        self._run_index = {output_run: 0}
        self.nodes: dict[str, NodeAccumulator] = {}
        self._existing: dict[str, dict[tuple, list[DatasetRef]]] = {}
        self._known_types: set[str] | None = None
        self.prerequisites = PrerequisiteFinder(self.registry, self.collections)

    # -- helpers ---------------------------------------------------------------------------

    def _run(self, name: str) -> int:
        index = self._run_index.get(name)
        if index is None:
            index = self._run_index[name] = len(self.runs)
            self.runs.append(name)
        return index

    def _accumulator(self, connection: ResolvedConnection) -> NodeAccumulator:
        name = connection.dataset_type.name
        if name not in self.nodes:
            self.nodes[name] = NodeAccumulator(connection.dataset_type)
        return self.nodes[name]

    def _registered(self, name: str) -> bool:
        if self._known_types is None:
            self._known_types = {d.name for d in self.registry.dataset_types.query()}
        return name in self._known_types

    def _existing_refs(self, connection: ResolvedConnection) -> dict[tuple, list[DatasetRef]]:
        """Existing datasets of an input type, by data ID values (find-first)."""
        name = connection.dataset_type.name
        if name not in self._existing:
            by_values: dict[tuple, list[DatasetRef]] = {}
            if self._registered(name):
                for ref in self.registry.query_datasets(
                    name, self.collections, self.where, self.binds
                ):
                    by_values.setdefault(ref.data_id.required_values, []).append(ref)
            self._existing[name] = by_values
        return self._existing[name]

    def _constraint_types(self, task: TaskDef, dims: set[str]) -> list[str]:
        """Existing dataset types (the task's own, and its ancestors' overall inputs whose
        dimensions lie within the query's) that rows must be consistent with."""
        result: list[str] = []
        pending = [task.label]
        seen: set[str] = set()
        while pending:
            label = pending.pop()
            if label in seen:
                continue
            seen.add(label)
            for conn in self.pipeline.task(label).connections.inputs.values():
                name = conn.dataset_type.name
                producer = self.pipeline.producers.get(name)
                if producer is not None:
                    pending.append(producer)
                elif (
                    set(conn.dataset_type.dimensions.required) <= dims
                    and name not in result
                    and self._registered(name)
                ):
                    result.append(name)
        return result

    # -- per task --------------------------------------------------------------------------

    def build(self) -> QuantumGraph:
        """Build the graph; raise ``EmptyGraphError`` (with the explanation) if empty."""
        tasks: list[TaskNodes] = []
        stats: list[TaskStats] = []
        first = 0
        with paused_gc():
            for task in self.pipeline.tasks:
                nodes, stat = self._build_task(task, first)
                tasks.append(nodes)
                stats.append(stat)
                first += len(nodes)
            graph = QuantumGraph(
                self._header(),
                self.runs,
                {name: acc.finish() for name, acc in self.nodes.items()},
                tasks,
                stats,
            )
        if len(graph) == 0:
            raise EmptyGraphError(
                "the quantum graph is empty: " + "; ".join(s.explain() for s in stats)
            )
        return graph

    def _header(self) -> dict[str, Any]:
        return {
            "run": self.output_run,
            "output": self.output_collection,
            "inputs": self.collections,
            "where": self.where,
            "binds": self.binds,
            "pipeline": self.pipeline.to_json(),
            "universe": f"{self.universe.namespace}:{self.universe.version}",
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }

    def _build_task(self, task: TaskDef, first: int) -> tuple[TaskNodes, TaskStats]:
        conns = task.connections
        stat = TaskStats(task.label)
        inputs = conns.inputs
        dims = set(conns.dimensions.required)
        for conn in inputs.values():
            dims.update(conn.dataset_type.dimensions.required)
        for conn in conns.prerequisites.values():
            dims.update(d for d in conn.dataset_type.dimensions.required if d in conns.dimensions)
        names, rows = self.registry.query_data_id_rows(
            dims,
            self._constraint_types(task, dims),
            self.collections,
            self.where,
            self.binds,
        )
        stat.rows = len(rows)
        quanta = self._group_rows(task, names, rows, stat)
        if _overridden(task.task_class, "generate_quanta"):
            quanta = self._generated(task, names, quanta)
        if _overridden(task.task_class, "adjust_quantum"):
            quanta = self._adjusted(task, names, quanta, stat)
        quanta = self.prerequisites.attach(task, names, quanta, self, stat)
        stat.quanta = len(quanta)
        return self._finish_task(task, names, quanta, first), stat

    def _group_rows(
        self, task: TaskDef, names: tuple[str, ...], rows: list[tuple], stat: TaskStats
    ) -> list[_Quantum]:
        """Match rows with input candidates and group them into quanta."""
        conns = task.connections
        task_pos = [names.index(d) for d in conns.dimensions.required]
        plans = []
        for name, conn in conns.inputs.items():
            pos = [names.index(d) for d in conn.dataset_type.dimensions.required]
            acc = self._accumulator(conn)
            existing = None
            if conn.dataset_type.name not in self.pipeline.producers:
                existing = self._existing_refs(conn)
            plans.append((name, conn, pos, acc, existing))
        found: dict[str, set[int]] = {name: set() for name in conns.inputs}
        quanta: dict[tuple, _Quantum] = {}
        for row in rows:
            key_values = tuple(row[i] for i in task_pos)
            matches: list[tuple[str, bool, list[int]]] = []
            for name, conn, pos, acc, existing in plans:
                values = tuple(row[i] for i in pos)
                if existing is not None:
                    refs = existing.get(values, ())
                    nodes = [acc.add_ref(ref, self._run(ref.run)) for ref in refs]
                else:
                    nodes = acc.by_values.get(values, [])
                found[name].update(nodes)
                matches.append((name, conn.multiple, nodes))
            variants: set[Extras] = set()
            for (_, multiple, nodes), plan in zip(matches, plans, strict=True):
                if not multiple:
                    variants.update(plan[3].extras[n] for n in nodes)
            variants.discard(())
            for extras in variants or {()}:
                quantum = quanta.get((key_values, extras))
                if quantum is None:
                    quantum = quanta[(key_values, extras)] = _Quantum(row, extras)
                for (name, multiple, nodes), plan in zip(matches, plans, strict=True):
                    bucket = quantum.inputs.setdefault(name, {})
                    for n in nodes:
                        if multiple or not extras or plan[3].extras[n] in ((), extras):
                            bucket[n] = None
        stat.candidates = {name: len(nodes) for name, nodes in found.items()}
        return self._complete(task, list(quanta.values()), stat)

    def _complete(self, task: TaskDef, quanta: list[_Quantum], stat: TaskStats) -> list[_Quantum]:
        """Keep quanta whose inputs satisfy their connections; count the others by reason."""
        kept = []
        for quantum in quanta:
            reason = None
            for name, conn in task.connections.inputs.items():
                count = len(quantum.inputs.get(name, ()))
                if conn.multiple and count < conn.minimum:
                    reason = f"with fewer than {conn.minimum} {conn.dataset_type.name}"
                elif not conn.multiple and count == 0:
                    reason = f"without {conn.dataset_type.name}"
                elif not conn.multiple and count > 1:
                    raise ConflictError(
                        f"task {task.label!r}, input {name!r}: {count} "
                        f"{conn.dataset_type.name} datasets match one quantum; make the input "
                        "multiple=True or add dimensions to the task"
                    )
                if reason:
                    break
            if reason:
                stat.skipped[reason] = stat.skipped.get(reason, 0) + 1
            else:
                kept.append(quantum)
        return kept

    def refs_of(self, conn: ResolvedConnection, nodes: Sequence[int]) -> list[DatasetRef]:
        """Refs for node indices of one connection's dataset type."""
        acc = self._accumulator(conn)
        return [acc.ref(n, self.runs) for n in nodes]

    def _data_id(self, task: TaskDef, names: tuple[str, ...], quantum: _Quantum) -> DataCoordinate:
        group = task.connections.dimensions
        values = tuple(quantum.row[names.index(d)] for d in group.required)
        return DataCoordinate(group, values, None, None, quantum.extras)

    def _generated(
        self, task: TaskDef, names: tuple[str, ...], quanta: list[_Quantum]
    ) -> list[_Quantum]:
        """Let the task's generation hook replace the default quanta."""
        conns = task.connections.inputs
        candidates: dict[str, list[Candidate]] = {}
        for name, conn in conns.items():
            nodes = sorted({n for q in quanta for n in q.inputs.get(name, ())})
            refs = self.refs_of(conn, nodes)
            records = self._records_for(refs)
            candidates[name] = [Candidate(ref, rec) for ref, rec in zip(refs, records, strict=True)]
        data_ids = [self._data_id(task, names, q) for q in quanta]
        specs = task.task_class.generate_quanta(task.config, data_ids, candidates)
        if specs is None:
            return quanta
        rows = {d.required_values: q.row for d, q in zip(data_ids, quanta, strict=True)}
        result = []
        for spec in specs:
            values = spec.data_id.required_values
            row = rows.get(values)
            if row is None:
                raise ConflictError(
                    f"task {task.label!r}: generate_quanta returned data ID {spec.data_id}, "
                    "which the query did not find"
                )
            quantum = _Quantum(row, spec.data_id._extras)
            for name, refs in spec.inputs.items():
                acc = self._accumulator(conns[name])
                indices = [acc.by_id.get(r.id.bytes) for r in refs]
                if any(i is None for i in indices):
                    raise ConflictError(
                        f"task {task.label!r}: generate_quanta used a {name} input that was "
                        "not among the candidates"
                    )
                quantum.inputs[name] = dict.fromkeys(indices)  # type: ignore[arg-type]
            result.append(quantum)
        return result

    def _records_for(self, refs: Sequence[DatasetRef]) -> list[dict[str, Any]]:
        """Dimension records of each ref's data ID, fetched in bulk per dimension."""
        by_dim: dict[str, dict[tuple, Any]] = {}
        for ref in refs:
            for name in ref.data_id.group.required:
                dim = self.universe[name]
                key = tuple(ref.data_id[k] for k in (*dim.required, name))
                by_dim.setdefault(name, {})[key] = None
        for name, keys in by_dim.items():
            dim = self.universe[name]
            cols = (*dim.required, name)
            records = self.registry.dimensions.fetch(
                name, [dict(zip(cols, k, strict=True)) for k in keys]
            )
            by_dim[name] = dict(zip(keys, records, strict=True))
        result = []
        for ref in refs:
            recs = {}
            for name in ref.data_id.group.required:
                dim = self.universe[name]
                recs[name] = by_dim[name][tuple(ref.data_id[k] for k in (*dim.required, name))]
            result.append(recs)
        return result

    def _adjusted(
        self, task: TaskDef, names: tuple[str, ...], quanta: list[_Quantum], stat: TaskStats
    ) -> list[_Quantum]:
        """Let the task drop inputs or whole quanta."""
        conns = task.connections.inputs
        kept = []
        for quantum in quanta:
            data_id = self._data_id(task, names, quantum)
            inputs = {n: self.refs_of(conns[n], list(nodes)) for n, nodes in quantum.inputs.items()}
            try:
                adjusted = task.task_class.adjust_quantum(task.config, data_id, inputs)
            except NoWorkFound as err:
                reason = f"dropped by adjust_quantum ({err})" if str(err) else "dropped"
                stat.skipped[reason] = stat.skipped.get(reason, 0) + 1
                continue
            for name, refs in adjusted.items():
                acc = self._accumulator(conns[name])
                quantum.inputs[name] = dict.fromkeys(acc.by_id[r.id.bytes] for r in refs)
            kept.append(quantum)
        return self._complete(task, kept, stat)

    def _finish_task(
        self, task: TaskDef, names: tuple[str, ...], quanta: list[_Quantum], first: int
    ) -> TaskNodes:
        """Columnar quanta with input edges and predicted outputs."""
        conns = task.connections
        group = conns.dimensions
        task_pos = [names.index(d) for d in group.required]
        data_ids = DataIdColumns.from_rows(
            group, [tuple(q.row[i] for i in task_pos) for q in quanta], [q.extras for q in quanta]
        )
        nodes = TaskNodes(task.label, first, data_ids)
        all_inputs = {**conns.inputs, **conns.prerequisites}
        for name, conn in all_inputs.items():
            nodes.inputs[name] = edges(
                conn.dataset_type.name, [list(q.inputs.get(name, ())) for q in quanta]
            )
        outputs = {name: conn.dataset_type for name, conn in conns.outputs.items()}
        outputs[METADATA_CONNECTION] = task.metadata_dataset_type
        outputs[LOG_CONNECTION] = task.log_dataset_type
        for name, dataset_type in outputs.items():
            acc = self.nodes.setdefault(dataset_type.name, NodeAccumulator(dataset_type))
            required = dataset_type.dimensions.required
            pos = [names.index(d) for d in required]
            prefix = output_id_prefix(self.output_run, dataset_type.name)
            per_quantum = []
            for local, quantum in enumerate(quanta):
                values = tuple(quantum.row[i] for i in pos)
                # The canonical key of DataCoordinate.key(), built without the object.
                parts = [f"{k}={v}" for k, v in zip(required, values, strict=True)]
                parts.extend(f"{k}={v}" for k, v in quantum.extras)
                id_ = uuid5_bytes(prefix + ",".join(parts))
                if id_ in acc.by_id:
                    raise ConflictError(
                        f"task {task.label!r} would write {dataset_type.name} "
                        f"{{{','.join(parts)}}} more than once; its output dimensions must "
                        "identify each quantum"
                    )
                per_quantum.append([acc.add(values, quantum.extras, id_, 0, first + local)])
            nodes.outputs[name] = edges(dataset_type.name, per_quantum)
        return nodes


def build_graph(
    butler: Butler,
    pipeline: ResolvedPipeline,
    collections: Sequence[str],
    output_run: str,
    output_collection: str | None = None,
    where: str | None = None,
    binds: Mapping[str, Any] | None = None,
) -> QuantumGraph:
    """Build the quantum graph of ``pipeline`` over the data selected by ``where`` in the
    input ``collections``, with outputs predicted in ``output_run``."""
    for name in collections:
        butler.registry.collections.get(name)
    if butler.registry.collections.find(output_run) is not None:
        butler.registry.collections.get(output_run, CollectionType.RUN)
    return GraphBuilder(
        butler, pipeline, collections, output_run, output_collection, where, binds
    ).build()
