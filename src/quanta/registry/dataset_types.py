"""Dataset type registration with conflict detection, cached in memory."""

from __future__ import annotations

import fnmatch

import sqlalchemy as sa

from ..core.dataset_type import MAX_NAME_LENGTH, DatasetType
from ..core.errors import ConflictError, DatasetTypeNotFoundError
from ..core.suggest import did_you_mean
from ..core.universe import DimensionUniverse
from .database import Database
from .schema import RegistryTables


def dataset_type_table(md: sa.MetaData) -> sa.Table:
    """``dataset_type``: name, dimensions, storage class, calibration flag."""
    dataset_type = sa.Table(
        "dataset_type",
        md,
        sa.Column("dataset_type_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(MAX_NAME_LENGTH), nullable=False, unique=True),
        sa.Column("dimensions", sa.Text, nullable=False),
        sa.Column("storage_class", sa.String(64), nullable=False),
        sa.Column("is_calibration", sa.Boolean, nullable=False),
    )
    return dataset_type


class DatasetTypeManager:
    """Register and look up dataset types; each name maps to one definition forever."""

    def __init__(self, db: Database, tables: RegistryTables, universe: DimensionUniverse) -> None:
        self._db = db
        self._table = tables.dataset_type
        self._universe = universe
        self._by_name: dict[str, tuple[int, DatasetType]] = {}
        self._by_id: dict[int, DatasetType] = {}

    def refresh(self) -> None:
        """Reload every definition from the database."""
        self._by_name.clear()
        self._by_id.clear()
        with self._db.connect() as conn:
            for row in conn.execute(sa.select(self._table)).mappings():
                self._remember(row)

    def _remember(self, row: sa.RowMapping) -> DatasetType:
        dims = row["dimensions"].split(",") if row["dimensions"] else []
        dt = DatasetType(
            row["name"], self._universe.group(dims), row["storage_class"], row["is_calibration"]
        )
        self._by_name[dt.name] = (row["dataset_type_id"], dt)
        self._by_id[row["dataset_type_id"]] = dt
        return dt

    def register(self, dataset_type: DatasetType) -> bool:
        """Register a dataset type; True if new, False if already identical, error if not."""
        existing = self._lookup(dataset_type.name)
        if existing is not None:
            diffs = existing[1].differences(dataset_type)
            if diffs:
                raise ConflictError(
                    f"dataset type {dataset_type.name!r} is already registered with different "
                    f"{'; '.join(diffs)}"
                )
            return False
        row = {
            "name": dataset_type.name,
            "dimensions": ",".join(dataset_type.dimensions.required),
            "storage_class": dataset_type.storage_class,
            "is_calibration": dataset_type.is_calibration,
        }
        with self._db.transaction() as conn:
            conn.execute(self._table.insert(), row)
        self.refresh()
        return True

    def _lookup(self, name: str) -> tuple[int, DatasetType] | None:
        if name not in self._by_name:
            self.refresh()
        return self._by_name.get(name)

    def get(self, name: str) -> DatasetType:
        """The registered definition of ``name``."""
        found = self._lookup(name)
        if found is None:
            hint = did_you_mean(name, self._by_name)
            known = "; known: " + (", ".join(sorted(self._by_name)) or "none registered")
            raise DatasetTypeNotFoundError(f"unknown dataset type {name!r}{hint or known}")
        return found[1]

    def id_of(self, name: str) -> int:
        """Integer key of a registered dataset type."""
        self.get(name)
        return self._by_name[name][0]

    def by_id(self, dataset_type_id: int) -> DatasetType:
        """Definition for an integer key."""
        if dataset_type_id not in self._by_id:
            self.refresh()
        return self._by_id[dataset_type_id]

    def query(self, pattern: str | None = None) -> list[DatasetType]:
        """Registered dataset types whose names match a glob pattern."""
        self.refresh()
        return [
            dt
            for name, (_, dt) in sorted(self._by_name.items())
            if pattern is None or fnmatch.fnmatchcase(name, pattern)
        ]

    def remove(self, name: str) -> None:
        """Delete a dataset type that no dataset uses."""
        dt_id = self.id_of(name)
        with self._db.transaction() as conn:
            try:
                conn.execute(self._table.delete().where(self._table.c.dataset_type_id == dt_id))
            except sa.exc.IntegrityError:
                raise ConflictError(f"dataset type {name!r} still has datasets") from None
        self.refresh()
