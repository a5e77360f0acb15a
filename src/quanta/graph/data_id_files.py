"""Reading a table of data IDs from an ECSV or CSV file (``--data-id-table``).

Columns are dimension names (``instrument, exposure``, say, for a night log's exposure
list). ECSV declares each column's type in its header; CSV columns are read as text and
converted to their dimension's key type, so a wrong type is reported either way.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from ..core.data_id_table import DataIdTable
from ..core.errors import DataIdError
from ..core.universe import DimensionUniverse


def read_data_id_table(path: Path, universe: DimensionUniverse) -> DataIdTable:
    """The data IDs in an ``.ecsv`` or ``.csv`` file, validated against ``universe``; an
    unreadable file or a bad column or value is a one-line ``DataIdError``."""
    ecsv = path.suffix.lower() == ".ecsv"
    try:
        columns, rows = _read_ecsv(path) if ecsv else _read_csv(path)
    except Exception as err:  # astropy and csv raise many kinds for one unreadable file
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        kind = "ECSV" if ecsv else "CSV"
        raise DataIdError(f"data ID table {path}: cannot read it as {kind}: {reason}") from None
    return DataIdTable.build(universe, columns, rows, str(path))


def _read_ecsv(path: Path) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of an ECSV file; floating-point columns are refused."""
    from astropy.table import Table

    table = Table.read(path, format="ascii.ecsv")
    columns = list(table.colnames)
    for name in columns:
        if table[name].dtype.kind == "f":
            raise ValueError(f"column {name!r} holds floating-point numbers, not data ID values")
    return columns, list(zip(*(table[name].tolist() for name in columns), strict=True))


def _read_csv(path: Path) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names (the first line) and rows of text of a CSV file."""
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None:
            raise ValueError("the file is empty")
        columns = [name.strip() for name in header]
        rows = []
        for number, row in enumerate(reader, start=1):
            if len(row) != len(columns):
                raise ValueError(f"row {number} has {len(row)} values, not {len(columns)}")
            rows.append(tuple(value.strip() for value in row))
    return columns, rows
