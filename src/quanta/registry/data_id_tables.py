"""Data ID tables in the database: a temporary table a query joins, filled in bulk.

A table of data IDs constrains a query in SQL, not in Python: its rows go into a
temporary table (``executemany`` in chunks, so a long night log stays within the
drivers' parameter limits) that the query joins on its dimension columns. The table
lives in the query's connection and is dropped after it; if the query fails, the
rollback of the connection's transaction drops it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from ..core.data_id_table import DataIdTable
from ..core.universe import DimensionUniverse
from .schema import column_type

#: Rows inserted per statement.
CHUNK = 5000


@contextmanager
def temporary_data_ids(
    conn: sa.Connection, table: DataIdTable, universe: DimensionUniverse
) -> Iterator[sa.Table]:
    """A temporary table holding ``table``'s rows, one column per dimension."""
    temp = sa.Table(
        f"tmp_data_ids_{uuid.uuid4().hex[:16]}",
        sa.MetaData(),
        *(
            sa.Column(name, column_type(universe[name].key), primary_key=True)
            for name in table.dimensions
        ),
        prefixes=["TEMPORARY"],
    )
    temp.create(conn)
    try:
        insert = temp.insert()
        for start in range(0, len(table.rows), CHUNK):
            chunk = table.rows[start : start + CHUNK]
            conn.execute(insert, [dict(zip(table.dimensions, row, strict=True)) for row in chunk])
        yield temp
    finally:
        temp.drop(conn)
