"""Dimension records: idempotent bulk inserts, lookups and data ID expansion."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.schema import SchemaItem

from ..core.data_id import DataCoordinate
from ..core.errors import ConflictError, DataIdError, RecordNotFoundError
from ..core.records import DimensionRecord
from ..core.timespan import Timespan
from ..core.universe import Dimension, DimensionUniverse, JoinSpec
from .database import Database
from .groups import MEMBERSHIP, claim_exclusive
from .schema import RegistryTables, column_type, dimension_table_name

CHUNK = 500
#: Records kept per dimension by the expansion cache; a full cache starts again empty.
CACHE_LIMIT = 20_000
#: Inserts of at least this many rows refresh the table's statistics (PostgreSQL).
ANALYZE_ROWS = 1000


def dimension_tables(
    md: sa.MetaData, universe: DimensionUniverse
) -> tuple[dict[str, sa.Table], dict[str, sa.Table]]:
    """A ``dim_<name>`` table per dimension and a ``join_<name>`` table per join (such as
    group membership), with foreign keys to the dimensions they name."""
    dims = {name: _dimension_table(md, universe, dim) for name, dim in universe.dimensions.items()}
    joins = {name: _join_table(md, universe, join) for name, join in universe.joins.items()}
    return dims, joins


def _key_columns(universe: DimensionUniverse, dim: Dimension) -> list[str]:
    """Column names, in the dimension's own table, that identify one of its records."""
    return [*dim.required, dim.key.name]


def _dimension_table(md: sa.MetaData, universe: DimensionUniverse, dim: Dimension) -> sa.Table:
    columns: list[SchemaItem] = []
    for req in dim.required:
        columns.append(sa.Column(req, column_type(universe[req].key), primary_key=True))
    columns.append(sa.Column(dim.key.name, column_type(dim.key), primary_key=True))
    for imp in dim.implied:
        columns.append(sa.Column(imp, column_type(universe[imp].key), nullable=True))
    for spec in dim.fields:
        columns.append(sa.Column(spec.name, column_type(spec), nullable=spec.nullable))
    if dim.has_timespan:
        columns.append(sa.Column("timespan_begin", sa.BigInteger, nullable=True))
        columns.append(sa.Column("timespan_end", sa.BigInteger, nullable=True))
    for other in (*dim.required, *dim.implied):
        target = universe[other]
        if not set(target.required) <= set(dim.required):
            continue
        local = [*target.required, other]
        remote = [f"{dimension_table_name(other)}.{c}" for c in _key_columns(universe, target)]
        columns.append(sa.ForeignKeyConstraint(local, remote))
    return sa.Table(dimension_table_name(dim.name), md, *columns)


def _join_table(md: sa.MetaData, universe: DimensionUniverse, join: JoinSpec) -> sa.Table:
    group = universe.group(join.dimensions)
    columns: list[SchemaItem] = [
        sa.Column(name, column_type(universe[name].key), primary_key=True)
        for name in group.required
    ]
    for spec in join.fields:
        columns.append(sa.Column(spec.name, column_type(spec), nullable=spec.nullable))
    for name in join.dimensions:
        target = universe[name]
        remote = [f"{dimension_table_name(name)}.{c}" for c in _key_columns(universe, target)]
        columns.append(sa.ForeignKeyConstraint([*target.required, name], remote))
    return sa.Table(f"join_{join.name}", md, *columns)


def record_to_row(record: DimensionRecord) -> dict[str, Any]:
    """Column values for a record; a timespan becomes two integer columns."""
    row = dict(record.values)
    if record.dimension.has_timespan:
        span = row.pop("timespan", None)
        row["timespan_begin"], row["timespan_end"] = (
            span.to_db() if span is not None else (None, None)
        )
    return row


def row_to_record(dim: Dimension, row: Mapping[Any, Any]) -> DimensionRecord:
    """The record for a database row of a dimension table."""
    values = {name: row[name] for name in dim.field_names if name != "timespan"}
    if dim.has_timespan:
        begin, end = row["timespan_begin"], row["timespan_end"]
        values["timespan"] = None if begin is None else Timespan.from_db(begin, end)
    return DimensionRecord(dim, values)


class DimensionRecordManager:
    """Insert, sync and fetch the records of every dimension table."""

    def __init__(self, db: Database, tables: RegistryTables, universe: DimensionUniverse) -> None:
        self._db = db
        self._tables = tables
        self._universe = universe
        # Records never change or go once inserted, so a positive cache of them stays valid.
        self._cache: dict[str, dict[tuple, DimensionRecord]] = {}
        self._by_key: dict[str, sa.Select] = {}

    def key_columns(self, element: str) -> list[str]:
        """Columns that identify one record of ``element``."""
        dim = self._universe[element]
        return [*dim.required, dim.key.name]

    def insert(self, element: str, records: Iterable[DimensionRecord | Mapping[str, Any]]) -> int:
        """Insert records that are new; identical existing ones are fine, differing ones are
        an error naming the field. Returns how many were inserted."""
        dim = self._universe[element]
        table = self._tables.dimensions[element]
        keys = self.key_columns(element)
        rows: dict[tuple, dict[str, Any]] = {}
        for item in records:
            record = (
                item
                if isinstance(item, DimensionRecord)
                else DimensionRecord.from_mapping(self._universe, element, item)
            )
            row = record_to_row(record)
            key = tuple(row[k] for k in keys)
            previous = rows.get(key)
            if previous is not None and previous != row:
                _raise_conflict(element, key, previous, row)
            rows[key] = row
        if not rows:
            return 0
        with self._db.transaction() as conn:
            existing = self._fetch_rows(conn, table, keys, list(rows))
            for key, old in existing.items():
                _check_same(element, key, old, rows[key])
            new = [row for key, row in rows.items() if key not in existing]
            if new:
                try:
                    conn.execute(table.insert(), new)
                except sa.exc.IntegrityError as err:
                    raise ConflictError(
                        f"cannot insert {element} records: {_first_line(err)}; insert the "
                        f"records they refer to ({', '.join((*dim.required, *dim.implied))}) "
                        "first"
                    ) from None
                if len(new) >= ANALYZE_ROWS:
                    self._db.analyze(conn, table)
        return len(new)

    def insert_join(self, name: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert rows of a join table (such as group membership) idempotently; a row whose
        fields differ from an existing one is an error, and so is an exposure joining a
        second group of an exclusive system. Returns how many were new."""
        try:
            join = self._universe.joins[name]
        except KeyError:
            raise ConflictError(
                f"unknown join {name!r}; valid joins: {', '.join(self._universe.joins)}"
            ) from None
        table = self._tables.joins[name]
        keys = list(self._universe.group(join.dimensions).required)
        valid = [*keys, *(f.name for f in join.fields)]
        typed: dict[tuple, dict[str, Any]] = {}
        for row in rows:
            unknown = [k for k in row if k not in valid]
            if unknown:
                raise DataIdError(
                    f"unknown column(s) {', '.join(map(repr, unknown))} for join {name!r}; "
                    f"valid: {', '.join(valid)}"
                )
            coordinate = DataCoordinate.standardize(
                {k: row.get(k) for k in keys}, self._universe.group(keys)
            )
            values = dict(zip(keys, coordinate.required_values, strict=True))
            for spec in join.fields:
                try:
                    values[spec.name] = spec.coerce(row.get(spec.name))
                except ValueError as err:
                    raise DataIdError(f"join {name!r} column {spec.name!r}: {err}") from None
            typed[tuple(values[k] for k in keys)] = values
        if not typed:
            return 0
        with self._db.transaction() as conn:
            existing = self._fetch_rows(conn, table, keys, list(typed))
            for key, old in existing.items():
                _check_same(name, key, old, typed[key])
            new = [row for key, row in typed.items() if key not in existing]
            if new:
                try:
                    conn.execute(table.insert(), new)
                except sa.exc.IntegrityError as err:
                    raise ConflictError(
                        f"cannot insert {name} rows: {_first_line(err)}; insert the dimension "
                        f"records of {', '.join(join.dimensions)} first"
                    ) from None
                if name == MEMBERSHIP:
                    claim_exclusive(conn, self._tables, new)
                if len(new) >= ANALYZE_ROWS:
                    self._db.analyze(conn, table)
        return len(new)

    def _fetch_rows(
        self, conn: sa.Connection, table: sa.Table, keys: list[str], wanted: Sequence[tuple]
    ) -> dict[tuple, dict[str, Any]]:
        found: dict[tuple, dict[str, Any]] = {}
        cols = [table.c[k] for k in keys]
        for start in range(0, len(wanted), CHUNK):
            cond = _keys_in(cols, wanted[start : start + CHUNK])
            for row in conn.execute(sa.select(table).where(cond)).mappings():
                found[tuple(row[k] for k in keys)] = dict(row)
        return found

    def fetch(self, element: str, data_ids: Sequence[Mapping[str, Any]]) -> list[DimensionRecord]:
        """Records for the given keys (each a mapping holding the required dimensions and
        ``element`` itself); missing ones raise ``RecordNotFoundError``."""
        dim = self._universe[element]
        wanted = [tuple(d[k] for k in (*dim.required, element)) for d in data_ids]
        found = self.find(element, wanted)
        result = []
        for key in wanted:
            record = found.get(key)
            if record is None:
                raise RecordNotFoundError(
                    f"no {element} record for "
                    + ", ".join(
                        f"{k}={v!r}" for k, v in zip((*dim.required, element), key, strict=True)
                    )
                )
            result.append(record)
        return result

    def find(self, element: str, keys: Sequence[tuple]) -> dict[tuple, DimensionRecord]:
        """The records that exist among the given keys (tuples of the required dimensions'
        values and ``element``'s own), by key, in bulk."""
        dim = self._universe[element]
        with self._db.connect() as conn:
            rows = self._fetch_rows(
                conn, self._tables.dimensions[element], self.key_columns(element), keys
            )
        return {key: row_to_record(dim, row) for key, row in rows.items()}

    def join_rows(self, name: str, dimension: str, keys: Sequence[tuple]) -> list[dict[str, Any]]:
        """Rows of the join ``name`` whose ``dimension`` has one of the keys (tuples of its
        required dimensions' values, then its own), in bulk."""
        table = self._tables.joins[name]
        dim = self._universe[dimension]
        cols = [table.c[k] for k in (*dim.required, dimension)]
        rows: list[dict[str, Any]] = []
        with self._db.connect() as conn:
            for start in range(0, len(keys), CHUNK):
                cond = _keys_in(cols, keys[start : start + CHUNK])
                rows.extend(dict(r) for r in conn.execute(sa.select(table).where(cond)).mappings())
        return rows

    def expand(self, data_id: DataCoordinate) -> DataCoordinate:
        """Fill in implied values and the records of every dimension of a data ID (records
        seen before come from the cache, without a connection)."""
        records: dict[str, DimensionRecord] = {}
        values = data_id.full()
        pending = list(data_id.group.names)
        while pending:
            # Implied values become known from the records of the dimensions implying them.
            name = next(n for n in pending if n in values)
            pending.remove(name)
            dim = self._universe[name]
            if values[name] is None:
                # An implied dimension left empty (a filter with no band) has no record,
                # and leaves empty whatever it implies in turn.
                for imp in dim.implied:
                    values.setdefault(imp, None)  # type: ignore[arg-type]
                continue
            record = self._record(name, tuple(values[k] for k in (*dim.required, name)))
            records[name] = record
            for imp in dim.implied:
                if imp in values and values[imp] != record.values[imp]:
                    raise ConflictError(
                        f"data ID says {imp}={values[imp]!r} but the {name} record says "
                        f"{record.values[imp]!r}"
                    )
                values[imp] = record.values[imp]
        implied = tuple(values[k] for k in data_id.group.implied)
        return data_id.expanded(implied, records)

    def _record(self, element: str, key: tuple) -> DimensionRecord:
        """One record by key, from the cache when it was seen before; a record read inside a
        write transaction is not cached, since that transaction may still roll back."""
        cache = self._cache.setdefault(element, {})
        record = cache.get(key)
        if record is None:
            dim = self._universe[element]
            names = (*dim.required, element)
            with self._db.connect() as conn:
                params = dict(zip(self.key_columns(element), key, strict=True))
                row = conn.execute(self._one(element), params)
                found = row.mappings().first()
            if found is None:
                raise RecordNotFoundError(
                    f"no {element} record for "
                    + ", ".join(f"{k}={v!r}" for k, v in zip(names, key, strict=True))
                )
            record = row_to_record(dim, found)
            if not self._db.in_transaction:
                if len(cache) >= CACHE_LIMIT:
                    cache.clear()
                cache[key] = record
        return record

    def _one(self, element: str) -> sa.Select:
        """The prepared select of one record of ``element`` by its key columns."""
        statement = self._by_key.get(element)
        if statement is None:
            table = self._tables.dimensions[element]
            keys = self.key_columns(element)
            statement = sa.select(table).where(*(table.c[k] == sa.bindparam(k) for k in keys))
            self._by_key[element] = statement
        return statement


def _check_same(element: str, key: tuple, old: dict[str, Any], new: dict[str, Any]) -> None:
    if any(old.get(k) != v for k, v in new.items()):
        _raise_conflict(element, key, old, new)


def _raise_conflict(element: str, key: tuple, old: dict[str, Any], new: dict[str, Any]) -> None:
    diffs = [f"{k}: {old.get(k)!r} != {v!r}" for k, v in new.items() if old.get(k) != v]
    raise ConflictError(
        f"{element} record {key} already exists with different values ({'; '.join(diffs)})"
    )


def _first_line(err: Exception) -> str:
    orig = getattr(err, "orig", None)
    return str(orig or err).strip().splitlines()[0]


def _keys_in(columns: Sequence[sa.ColumnElement], keys: Sequence[tuple]) -> sa.ColumnElement[bool]:
    """Rows whose ``columns`` hold one of the key tuples (a plain IN for one column)."""
    if len(columns) == 1:
        return columns[0].in_([key[0] for key in keys])
    return sa.tuple_(*columns).in_(keys)
