"""The ``Registry``: the one door to a repository's database.

Its managers (dimension records, dataset types, collections, datasets, calibrations,
provenance) are private; other packages call the methods here, so the tables behind
them can change without touching graph building, execution or the command line.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ..core.collections import CollectionRecord, CollectionType
from ..core.data_id import DataCoordinate
from ..core.data_id_table import DataIdTable
from ..core.dataset_columns import DatasetColumns
from ..core.dataset_type import DatasetType
from ..core.errors import RepositoryError
from ..core.provenance import Lineage, QuantumOutcome, QuantumRecord
from ..core.records import DimensionRecord
from ..core.refs import DatasetRef
from ..core.status import QuantumStatus
from ..core.stored_file import StoredFile
from ..core.timespan import Timespan
from ..core.universe import DimensionUniverse
from .calibration import CalibrationManager
from .collections import CollectionManager
from .database import Database
from .dataset_put import DatasetPut
from .dataset_types import DatasetTypeManager
from .datasets import DatasetManager
from .dependencies import Dependencies, DependencyFinder
from .dimension_records import DimensionRecordManager
from .groups import group_members
from .provenance import ProvenanceManager
from .schema import SCHEMA_VERSION
from .searches import Searches
from .tables import build_tables


class Registry:
    """Dimensions, dataset types, collections, datasets, certifications and provenance."""

    def __init__(self, db: Database, universe: DimensionUniverse) -> None:
        self.universe = universe
        self._db = db
        self._tables = build_tables(universe)
        tables = self._tables
        self._dimensions = DimensionRecordManager(db, tables, universe)
        self._dataset_types = DatasetTypeManager(db, tables, universe)
        self._collections = CollectionManager(db, tables)
        self._datasets = DatasetManager(db, tables, self._dataset_types, self._collections)
        self._put = DatasetPut(db, tables, self._dataset_types, self._collections)
        self._calibrations = CalibrationManager(db, tables, self._dataset_types, self._collections)
        self._provenance = ProvenanceManager(db, tables, self._collections)
        self._dependencies = DependencyFinder(tables)
        self._searches = Searches(
            db,
            tables,
            universe,
            self._dimensions,
            self._dataset_types,
            self._collections,
            self._datasets,
            self._calibrations,
        )

    @classmethod
    def create(cls, url: str, universe: DimensionUniverse) -> Registry:
        """Create the schema in an empty database."""
        db = Database.from_url(url)
        db.check_reachable()
        registry = cls(db, universe)
        meta = registry._tables.meta
        with db.transaction() as conn:
            if db.has_table(conn, "meta"):
                raise RepositoryError(f"database {url!r} already holds a quanta registry")
            # The database holds no registry, so no table needs checking first.
            registry._tables.metadata.create_all(conn, checkfirst=False)
            conn.execute(
                meta.insert(),
                [
                    {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                    {"key": "universe", "value": f"{universe.namespace}:{universe.version}"},
                ],
            )
        return registry

    @classmethod
    def open(cls, url: str, universe: DimensionUniverse) -> Registry:
        """Connect to an existing registry, checking its schema version."""
        db = Database.from_url(url)
        db.check_reachable()
        registry = cls(db, universe)
        meta = registry._tables.meta
        with db.connect() as conn:
            if not db.has_table(conn, "meta"):
                raise RepositoryError(f"database {db.url!r} holds no quanta registry")
            version = conn.execute(
                sa.select(meta.c.value).where(meta.c.key == "schema_version")
            ).scalar()
        if version != str(SCHEMA_VERSION):
            raise RepositoryError(
                f"registry schema version {version} is not supported (expected {SCHEMA_VERSION})"
            )
        return registry

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._db.dialect

    def transaction(self) -> contextlib.AbstractContextManager[sa.Connection]:
        """A write transaction spanning several registry calls."""
        return self._db.transaction()

    def close(self) -> None:
        """Close every pooled connection; the registry reconnects if used again."""
        self._db.dispose()

    # -- dimensions ------------------------------------------------------------------------

    def insert_dimension_records(
        self, element: str, records: Iterable[DimensionRecord | Mapping[str, Any]]
    ) -> int:
        """Insert new records idempotently; returns how many were new."""
        return self._dimensions.insert(element, records)

    def insert_join_rows(self, join: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert rows of a join table such as ``group_membership``; returns how many were new."""
        return self._dimensions.insert_join(join, rows)

    def join_rows(self, join: str, dimension: str, keys: Sequence[tuple]) -> list[dict[str, Any]]:
        """Rows of a join table whose ``dimension`` (one of the join's) has one of the keys
        (tuples of its required dimensions' values, then its own), in bulk."""
        return self._dimensions.join_rows(join, dimension, keys)

    def query_group_members(self, instrument: str, system: str) -> dict[str, list[int]]:
        """The member exposures of each group of a group system, in position order."""
        with self._db.connect() as conn:
            return group_members(conn, self._tables, instrument, system)

    def sync_dimension_record(
        self, element: str, record: DimensionRecord | Mapping[str, Any]
    ) -> bool:
        """Insert one record unless an identical one exists; True if inserted."""
        return self._dimensions.insert(element, [record]) == 1

    def fetch_dimension_records(
        self, element: str, keys: Sequence[Mapping[str, Any]]
    ) -> list[DimensionRecord]:
        """The records with these keys (each the required dimensions and ``element``), in
        order, in bulk; a missing one raises ``RecordNotFoundError``."""
        return self._dimensions.fetch(element, keys)

    def find_dimension_records(
        self, element: str, keys: Sequence[tuple]
    ) -> dict[tuple, DimensionRecord]:
        """Those of the records with these keys (each a tuple of the required dimensions'
        values, then ``element``'s) that exist, by key, in bulk; missing ones are absent."""
        return self._dimensions.find(element, keys)

    def expand_data_id(
        self, data_id: Mapping[str, Any] | DataCoordinate, dimensions: Iterable[str] | None = None
    ) -> DataCoordinate:
        """A validated data ID with implied values and records filled in."""
        if isinstance(data_id, DataCoordinate) and dimensions is None:
            return self._dimensions.expand(data_id)
        group = self.universe.group(dimensions) if dimensions is not None else None
        coordinate = DataCoordinate.standardize(data_id, group, universe=self.universe)
        return self._dimensions.expand(coordinate)

    def query_dimension_records(
        self,
        element: str,
        where: str | None = None,
        binds: Mapping[str, Any] | None = None,
        data_id: Mapping[str, Any] | None = None,
    ) -> list[DimensionRecord]:
        """Records of one dimension matching a ``where`` expression and a partial data ID."""
        return self._searches.dimension_records(element, where, binds, data_id)

    # -- dataset types ---------------------------------------------------------------------

    def register_dataset_type(self, dataset_type: DatasetType) -> bool:
        """Register a dataset type; True if new."""
        return self._dataset_types.register(dataset_type)

    def get_dataset_type(self, name: str) -> DatasetType:
        """A registered dataset type."""
        return self._dataset_types.get(name)

    def query_dataset_types(self, pattern: str | None = None) -> list[DatasetType]:
        """Registered dataset types whose names match a glob, by name."""
        return self._dataset_types.query(pattern)

    # -- collections -----------------------------------------------------------------------

    def register_collection(
        self, name: str, type_: CollectionType = CollectionType.TAGGED, doc: str | None = None
    ) -> bool:
        """Create a collection; True if new."""
        return self._collections.register(name, type_, doc)

    def register_run(self, name: str, doc: str | None = None) -> bool:
        """Create a RUN collection; True if new."""
        return self._collections.register(name, CollectionType.RUN, doc)

    def find_collection(self, name: str) -> CollectionRecord | None:
        """A collection's record, or None if there is no such collection."""
        return self._collections.find(name)

    def get_collection(self, name: str, expected: CollectionType | None = None) -> CollectionRecord:
        """A collection's record; an error if it is missing or not of the ``expected`` type."""
        return self._collections.get(name, expected)

    def query_collections(
        self, pattern: str | None = None, types: Iterable[CollectionType] | None = None
    ) -> list[CollectionRecord]:
        """Collections by glob and type."""
        return self._collections.query(pattern, types)

    def get_collection_chain(self, parent: str) -> list[str]:
        """Direct children of a CHAINED collection, in search order."""
        return self._collections.get_chain(parent)

    def set_collection_chain(self, parent: str, children: Sequence[str]) -> None:
        """Replace the children of an existing CHAINED collection (cycles are refused)."""
        self._collections.set_chain(parent, children)

    def flatten_collections(self, names: Sequence[str]) -> list[CollectionRecord]:
        """Globs and chains expanded depth-first into the collections they search, in
        order, once."""
        return self._collections.flatten(names)

    def reachable_collections(self, names: Sequence[str]) -> list[CollectionRecord]:
        """The collections named (globs expanded) and all their chains reach, chains
        included, once each."""
        return self._collections.reachable(names)

    def expand_collections(self, names: Sequence[str]) -> list[str]:
        """The collection names given, each glob replaced by the names it matches (in name
        order); chains stay chains."""
        return [record.name for record in self._collections.expand(names)]

    # -- datasets and their files ----------------------------------------------------------

    def insert_datasets(self, refs: Sequence[DatasetRef]) -> int:
        """Insert refs with their IDs; returns how many were new."""
        return self._datasets.insert(refs)

    def insert_dataset(
        self, ref: DatasetRef, stage_file: Callable[[], Callable[[], StoredFile]]
    ) -> StoredFile:
        """Insert one new dataset with its file in one short transaction, creating its RUN
        collection if needed (the fast path of single puts). ``stage_file`` writes the file
        under a temporary name and returns what places it and returns its record, called
        only once the row is in: a dataset that exists already is a ``ConflictError``
        before its file is placed. The caller deletes a staged file left on failure."""
        return self._put.insert(ref, stage_file)

    def get_refs(self, ids: Sequence[uuid.UUID]) -> list[DatasetRef]:
        """Refs for dataset IDs, in the same order; an unknown ID raises."""
        return self._datasets.get_refs(ids)

    def store_files(self, files: Sequence[StoredFile]) -> None:
        """Record where datasets' files are, one row per dataset."""
        self._datasets.store_files(files)

    def get_files(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, StoredFile]:
        """File records of the given datasets (those without a file are absent)."""
        return self._datasets.get_files(ids)

    def files_in_run(self, run: str) -> list[StoredFile]:
        """File records of every dataset born in a RUN collection."""
        return self._datasets.files_in_run(self._collections.get(run, CollectionType.RUN).id)

    def all_files(self) -> Iterator[StoredFile]:
        """Every file record of the repository, streamed."""
        return self._datasets.all_files()

    def paths_in_use(self, paths: Collection[str]) -> set[str]:
        """Those of ``paths`` that a file record still points at (a file several datasets
        share is deleted only with the last of them)."""
        return self._datasets.paths_in_use(paths)

    def associate(self, collection: str, refs: Sequence[DatasetRef]) -> int:
        """Add refs to a TAGGED collection; another dataset of the same type and data ID
        already there is a conflict. Returns how many were not there yet."""
        return self._datasets.associate(collection, refs)

    def disassociate(self, collection: str, refs: Sequence[DatasetRef]) -> int:
        """Remove refs from a TAGGED collection; returns how many were there."""
        return self._datasets.disassociate(collection, refs)

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
        full_id = (
            data_id
            if isinstance(data_id, DataCoordinate)
            else DataCoordinate.standardize(data_id, universe=self.universe)
        )
        return self._searches.find_dataset(
            self._as_type(dataset_type), full_id, collections, timespan
        )

    def find_dataset_file(
        self,
        dataset_type: DatasetType,
        data_id: DataCoordinate,
        collections: Sequence[str],
        timespan: Timespan | None = None,
    ) -> tuple[DatasetRef, StoredFile | None] | None:
        """``find_dataset`` with the dataset's file record (None if it has none), in one
        statement for a dataset of one RUN collection: the path of a ``get`` by data ID."""
        return self._searches.find_with_file(dataset_type, data_id, collections, timespan)

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
        return self._searches.datasets(
            self._as_type(dataset_type), collections, where, binds, data_id, find_first
        )

    def query_dataset_columns(
        self,
        dataset_type: DatasetType | str,
        collections: Sequence[str],
        where: str | None = None,
        binds: Mapping[str, Any] | None = None,
    ) -> DatasetColumns:
        """``query_datasets`` (find-first) as flat columns, for callers that handle
        millions of datasets and need their IDs, runs and data ID values, not refs."""
        return self._searches.dataset_columns(
            self._as_type(dataset_type), collections, where, binds
        )

    def where_dimensions(self, where: str | None) -> set[str]:
        """The dimensions a ``where`` expression names (``group.system`` names ``group``)."""
        from .query import parse_where, referenced_identifiers

        if not where:
            return set()
        named = (ident.parts[0] for ident in referenced_identifiers(parse_where(where)))
        return {name for name in named if name in self.universe}

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
        _, rows = self._searches.data_id_rows(
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
        data_ids: DataIdTable | None = None,
    ) -> tuple[tuple[str, ...], list[tuple]]:
        """Like ``query_data_ids`` but as plain value tuples over the named dimensions (in
        universe order, returned first): the fast path of graph building. Implied
        dimensions may be named; their values come from the records. ``data_ids``, a table
        of data IDs, is joined into the query. Rows are sorted by value, except that the
        members of each group come in their membership position."""
        return self._searches.data_id_rows(
            dimensions, datasets, collections, where, binds, data_id, data_ids
        )

    def _as_type(self, dataset_type: DatasetType | str) -> DatasetType:
        if isinstance(dataset_type, DatasetType):
            return dataset_type
        return self._dataset_types.get(dataset_type)

    # -- calibrations ----------------------------------------------------------------------

    def certify(self, collection: str, refs: Sequence[DatasetRef], timespan: Timespan) -> None:
        """Make calibration refs valid in a CALIBRATION collection over ``timespan``;
        any overlap with a certification already there is refused."""
        self._calibrations.certify(collection, refs, timespan)

    def decertify(
        self,
        collection: str,
        dataset_type: DatasetType,
        timespan: Timespan,
        data_ids: Sequence[DataCoordinate] | None = None,
    ) -> int:
        """Remove validity over ``timespan``; returns how many ranges changed."""
        return self._calibrations.decertify(collection, dataset_type, timespan, data_ids)

    def decertify_datasets(self, collection: str, ids: Sequence[uuid.UUID]) -> int:
        """Remove every certification of these datasets from a CALIBRATION collection;
        returns how many validity ranges went."""
        return self._calibrations.decertify_datasets(collection, ids)

    def certifications(
        self, collection: str, dataset_type: DatasetType
    ) -> list[tuple[uuid.UUID, str, Timespan]]:
        """Every (dataset ID, canonical data ID, validity) of one type in a CALIBRATION
        collection, by start of validity."""
        record = self._collections.get(collection, CollectionType.CALIBRATION)
        return self._calibrations.certifications(record.id, dataset_type)

    # -- provenance ------------------------------------------------------------------------

    def record_quanta(self, run: str, outcomes: Sequence[QuantumOutcome]) -> None:
        """Record (or update, for a retried quantum) what quanta of a run did."""
        self._provenance.record(run, outcomes)

    def quantum_summary(self, run: str) -> dict[str, dict[str, int]]:
        """Per task label, how many of a run's quanta ended in each status."""
        return self._provenance.summary(run)

    def query_quanta(
        self, run: str, label: str | None = None, statuses: Iterable[str] | None = None
    ) -> list[QuantumRecord]:
        """The recorded quanta of a run, optionally of one task and some statuses."""
        return self._provenance.quanta(run, label=label, statuses=statuses)

    def quantum_statuses(self, run: str) -> dict[tuple[str, str], QuantumStatus]:
        """The status of every recorded quantum of a run, by (label, canonical data ID)."""
        return self._provenance.statuses(run)

    def quantum_outputs(self, quantum_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
        """The datasets each quantum was recorded as writing (quanta with none are absent)."""
        return self._provenance.outputs_of(quantum_ids)

    def lineage(self, dataset_ids: Sequence[uuid.UUID]) -> Lineage:
        """The quanta and datasets upstream of some datasets, back to what nothing here
        produced."""
        return self._provenance.lineage(dataset_ids)

    # -- removal ---------------------------------------------------------------------------

    def run_dependencies(self, runs: Sequence[str]) -> Dependencies:
        """What removing these RUN collections would touch besides their own datasets."""
        ids = [self._collections.get(r, CollectionType.RUN).id for r in runs]
        with self._db.connect() as conn:
            return self._dependencies.for_runs(conn, ids)

    def dataset_dependencies(self, ids: Sequence[uuid.UUID]) -> Dependencies:
        """What removing these datasets would touch besides them."""
        with self._db.connect() as conn:
            return self._dependencies.for_datasets(conn, ids)

    def collection_size(self, name: str) -> int:
        """Datasets in a RUN or TAGGED collection, datasets certified in a CALIBRATION one,
        children of a CHAINED one."""
        record = self._collections.get(name)
        with self._db.connect() as conn:
            return self._dependencies.members(conn, record.id, record.type)

    def collection_parents(self, name: str) -> list[str]:
        """The CHAINED collections that name ``name`` directly."""
        return self._collections.parents(name)

    def remove_datasets(self, ids: Sequence[uuid.UUID]) -> list[StoredFile]:
        """Delete datasets with their tags, certifications and file records (provenance
        that names them stays); returns their file records."""
        return self._datasets.delete(ids)

    def check_collections_removable(self, names: Sequence[str]) -> list[CollectionRecord]:
        """The collections, if they may be deleted together (see ``remove_collections``);
        ``CollectionTypeError`` for a RUN, ``ConflictError`` for one a staying chain names."""
        return self._collections.check_removable(names)

    def remove_collections(self, names: Sequence[str]) -> None:
        """Delete TAGGED, CHAINED and CALIBRATION collections together (with their tags,
        links and certifications); a chain that stays may not name any of them."""
        self._collections.remove_many(names)

    def remove_run(self, name: str) -> list[StoredFile]:
        """Delete a run and its datasets (unlinking it from chains); returns its file records."""
        record = self._collections.get(name, CollectionType.RUN)
        files = self._datasets.files_in_run(record.id)
        with self._db.transaction():
            for parent in self._collections.parents(name):
                children = [c for c in self._collections.get_chain(parent) if c != name]
                self._collections.set_chain(parent, children)
            self._datasets.delete_run_contents(record.id)
            self._collections.remove(name)
        return files
