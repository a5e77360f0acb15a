"""Building a quantum graph: one set-based registry query per task, joins in Python.

For each task, in topological order, one query returns the distinct data IDs over the
task's dimensions and its inputs' dimensions, constrained by the ``where`` expression
and by the existence of the pipeline's overall inputs in the input collections. Each
row is matched against the candidate datasets of every input: existing ones (one
``query_datasets`` per dataset type) and predicted ones (the graph built so far). Rows
group into quanta; quanta missing a required input are skipped and counted. Tasks may
reshape their quanta through ``generate_quanta`` (free-form keys) and
``adjust_quantum``, and refuse them as a whole (``check_quanta``); prerequisites
(calibrations by the quantum's timespan) are looked up in bulk. Outputs get
deterministic IDs in the output run.

Quanta and nodes are kept as columns and compressed edges (``nodes.py``), not as an
object per quantum, and a dataset type's lookups are freed after the last task that
reads it: a million quanta cost a few hundred bytes each while the graph is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.collections import CollectionType
from ..core.dataset_columns import DatasetColumns
from ..core.errors import ConflictError, QuantaError
from ..core.ids import data_id_key, output_dataset_ids, output_id_prefix
from ..core.memory import paused_gc
from .accumulators import ExistingNodes, NodeAccumulator, PredictedNodes, TaskQuanta, group_pairs
from .columns import DataIdColumns, Extras, column, first_duplicate, picker
from .header import GraphHeader, UniverseVersion
from .matching import matched_edges, quanta_of_rows, variant_quanta
from .model import DatasetNodes, Edges, QuantumGraph, TaskNodes, TaskStats
from .prerequisites import PrerequisiteFinder, TaskHooks
from .skip_existing import find_done, task_outputs, with_existing

if TYPE_CHECKING:
    from ..butler import Butler
    from ..core.data_id_table import DataIdTable
    from ..core.refs import DatasetRef
    from ..pipe.connections import ResolvedConnection
    from ..pipe.pipeline import ResolvedPipeline, TaskDef

#: Outputs of a task below which worker processes would cost more than they save.
_PARALLEL_IDS = 200_000


class EmptyGraphError(QuantaError):
    """The pipeline and query produced no quanta; the message says where they were lost."""


def check_not_empty(graph: QuantumGraph) -> None:
    """Raise ``EmptyGraphError``, explaining task by task, if the graph has no quanta."""
    if len(graph) == 0:
        raise EmptyGraphError(
            "the quantum graph is empty: " + "; ".join(s.explain() for s in graph.stats)
        )


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
        data_ids: DataIdTable | None = None,
        skip_existing_in: Sequence[str] = (),
        workers: int = 1,
    ) -> None:
        self.butler = butler
        self.workers = workers
        self.registry = butler.registry
        self.universe = butler.universe
        self.pipeline = pipeline
        self.collections = list(collections)
        self.output_run = output_run
        self.output_collection = output_collection
        self.where = where
        self.binds = dict(binds or {})
        self.data_ids = data_ids
        self.skip_existing_in = list(skip_existing_in)
        self.runs = [output_run]
        self._run_index = {output_run: 0}
        self.nodes: dict[str, NodeAccumulator] = {}
        self._known_types: set[str] | None = None
        self.prerequisites = PrerequisiteFinder(self.registry, self.collections)
        # The last task (by position) matching rows against each dataset type, and the last
        # reading it at all: the type's lookups are freed after them.
        self._last_input_reader: dict[str, int] = {}
        self._last_reader: dict[str, int] = {}
        # Consecutive tasks often ask the same data ID query (W2's per-exposure tasks, and
        # a per-detector task over their outputs): its rows, and the data ID columns made
        # of them, are kept until the last of them.
        self._queries = [self._data_id_query(task) for task in pipeline.tasks]
        self._last_asker = {query: position for position, query in enumerate(self._queries)}
        self._rows: _SharedRows | None = None
        for position, task in enumerate(pipeline.tasks):
            for conn in task.connections.inputs.values():
                self._last_input_reader[conn.dataset_type.name] = position
            for conn in (
                *task.connections.inputs.values(),
                *task.connections.prerequisites.values(),
            ):
                self._last_reader[conn.dataset_type.name] = position

    # -- helpers ---------------------------------------------------------------------------

    def _run(self, name: str) -> int:
        index = self._run_index.get(name)
        if index is None:
            index = self._run_index[name] = len(self.runs)
            self.runs.append(name)
        return index

    def _accumulator(self, connection: ResolvedConnection) -> NodeAccumulator:
        """The nodes of a connection's dataset type (existing ones if no task writes it)."""
        name = connection.dataset_type.name
        if name not in self.nodes:
            self.nodes[name] = ExistingNodes(connection.dataset_type)
        return self.nodes[name]

    def _registered(self, name: str) -> bool:
        if self._known_types is None:
            self._known_types = {d.name for d in self.registry.query_dataset_types()}
        return name in self._known_types

    def _candidates(self, connection: ResolvedConnection) -> NodeAccumulator:
        """The nodes of an input, with the existing candidates loaded (find-first)."""
        acc = self._accumulator(connection)
        name = connection.dataset_type.name
        if isinstance(acc, ExistingNodes) and not acc.loaded:
            found = (
                self.registry.query_dataset_columns(name, self.collections, self.where, self.binds)
                if self._registered(name)
                else DatasetColumns({})
            )
            acc.load(found, self._run)
        return acc

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

    def _data_id_query(self, task: TaskDef) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The dimensions a task's data ID query spans and the existing dataset types its
        rows must be consistent with (the rest of the query is the same for every task)."""
        conns = task.connections
        dims = set(conns.dimensions.required)
        for conn in conns.inputs.values():
            dims.update(conn.dataset_type.dimensions.required)
        for conn in conns.prerequisites.values():
            dims.update(d for d in conn.dataset_type.dimensions.required if d in conns.dimensions)
        return tuple(sorted(dims)), tuple(self._constraint_types(task, dims))

    def _data_id_rows(self, position: int) -> tuple[tuple[str, ...], list[tuple]]:
        """The rows of a task's data ID query, reused from the task before if it asked the
        same; kept past this task (``_build_task``) only if a later one asks it too."""
        query = self._queries[position]
        shared = self._rows
        if shared is None or shared.query != query:
            names, rows = self.registry.query_data_id_rows(
                query[0], query[1], self.collections, self.where, self.binds, data_ids=self.data_ids
            )
            shared = _SharedRows(query, names, rows)
        shared.later = self._last_asker[query] > position
        self._rows = shared
        return shared.names, shared.rows

    def _release_rows(self, keep: list[tuple] | None = None) -> None:
        """Drop the query's rows if no later task asks the query, unless they are ``keep``
        (this task's quanta, whose columns may still be shared)."""
        if self._rows is not None and not self._rows.later and self._rows.rows is not keep:
            self._rows = None

    # -- per task --------------------------------------------------------------------------

    def build(self, empty_ok: bool = False) -> QuantumGraph:
        """Build the graph; unless ``empty_ok``, raise ``EmptyGraphError`` (with the
        explanation) if it is empty."""
        tasks: list[TaskNodes] = []
        stats: list[TaskStats] = []
        first = 0
        with paused_gc():
            for position, task in enumerate(self.pipeline.tasks):
                nodes, stat = self._build_task(task, position, first)
                tasks.append(nodes)
                stats.append(stat)
                first += len(nodes)
                for name, last in self._last_reader.items():
                    if last == position and name in self.nodes:
                        self.nodes[name].release()
            graph = QuantumGraph(
                self._header(),
                self.runs,
                {name: acc.finish() for name, acc in self.nodes.items()},
                tasks,
                stats,
            )
        if not empty_ok:
            check_not_empty(graph)
        return graph

    def _header(self) -> GraphHeader:
        """The header: what the graph plans, and the resolved pipeline itself (serialised
        only when the graph is saved)."""
        return GraphHeader.of_pipeline(
            self.pipeline,
            run=self.output_run,
            output=self.output_collection,
            inputs=tuple(self.collections),
            where=self.where,
            binds=self.binds,
            data_ids=self.data_ids,
            skip_existing_in=tuple(self.skip_existing_in),
            universe=UniverseVersion.of(self.universe),
        )

    def _build_task(self, task: TaskDef, position: int, first: int) -> tuple[TaskNodes, TaskStats]:
        conns = task.connections
        stat = TaskStats(task.label)
        # Candidates first, so that the registry's refs are packed and freed before the rows.
        inputs = {name: self._candidates(conn) for name, conn in conns.inputs.items()}
        names, rows = self._data_id_rows(position)
        stat.rows = len(rows)
        quanta = self._group_rows(task, names, rows, inputs, stat)
        del rows
        self._release_rows(keep=quanta.rows)
        for acc in inputs.values():
            if self._last_input_reader[acc.dataset_type.name] == position:
                acc.done_matching()
        hooks = TaskHooks(self, task, names)
        if hooks.generates:
            quanta = hooks.generate(quanta)
        if hooks.adjusts:
            quanta = hooks.adjust(quanta, stat).complete(task, stat)
        if hooks.checks:
            hooks.check(quanta)
        quanta = self.prerequisites.attach(task, names, quanta, self, stat)
        existing: dict[str, list[DatasetRef]] = {}
        if self.skip_existing_in and len(quanta):
            done, existing = find_done(
                self.butler,
                task,
                names,
                quanta,
                self.skip_existing_in,
                self.where,
                self.binds,
                self._registered,
            )
            stat.existing = int(done.sum())
            quanta = quanta.select(~done)
        stat.quanta = len(quanta)
        unique = not (hooks.generates or hooks.adjusts)
        nodes = self._finish_task(task, names, quanta, first, existing, unique)
        self._release_rows()
        return nodes, stat

    def _group_rows(
        self,
        task: TaskDef,
        names: tuple[str, ...],
        rows: list[tuple],
        inputs: dict[str, NodeAccumulator],
        stat: TaskStats,
    ) -> TaskQuanta:
        """Match rows with input candidates and group them into quanta."""
        conns = task.connections.inputs
        width = len(names)
        key_positions = [names.index(d) for d in task.connections.dimensions.required]
        positions = [
            [names.index(d) for d in conn.dataset_type.dimensions.required]
            for conn in conns.values()
        ]
        extras: list[Extras] | None = None
        found: list[set[int]] | None = None
        # Free-form keys make quanta variants only through single (not multiple) inputs.
        if not any(inputs[n].has_extras and not c.multiple for n, c in conns.items()):
            first_rows, quantum_of = quanta_of_rows(rows, key_positions, width)
            edges = [
                matched_edges(rows, p, width, inputs[name], quantum_of)
                for p, name in zip(positions, conns, strict=True)
            ]
        else:
            singles = [(not c.multiple, inputs[n]) for n, c in conns.items()]
            first_rows, extras, edges, found = variant_quanta(
                rows,
                picker(key_positions, width),
                [picker(p, width) for p in positions],
                [inputs[name].matcher() for name in conns],
                singles,
            )
        result = TaskQuanta(first_rows, extras, {})
        for position, name in enumerate(conns):
            result.inputs[name] = group_pairs(*edges[position], len(first_rows))
            if found is not None:
                stat.candidates[name] = len(found[position])
            else:
                used = np.zeros(len(inputs[name]), dtype=bool)
                used[result.inputs[name][1]] = True
                stat.candidates[name] = int(used.sum())
        return result.complete(task, stat)

    def _output_ids(
        self,
        prefixes: Sequence[str],
        names: Sequence[str],
        columns: Sequence[np.ndarray],
        extras: Sequence[Extras] | None,
        count: int,
    ) -> list[np.ndarray]:
        """``output_dataset_ids``, hashed by forked worker processes a chunk each when the
        build has ``workers`` and the task many outputs (a SHA-1 per output is most of
        the time left once the rows are matched)."""
        if self.workers == 1 or count < _PARALLEL_IDS:
            return output_dataset_ids(prefixes, names, columns, extras, count)
        from ..pipe.parallel import Workers

        size = -(-count // (4 * self.workers))
        chunks = (
            (
                [c[start : start + size] for c in columns],
                extras[start : start + size] if extras is not None else None,
                min(size, count - start),
            )
            for start in range(0, count, size)
        )
        parts = Workers(self.workers).map(
            partial(_ids_of_chunk, prefixes, names), chunks, kind="forked", label=lambda c: "IDs"
        )
        return [np.concatenate(found) for found in zip(*parts, strict=True)]

    def refs_of(self, conn: ResolvedConnection, nodes: Sequence[int]) -> list[DatasetRef]:
        """Refs for node indices of one connection's dataset type."""
        acc = self._accumulator(conn)
        return [acc.ref(n, self.runs) for n in nodes]

    # -- the task's columns ----------------------------------------------------------------

    def _finish_task(
        self,
        task: TaskDef,
        names: tuple[str, ...],
        quanta: TaskQuanta,
        first: int,
        existing: Mapping[str, Sequence[DatasetRef]],
        unique: bool,
    ) -> TaskNodes:
        """Columnar quanta with input edges and predicted outputs, followed by the
        ``existing`` outputs (by dataset type) of quanta left out as done. ``unique``:
        the quanta are the query's, one per data ID (no task hook reshaped them).

        Outputs share the task's data ID columns, producers, runs and edges (read-only
        arrays, not copies); outputs over the same dimensions share one pass over their
        data ID keys, and one check that no two quanta write the same one.
        """
        conns = task.connections
        count = len(quanta)
        # Quanta that are the query's rows share their columns with the other tasks that
        # asked it, and a later one matches their outputs by position (``_data_id_rows``).
        shared = self._rows if self._rows is not None and self._rows.rows is quanta.rows else None
        columns = shared.columns if shared is not None else {}
        width = len(names)
        by_name: list[tuple] = []

        def columns_of(dims: Sequence[str]) -> list[np.ndarray]:
            for d in dims:
                if d not in columns:
                    if not by_name:
                        by_name.extend(zip(*quanta.rows, strict=True) if count else [()] * width)
                    columns[d] = _read_only(column(task.dimensions, d, by_name[names.index(d)]))
            return [columns[d] for d in dims]

        group = conns.dimensions
        data_ids = DataIdColumns(group, columns_of(group.required), quanta.extras)
        nodes = TaskNodes(task.label, first, data_ids)
        empty = (np.zeros(count + 1, dtype=np.int64), np.empty(0, dtype=np.int64))
        for name, conn in {**conns.inputs, **conns.prerequisites}.items():
            nodes.inputs[name] = Edges(conn.dataset_type.name, *quanta.inputs.get(name, empty))
        outputs = task_outputs(task)
        by_dims: dict[tuple[str, ...], list[str]] = {}
        for dataset_type in outputs.values():
            by_dims.setdefault(tuple(dataset_type.dimensions.required), []).append(
                dataset_type.name
            )
        ids: dict[str, np.ndarray] = {}
        for dims, types in by_dims.items():
            prefixes = [output_id_prefix(self.output_run, t) for t in types]
            found = self._output_ids(prefixes, dims, columns_of(dims), quanta.extras, count)
            ids.update(zip(types, found, strict=True))
        repeats: dict[tuple[str, ...], int | None] = {}
        local = _read_only(np.arange(count, dtype=np.int64))
        offsets = _read_only(np.arange(count + 1, dtype=np.int64))
        producers = _read_only(local + first)
        runs = _read_only(np.zeros(count, dtype=np.int32))
        for name, dataset_type in outputs.items():
            dims = tuple(dataset_type.dimensions.required)
            values = columns_of(dims)
            if dims not in repeats:  # equal IDs are equal keys, whatever the type
                # Distinct quanta cannot repeat an output that has all their dimensions.
                distinct = unique and set(group.required) <= set(dims)
                repeats[dims] = None if distinct else first_duplicate(ids[dataset_type.name])
            repeated = repeats[dims]
            if repeated is not None:
                row = [c[repeated] for c in values]
                key = data_id_key(dims, row, quanta.extras_of(repeated))
                raise ConflictError(
                    f"task {task.label!r} would write {dataset_type.name} {{{key}}} more "
                    "than once; its output dimensions must identify each quantum"
                )
            predicted = DatasetNodes(
                dataset_type,
                DataIdColumns(dataset_type.dimensions, values, quanta.extras),
                ids[dataset_type.name],
                runs,
                producers,
            )
            done = existing.get(dataset_type.name, ())
            same = shared is not None and shared.later and not done
            same = same and quanta.extras is None and dims == names
            self.nodes[dataset_type.name] = PredictedNodes(
                with_existing(predicted, done, self._run), quanta.rows if same else None
            )
            nodes.outputs[name] = Edges(dataset_type.name, offsets, local)
        return nodes


class _SharedRows:
    """A data ID query's rows, kept for a later task that asks the same query, with the
    data ID columns made of them so far."""

    __slots__ = ("columns", "later", "names", "query", "rows")

    def __init__(self, query: tuple, names: tuple[str, ...], rows: list[tuple]) -> None:
        self.query = query
        self.names = names
        self.rows = rows
        self.columns: dict[str, np.ndarray] = {}
        self.later = False  # whether a later task asks the same query


def _ids_of_chunk(
    prefixes: Sequence[str], names: Sequence[str], chunk: tuple[list[np.ndarray], Any, int]
) -> list[np.ndarray]:
    """``output_dataset_ids`` of one chunk of data IDs (columns, free-form keys, count)."""
    return output_dataset_ids(prefixes, names, *chunk)


def _read_only(values: np.ndarray) -> np.ndarray:
    """An array shared between several columns or edges: writing to it would be a bug."""
    values.flags.writeable = False
    return values


def build_graph(
    butler: Butler,
    pipeline: ResolvedPipeline,
    collections: Sequence[str],
    output_run: str,
    output_collection: str | None = None,
    where: str | None = None,
    binds: Mapping[str, Any] | None = None,
    data_ids: DataIdTable | None = None,
    empty_ok: bool = False,
    skip_existing_in: Sequence[str] = (),
    workers: int = 1,
) -> QuantumGraph:
    """Build the quantum graph of ``pipeline`` over the data selected by ``where`` (and, if
    given, by the ``data_ids`` table) in the input ``collections``, with outputs predicted
    in ``output_run``; quanta done in ``skip_existing_in`` are left out and their outputs
    read from there. An empty graph is an error unless ``empty_ok``. ``workers`` processes
    share the hashing of output IDs in big graphs."""
    for name in collections:
        butler.registry.get_collection(name)
    if butler.registry.find_collection(output_run) is not None:
        butler.registry.get_collection(output_run, CollectionType.RUN)
    return GraphBuilder(
        butler,
        pipeline,
        collections,
        output_run,
        output_collection,
        where,
        binds,
        data_ids,
        butler.registry.expand_collections(skip_existing_in),
        workers,
    ).build(empty_ok)
