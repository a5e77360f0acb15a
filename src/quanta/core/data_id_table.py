"""A table of data IDs (columns named for dimensions) that constrains a query.

A night log's list of exposures, say: the registry joins the table into its queries, so
only data IDs that agree with one of its rows are found. Values are validated against
their dimension's key type when the table is made, and each row is stored once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .data_id import DataIdValue, check_safe_value
from .errors import DataIdError
from .universe import DimensionUniverse


@dataclass(frozen=True)
class DataIdTable:
    """Distinct rows of values over ``dimensions``; ``source`` names it in messages."""

    dimensions: tuple[str, ...]
    rows: tuple[tuple[DataIdValue, ...], ...]
    source: str

    @classmethod
    def build(
        cls,
        universe: DimensionUniverse,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        source: str,
    ) -> DataIdTable:
        """Validate column names (dimensions, each once) and every value (converted to its
        dimension's key type); an error names the table, the row and the column."""
        if not columns:
            raise DataIdError(f"data ID table {source}: no columns")
        for name in columns:
            if name not in universe:
                raise DataIdError(
                    f"data ID table {source}: column {name!r} is not a dimension; "
                    f"dimensions: {', '.join(universe.dimensions)}"
                )
        repeated = sorted({n for n in columns if list(columns).count(n) > 1})
        if repeated:
            raise DataIdError(f"data ID table {source}: column {repeated[0]!r} appears twice")
        keys = [universe[name].key for name in columns]
        distinct: dict[tuple[DataIdValue, ...], None] = {}
        for number, row in enumerate(rows, start=1):
            values = []
            for name, key, value in zip(columns, keys, row, strict=True):
                try:
                    converted = key.coerce(value)
                    if converted is None:
                        raise ValueError("empty")
                    check_safe_value(name, converted)
                except ValueError as err:  # DataIdError is a ValueError too
                    raise DataIdError(
                        f"data ID table {source}: row {number}, column {name!r}: {err}"
                    ) from None
                values.append(converted)
            distinct[tuple(values)] = None
        if not distinct:
            raise DataIdError(f"data ID table {source}: no rows")
        return cls(tuple(columns), tuple(distinct), source)
