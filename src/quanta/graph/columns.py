"""Columnar storage of many data IDs: one NumPy array per dimension, plus free-form keys.

A Python object per quantum costs far more than a quantum can afford at millions of
quanta, so the graph keeps data IDs as columns and builds ``DataCoordinate`` objects
only when one quantum or dataset is looked at. The output IDs of many data IDs are
computed from the columns too, as are picks of values from query rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any

import numpy as np

from ..core.data_id import DataCoordinate
from ..core.ids import Extras
from ..core.universe import DimensionGroup


class DataIdColumns:
    """Data IDs of one dimension group, stored column by column."""

    __slots__ = ("columns", "extras", "group")

    def __init__(
        self, group: DimensionGroup, columns: Sequence[np.ndarray], extras: Sequence[Extras] | None
    ) -> None:
        self.group = group
        self.columns = list(columns)
        self.extras = list(extras) if extras is not None and any(extras) else None

    @classmethod
    def from_rows(
        cls, group: DimensionGroup, rows: Sequence[tuple], extras: Sequence[Extras] | None = None
    ) -> DataIdColumns:
        """Columns from value tuples in ``group.required`` order."""
        values = list(zip(*rows, strict=True)) if rows else [()] * len(group.required)
        return cls(
            group,
            [column(group, n, v) for n, v in zip(group.required, values, strict=True)],
            extras,
        )

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def row(self, i: int) -> tuple:
        """Values of one data ID, as Python scalars."""
        return tuple(c[i].item() if c.dtype != object else c[i] for c in self.columns)

    def rows(self) -> list[tuple]:
        """Every data ID's values (one list per column converted in bulk, then zipped)."""
        if not self.columns:
            return [()] * 0
        return list(zip(*(c.tolist() for c in self.columns), strict=True))

    def extras_of(self, i: int) -> Extras:
        """Free-form keys of one data ID."""
        return self.extras[i] if self.extras is not None else ()

    def data_id(self, i: int) -> DataCoordinate:
        """The ``DataCoordinate`` of one row."""
        return DataCoordinate(self.group, self.row(i), None, None, self.extras_of(i))

    def to_json(self, lists: bool = True) -> dict[str, Any]:
        """Plain lists for serialization (the arrays themselves if not ``lists``)."""
        return {
            "dimensions": list(self.group.required),
            "columns": [c.tolist() if lists else c for c in self.columns],
            "extras": [[list(p) for p in e] for e in self.extras] if self.extras else None,
        }

    @classmethod
    def from_json(cls, group: DimensionGroup, data: dict[str, Any]) -> DataIdColumns:
        """Rebuild from ``to_json`` output (or from what loading made of it: arrays, whose
        strings are shared already)."""
        columns = [
            v if isinstance(v, np.ndarray) and v.dtype == object else column(group, n, v)
            for n, v in zip(group.required, data["columns"], strict=True)
        ]
        extras = data.get("extras")
        parsed = [tuple((k, v) for k, v in e) for e in extras] if extras else None
        return cls(group, columns, parsed)


def column(group: DimensionGroup, name: str, values: Sequence[Any]) -> np.ndarray:
    """The values of one dimension as an array: int64, or objects (strings) with equal
    values stored once, since every query row brings its own string objects."""
    if group.universe[name].key.type == "int":
        return np.asarray(values, dtype=np.int64) if len(values) else np.empty(0, dtype=np.int64)
    shared: dict[Any, Any] = {}
    result = np.empty(len(values), dtype=object)
    result[:] = [shared.setdefault(v, v) for v in values]
    return result


def csr(groups: Iterable[Sequence[int]], count: int) -> tuple[np.ndarray, np.ndarray]:
    """Compressed rows: ``offsets`` (count + 1) and concatenated ``indices``."""
    offsets = np.zeros(count + 1, dtype=np.int64)
    flat: list[int] = []
    for i, members in enumerate(groups):
        flat.extend(members)
        offsets[i + 1] = len(flat)
    return offsets, np.asarray(flat, dtype=np.int64)


def first_duplicate(ids: np.ndarray) -> int | None:
    """The position of the first ID (in order) equal to an earlier one, if any."""
    if len(ids) < 2:
        return None
    halves = ids.view(np.uint64).reshape(len(ids), 2)
    order = np.lexsort((halves[:, 1], halves[:, 0]))  # stable: equal IDs keep their order
    ordered = halves[order]
    repeats = np.flatnonzero((ordered[1:] == ordered[:-1]).all(axis=1))
    return int(order[repeats + 1].min()) if len(repeats) else None


def picker(positions: Sequence[int], width: int) -> Callable[[tuple], tuple]:
    """A function from a query row to the tuple of the values at ``positions``; the row
    itself when that is all of it, so most rows need no new tuple."""
    if list(positions) == list(range(width)):
        return lambda row: row
    if len(positions) == 1:
        only = positions[0]
        return lambda row: (row[only],)
    if not positions:
        return lambda row: ()
    return itemgetter(*positions)
