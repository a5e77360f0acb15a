"""CALIBRATION collections: certify datasets for validity ranges, decertify, look up by time.

Overlapping validity for the same dataset type and data ID is refused. The
check and the insert run in one transaction that first locks the collection
row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite writers are serialized by
``BEGIN IMMEDIATE``), so two concurrent certifications cannot both pass.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa

from ..core.collections import CollectionType
from ..core.data_id import DataCoordinate
from ..core.dataset_type import DatasetType
from ..core.errors import CalibrationOverlapError, CollectionTypeError, ConflictError
from ..core.refs import DatasetRef
from ..core.timespan import Timespan
from .collections import CollectionManager
from .database import Database
from .dataset_types import DatasetTypeManager
from .schema import RegistryTables


def calibration_table(md: sa.MetaData) -> sa.Table:
    """``dataset_calib``: each certification of a dataset, with its validity range."""
    dataset_calib = sa.Table(
        "dataset_calib",
        md,
        sa.Column("calib_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "collection_id",
            sa.Integer,
            sa.ForeignKey("collection.collection_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "dataset_id", sa.Uuid, sa.ForeignKey("dataset.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("dataset_type_id", sa.Integer, nullable=False),
        sa.Column("data_id_key", sa.String(512), nullable=False),
        sa.Column("begin_ns", sa.BigInteger, nullable=False),
        sa.Column("end_ns", sa.BigInteger, nullable=False),
        sa.Index("dataset_calib_lookup", "collection_id", "dataset_type_id", "data_id_key"),
        sa.Index("dataset_calib_dataset", "dataset_id"),
    )
    return dataset_calib


class CalibrationManager:
    """Certification of calibration datasets into CALIBRATION collections."""

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

    def _lock(self, conn: sa.Connection, collection_id: int) -> None:
        table = self._tables.collection
        conn.execute(
            sa.select(table.c.collection_id)
            .where(table.c.collection_id == collection_id)
            .with_for_update()
        )

    def certify(self, collection: str, refs: Sequence[DatasetRef], timespan: Timespan) -> None:
        """Make refs valid in ``collection`` over ``timespan``; refuse any overlap."""
        record = self._collections.get(collection, CollectionType.CALIBRATION)
        table = self._tables.dataset_calib
        begin, end = timespan.to_db()
        rows = []
        seen: set[tuple[int, str]] = set()
        for ref in refs:
            if not ref.dataset_type.is_calibration:
                raise CollectionTypeError(
                    f"dataset type {ref.dataset_type.name!r} is not a calibration type; only "
                    "calibration dataset types can be certified"
                )
            type_id = self._types.id_of(ref.dataset_type.name)
            key = (type_id, ref.data_id.key())
            if key in seen:
                raise CalibrationOverlapError(
                    f"two {ref.dataset_type.name} datasets for {ref.data_id} would be valid over "
                    f"the same timespan {timespan}"
                )
            seen.add(key)
            rows.append(
                {
                    "collection_id": record.id,
                    "dataset_id": ref.id,
                    "dataset_type_id": type_id,
                    "data_id_key": key[1],
                    "begin_ns": begin,
                    "end_ns": end,
                }
            )
        with self._db.transaction() as conn:
            self._lock(conn, record.id)
            for row, ref in zip(rows, refs, strict=True):
                clash = conn.execute(
                    sa.select(table.c.begin_ns, table.c.end_ns).where(
                        table.c.collection_id == record.id,
                        table.c.dataset_type_id == row["dataset_type_id"],
                        table.c.data_id_key == row["data_id_key"],
                        table.c.begin_ns < end,
                        table.c.end_ns > begin,
                    )
                ).first()
                if clash is not None:
                    raise CalibrationOverlapError(
                        f"{ref.dataset_type.name} for {ref.data_id} in {collection!r} is already "
                        f"certified over {Timespan.from_db(*clash)}, which overlaps {timespan}"
                    )
            if rows:
                conn.execute(table.insert(), rows)

    def decertify(
        self,
        collection: str,
        dataset_type: DatasetType,
        timespan: Timespan,
        data_ids: Sequence[DataCoordinate] | None = None,
    ) -> int:
        """Remove validity over ``timespan``, trimming or splitting ranges that extend past it.
        Returns how many validity ranges were changed or removed."""
        record = self._collections.get(collection, CollectionType.CALIBRATION)
        if not dataset_type.is_calibration:
            raise CollectionTypeError(
                f"dataset type {dataset_type.name!r} is not a calibration type; nothing of it "
                "can be certified or decertified"
            )
        table = self._tables.dataset_calib
        begin, end = timespan.to_db()
        conditions = [
            table.c.collection_id == record.id,
            table.c.dataset_type_id == self._types.id_of(dataset_type.name),
            table.c.begin_ns < end,
            table.c.end_ns > begin,
        ]
        if data_ids is not None:
            conditions.append(table.c.data_id_key.in_([d.key() for d in data_ids]))
        with self._db.transaction() as conn:
            self._lock(conn, record.id)
            rows = conn.execute(sa.select(table).where(*conditions)).mappings().all()
            for row in rows:
                conn.execute(table.delete().where(table.c.calib_id == row["calib_id"]))
                keep = {
                    k: row[k]
                    for k in ("collection_id", "dataset_id", "dataset_type_id", "data_id_key")
                }
                if row["begin_ns"] < begin:
                    conn.execute(
                        table.insert(), {**keep, "begin_ns": row["begin_ns"], "end_ns": begin}
                    )
                if row["end_ns"] > end:
                    conn.execute(table.insert(), {**keep, "begin_ns": end, "end_ns": row["end_ns"]})
        return len(rows)

    def decertify_datasets(self, collection: str, ids: Sequence[uuid.UUID]) -> int:
        """Remove every certification of these datasets from ``collection``, whatever their
        validity; returns how many validity ranges went."""
        record = self._collections.get(collection, CollectionType.CALIBRATION)
        table = self._tables.dataset_calib
        removed = 0
        with self._db.transaction() as conn:
            self._lock(conn, record.id)
            for start in range(0, len(ids), 500):
                removed += conn.execute(
                    table.delete().where(
                        table.c.collection_id == record.id,
                        table.c.dataset_id.in_(ids[start : start + 500]),
                    )
                ).rowcount
        return removed

    def find(
        self,
        collection_id: int,
        dataset_type: DatasetType,
        data_id: DataCoordinate,
        timespan: Timespan | None,
    ) -> tuple[object, Timespan] | None:
        """The dataset ID valid over ``timespan`` (and its validity range), or None.

        Without a timespan, a data ID with exactly one certification still resolves.
        """
        table = self._tables.dataset_calib
        conditions = [
            table.c.collection_id == collection_id,
            table.c.dataset_type_id == self._types.id_of(dataset_type.name),
            table.c.data_id_key == data_id.key(),
        ]
        if timespan is not None:
            begin, end = timespan.to_db()
            conditions += [table.c.begin_ns < end, table.c.end_ns > begin]
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(table.c.dataset_id, table.c.begin_ns, table.c.end_ns)
                .where(*conditions)
                .limit(2)
            ).all()
        if not rows:
            return None
        if len(rows) > 1:
            where = f"over {timespan}" if timespan is not None else "with no timespan given"
            raise ConflictError(
                f"more than one {dataset_type.name} for {data_id} is valid {where}; "
                "give a narrower timespan"
            )
        return rows[0][0], Timespan.from_db(rows[0][1], rows[0][2])

    def certifications(
        self, collection_id: int, dataset_type: DatasetType
    ) -> list[tuple[uuid.UUID, str, Timespan]]:
        """Every (dataset ID, canonical data ID, validity) of one type in a collection."""
        table = self._tables.dataset_calib
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(table.c.dataset_id, table.c.data_id_key, table.c.begin_ns, table.c.end_ns)
                .where(
                    table.c.collection_id == collection_id,
                    table.c.dataset_type_id == self._types.id_of(dataset_type.name),
                )
                .order_by(table.c.begin_ns)
            ).all()
        return [(r[0], r[1], Timespan.from_db(r[2], r[3])) for r in rows]
