"""One dataset and its file found in a RUN collection by data ID, in one prepared statement.

This is the common case of ``Butler.get`` by data ID. The statement matches the run by
name and type and the dataset type by name, so nothing cached can be stale (only its SQL
is compiled once, see ``Database.fetch``); when it finds
nothing (the collection is not a RUN, or the dataset is not there) the general search
decides.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from ..core.collections import CollectionType
from ..core.data_id import DataCoordinate
from ..core.dataset_type import DatasetType
from ..core.refs import DatasetRef
from ..core.stored_file import StoredFile
from .database import Database
from .schema import RegistryTables


class RunLookup:
    """Find a dataset of a RUN collection with its file record."""

    def __init__(self, db: Database, tables: RegistryTables) -> None:
        self._db = db
        ds, coll, types, files = (
            tables.dataset,
            tables.collection,
            tables.dataset_type,
            tables.file_record,
        )
        # The run and the dataset type as scalar subqueries, so that every planner looks
        # the dataset up by its unique key (type, run, data ID) whatever its statistics.
        run_id = (
            sa.select(coll.c.collection_id)
            .where(coll.c.name == sa.bindparam("run"), coll.c.type == int(CollectionType.RUN))
            .scalar_subquery()
        )
        type_id = (
            sa.select(types.c.dataset_type_id)
            .where(types.c.name == sa.bindparam("dt_name"))
            .scalar_subquery()
        )
        self._statement = (
            sa.select(ds.c.id, ds.c.extras, *(files.c[name] for name in _FILE_COLUMNS))
            .select_from(ds.outerjoin(files, files.c.dataset_id == ds.c.id))
            .where(
                ds.c.dataset_type_id == type_id,
                ds.c.run_id == run_id,
                ds.c.data_id_key == sa.bindparam("key"),
            )
        )

    def find(
        self, dataset_type: DatasetType, data_id: DataCoordinate, run: str
    ) -> tuple[DatasetRef, StoredFile | None] | None:
        """The dataset of this type and data ID (restricted to the type's dimensions) in
        the RUN collection ``run`` and its file, or None if ``run`` is no RUN or lacks it."""
        params = {"run": run, "dt_name": dataset_type.name, "key": data_id.key()}
        rows = self._db.fetch(self._statement, params)
        if not rows:
            return None
        row = rows[0]
        extras = tuple(tuple(p) for p in json.loads(row[1])) if row[1] else ()
        coordinate = DataCoordinate(
            dataset_type.dimensions, data_id.required_values, None, None, extras
        )
        ref = DatasetRef(row[0], dataset_type, coordinate, run)
        stored = None if row[2] is None else StoredFile(row[0], *row[2:])
        return ref, stored


_FILE_COLUMNS = ("path", "storage_class", "checksum", "size", "hdu")
