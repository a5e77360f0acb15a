"""The ``Registry``: one facade over the managers of a repository's database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ..core.collections import CollectionType
from ..core.data_id import DataCoordinate
from ..core.dataset_type import DatasetType
from ..core.errors import CollectionTypeError, RepositoryError
from ..core.memory import paused_gc
from ..core.records import DimensionRecord
from ..core.refs import DatasetRef
from ..core.timespan import Timespan
from ..core.universe import DimensionUniverse
from .calibration import CalibrationManager
from .collections import CollectionManager, CollectionRecord
from .database import Database
from .dataset_types import DatasetTypeManager
from .datasets import DatasetManager
from .dimension_records import DimensionRecordManager, row_to_record
from .groups import group_members, member_position, position_order
from .provenance import ProvenanceManager
from .queries import QueryBuilder
from .schema import SCHEMA_VERSION, build_tables


class Registry:
    """Dimensions, dataset types, collections, datasets and certifications in one database."""

    def __init__(self, db: Database, universe: DimensionUniverse) -> None:
        self.db = db
        self.universe = universe
        self.tables = build_tables(universe)
        self.dimensions = DimensionRecordManager(db, self.tables, universe)
        self.dataset_types = DatasetTypeManager(db, self.tables, universe)
        self.collections = CollectionManager(db, self.tables)
        self.datasets = DatasetManager(db, self.tables, self.dataset_types, self.collections)
        self.calibrations = CalibrationManager(
            db, self.tables, self.dataset_types, self.collections
        )
        self.provenance = ProvenanceManager(db, self.tables, self.collections)

    @classmethod
    def create(cls, url: str, universe: DimensionUniverse) -> Registry:
        """Create the schema in an empty database."""
        db = Database(url)
        db.check_reachable()
        registry = cls(db, universe)
        with db.transaction() as conn:
            if sa.inspect(conn).has_table("meta"):
                raise RepositoryError(f"database {url!r} already holds a quanta registry")
            registry.tables.metadata.create_all(conn)
            conn.execute(
                registry.tables.meta.insert(),
                [
                    {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                    {"key": "universe", "value": f"{universe.namespace}:{universe.version}"},
                ],
            )
        return registry

    @classmethod
    def open(cls, url: str, universe: DimensionUniverse) -> Registry:
        """Connect to an existing registry, checking its schema version."""
        db = Database(url)
        db.check_reachable()
        registry = cls(db, universe)
        with db.connect() as conn:
            if not sa.inspect(conn).has_table("meta"):
                raise RepositoryError(f"database {db.url!r} holds no quanta registry")
            version = conn.execute(
                sa.select(registry.tables.meta.c.value).where(
                    registry.tables.meta.c.key == "schema_version"
                )
            ).scalar()
        if version != str(SCHEMA_VERSION):
            raise RepositoryError(
                f"registry schema version {version} is not supported (expected {SCHEMA_VERSION})"
            )
        return registry

    def transaction(self):  # type: ignore[no-untyped-def]
        """A write transaction spanning several registry calls."""
        return self.db.transaction()

    # -- dimensions ------------------------------------------------------------------------

    def insert_dimension_records(
        self, element: str, records: Iterable[DimensionRecord | Mapping[str, Any]]
    ) -> int:
        """Insert new records idempotently; returns how many were new."""
        return self.dimensions.insert(element, records)

    def insert_join_rows(self, join: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert rows of a join table such as ``group_membership``; returns how many were new."""
        return self.dimensions.insert_join(join, rows)

    def query_group_members(self, instrument: str, system: str) -> dict[str, list[int]]:
        """The member exposures of each group of a group system, in position order."""
        with self.db.connect() as conn:
            return group_members(conn, self.tables, instrument, system)

    def sync_dimension_record(
        self, element: str, record: DimensionRecord | Mapping[str, Any]
    ) -> bool:
        """Insert one record unless an identical one exists; True if inserted."""
        return self.dimensions.insert(element, [record]) == 1

    def expand_data_id(
        self, data_id: Mapping[str, Any] | DataCoordinate, dimensions: Iterable[str] | None = None
    ) -> DataCoordinate:
        """A validated data ID with implied values and records filled in."""
        group = self.universe.group(dimensions) if dimensions is not None else None
        coordinate = DataCoordinate.standardize(data_id, group, universe=self.universe)
        return self.dimensions.expand(coordinate)

    def query_dimension_records(
        self,
        element: str,
        where: str | None = None,
        binds: Mapping[str, Any] | None = None,
        data_id: Mapping[str, Any] | None = None,
    ) -> list[DimensionRecord]:
        """Records of one dimension matching a ``where`` expression and a partial data ID."""
        dim = self.universe[element]
        builder = QueryBuilder(self.tables, self.universe)
        table = builder.dimension_table(element)
        builder.require([element])
        expr = self._prepare(builder, where, data_id)
        builder.finish_joins()
        builder.compile_where(expr, binds)
        query = builder.select(*table.c, distinct=True).order_by(*table.primary_key.columns)
        with self.db.connect() as conn:
            return [row_to_record(dim, row) for row in conn.execute(query).mappings()]

    # -- dataset types and collections -----------------------------------------------------

    def register_dataset_type(self, dataset_type: DatasetType) -> bool:
        """Register a dataset type; True if new."""
        return self.dataset_types.register(dataset_type)

    def get_dataset_type(self, name: str) -> DatasetType:
        """A registered dataset type."""
        return self.dataset_types.get(name)

    def register_collection(
        self, name: str, type_: CollectionType = CollectionType.TAGGED, doc: str | None = None
    ) -> bool:
        """Create a collection; True if new."""
        return self.collections.register(name, type_, doc)

    def register_run(self, name: str, doc: str | None = None) -> bool:
        """Create a RUN collection; True if new."""
        return self.collections.register(name, CollectionType.RUN, doc)

    def query_collections(
        self, pattern: str | None = None, types: Iterable[CollectionType] | None = None
    ) -> list[CollectionRecord]:
        """Collections by glob and type."""
        return self.collections.query(pattern, types)

    # -- datasets --------------------------------------------------------------------------

    def insert_datasets(self, refs: Sequence[DatasetRef]) -> int:
        """Insert refs with their IDs; returns how many were new."""
        return self.datasets.insert(refs)

    def find_dataset(
        self,
        dataset_type: DatasetType | str,
        data_id: Mapping[str, Any] | DataCoordinate,
        collections: Sequence[str],
        timespan: Timespan | None = None,
    ) -> DatasetRef | None:
        """The first matching dataset in the collections' search order, or None.

        In CALIBRATION collections the dataset valid over ``timespan`` is found; when no
        timespan is given and the data ID has an exposure or visit, its timespan is used.
        """
        dt = (
            dataset_type
            if isinstance(dataset_type, DatasetType)
            else self.get_dataset_type(dataset_type)
        )
        full_id = (
            DataCoordinate.standardize(data_id, universe=self.universe)
            if not isinstance(data_id, DataCoordinate)
            else data_id
        )
        coordinate = _subset_for(full_id, dt, self)
        for record in self.collections.flatten(collections):
            if record.type == CollectionType.CALIBRATION:
                if not dt.is_calibration:
                    continue
                span = timespan if timespan is not None else self._timespan_of(full_id)
                found = self.calibrations.find(record.id, dt, coordinate, span)
                if found is not None:
                    return self.datasets.get_refs([found[0]])[0]  # type: ignore[list-item]
                continue
            refs = self._query_refs(dt, [record], None, None, None, key=coordinate.key())
            if refs:
                return refs[0]
        return None

    def _timespan_of(self, data_id: DataCoordinate) -> Timespan | None:
        for name in ("exposure", "visit"):
            if name in data_id.group.required:
                expanded = self.dimensions.expand(data_id.subset(self.universe.group([name])))
                assert expanded.records is not None
                return expanded.records[name].timespan
        return None

    def query_datasets(
        self,
        dataset_type: DatasetType | str,
        collections: Sequence[str],
        where: str | None = None,
        binds: Mapping[str, Any] | None = None,
        data_id: Mapping[str, Any] | None = None,
        find_first: bool = True,
    ) -> list[DatasetRef]:
        """Datasets of one type in the collections, constrained by ``where``; with
        ``find_first`` only the first dataset per data ID in search order."""
        dt = (
            dataset_type
            if isinstance(dataset_type, DatasetType)
            else self.get_dataset_type(dataset_type)
        )
        records = self.collections.flatten(collections)
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
        type_id = self.dataset_types.id_of(dt.name)
        result: list[DatasetRef] = []
        run_names = self.collections.names_by_id()
        with self.db.connect() as conn:
            for record in records:
                builder = QueryBuilder(self.tables, self.universe)
                ds = self.tables.dataset.alias("ds")
                builder.add_relation(ds, {n: ds.c[n] for n in dt.dimensions.required})
                builder.require(dt.dimensions.required)
                builder.add_condition(ds.c.dataset_type_id == type_id)
                if key is not None:
                    builder.add_condition(ds.c.data_id_key == key)
                if record.type == CollectionType.RUN:
                    builder.add_condition(ds.c.run_id == record.id)
                else:
                    link = (
                        self.tables.dataset_tag
                        if record.type == CollectionType.TAGGED
                        else self.tables.dataset_calib
                    )
                    builder.add_relation(link, {})
                    builder.add_condition(link.c.dataset_id == ds.c.id)
                    builder.add_condition(link.c.collection_id == record.id)
                expr = self._prepare(builder, where, data_id)
                builder.finish_joins()
                builder.compile_where(expr, binds)
                # A join table (an exposure in two groups), or a where on dimensions the
                # dataset type does not have, can repeat a RUN's dataset too.
                joined = any(builder.includes(t) for t in self.tables.joins.values())
                wider = builder.needs_beyond(dt.dimensions.names)
                query = builder.select(
                    *self.datasets.ref_columns(ds, dt),
                    distinct=joined or wider or record.type != CollectionType.RUN,
                )
                with paused_gc():
                    result.extend(self.datasets.make_refs(dt, conn.execute(query), run_names))
        return result

    def query_data_ids(
        self,
        dimensions: Iterable[str],
        datasets: Iterable[str] = (),
        collections: Sequence[str] = (),
        where: str | None = None,
        binds: Mapping[str, Any] | None = None,
        data_id: Mapping[str, Any] | None = None,
    ) -> list[DataCoordinate]:
        """Distinct data IDs over ``dimensions`` for which the named datasets exist in the
        collections (any of them) and ``where`` holds."""
        group = self.universe.group(dimensions)
        _, rows = self.query_data_id_rows(
            group.required, datasets, collections, where, binds, data_id
        )
        return [DataCoordinate(group, row) for row in rows]

    def query_data_id_rows(
        self,
        dimensions: Iterable[str],
        datasets: Iterable[str] = (),
        collections: Sequence[str] = (),
        where: str | None = None,
        binds: Mapping[str, Any] | None = None,
        data_id: Mapping[str, Any] | None = None,
    ) -> tuple[tuple[str, ...], list[tuple]]:
        """Like ``query_data_ids`` but as plain value tuples over the named dimensions (in
        universe order, returned first): the fast path of graph building. Implied
        dimensions may be named; their values come from the records. Rows are sorted by
        value, except that the members of each group come in their membership position."""
        names = self.universe.sorted(dimensions)
        builder = QueryBuilder(self.tables, self.universe)
        records = self.collections.flatten(collections) if collections else []
        for name in datasets:
            dt = self.get_dataset_type(name)
            if not records:
                raise CollectionTypeError(f"a dataset constraint ({name}) needs collections")
            ds = self.tables.dataset.alias(f"ds_{name.replace('.', '_')}")
            builder.add_relation(ds, {n: ds.c[n] for n in dt.dimensions.required})
            builder.add_condition(ds.c.dataset_type_id == self.dataset_types.id_of(name))
            builder.add_condition(self._in_collections(ds, records))
        builder.require(names)
        expr = self._prepare(builder, where, data_id)
        builder.finish_joins()
        builder.compile_where(expr, binds)
        columns = [builder.canonical(n).label(n) for n in names]
        position = member_position(builder, self.tables, names)
        if position is None:
            query = builder.select(*columns, distinct=True).order_by(*columns)
        else:
            # PostgreSQL wants ORDER BY terms of a DISTINCT query selected; strip it after.
            extra = position.label("member_position")
            query = builder.select(*columns, extra, distinct=True)
            query = query.order_by(*position_order(columns, extra))
        with self.db.connect() as conn, paused_gc():
            result = conn.execute(query)
            if position is None:
                return names, [tuple(row) for row in result]
            return names, [tuple(row)[:-1] for row in result]

    def _in_collections(
        self, ds: sa.FromClause, records: Sequence[CollectionRecord]
    ) -> sa.ColumnElement[bool]:
        runs = [r.id for r in records if r.type == CollectionType.RUN]
        others = [r.id for r in records if r.type != CollectionType.RUN]
        conditions: list[sa.ColumnElement[bool]] = []
        if runs:
            conditions.append(ds.c.run_id.in_(runs))
        for link in (self.tables.dataset_tag, self.tables.dataset_calib):
            if others:
                conditions.append(
                    ds.c.id.in_(
                        sa.select(link.c.dataset_id).where(link.c.collection_id.in_(others))
                    )
                )
        return sa.or_(*conditions)

    def _prepare(
        self, builder: QueryBuilder, where: str | None, data_id: Mapping[str, Any] | None
    ) -> Any:
        from .query.parser import parse_where

        if data_id:
            coordinate = DataCoordinate.standardize(data_id, universe=self.universe)
            for name, value in coordinate.full().items():
                builder.constrain(name, value)
        expr = parse_where(where) if where else None
        builder.prepare_where(expr)
        return expr

    # -- removal ---------------------------------------------------------------------------

    def remove_run(self, name: str) -> list[Any]:
        """Delete a run and its datasets (unlinking it from chains); returns its file records."""
        record = self.collections.get(name, CollectionType.RUN)
        files = self.datasets.files_in_run(record.id)
        with self.db.transaction():
            for parent in self.collections.parents(name):
                children = [c for c in self.collections.get_chain(parent) if c != name]
                self.collections.set_chain(parent, children)
            self.datasets.delete_run_contents(record.id)
            self.collections.remove(name)
        return files


def _subset_for(data_id: DataCoordinate, dt: DatasetType, registry: Registry) -> DataCoordinate:
    """Restrict a (possibly larger) data ID to a dataset type's dimensions, expanding it first
    if an implied value is needed (a flat looked up by an exposure's physical_filter)."""
    wanted = dt.dimensions
    full = data_id.full()
    if not all(k in full for k in wanted.required):
        data_id = registry.dimensions.expand(data_id)
    extras = data_id.extras if set(data_id.group.required) == set(wanted.required) else {}
    subset = data_id.subset(wanted)
    return subset.with_extras(extras) if extras else subset
