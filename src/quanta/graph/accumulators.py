"""Accumulators for the graph builder: dataset nodes and quanta as they are found.

Graphs have millions of nodes, and a Python object per node costs ~100 bytes or more, so
the accumulators keep flat storage and drop what the rest of the build no longer needs:

* ``ExistingNodes``: datasets of an overall input or prerequisite. The candidates found
  in the input collections are held as data ID tuples, packed IDs and run indices (not
  as ``DatasetRef`` objects); a candidate becomes a node the first time a quantum uses it.
* ``PredictedNodes``: the outputs of one task, added at once as columns that share the
  task's data ID arrays.
* ``TaskQuanta``: the quanta of the task being built, as the first query row of each
  and compressed (quantum, node) edges per input connection.

``done_matching`` and ``release`` free a dataset type's lookups after the last task that
matches rows against it and the last that reads it at all.
"""

from __future__ import annotations

import uuid
from array import array
from collections.abc import Callable, Mapping, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.data_id import DataCoordinate
from ..core.dataset_type import DatasetType
from ..core.errors import ConflictError
from ..core.refs import DatasetRef
from .columns import DataIdColumns, Extras
from .model import DatasetNodes

if TYPE_CHECKING:
    from ..core.dataset_columns import DatasetColumns
    from ..pipe.pipeline import TaskDef
    from .model import TaskStats

Matcher = Callable[[tuple], Sequence[int]]
_NONE: tuple[int, ...] = ()


class ExistingNodes:
    """Existing datasets of one type: the candidates in the input collections (by data ID
    values) and the nodes, which are the candidates or prerequisites quanta use, in
    order of first use."""

    def __init__(self, dataset_type: DatasetType) -> None:
        self.dataset_type = dataset_type
        self.loaded = False
        self.has_extras = False
        # Candidates: data ID values -> candidate index (a list where several share them).
        self._candidates: dict[tuple, Any] = {}
        self._cand_ids = b""
        self._cand_runs = array("i")  # index into _run_names
        self._run_names: Mapping[int, str] = {}
        self._run_index: Callable[[str], int] = len  # replaced by load()
        self._cand_extras: list[Extras] | None = None
        self._cand_node = array("q")
        self._cand_values: list[tuple] = []
        self._repeats = False  # whether some data ID values have several candidates
        # Nodes.
        self._values: list[tuple] = []
        self._extras: list[Extras] = []
        self._ids = bytearray()
        self._runs = array("i")
        # ID -> node, built only when needed (prerequisites, task hooks): IDs arrive through
        # the candidates at most once each, so most builds never need it.
        self._by_id: dict[bytes, int] | None = None
        self._finished: DatasetNodes | None = None

    def __len__(self) -> int:
        return len(self._values) if self._finished is None else len(self._finished)

    def load(self, found: DatasetColumns, run_index: Callable[[str], int]) -> None:
        """Take the candidates found by the registry (find-first, in search order)."""
        self._cand_ids = bytes(found.ids)
        # Runs get their graph-wide index when a node first uses them, as nodes do.
        self._cand_runs = found.run_ids
        self._run_names = found.run_names
        self._run_index = run_index
        if found.extras is not None and any(found.extras):
            self._cand_extras = found.extras
            self.has_extras = True
        self._cand_node = array("q", [-1]) * len(found)
        self._cand_values = found.values
        self._candidates = _positions(found.values)
        self._repeats = len(self._candidates) < len(found)
        self.loaded = True

    def matcher(self) -> Matcher:
        """``match(values)``: the nodes of the candidates with these data ID values
        (candidates become nodes on first use)."""
        candidates = self._candidates.get
        node_of = self._cand_node
        promote = self._promote

        def match(values: tuple) -> Sequence[int]:
            found = candidates(values)
            if found is None:
                return _NONE
            if found.__class__ is int:
                node = node_of[found]
                return (node if node >= 0 else promote(found, values),)
            return [node_of[c] if node_of[c] >= 0 else promote(c, values) for c in found]

        return match

    def rows_are(self, rows: list[tuple]) -> bool:
        """Never: existing datasets are not made from query rows."""
        return False

    def match_all(self, keys: Sequence[tuple]) -> tuple[np.ndarray, np.ndarray] | None:
        """``matcher`` over many data ID values at once: for each how many nodes match
        (0 or 1) and the matched nodes in order. ``None`` where some values have several
        candidates (they differ in free-form keys): ``matcher`` handles those."""
        if self._repeats:
            return None
        found = np.fromiter(map(self._candidates.get, keys, repeat(-1)), np.int64, len(keys))
        hit = found >= 0
        candidates = found[hit]
        node_of = np.frombuffer(self._cand_node, dtype=np.int64)
        new = candidates[node_of[candidates] < 0]
        if len(new):
            unique, first = np.unique(new, return_index=True)
            self._promote_all(unique[np.argsort(first)])
        return hit.astype(np.int64), node_of[candidates]

    def _promote_all(self, candidates: np.ndarray) -> None:
        """Make nodes of candidates (none a node yet), in the order given."""
        if self._finished is not None:
            raise RuntimeError(f"{self.dataset_type.name}: nodes added after release")
        if self._by_id is not None:
            for c in candidates.tolist():
                self._promote(c, self._cand_values[c])
            return
        start = len(self._values)
        np.frombuffer(self._cand_node, dtype=np.int64)[candidates] = np.arange(
            start, start + len(candidates)
        )
        order = candidates.tolist()
        self._values.extend(map(self._cand_values.__getitem__, order))
        extras = self._cand_extras
        self._extras.extend(
            map(extras.__getitem__, order) if extras is not None else repeat((), len(order))
        )
        self._ids += np.frombuffer(self._cand_ids, dtype="V16")[candidates].tobytes()
        codes, inverse = np.unique(
            np.frombuffer(self._cand_runs, dtype=np.int32)[candidates], return_inverse=True
        )
        runs = np.array([self._run_index(self._run_names[c]) for c in codes.tolist()], np.int32)
        self._runs.extend(runs[inverse].tolist())

    def _promote(self, candidate: int, values: tuple) -> int:
        start = candidate * 16
        extras = self._cand_extras[candidate] if self._cand_extras is not None else ()
        run = self._run_index(self._run_names[self._cand_runs[candidate]])
        node = self._add(values, extras, self._cand_ids[start : start + 16], run)
        self._cand_node[candidate] = node
        return node

    def _add(self, values: tuple, extras: Extras, id_: bytes, run: int) -> int:
        if self._finished is not None:
            raise RuntimeError(f"{self.dataset_type.name}: nodes added after release")
        if self._by_id is not None:
            found = self._by_id.get(id_)
            if found is not None:
                return found
            self._by_id[id_] = len(self._values)
        self._values.append(values)
        self._extras.append(extras)
        self._ids += id_
        self._runs.append(run)
        return len(self._values) - 1

    def add_ref(self, ref: DatasetRef, run: int) -> int:
        """Add one dataset (a prerequisite) once per ID; its node index."""
        self._index_ids()
        if ref.data_id._extras:
            self.has_extras = True
        return self._add(ref.data_id.required_values, ref.data_id._extras, ref.id.bytes, run)

    def _index_ids(self) -> dict[bytes, int]:
        if self._by_id is None:
            ids = self._ids
            self._by_id = {bytes(ids[i * 16 : i * 16 + 16]): i for i in range(len(self._values))}
        return self._by_id

    def index_of(self, id_: bytes) -> int | None:
        """The node of a dataset ID, if it is one."""
        return self._index_ids().get(id_)

    def extras_of(self, node: int) -> Extras:
        """Free-form keys of one node."""
        return self._extras[node]

    def ref(self, node: int, runs: Sequence[str]) -> DatasetRef:
        """The ref of one node."""
        if self._finished is not None:
            return self._finished.ref(node, list(runs))
        data_id = DataCoordinate(
            self.dataset_type.dimensions, self._values[node], None, None, self._extras[node]
        )
        id_ = uuid.UUID(bytes=bytes(self._ids[node * 16 : node * 16 + 16]))
        return DatasetRef(id_, self.dataset_type, data_id, runs[self._runs[node]])

    def done_matching(self) -> None:
        """No remaining task matches rows against this type: drop the candidates."""
        self._candidates = {}
        self._cand_ids = b""
        self._cand_runs = array("i")
        self._cand_extras = None
        self._cand_node = array("q")
        self._cand_values = []

    def release(self) -> None:
        """No remaining task reads this type: make the columns, drop the lists."""
        self.done_matching()
        self._finished = self.finish()
        self._values, self._extras, self._ids, self._by_id = [], [], bytearray(), None
        self._runs = array("i")

    def finish(self) -> DatasetNodes:
        """The columnar nodes."""
        if self._finished is not None:
            return self._finished
        count = len(self._values)
        return DatasetNodes(
            self.dataset_type,
            DataIdColumns.from_rows(self.dataset_type.dimensions, self._values, self._extras),
            np.frombuffer(bytes(self._ids), dtype="V16").copy(),
            np.frombuffer(self._runs, dtype=np.int32).copy() if count else np.empty(0, np.int32),
            np.full(count, -1, dtype=np.int64),
        )


class PredictedNodes:
    """The outputs of one dataset type, written by one task and added at once."""

    def __init__(self, nodes: DatasetNodes, rows: list[tuple] | None = None) -> None:
        self.dataset_type = nodes.dataset_type
        self.nodes = nodes
        self.has_extras = nodes.data_ids.extras is not None
        # Query rows whose values are, row by row, the nodes' data IDs (see ``rows_are``).
        self._rows = rows
        self._by_values: dict[tuple, Any] | None = None
        self._by_id: dict[bytes, int] | None = None

    def __len__(self) -> int:
        return len(self.nodes)

    def matcher(self) -> Matcher:
        """``match(values)``: the nodes with these data ID values."""
        found_by = self._values_index().get

        def match(values: tuple) -> Sequence[int]:
            found = found_by(values)
            if found is None:
                return _NONE
            return (found,) if found.__class__ is int else found

        return match

    def rows_are(self, rows: list[tuple]) -> bool:
        """Whether node ``i`` has the values of ``rows[i]``, for every row: the nodes were
        made from this very list of query rows, which a later task matches again."""
        return self._rows is rows

    def match_all(self, keys: Sequence[tuple]) -> tuple[np.ndarray, np.ndarray] | None:
        """``matcher`` over many data ID values at once (see ``ExistingNodes.match_all``)."""
        by_values = self._values_index()
        if len(by_values) < len(self.nodes):
            return None
        found = np.fromiter(map(by_values.get, keys, repeat(-1)), np.int64, len(keys))
        hit = found >= 0
        return hit.astype(np.int64), found[hit]

    def _values_index(self) -> dict[tuple, Any]:
        if self._by_values is None:
            data_ids = self.nodes.data_ids
            self._by_values = _positions(
                data_ids.rows() if data_ids.columns else [()] * len(self.nodes)
            )
        return self._by_values

    def index_of(self, id_: bytes) -> int | None:
        """The node of a dataset ID, if it is one."""
        if self._by_id is None:
            self._by_id = {bytes(v): i for i, v in enumerate(self.nodes.ids)}
        return self._by_id.get(id_)

    def extras_of(self, node: int) -> Extras:
        """Free-form keys of one node."""
        return self.nodes.data_ids.extras_of(node)

    def ref(self, node: int, runs: Sequence[str]) -> DatasetRef:
        """The ref of one node."""
        return self.nodes.ref(node, runs)

    def done_matching(self) -> None:
        """No remaining task matches rows against this type: drop the data ID index."""
        self._by_values = self._rows = None

    def release(self) -> None:
        """No remaining task reads this type: drop the lookups."""
        self._by_values = self._by_id = self._rows = None

    def finish(self) -> DatasetNodes:
        """The columnar nodes."""
        return self.nodes


NodeAccumulator = ExistingNodes | PredictedNodes


def _positions(keys: Sequence[tuple]) -> dict[tuple, Any]:
    """The position of each data ID in ``keys``, or the list of positions of those that
    repeat (which differ only in free-form keys)."""
    index: dict[tuple, Any] = dict(zip(keys, range(len(keys)), strict=True))
    if len(index) < len(keys):
        index = {}
        for position, key in enumerate(keys):
            index.setdefault(key, []).append(position)
        for key, found in index.items():
            if len(found) == 1:
                index[key] = found[0]
    return index


class TaskQuanta:
    """The quanta of one task while the graph is built.

    ``rows[i]`` is the first query row of quantum ``i`` (every dimension value the task
    needs), ``extras[i]`` its free-form keys (``None``: none has any), and
    ``inputs[name]`` the compressed rows (offsets, node indices) of each connection.
    """

    __slots__ = ("extras", "inputs", "rows")

    def __init__(
        self,
        rows: list[tuple],
        extras: list[Extras] | None,
        inputs: dict[str, tuple[np.ndarray, np.ndarray]],
    ) -> None:
        self.rows = rows
        self.extras = extras if extras is not None and any(extras) else None
        self.inputs = inputs

    def __len__(self) -> int:
        return len(self.rows)

    def extras_of(self, index: int) -> Extras:
        """Free-form keys of one quantum."""
        return self.extras[index] if self.extras is not None else ()

    def complete(self, task: TaskDef, stat: TaskStats) -> TaskQuanta:
        """The quanta whose inputs satisfy their connections; count the others by reason.

        For each quantum, the first connection (in order) that fails decides: too few
        inputs is a reason to skip it, more than one for a single input an error.
        """
        conns = task.connections.inputs
        undecided = len(conns)
        reason_at = np.full(len(self), undecided, dtype=np.int64)
        conflict_at = np.full(len(self), undecided, dtype=np.int64)
        reasons = []
        for position, (name, conn) in enumerate(conns.items()):
            counts = np.diff(self.inputs[name][0])
            if conn.multiple:
                failed = counts < conn.minimum
                reasons.append(f"with fewer than {conn.minimum} {conn.dataset_type.name}")
            else:
                failed = counts == 0
                reasons.append(f"without {conn.dataset_type.name}")
                conflict_at[(counts > 1) & (conflict_at == undecided)] = position
            reason_at[failed & (reason_at == undecided)] = position
        conflicts = np.flatnonzero(conflict_at < reason_at)
        if len(conflicts):
            q = int(conflicts[0])
            name, conn = list(conns.items())[conflict_at[q]]
            offsets = self.inputs[name][0]
            raise ConflictError(
                f"task {task.label!r}, input {name!r}: {offsets[q + 1] - offsets[q]} "
                f"{conn.dataset_type.name} datasets match one quantum; make the input "
                "multiple=True or add dimensions to the task"
            )
        skipped = reason_at < undecided
        if not skipped.any():
            return self
        codes, first, counts = np.unique(reason_at[skipped], return_index=True, return_counts=True)
        order = np.argsort(first)  # reasons in the order quanta first met them
        for code, count in zip(codes[order].tolist(), counts[order].tolist(), strict=True):
            stat.skipped[reasons[code]] = stat.skipped.get(reasons[code], 0) + count
        return self.select(~skipped)

    def select(self, keep: np.ndarray) -> TaskQuanta:
        """The quanta where the boolean mask ``keep`` is true, in order."""
        if keep.all():
            return self
        positions = np.flatnonzero(keep).tolist()
        inputs = {}
        for name, (offsets, indices) in self.inputs.items():
            counts = np.diff(offsets)
            kept = np.zeros(len(positions) + 1, dtype=np.int64)
            np.cumsum(counts[keep], out=kept[1:])
            inputs[name] = (kept, indices[np.repeat(keep, counts)])
        extras = [self.extras[i] for i in positions] if self.extras is not None else None
        return TaskQuanta([self.rows[i] for i in positions], extras, inputs)


def int64_array(values: array) -> np.ndarray:
    """An ``array("q")`` as a NumPy array (empty ones too), without a copy."""
    return np.frombuffer(values, dtype=np.int64) if len(values) else np.empty(0, np.int64)


def group_pairs(q: np.ndarray, n: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Compressed rows from (quantum, node) pairs: for each of ``count`` quanta its
    distinct nodes, in the order first seen."""
    if len(q) > 1 and not (q[1:] > q[:-1]).all():  # not one node per quantum, in order
        _, first = np.unique(q * (int(n.max()) + 1) + n, return_index=True)
        if len(first) < len(q):
            first.sort()
            q, n = q[first], n[first]
        order = np.argsort(q, kind="stable")
        q, n = q[order], n[order]
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(q, minlength=count), out=offsets[1:])
    return offsets, n.copy()
