"""Ingesting files listed in a table: a CSV or ECSV file with a ``file`` column and one
column per dimension of the dataset type, checked whole before anything is written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.data_id import DataCoordinate
from ..core.dataset_type import DatasetType
from ..core.errors import ConfigError, ConflictError, DatasetTypeNotFoundError, QuantaError
from ..core.progress import ProgressCallback
from ..core.refs import DatasetRef
from ..core.transfer import TransferMode, transfer_mode
from .transfers import IngestItem, ingest

if TYPE_CHECKING:
    from .butler import Butler

#: The column naming each row's file, and the optional one naming the HDU holding the
#: dataset when several rows share a file.
FILE_COLUMN = "file"
HDU_COLUMN = "hdu"


@dataclass(frozen=True)
class TableIngestReport:
    """How many rows became new datasets, how many were already there, and whether the
    dataset type was registered for them."""

    ingested: int
    already_present: int
    registered: bool


def ingest_table(
    butler: Butler,
    dataset_type: str,
    run: str,
    table: str | Path,
    transfer: str = "copy",
    storage_class: str | None = None,
    progress: ProgressCallback | None = None,
) -> TableIngestReport:
    """Ingest the files a table lists as datasets of ``dataset_type`` in ``run``.

    The dataset type must exist, unless ``storage_class`` is given: it is then registered
    with the table's dimension columns. Relative file paths are relative to the table's
    directory (refused with ``direct``, which records paths as they are). Every row is
    checked (file present, data ID valid, its dimension records present, no data ID
    twice) before anything is written; an error names the row. Dataset IDs derive from
    (run, dataset type, data ID), so ingesting the same table again adds nothing.
    ``progress`` hears of each file placed.
    """
    mode = transfer_mode(transfer)
    table = Path(table)
    columns = read_columns(table)
    dimension_columns = [c for c in columns if c not in (FILE_COLUMN, HDU_COLUMN)]
    target, new_type = _dataset_type(butler, dataset_type, dimension_columns, storage_class)
    group = target.dimensions
    unknown = [c for c in dimension_columns if c not in group.names]
    missing = [d for d in group.required if d not in columns]
    if unknown or missing or FILE_COLUMN not in columns:
        problems = (
            ([f"no {FILE_COLUMN!r} column"] if FILE_COLUMN not in columns else [])
            + ([f"no column for {', '.join(missing)}"] if missing else [])
            + (
                [f"columns {', '.join(unknown)} are not dimensions of {target.name}"]
                if unknown
                else []
            )
        )
        raise ConfigError(f"{table}: {'; '.join(problems)} (dimensions {group})")
    items = _items(butler, target, run, table, columns, dimension_columns, mode)
    with butler.registry.transaction():
        if new_type:
            butler.registry.register_dataset_type(target)
        new = ingest(butler, items, mode, progress)
    return TableIngestReport(len(new), len(items) - len(new), new_type)


def read_columns(table: Path) -> dict[str, list[Any]]:
    """The table's columns as lists of Python values (``None`` where a cell is empty): ECSV
    by its ``.ecsv`` suffix, CSV otherwise."""
    from astropy.table import Table

    if not table.is_file():
        raise ConfigError(f"no such table: {table}")
    kind = "ascii.ecsv" if table.suffix.lower() == ".ecsv" else "ascii.csv"
    try:
        read = Table.read(table, format=kind)
    except Exception as err:  # astropy raises many kinds for a malformed table
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(
            f"{table}: cannot read it as {kind.split('.')[1].upper()}: {first}"
        ) from None
    return {name: read[name].tolist() for name in read.colnames}


def _dataset_type(
    butler: Butler, name: str, columns: Sequence[str], storage_class: str | None
) -> tuple[DatasetType, bool]:
    """The dataset type, and whether it is new (made from the columns and storage class)."""
    try:
        existing = butler.registry.get_dataset_type(name)
    except DatasetTypeNotFoundError:
        if storage_class is None:
            raise DatasetTypeNotFoundError(
                f"dataset type {name!r} is not registered; give --storage-class to register it "
                "with the table's dimension columns"
            ) from None
        unknown = [c for c in columns if c not in butler.universe.dimensions]
        if unknown:
            raise ConfigError(
                f"columns {', '.join(unknown)} are not dimensions; a table has a "
                f"{FILE_COLUMN!r} column, an optional {HDU_COLUMN!r} column and dimension columns"
            ) from None
        return DatasetType(name, butler.universe.group(columns), storage_class), True
    if storage_class is not None and storage_class != existing.storage_class:
        raise ConflictError(
            f"dataset type {name!r} is registered with storage class {existing.storage_class}, "
            f"not {storage_class}"
        )
    return existing, False


def _items(
    butler: Butler,
    dataset_type: DatasetType,
    run: str,
    table: Path,
    columns: dict[str, list[Any]],
    dimension_columns: Sequence[str],
    mode: TransferMode,
) -> list[IngestItem]:
    """One ingest item per row, every row checked; the first problem names its row."""
    group = dataset_type.dimensions
    hdus = columns.get(HDU_COLUMN)
    items: list[IngestItem] = []
    seen: dict[DataCoordinate, int] = {}
    for index, value in enumerate(columns[FILE_COLUMN]):
        row = index + 1
        where = f"{table} row {row}"
        if value is None or not str(value).strip():
            raise ConfigError(f"{where}: no file")
        path = Path(str(value))
        if not path.is_absolute():
            if mode == TransferMode.DIRECT:
                raise ConfigError(
                    f"{where}: relative path {path} cannot be ingested with 'direct', which "
                    "records paths as given; make it absolute"
                )
            path = table.parent / path
        if not path.is_file():
            raise ConfigError(f"{where}: no such file {path}")
        try:
            data_id = DataCoordinate.standardize(
                {c: columns[c][index] for c in dimension_columns}, group
            )
        except QuantaError as err:
            raise ConfigError(f"{where}: {err}") from None
        if data_id in seen:
            raise ConfigError(f"{where}: data ID {data_id} repeats row {seen[data_id]}")
        seen[data_id] = row
        hdu = hdus[index] if hdus is not None else None
        if hdu is not None and (not isinstance(hdu, int) or hdu < 0):
            raise ConfigError(f"{where}: hdu {hdu!r} is not an HDU index")
        items.append((path, DatasetRef.for_output(dataset_type, data_id, run), hdu))
    _check_records(butler, table, list(seen.items()))
    return items


def _check_records(
    butler: Butler, table: Path, data_ids: Sequence[tuple[DataCoordinate, int]]
) -> None:
    """Every dimension value of the rows has its record, looked up in bulk per dimension."""
    universe = butler.universe
    if not data_ids:
        return
    for name in data_ids[0][0].group.required:
        keys = (*universe[name].required, name)
        rows: dict[tuple, int] = {}
        for data_id, row in data_ids:
            rows.setdefault(tuple(data_id[k] for k in keys), row)
        found = butler.registry.find_dimension_records(name, list(rows))
        for key, row in rows.items():
            if key not in found:
                values = ", ".join(f"{k}={v!r}" for k, v in zip(keys, key, strict=True))
                raise ConfigError(f"{table} row {row}: no {name} record for {values}")
