"""Dataset and data-ID searches: ``where`` queries over dimensions, datasets and collections.

The registry facade answers ``find_dataset``, ``query_datasets``, ``query_data_ids`` and
``query_dimension_records`` here. Every search compiles to one SQL statement per
collection searched (or one in all), with bound parameters only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import Any

import sqlalchemy as sa

from ..core.collections import CollectionRecord, CollectionType, is_glob
from ..core.data_id import DataCoordinate
from ..core.data_id_table import DataIdTable
from ..core.dataset_columns import DatasetColumns
from ..core.dataset_type import DatasetType
from ..core.errors import CollectionTypeError
from ..core.memory import paused_gc
from ..core.records import DimensionRecord
from ..core.refs import DatasetRef
from ..core.stored_file import StoredFile
from ..core.timespan import Timespan
from ..core.universe import DimensionUniverse
from .calibration import CalibrationManager
from .collections import CollectionManager
from .data_id_tables import temporary_data_ids
from .database import Database
from .dataset_types import DatasetTypeManager
from .datasets import DatasetManager
from .dimension_records import DimensionRecordManager, row_to_record
from .groups import member_position, position_order
from .query.builder import QueryBuilder
from .run_lookup import RunLookup
from .schema import RegistryTables


class Searches:
    """Searches over one registry's tables, through its managers."""

    def __init__(
        self,
        db: Database,
        tables: RegistryTables,
        universe: DimensionUniverse,
        dimensions: DimensionRecordManager,
        dataset_types: DatasetTypeManager,
        collections: CollectionManager,
        datasets: DatasetManager,
        calibrations: CalibrationManager,
    ) -> None:
        self._db = db
        self._tables = tables
        self._universe = universe
        self._dimensions = dimensions
        self._types = dataset_types
        self._collections = collections
        self._datasets = datasets
        self._calibrations = calibrations
        self._run_lookup = RunLookup(db, tables)

    def dimension_records(
        self,
        element: str,
        where: str | None,
        binds: Mapping[str, Any] | None,
        data_id: Mapping[str, Any] | None,
    ) -> list[DimensionRecord]:
        """Records of one dimension matching a ``where`` expression and a partial data ID."""
        dim = self._universe[element]
        builder = QueryBuilder(self._tables, self._universe)
        table = builder.dimension_table(element)
        builder.require([element])
        expr = self._prepare(builder, where, data_id)
        builder.finish_joins()
        builder.compile_where(expr, binds)
        query = builder.select(*table.c, distinct=True).order_by(*table.primary_key.columns)
        with self._db.connect() as conn:
            return [row_to_record(dim, row) for row in conn.execute(query).mappings()]

    def find_dataset(
        self,
        dt: DatasetType,
        data_id: DataCoordinate,
        collections: Sequence[str],
        timespan: Timespan | None,
    ) -> DatasetRef | None:
        """The first matching dataset in the collections' search order, or None."""
        searched = self._collections.flatten(collections)
        coordinate = self._subset_for(data_id, dt)
        if coordinate is None:
            return None
        for record in searched:
            if record.type == CollectionType.CALIBRATION:
                if not dt.is_calibration:
                    continue
                span = timespan if timespan is not None else self._timespan_of(data_id)
                found = self._calibrations.find(record.id, dt, coordinate, span)
                if found is not None:
                    return self._datasets.get_refs([found[0]])[0]  # type: ignore[list-item]
                continue
            refs = self._query_refs(dt, [record], None, None, None, key=coordinate.key())
            if refs:
                return refs[0]
        return None

    def find_with_file(
        self,
        dt: DatasetType,
        data_id: DataCoordinate,
        collections: Sequence[str],
        timespan: Timespan | None,
    ) -> tuple[DatasetRef, StoredFile | None] | None:
        """Like ``find_dataset``, with the dataset's file record; one statement when the
        collection searched is one RUN that holds the dataset."""
        if len(collections) == 1 and not is_glob(collections[0]):
            coordinate = self._subset_for(data_id, dt)
            if coordinate is None:
                return None
            found = self._run_lookup.find(dt, coordinate, collections[0])
            if found is not None:
                return found
        with self._db.connect():
            ref = self.find_dataset(dt, data_id, collections, timespan)
            return None if ref is None else (ref, self._datasets.get_files([ref.id]).get(ref.id))

    def _subset_for(self, data_id: DataCoordinate, dt: DatasetType) -> DataCoordinate | None:
        """Restrict a (possibly larger) data ID to a dataset type's dimensions, expanding it
        first if an implied value is needed (a flat looked up by an exposure's filter); None
        when an implied value it needs is empty (a band looked up by a filter with none)."""
        wanted = dt.dimensions
        full = data_id.full()
        if not all(k in full for k in wanted.required):
            data_id = self._dimensions.expand(data_id)
        extras = data_id.extras if set(data_id.group.required) == set(wanted.required) else {}
        subset = data_id.subset(wanted)
        if None in subset.required_values:
            return None
        return subset.with_extras(extras) if extras else subset

    def _timespan_of(self, data_id: DataCoordinate) -> Timespan | None:
        for name in ("exposure", "visit"):
            if name in data_id.group.required:
                expanded = self._dimensions.expand(data_id.subset(self._universe.group([name])))
                assert expanded.records is not None
                return expanded.records[name].timespan
        return None

    def datasets(
        self,
        dt: DatasetType,
        collections: Sequence[str],
        where: str | None,
        binds: Mapping[str, Any] | None,
        data_id: Mapping[str, Any] | None,
        find_first: bool,
    ) -> list[DatasetRef]:
        """Datasets of one type in the collections, constrained by ``where``; with
        ``find_first`` only the first dataset per data ID in search order."""
        records = self._collections.flatten(collections)
        refs = self._query_refs(dt, records, where, binds, data_id)
        if not find_first or len(records) <= 1:
            return refs
        seen: set[str] = set()
        result = []
        for ref in refs:
            key = ref.data_id.key()
            if key not in seen:
                seen.add(key)
                result.append(ref)
        return result

    def dataset_columns(
        self,
        dt: DatasetType,
        collections: Sequence[str],
        where: str | None,
        binds: Mapping[str, Any] | None,
    ) -> DatasetColumns:
        """The find-first datasets of one type in the collections, constrained by
        ``where``, as flat columns (IDs read as text and decoded in bulk)."""
        records = self._collections.flatten(collections)
        found = DatasetColumns(self._collections.names_by_id())
        with paused_gc():
            for conn, query in self._ref_queries(dt, records, where, binds, None, text_ids=True):
                for rows in self._db.stream(conn, query):
                    found.add_rows(rows)
        return found.first_found() if len(records) > 1 else found

    def _query_refs(
        self,
        dt: DatasetType,
        records: Sequence[CollectionRecord],
        where: str | None,
        binds: Mapping[str, Any] | None,
        data_id: Mapping[str, Any] | None,
        key: str | None = None,
    ) -> list[DatasetRef]:
        """Refs of one type in collection order (RUN, TAGGED and CALIBRATION alike),
        optionally only the one with canonical data ID ``key``."""
        result: list[DatasetRef] = []
        run_names = self._collections.names_by_id()
        with paused_gc():
            for conn, query in self._ref_queries(dt, records, where, binds, data_id, key):
                result.extend(self._datasets.make_refs(dt, conn.execute(query), run_names))
        return result

    def _ref_queries(
        self,
        dt: DatasetType,
        records: Sequence[CollectionRecord],
        where: str | None,
        binds: Mapping[str, Any] | None,
        data_id: Mapping[str, Any] | None,
        key: str | None = None,
        text_ids: bool = False,
    ) -> Iterator[tuple[sa.Connection, sa.Select[Any]]]:
        """The queries of one type's datasets (``ref_columns``), one per collection in
        search order, each with the connection to run it on."""
        tables = self._tables
        type_id = self._types.id_of(dt.name)
        with self._db.connect() as conn:
            keys = self._free_form_keys(conn, type_id, where)
            for record in records:
                builder = QueryBuilder(tables, self._universe)
                ds = tables.dataset.alias("ds")
                builder.add_relation(ds, {n: ds.c[n] for n in dt.dimensions.required})
                builder.require(dt.dimensions.required)
                builder.add_condition(ds.c.dataset_type_id == type_id)
                builder.allow_free_form(ds.c.extras, keys)
                if key is not None:
                    builder.add_condition(ds.c.data_id_key == key)
                if record.type == CollectionType.RUN:
                    builder.add_condition(ds.c.run_id == record.id)
                else:
                    link = (
                        tables.dataset_tag
                        if record.type == CollectionType.TAGGED
                        else tables.dataset_calib
                    )
                    builder.add_relation(link, {})
                    builder.add_condition(link.c.dataset_id == ds.c.id)
                    builder.add_condition(link.c.collection_id == record.id)
                expr = self._prepare(builder, where, data_id)
                builder.finish_joins()
                builder.compile_where(expr, binds)
                # A join table (an exposure in two groups), or a where on dimensions the
                # dataset type does not have, can repeat a RUN's dataset too.
                joined = any(builder.includes(t) for t in tables.joins.values())
                wider = builder.needs_beyond(dt.dimensions.names)
                query = builder.select(
                    *self._datasets.ref_columns(ds, dt, text_ids),
                    distinct=joined or wider or record.type != CollectionType.RUN,
                )
                yield conn, query

    def data_id_rows(
        self,
        dimensions: Iterable[str],
        datasets: Iterable[str],
        collections: Sequence[str],
        where: str | None,
        binds: Mapping[str, Any] | None,
        data_id: Mapping[str, Any] | None,
        data_ids: DataIdTable | None = None,
    ) -> tuple[tuple[str, ...], list[tuple]]:
        """Distinct value tuples over the named dimensions (in universe order, returned
        first) for which the named datasets exist in the collections, ``where`` holds and,
        with ``data_ids``, the values agree with a row of that table (joined in SQL).
        Rows are sorted by value, except that group members come in membership order."""
        names = self._universe.sorted(dimensions)
        builder = QueryBuilder(self._tables, self._universe)
        records = self._collections.flatten(collections) if collections else []
        for name in datasets:
            dt = self._types.get(name)
            if not records:
                raise CollectionTypeError(f"a dataset constraint ({name}) needs collections")
            ds = self._tables.dataset.alias(f"ds_{name.replace('.', '_')}")
            builder.add_relation(ds, {n: ds.c[n] for n in dt.dimensions.required})
            builder.add_condition(ds.c.dataset_type_id == self._types.id_of(name))
            builder.add_condition(self._in_collections(ds, records))
        builder.require(names)
        with self._db.connect() as conn, paused_gc(), self._joined(conn, builder, data_ids):
            expr = self._prepare(builder, where, data_id)
            builder.finish_joins()
            builder.compile_where(expr, binds)
            columns = [builder.canonical(n).label(n) for n in names]
            position = member_position(builder, self._tables, names)
            if position is None:
                query = builder.select(*columns, distinct=True).order_by(*columns)
                return names, list(chain.from_iterable(self._db.stream(conn, query)))
            # PostgreSQL wants ORDER BY terms of a DISTINCT query selected; strip it after.
            extra = position.label("member_position")
            query = builder.select(*columns, extra, distinct=True)
            query = query.order_by(*position_order(columns, extra))
            return names, [tuple(row)[:-1] for row in conn.execute(query)]

    @contextmanager
    def _joined(
        self, conn: sa.Connection, builder: QueryBuilder, data_ids: DataIdTable | None
    ) -> Iterator[None]:
        """Join a data ID table into the query, as a temporary table of ``conn``, with the
        records of its dimensions (a row naming an exposure that does not exist matches
        nothing)."""
        if data_ids is None:
            yield
            return
        with temporary_data_ids(conn, data_ids, self._universe) as temp:
            builder.add_relation(temp, {n: temp.c[n] for n in data_ids.dimensions})
            for name in data_ids.dimensions:
                builder.dimension_table(name)
            yield

    def _in_collections(
        self, ds: sa.FromClause, records: Sequence[CollectionRecord]
    ) -> sa.ColumnElement[bool]:
        runs = [r.id for r in records if r.type == CollectionType.RUN]
        others = [r.id for r in records if r.type != CollectionType.RUN]
        conditions: list[sa.ColumnElement[bool]] = []
        if runs:
            conditions.append(ds.c.run_id.in_(runs))
        for link in (self._tables.dataset_tag, self._tables.dataset_calib):
            if others:
                conditions.append(
                    ds.c.id.in_(
                        sa.select(link.c.dataset_id).where(link.c.collection_id.in_(others))
                    )
                )
        return sa.or_(*conditions)

    def _free_form_keys(self, conn: sa.Connection, type_id: int, where: str | None) -> set[str]:
        """The bare names in ``where`` that are not dimensions but free-form keys some
        dataset of the type carries (one indexed probe per such name)."""
        from .query.ast import referenced_identifiers
        from .query.compiler import free_form_prefix
        from .query.parser import parse_where

        names = {
            ident.parts[0]
            for ident in referenced_identifiers(parse_where(where) if where else None)
            if len(ident.parts) == 1 and ident.parts[0] not in self._universe
        }
        dataset = self._tables.dataset
        found = set()
        for name in sorted(names):
            probe = (
                sa.select(dataset.c.id)
                .where(dataset.c.dataset_type_id == type_id)
                .where(dataset.c.extras.like(f"%{free_form_prefix(name)}%", escape="\\"))
                .limit(1)
            )
            if conn.execute(probe).first() is not None:
                found.add(name)
        return found

    def _prepare(
        self, builder: QueryBuilder, where: str | None, data_id: Mapping[str, Any] | None
    ) -> Any:
        from .query.parser import parse_where

        if data_id:
            coordinate = DataCoordinate.standardize(data_id, universe=self._universe)
            for name, value in coordinate.full().items():
                builder.constrain(name, value)
        expr = parse_where(where) if where else None
        builder.prepare_where(expr)
        return expr
