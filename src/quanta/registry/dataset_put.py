"""One new dataset and its file record in one short transaction: the per-call path of
``Butler.put``.

The row is inserted by ``INSERT ... SELECT`` from the rows of its run (by name and type)
and of its dataset type (by name and whole definition). So no cached collection or
dataset type ID can go stale: when another process removed the run, or removed and
redefined the dataset type, nothing is inserted and the slow path finds out why. The
file is written under a temporary name while the row travels, and renamed into place
only once the row is in (a dataset that exists already is refused before its file is
touched, and a concurrent put of the same dataset waits for this one's row); its record
is sent with the ``COMMIT``. So on PostgreSQL a put is two round trips, and the first
overlaps the file's writing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from ..core.collections import CollectionType
from ..core.dataset_type import DatasetType
from ..core.errors import ConflictError, RepositoryError
from ..core.refs import DatasetRef
from ..core.stored_file import StoredFile
from .collections import CollectionManager
from .database import Database
from .dataset_types import DatasetTypeManager
from .schema import RegistryTables

#: Writes a dataset's file under a temporary name; returns what renames it into place.
FileStager = Callable[[], Callable[[], StoredFile]]


class DatasetPut:
    """Insert single datasets with statements built once per set of dimensions."""

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
        self._statements: dict[tuple[str, ...], sa.Insert] = {}
        files = tables.file_record
        self._insert_file = files.insert().values(
            {name: sa.bindparam(name, type_=files.c[name].type) for name in _FILE_COLUMNS}
        )

    def insert(self, ref: DatasetRef, stage_file: FileStager) -> StoredFile:
        """Insert ``ref``'s row and the record of its file, in one transaction, registering
        the run if there is none; ``ConflictError`` (and no file placed) if the dataset
        exists, or if the run or dataset type is defined differently.

        ``stage_file`` writes the file under a temporary name while the row's round trip
        is under way, and returns what renames it into place once the row is in."""
        statement = self._statement(ref.dataset_type.dimensions.required)
        params = _params(ref)
        staged: list[Callable[[], StoredFile]] = []
        stored = self._attempt(ref, statement, params, stage_file, staged)
        if stored is None:
            # The slow path, in one transaction with what it registers: a put that fails
            # leaves no run behind.
            with self._db.transaction():
                self._repair(ref)
                stored = self._attempt(ref, statement, params, stage_file, staged)
        if stored is None:
            raise RepositoryError(f"cannot insert {ref}: its run or dataset type keeps changing")
        return stored

    def _attempt(
        self,
        ref: DatasetRef,
        statement: sa.Insert,
        params: dict[str, Any],
        stage_file: FileStager,
        staged: list[Callable[[], StoredFile]],
    ) -> StoredFile | None:
        """Send the row and stage the file (once, into ``staged``) while it travels; if the
        row went in, place the file and queue its record for the commit. None when the run
        or the dataset type did not match."""
        with self._db.write() as write:
            inserted = write.submit(statement, params)
            if not staged:
                staged.append(stage_file())
            try:
                rows = inserted()
            except sa.exc.IntegrityError:
                raise ConflictError(
                    f"dataset {ref.dataset_type.name} {ref.data_id} already exists in run "
                    f"{ref.run!r}"
                ) from None
            if not rows:
                return None
            stored = staged[0]()
            write.queue(self._insert_file, _file_params(stored))
        return stored

    def _repair(self, ref: DatasetRef) -> None:
        """Why nothing was inserted: register a missing run, or raise for a dataset type
        that is gone or defined differently now."""
        if self._collections.register(ref.run, CollectionType.RUN):
            return
        self._types.refresh()
        registered = self._types.get(ref.dataset_type.name)
        differences = registered.differences(ref.dataset_type)
        if differences:
            raise ConflictError(
                f"dataset type {ref.dataset_type.name!r} is registered with different "
                f"{'; '.join(differences)}"
            )

    def _statement(self, dimensions: tuple[str, ...]) -> sa.Insert:
        """``INSERT INTO dataset ... SELECT`` for datasets with these required dimensions,
        built once (SQLAlchemy then reuses its compiled form)."""
        statement = self._statements.get(dimensions)
        if statement is None:
            statement = self._statements[dimensions] = self._build(dimensions)
        return statement

    def _build(self, dimensions: tuple[str, ...]) -> sa.Insert:
        ds, coll, dt = self._tables.dataset, self._tables.collection, self._tables.dataset_type
        own = ("id", "data_id_key", "extras", "ingest_ns", *dimensions)
        values = [sa.bindparam(name, type_=ds.c[name].type) for name in own]
        source = sa.select(*values[:4], dt.c.dataset_type_id, coll.c.collection_id, *values[4:])
        source = source.select_from(coll.join(dt, dt.c.name == sa.bindparam("dt_name")))
        source = source.where(
            coll.c.name == sa.bindparam("run"),
            coll.c.type == int(CollectionType.RUN),
            dt.c.dimensions == sa.bindparam("dt_dimensions"),
            dt.c.storage_class == sa.bindparam("dt_storage_class"),
            dt.c.is_calibration == sa.bindparam("dt_is_calibration"),
        )
        columns = [*own[:4], "dataset_type_id", "run_id", *dimensions]
        return ds.insert().from_select(columns, source).returning(ds.c.id)


_FILE_COLUMNS = ("dataset_id", "path", "storage_class", "checksum", "size", "hdu")


def _file_params(stored: StoredFile) -> dict[str, Any]:
    """Bound values of the file record's INSERT."""
    return {name: getattr(stored, name) for name in _FILE_COLUMNS}


def _params(ref: DatasetRef) -> dict[str, Any]:
    """Bound values of ``DatasetPut``'s statement for one ref."""
    data_id = ref.data_id
    dataset_type: DatasetType = ref.dataset_type
    params: dict[str, Any] = dict(zip(data_id.group.required, data_id.required_values, strict=True))
    extras = data_id.extras
    params.update(
        id=ref.id,
        data_id_key=data_id.key(),
        extras=json.dumps(sorted(extras.items())) if extras else None,
        ingest_ns=time.time_ns(),
        run=ref.run,
        dt_name=dataset_type.name,
        dt_dimensions=",".join(dataset_type.dimensions.required),
        dt_storage_class=dataset_type.storage_class,
        dt_is_calibration=dataset_type.is_calibration,
    )
    return params
