"""Bringing files into a repository: ingest of existing files and transfer between repositories."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import DatasetNotFoundError, RecordNotFoundError
from ..core.progress import ProgressCallback, tracked
from ..core.records import DimensionRecord
from ..core.refs import DatasetRef
from ..core.stored_file import StoredFile
from ..core.transfer import TransferMode, transfer_mode

if TYPE_CHECKING:
    from .butler import Butler


#: A file to ingest, the dataset it holds and, optionally, the HDU holding that dataset
#: when several datasets share the file (``None`` or absent: the whole file).
IngestItem = tuple[str | Path, DatasetRef] | tuple[str | Path, DatasetRef, int | None]


def ingest(
    butler: Butler,
    items: Sequence[IngestItem],
    transfer: str = TransferMode.COPY,
    progress: ProgressCallback | None = None,
) -> list[DatasetRef]:
    """Register existing files as datasets with the given refs, all or nothing.

    Refs already in the repository with the same ID are skipped, so ingesting the same
    files twice adds nothing. Items naming the same file share one copy of it, placed at
    the templated path of the first of them (``move`` moves it once). Files are placed
    first; if the registry refuses them, the placed files are taken back (a moved file is
    moved back). ``progress`` hears of each file placed.
    """
    mode = transfer_mode(transfer)
    known = _known_ids(butler, [item[1] for item in items])
    files: dict[Path, list[tuple[DatasetRef, int | None]]] = {}
    todo: list[DatasetRef] = []
    for item in items:
        ref, hdu = item[1], item[2] if len(item) > 2 else None
        if ref.id not in known:
            files.setdefault(Path(os.path.abspath(item[0])), []).append((ref, hdu))
            todo.append(ref)
    for run in {ref.run for ref in todo}:
        butler.registry.register_run(run)
    placed: list[tuple[Path, list[StoredFile]]] = []
    try:
        with butler.registry.transaction():
            butler.registry.insert_datasets(todo)
            for path, datasets in tracked(files.items(), progress, "placing files", len(files)):
                placed.append((path, butler.datastore.ingest_file(path, datasets, mode)))
            butler.registry.store_files([stored for _, records in placed for stored in records])
    except BaseException:
        for source, records in placed:
            if mode == TransferMode.MOVE:
                butler.datastore.path(records[0]).replace(source)
            else:
                butler.datastore.remove(records[0])
        raise
    return todo


def _known_ids(butler: Butler, refs: Sequence[DatasetRef]) -> set:
    ids = [ref.id for ref in refs]
    return set(butler.registry.get_files(ids))


def transfer_from(
    target: Butler,
    source: Butler,
    refs: Sequence[DatasetRef],
    transfer: str = TransferMode.COPY,
    progress: ProgressCallback | None = None,
) -> list[DatasetRef]:
    """Copy datasets (with their dataset types, dimension records and runs) from another
    repository, keeping their IDs and HDUs (a file several of them share is copied once);
    returns the refs that were new here. ``move`` is refused: the source repository would
    be left with rows pointing at missing files. ``progress`` hears of each file copied."""
    if transfer == TransferMode.MOVE:
        raise ValueError("transfer mode 'move' cannot be used between repositories; use copy")
    for dataset_type in {ref.dataset_type for ref in refs}:
        target.registry.register_dataset_type(dataset_type)
    _copy_records(target, source, refs)
    files = source.registry.get_files([ref.id for ref in refs])
    missing = [ref for ref in refs if ref.id not in files]
    if missing:
        raise DatasetNotFoundError(f"dataset {missing[0]} has no file in the source repository")
    items: list[IngestItem] = [
        (source.datastore.path(files[ref.id]), ref, files[ref.id].hdu) for ref in refs
    ]
    return ingest(target, items, transfer, progress)


def _copy_records(target: Butler, source: Butler, refs: Sequence[DatasetRef]) -> None:
    """Insert into ``target`` every dimension record the refs' data IDs need."""
    for name, records in needed_records(source, refs).items():
        target.registry.insert_dimension_records(name, records)


def needed_records(source: Butler, refs: Sequence[DatasetRef]) -> dict[str, list[DimensionRecord]]:
    """Every dimension record of ``source`` that the refs' data IDs need, by dimension in
    universe order (so that inserting them in that order satisfies every reference): the
    records of their required dimensions, then of the dimensions those records imply or
    require, looked up in bulk, one query per dimension and round."""
    universe = source.universe
    pending: dict[str, set[tuple]] = {}
    for ref in refs:
        data_id = ref.data_id
        for name in data_id.group.required:
            dim = universe[name]
            pending.setdefault(name, set()).add(tuple(data_id[k] for k in (*dim.required, name)))
    found: dict[str, dict[tuple, DimensionRecord]] = {}
    while pending:
        name = next(iter(pending))
        keys = [k for k in pending.pop(name) if k not in found.get(name, {})]
        if not keys:
            continue
        records = source.registry.find_dimension_records(name, keys)
        missing = [k for k in keys if k not in records]
        if missing:
            raise RecordNotFoundError(f"no {name} record for {missing[0]} in the source repository")
        found.setdefault(name, {}).update(records)
        for record in records.values():
            for other in (*record.dimension.required, *record.dimension.implied):
                value = record.values.get(other)
                if value is None:
                    continue
                dim = universe[other]
                key = (*(record.values[k] for k in dim.required), value)
                if key not in found.get(other, {}):
                    pending.setdefault(other, set()).add(key)
    return {name: [found[name][k] for k in sorted(found[name])] for name in universe.sorted(found)}
