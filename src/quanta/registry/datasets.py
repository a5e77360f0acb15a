"""Dataset rows, their file records and TAGGED associations, inserted and read in bulk."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ..core.collections import CollectionType
from ..core.data_id import DataCoordinate
from ..core.dataset_type import DatasetType
from ..core.errors import ConflictError, DatasetNotFoundError
from ..core.refs import DatasetRef
from ..core.stored_file import StoredFile
from ..core.universe import DimensionUniverse
from .collections import CollectionManager
from .database import Database
from .dataset_types import DatasetTypeManager
from .schema import RegistryTables, column_type

CHUNK = 500


def dataset_tables(
    md: sa.MetaData, universe: DimensionUniverse
) -> tuple[sa.Table, sa.Table, sa.Table]:
    """``dataset`` (one nullable column per dimension, so data IDs are queryable by plain
    joins, and a canonical ``data_id_key`` that carries uniqueness), ``dataset_tag``
    (TAGGED membership) and ``file_record`` (where each dataset's file is, and which HDU
    of it when datasets share a file; indexed by path to find a shared file's users)."""
    dim_columns = [
        sa.Column(name, column_type(dim.key), nullable=True)
        for name, dim in universe.dimensions.items()
    ]
    dataset = sa.Table(
        "dataset",
        md,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column(
            "dataset_type_id",
            sa.Integer,
            sa.ForeignKey("dataset_type.dataset_type_id"),
            nullable=False,
        ),
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey("collection.collection_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("data_id_key", sa.String(512), nullable=False),
        sa.Column("extras", sa.Text, nullable=True),
        sa.Column("ingest_ns", sa.BigInteger, nullable=False),
        *dim_columns,
        # Led by the run, the one unique index also serves lookups by run, and by run and
        # type: a second index would cost every insert a page and could mislead a planner.
        sa.UniqueConstraint("run_id", "dataset_type_id", "data_id_key"),
    )
    dataset_tag = sa.Table(
        "dataset_tag",
        md,
        sa.Column(
            "collection_id",
            sa.Integer,
            sa.ForeignKey("collection.collection_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "dataset_id", sa.Uuid, sa.ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("dataset_type_id", sa.Integer, nullable=False),
        sa.Column("data_id_key", sa.String(512), nullable=False),
        sa.UniqueConstraint("collection_id", "dataset_type_id", "data_id_key"),
        sa.Index("dataset_tag_dataset", "dataset_id"),
    )
    file_record = sa.Table(
        "file_record",
        md,
        sa.Column(
            "dataset_id", sa.Uuid, sa.ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("storage_class", sa.String(64), nullable=False),
        sa.Column("checksum", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("hdu", sa.Integer, nullable=True),
        sa.Index("file_record_path", "path"),
    )
    return dataset, dataset_tag, file_record


class DatasetManager:
    """Insert, look up, tag and delete datasets and their file records."""

    def __init__(
        self,
        db: Database,
        tables: RegistryTables,
        dataset_types: DatasetTypeManager,
        collections: CollectionManager,
    ) -> None:
        self._db = db
        self._tables = tables
        self._types = dataset_types
        self._collections = collections
        # One statement object, so SQLAlchemy computes its cache key once.
        self._insert_files = tables.file_record.insert()

    # -- rows <-> refs ---------------------------------------------------------------------

    def ref_columns(
        self, ds: sa.FromClause, dataset_type: DatasetType, text_ids: bool = False
    ) -> list[sa.ColumnElement]:
        """Columns to select so that ``make_refs`` can rebuild refs of one dataset type;
        with ``text_ids`` the ID comes as hexadecimal text, for decoding in bulk."""
        return [
            sa.cast(ds.c.id, sa.String) if text_ids else ds.c.id,
            ds.c.run_id,
            ds.c.extras,
            *(ds.c[name] for name in dataset_type.dimensions.required),
        ]

    def make_refs(
        self,
        dataset_type: DatasetType,
        rows: Iterable[Sequence[Any]],
        run_names: Mapping[int, str],
    ) -> Iterator[DatasetRef]:
        """Refs from rows selected with ``ref_columns``; the hot path of every query."""
        group = dataset_type.dimensions
        new_coordinate = DataCoordinate
        new_ref = DatasetRef
        for row in rows:
            run = run_names[row[1]]
            extras = tuple(tuple(p) for p in json.loads(row[2])) if row[2] else ()
            data_id = new_coordinate(group, tuple(row[3:]), None, None, extras)
            yield new_ref(row[0], dataset_type, data_id, run)

    def _rows_for(self, refs: Sequence[DatasetRef], run_id: int, now: int) -> list[dict[str, Any]]:
        rows = []
        type_ids: dict[str, int] = {}
        for ref in refs:
            data_id = ref.data_id
            name = ref.dataset_type.name
            type_id = type_ids.get(name)
            if type_id is None:
                type_id = type_ids[name] = self._types.id_of(name)
            row: dict[str, Any] = dict(
                zip(data_id.group.required, data_id.required_values, strict=True)
            )
            extras = data_id.extras
            row.update(
                id=ref.id,
                dataset_type_id=type_id,
                run_id=run_id,
                data_id_key=data_id.key(),
                extras=json.dumps(sorted(extras.items())) if extras else None,
                ingest_ns=now,
            )
            rows.append(row)
        return rows

    # -- insertion -------------------------------------------------------------------------

    def insert(self, refs: Sequence[DatasetRef]) -> int:
        """Insert refs (IDs already chosen); existing identical ones are skipped, a different
        dataset with the same type, run and data ID is a conflict. Returns how many were new.

        Rows go in with ``ON CONFLICT (id) DO NOTHING``, so the common case (all new) costs
        one bulk statement; only when some IDs already existed are they read back and checked.
        """
        if not refs:
            return 0
        # One statement per run and dataset type: every row of it has the same columns.
        groups: dict[tuple[str, str], list[DatasetRef]] = {}
        for ref in refs:
            groups.setdefault((ref.run, ref.dataset_type.name), []).append(ref)
        inserted = 0
        now = time.time_ns()
        table = self._tables.dataset
        statement = self._db.insert_ignore(table, ["id"]).returning(table.c.id)
        with self._db.transaction() as conn:
            for (run, _), run_refs in groups.items():
                run_id = self._collections.get(run, CollectionType.RUN).id
                try:
                    rows = self._rows_for(run_refs, run_id, now)
                    count = len(conn.execute(statement, rows).all())
                except sa.exc.IntegrityError:
                    raise ConflictError(
                        f"a {run_refs[0].dataset_type.name} dataset with one of these data IDs "
                        f"already exists in run {run!r} (first: {run_refs[0].data_id})"
                    ) from None
                if count < len(run_refs):
                    existing = self._existing(conn, [r.id for r in run_refs])
                    for ref in run_refs:
                        if existing[ref.id] != (run_id, ref.data_id.key()):
                            raise ConflictError(
                                f"dataset {ref.id} already exists with another run or data ID"
                            )
                inserted += count
        return inserted

    def _existing(self, conn: sa.Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple]:
        table = self._tables.dataset
        found: dict[uuid.UUID, tuple] = {}
        for start in range(0, len(ids), CHUNK):
            query = sa.select(table.c.id, table.c.run_id, table.c.data_id_key).where(
                table.c.id.in_(ids[start : start + CHUNK])
            )
            for row in conn.execute(query):
                found[row[0]] = (row[1], row[2])
        return found

    def store_files(self, files: Sequence[StoredFile]) -> None:
        """Record where datasets' files are; one row per dataset."""
        if not files:
            return
        rows = [
            {
                "dataset_id": f.dataset_id,
                "path": f.path,
                "storage_class": f.storage_class,
                "checksum": f.checksum,
                "size": f.size,
                "hdu": f.hdu,
            }
            for f in files
        ]
        with self._db.transaction() as conn:
            conn.execute(self._insert_files, rows)

    # -- lookup ----------------------------------------------------------------------------

    def get_refs(self, ids: Sequence[uuid.UUID]) -> list[DatasetRef]:
        """Refs for dataset IDs, in the same order; unknown IDs raise."""
        table = self._tables.dataset
        found: dict[uuid.UUID, DatasetRef] = {}
        run_names = self._collections.names_by_id()
        with self._db.connect() as conn:
            type_ids: dict[int, list[uuid.UUID]] = {}
            for start in range(0, len(ids), CHUNK):
                query = sa.select(table.c.id, table.c.dataset_type_id).where(
                    table.c.id.in_(ids[start : start + CHUNK])
                )
                for row in conn.execute(query):
                    type_ids.setdefault(row[1], []).append(row[0])
            for type_id, members in type_ids.items():
                dt = self._types.by_id(type_id)
                for start in range(0, len(members), CHUNK):
                    query = sa.select(*self.ref_columns(table, dt)).where(
                        table.c.id.in_(members[start : start + CHUNK])
                    )
                    for ref in self.make_refs(dt, conn.execute(query), run_names):
                        found[ref.id] = ref
        missing = [i for i in ids if i not in found]
        if missing:
            raise DatasetNotFoundError(f"no dataset with ID {missing[0]}")
        return [found[i] for i in ids]

    def get_files(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, StoredFile]:
        """File records for the given dataset IDs (datasets without a file are absent)."""
        table = self._tables.file_record
        result: dict[uuid.UUID, StoredFile] = {}
        with self._db.connect() as conn:
            for start in range(0, len(ids), CHUNK):
                query = sa.select(table).where(table.c.dataset_id.in_(ids[start : start + CHUNK]))
                for row in conn.execute(query):
                    result[row.dataset_id] = _stored_file(row)
        return result

    def paths_in_use(self, paths: Collection[str]) -> set[str]:
        """Those of ``paths`` that some file record still points at."""
        table = self._tables.file_record
        wanted = list(paths)
        found: set[str] = set()
        with self._db.connect() as conn:
            for start in range(0, len(wanted), CHUNK):
                query = sa.select(table.c.path).where(
                    table.c.path.in_(wanted[start : start + CHUNK])
                )
                found.update(row[0] for row in conn.execute(query.distinct()))
        return found

    def all_files(self) -> Iterator[StoredFile]:
        """Every file record, streamed."""
        table = self._tables.file_record
        with self._db.connect() as conn:
            for row in conn.execute(sa.select(table)).yield_per(10_000):
                yield _stored_file(row)

    # -- TAGGED ----------------------------------------------------------------------------

    def associate(self, collection: str, refs: Sequence[DatasetRef]) -> int:
        """Add refs to a TAGGED collection; a different dataset with the same type and data
        ID already there is a conflict. Returns how many were not there yet."""
        record = self._collections.get(collection, CollectionType.TAGGED)
        table = self._tables.dataset_tag
        with self._db.transaction() as conn:
            present = {
                row[0]
                for row in conn.execute(
                    sa.select(table.c.dataset_id).where(table.c.collection_id == record.id)
                )
            }
            rows = [
                {
                    "collection_id": record.id,
                    "dataset_id": ref.id,
                    "dataset_type_id": self._types.id_of(ref.dataset_type.name),
                    "data_id_key": ref.data_id.key(),
                }
                for ref in refs
                if ref.id not in present
            ]
            if rows:
                try:
                    conn.execute(table.insert(), rows)
                except sa.exc.IntegrityError:
                    raise ConflictError(
                        f"collection {collection!r} already holds another dataset with the same "
                        "dataset type and data ID as one of these"
                    ) from None
        return len(rows)

    def disassociate(self, collection: str, refs: Sequence[DatasetRef]) -> int:
        """Remove refs from a TAGGED collection; returns how many were there."""
        record = self._collections.get(collection, CollectionType.TAGGED)
        table = self._tables.dataset_tag
        ids = [r.id for r in refs]
        removed = 0
        with self._db.transaction() as conn:
            for start in range(0, len(ids), CHUNK):
                removed += conn.execute(
                    table.delete().where(
                        table.c.collection_id == record.id,
                        table.c.dataset_id.in_(ids[start : start + CHUNK]),
                    )
                ).rowcount
        return removed

    # -- removal ---------------------------------------------------------------------------

    def files_in_run(self, run_id: int) -> list[StoredFile]:
        """File records of every dataset born in a run."""
        ds, fr = self._tables.dataset, self._tables.file_record
        query = sa.select(fr).join(ds, ds.c.id == fr.c.dataset_id).where(ds.c.run_id == run_id)
        with self._db.connect() as conn:
            return [_stored_file(row) for row in conn.execute(query)]

    def delete_run_contents(self, run_id: int) -> None:
        """Delete every dataset of a run, with its tags, certifications and file records."""
        ds = self._tables.dataset
        ids = sa.select(ds.c.id).where(ds.c.run_id == run_id)
        with self._db.transaction() as conn:
            for table in (
                self._tables.file_record,
                self._tables.dataset_tag,
                self._tables.dataset_calib,
            ):
                conn.execute(table.delete().where(table.c.dataset_id.in_(ids)))
            conn.execute(ds.delete().where(ds.c.run_id == run_id))

    def delete(self, ids: Sequence[uuid.UUID]) -> list[StoredFile]:
        """Delete datasets by ID with their tags, certifications and file records; returns
        the file records."""
        files = list(self.get_files(ids).values())
        ds = self._tables.dataset
        with self._db.transaction() as conn:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                for table in (
                    self._tables.file_record,
                    self._tables.dataset_tag,
                    self._tables.dataset_calib,
                ):
                    conn.execute(table.delete().where(table.c.dataset_id.in_(chunk)))
                conn.execute(ds.delete().where(ds.c.id.in_(chunk)))
        return files


def _stored_file(row: Any) -> StoredFile:
    """A ``file_record`` row as a ``StoredFile``."""
    return StoredFile(row.dataset_id, row.path, row.storage_class, row.checksum, row.size, row.hdu)
