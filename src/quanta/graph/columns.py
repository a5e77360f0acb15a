"""Columnar storage of many data IDs: one NumPy array per dimension, plus free-form keys.

A Python object per quantum costs far more than a quantum can afford at millions of
quanta, so the graph keeps data IDs as columns and builds ``DataCoordinate`` objects
only when one quantum or dataset is looked at.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..core.data_id import DataCoordinate
from ..core.universe import DimensionGroup

Extras = tuple[tuple[str, str], ...]


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
        universe = group.universe
        columns = []
        for i, name in enumerate(group.required):
            values = [row[i] for row in rows]
            dtype = np.int64 if universe[name].key.type == "int" else object
            columns.append(np.array(values, dtype=dtype) if values else np.empty(0, dtype=dtype))
        return cls(group, columns, extras)

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

    def to_json(self) -> dict[str, Any]:
        """Plain lists for serialization."""
        return {
            "dimensions": list(self.group.required),
            "columns": [c.tolist() for c in self.columns],
            "extras": [[list(p) for p in e] for e in self.extras] if self.extras else None,
        }

    @classmethod
    def from_json(cls, group: DimensionGroup, data: dict[str, Any]) -> DataIdColumns:
        """Rebuild from ``to_json`` output."""
        columns = []
        for name, values in zip(group.required, data["columns"], strict=True):
            dtype = np.int64 if group.universe[name].key.type == "int" else object
            columns.append(np.array(values, dtype=dtype) if values else np.empty(0, dtype=dtype))
        extras = data.get("extras")
        parsed = [tuple((k, v) for k, v in e) for e in extras] if extras else None
        return cls(group, columns, parsed)


def csr(groups: Iterable[Sequence[int]], count: int) -> tuple[np.ndarray, np.ndarray]:
    """Compressed rows: ``offsets`` (count + 1) and concatenated ``indices``."""
    offsets = np.zeros(count + 1, dtype=np.int64)
    flat: list[int] = []
    for i, members in enumerate(groups):
        flat.extend(members)
        offsets[i + 1] = len(flat)
    return offsets, np.asarray(flat, dtype=np.int64)
