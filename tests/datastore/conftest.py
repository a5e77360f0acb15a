"""Fixtures for the datastore tests: the default universe, refs and a datastore in tmp_path."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from quanta.core import DataCoordinate, DatasetRef, DatasetType, DimensionUniverse
from quanta.datastore import FileDatastore, FileTemplates

MakeRef = Callable[..., DatasetRef]


@pytest.fixture(scope="session")
def universe() -> DimensionUniverse:
    return DimensionUniverse.default()


@pytest.fixture
def make_ref(universe: DimensionUniverse) -> MakeRef:
    """Build an output ref from a dataset type name, dimensions, storage class and data ID."""

    def make(
        name: str = "calexp",
        dimensions: Sequence[str] = ("instrument", "exposure", "detector"),
        storage_class: str = "StructuredData",
        run: str = "u/test/run1",
        extras: dict[str, Any] | None = None,
        **data_id: Any,
    ) -> DatasetRef:
        group = universe.group(dimensions)
        defaults = {"instrument": "SimCam", "exposure": 1001, "detector": 12}
        values = {k: data_id.get(k, defaults.get(k)) for k in group.required}
        coord = DataCoordinate.standardize(values, group, extras=extras)
        return DatasetRef.for_output(DatasetType(name, group, storage_class), coord, run)

    return make


@pytest.fixture
def datastore(tmp_path: Path, universe: DimensionUniverse) -> FileDatastore:
    return FileDatastore(tmp_path / "repo", FileTemplates(universe))


def all_files(root: Path) -> list[str]:
    """Every file under ``root``, hidden ones included, as sorted relative paths."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir())
