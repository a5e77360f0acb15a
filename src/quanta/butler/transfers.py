"""Bringing files into a repository: ingest of existing files and transfer between repositories."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import DatasetNotFoundError
from ..core.records import DimensionRecord
from ..core.refs import DatasetRef
from ..core.stored_file import StoredFile
from ..core.transfer import TransferMode, transfer_mode

if TYPE_CHECKING:
    from .butler import Butler


def ingest(
    butler: Butler,
    items: Sequence[tuple[str | Path, DatasetRef]],
    transfer: str = TransferMode.COPY,
) -> list[DatasetRef]:
    """Register existing files as datasets with the given refs, all or nothing.

    Refs already in the repository with the same ID are skipped, so ingesting the same
    files twice adds nothing. Files are placed first; if the registry refuses them, the
    placed files are taken back (a moved file is moved back).
    """
    mode = transfer_mode(transfer)
    known = _known_ids(butler, [ref for _, ref in items])
    todo = [(Path(path), ref) for path, ref in items if ref.id not in known]
    for run in {ref.run for _, ref in todo}:
        butler.registry.register_run(run)
    placed: list[tuple[Path, StoredFile]] = []
    try:
        with butler.registry.transaction():
            butler.registry.insert_datasets([ref for _, ref in todo])
            for path, ref in todo:
                placed.append((path, butler.datastore.ingest(path, ref, mode)))
            butler.registry.store_files([stored for _, stored in placed])
    except BaseException:
        for source, stored in placed:
            if mode == TransferMode.MOVE:
                butler.datastore.path(stored).replace(source)
            else:
                butler.datastore.remove(stored)
        raise
    return [ref for _, ref in todo]


def _known_ids(butler: Butler, refs: Sequence[DatasetRef]) -> set:
    ids = [ref.id for ref in refs]
    return set(butler.registry.get_files(ids))


def transfer_from(
    target: Butler, source: Butler, refs: Sequence[DatasetRef], transfer: str = TransferMode.COPY
) -> list[DatasetRef]:
    """Copy datasets (with their dataset types, dimension records and runs) from another
    repository, keeping their IDs; returns the refs that were new here. ``move`` is refused:
    the source repository would be left with rows pointing at missing files."""
    if transfer == TransferMode.MOVE:
        raise ValueError("transfer mode 'move' cannot be used between repositories; use copy")
    for dataset_type in {ref.dataset_type for ref in refs}:
        target.registry.register_dataset_type(dataset_type)
    _copy_records(target, source, refs)
    files = source.registry.get_files([ref.id for ref in refs])
    missing = [ref for ref in refs if ref.id not in files]
    if missing:
        raise DatasetNotFoundError(f"dataset {missing[0]} has no file in the source repository")
    items = [(source.datastore.path(files[ref.id]), ref) for ref in refs]
    return ingest(target, items, transfer)


def _copy_records(target: Butler, source: Butler, refs: Sequence[DatasetRef]) -> None:
    """Insert into ``target`` every dimension record the refs' data IDs need."""
    wanted: dict[str, dict[tuple, DimensionRecord]] = {}
    seen: set[str] = set()
    for ref in refs:
        key = ref.data_id.key()
        if key in seen:
            continue
        seen.add(key)
        expanded = source.registry.expand_data_id(ref.data_id)
        assert expanded.records is not None
        for name, record in expanded.records.items():
            wanted.setdefault(name, {})[tuple(record.data_id_values.values())] = record
    for name in target.universe.sorted(wanted):
        target.registry.insert_dimension_records(name, list(wanted[name].values()))
