"""Importing a bundle written by ``export_bundle``: checked whole before anything is written,
then written in one registry transaction, so that a refused bundle leaves nothing behind and
importing a bundle twice adds nothing the second time."""

from __future__ import annotations

import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.collections import CollectionType, check_collection_name
from ..core.data_id import DataCoordinate
from ..core.dataset_type import DatasetType
from ..core.errors import BundleError, ConflictError, QuantaError
from ..core.progress import ProgressCallback, tracked
from ..core.records import DimensionRecord
from ..core.refs import DatasetRef
from ..core.stored_file import StoredFile
from ..core.timespan import Timespan
from ..core.transfer import BETWEEN_REPOSITORIES, TransferMode, transfer_mode
from ..datastore.datastore import checksum
from .bundle import MANIFEST_NAME, CollectionEntry, Manifest, parse_manifest
from .certifications import new_certifications
from .transfers import IngestItem, ingest

if TYPE_CHECKING:
    from .butler import Butler


@dataclass(frozen=True)
class ImportSummary:
    """What an import added: datasets (and how many were already there), collections and
    certifications."""

    datasets: int
    already_present: int
    collections: int
    certifications: int


@dataclass
class _Plan:
    """Everything checked and ready to write."""

    dataset_types: list[DatasetType]
    records: dict[str, list[DimensionRecord]]
    joins: dict[str, list[dict[str, Any]]]
    collections: list[CollectionEntry]
    refs: dict[uuid.UUID, DatasetRef]
    items: list[IngestItem]
    certifications: dict[tuple[str, Timespan], list[DatasetRef]] = field(default_factory=dict)


def import_bundle(
    butler: Butler,
    source: str | Path,
    transfer: str = "copy",
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Import the bundle at ``source`` (a directory or a ``.zip``); files come in by
    ``transfer`` (``copy``, ``link`` or ``symlink``; a zip's files are always copied out
    of it). Malformed bundles raise ``BundleError``, conflicts with what the repository
    holds ``ConflictError``, before anything is written. ``progress`` hears of each file
    extracted, checked and placed."""
    mode = transfer_mode(transfer, BundleError)
    if mode not in BETWEEN_REPOSITORIES:
        valid = ", ".join(BETWEEN_REPOSITORIES)
        raise BundleError(f"transfer mode {transfer!r} cannot import a bundle; use {valid}")
    source = Path(source)
    with _local_files(butler, source, mode, progress) as (manifest, root, mode):
        plan = _plan(butler, manifest, root, progress)
        return _write(butler, plan, mode, progress)


@contextmanager
def _local_files(
    butler: Butler, source: Path, mode: TransferMode, progress: ProgressCallback | None
) -> Iterator[tuple[Manifest, Path, TransferMode]]:
    """The manifest, a directory holding the bundle's files and the mode to bring them in:
    a directory bundle as it is; a zip extracted into a temporary directory inside the
    repository (on its file system; dot names are no dataset's), whose files are moved."""
    if source.is_dir():
        manifest_path = source / MANIFEST_NAME
        if not manifest_path.is_file():
            raise BundleError(f"{source} is not a bundle: it has no {MANIFEST_NAME}")
        yield parse_manifest(manifest_path.read_bytes(), str(manifest_path)), source, mode
        return
    if not zipfile.is_zipfile(source):
        raise BundleError(f"{source} is not a bundle: neither a directory nor a zip file")
    if mode == TransferMode.SYMLINK:
        raise BundleError(f"cannot symlink files out of the zip file {source}; use copy")
    with zipfile.ZipFile(source) as archive:
        try:
            text = archive.read(MANIFEST_NAME)
        except KeyError:
            raise BundleError(f"{source} is not a bundle: it has no {MANIFEST_NAME}") from None
        manifest = parse_manifest(text, f"{source}:{MANIFEST_NAME}")
        names = set(archive.namelist())
        tmp = Path(tempfile.mkdtemp(prefix=".import-", dir=butler.root))
        try:
            entries = tracked(manifest.files, progress, "extracting files", len(manifest.files))
            for index, entry in enumerate(entries):
                if entry.path not in names:
                    raise BundleError(
                        f"{source}: files[{index}] {entry.path}: missing from the bundle"
                    )
                archive.extract(entry.path, tmp)
            yield manifest, tmp, TransferMode.MOVE
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _plan(
    butler: Butler, manifest: Manifest, root: Path, progress: ProgressCallback | None
) -> _Plan:
    """Check the manifest, the files and the repository; nothing is written here."""
    universe = butler.universe
    expected = f"{universe.namespace}:{universe.version}"
    if manifest.universe != expected:
        raise BundleError(
            f"the bundle's dimension universe is {manifest.universe}, this repository's {expected}"
        )
    types = _dataset_types(butler, manifest)
    files = _check_files(manifest, root, progress)
    refs: dict[uuid.UUID, DatasetRef] = {}
    items: list[IngestItem] = []
    for index, entry in enumerate(manifest.datasets):
        where = f"datasets[{index}] {entry.id}"
        dataset_type = types.get(entry.dataset_type)
        if dataset_type is None:
            raise BundleError(f"{where}: unknown dataset type {entry.dataset_type!r}")
        if entry.file not in files:
            raise BundleError(f"{where}: file {entry.file} is not listed in files")
        if entry.id in refs:
            raise BundleError(f"{where}: a second dataset with this ID")
        try:
            check_collection_name(entry.run)
            data_id = DataCoordinate.standardize(
                entry.data_id, dataset_type.dimensions, extras=entry.extras
            )
        except QuantaError as err:
            raise BundleError(f"{where}: {err}") from None
        ref = DatasetRef(entry.id, dataset_type, data_id, entry.run)
        refs[ref.id] = ref
        items.append((files[entry.file], ref, entry.hdu))
    unknown = [name for name in manifest.dimension_joins if name not in universe.joins]
    if unknown:
        raise BundleError(f"dimension_joins.{unknown[0]}: no such join in this repository")
    plan = _Plan(
        list(types.values()),
        _records(butler, manifest),
        dict(manifest.dimension_joins),
        [],
        refs,
        items,
    )
    _check_collections(butler, manifest, plan)
    _check_existing(butler, manifest, refs)
    return plan


def _dataset_types(butler: Butler, manifest: Manifest) -> dict[str, DatasetType]:
    """The bundle's dataset types by name; one defined otherwise here is a conflict."""
    known = {dt.name: dt for dt in butler.registry.query_dataset_types()}
    types: dict[str, DatasetType] = {}
    for index, entry in enumerate(manifest.dataset_types):
        try:
            dataset_type = DatasetType(
                entry.name,
                butler.universe.group(entry.dimensions),
                entry.storage_class,
                entry.is_calibration,
            )
        except QuantaError as err:
            raise BundleError(f"dataset_types[{index}] {entry.name}: {err}") from None
        existing = known.get(entry.name)
        if existing is not None and existing.differences(dataset_type):
            raise ConflictError(
                f"dataset type {entry.name!r} is {existing.describe()} in {butler.root}, "
                f"{dataset_type.describe()} in the bundle"
            )
        types[entry.name] = dataset_type
    return types


def _check_files(
    manifest: Manifest, root: Path, progress: ProgressCallback | None
) -> dict[str, Path]:
    """Each listed file, present with the size and checksum the manifest gives."""
    files: dict[str, Path] = {}
    entries = tracked(manifest.files, progress, "checking files", len(manifest.files))
    for index, entry in enumerate(entries):
        where = f"files[{index}] {entry.path}"
        path = root.joinpath(*entry.path.split("/"))
        if not path.is_file():
            raise BundleError(f"{where}: missing from the bundle")
        if path.stat().st_size != entry.size or checksum(path) != entry.checksum:
            raise BundleError(f"{where}: its size or checksum differs from the manifest's")
        files[entry.path] = path
    return files


def _records(butler: Butler, manifest: Manifest) -> dict[str, list[DimensionRecord]]:
    """The bundle's dimension records, validated, in universe (insertion) order."""
    records: dict[str, list[DimensionRecord]] = {}
    for element, rows in manifest.dimension_records.items():
        for index, values in enumerate(rows):
            try:
                record = DimensionRecord.from_mapping(butler.universe, element, values)
            except QuantaError as err:
                raise BundleError(f"dimension_records.{element}[{index}]: {err}") from None
            records.setdefault(element, []).append(record)
    return {name: records[name] for name in butler.universe.sorted(records)}


def _check_collections(butler: Butler, manifest: Manifest, plan: _Plan) -> None:
    """Collections of the bundle against each other and against the repository's."""
    registry = butler.registry
    kinds: dict[str, CollectionType] = {}
    for index, entry in enumerate(manifest.collections):
        where = f"collections[{index}] {entry.name}"
        try:
            check_collection_name(entry.name)
        except QuantaError as err:
            raise BundleError(f"{where}: {err}") from None
        if entry.name in kinds:
            raise BundleError(f"{where}: a second collection of this name")
        kinds[entry.name] = CollectionType[entry.type]
        for dataset_id in [*entry.datasets, *(c.dataset_id for c in entry.certifications)]:
            if dataset_id not in plan.refs:
                raise BundleError(f"{where}: dataset {dataset_id} is not in the bundle")
        for cert in entry.certifications:
            ref = plan.refs[cert.dataset_id]
            if not ref.dataset_type.is_calibration:
                raise BundleError(f"{where}: {ref} is not of a calibration dataset type")
            try:
                span = Timespan(cert.begin, cert.end)
            except QuantaError as err:
                raise BundleError(f"{where}: certification of {cert.dataset_id}: {err}") from None
            plan.certifications.setdefault((entry.name, span), []).append(ref)
    for ref in plan.refs.values():
        if kinds.setdefault(ref.run, CollectionType.RUN) != CollectionType.RUN:
            raise BundleError(f"collection {ref.run!r} holds datasets as a run but is not one")
    for index, entry in enumerate(manifest.collections):
        for child in entry.children:
            if child not in kinds and registry.find_collection(child) is None:
                raise BundleError(
                    f"collections[{index}] {entry.name}: child {child!r} is neither in the "
                    f"bundle nor in {butler.root}"
                )
    for name, kind in kinds.items():
        existing = registry.find_collection(name)
        if existing is not None and existing.type != kind:
            raise ConflictError(
                f"collection {name!r} is {existing.type.name} in {butler.root}, "
                f"{kind.name} in the bundle"
            )
    for entry in manifest.collections:
        if entry.type == "CHAINED" and registry.find_collection(entry.name) is not None:
            current = registry.get_collection_chain(entry.name)
            if current != entry.children:
                raise ConflictError(
                    f"chained collection {entry.name!r} searches {current} in {butler.root}, "
                    f"{entry.children} in the bundle"
                )
    plan.collections = list(manifest.collections)
    _check_certifications(butler, plan)


def _check_certifications(butler: Butler, plan: _Plan) -> None:
    """Drop certifications the repository already has; refuse ones that overlap another
    dataset's validity for the same data ID there."""
    wanted = [
        (collection, ref, span)
        for (collection, span), refs in plan.certifications.items()
        for ref in refs
    ]
    kept: dict[tuple[str, Timespan], list[DatasetRef]] = {key: [] for key in plan.certifications}
    for collection, ref, span in new_certifications(butler, wanted, "the bundle"):
        kept[(collection, span)].append(ref)
    plan.certifications = kept


def _check_existing(butler: Butler, manifest: Manifest, refs: dict[uuid.UUID, DatasetRef]) -> None:
    """Datasets the repository already has must be the same datasets with the same bytes."""
    registry = butler.registry
    stored = registry.get_files(list(refs))
    if not stored:
        return
    sums = {entry.path: entry.checksum for entry in manifest.files}
    wanted = {entry.id: sums[entry.file] for entry in manifest.datasets}
    for dataset_id, present in stored.items():
        if present.checksum != wanted[dataset_id]:
            raise ConflictError(
                f"dataset {refs[dataset_id]} is already in {butler.root} with other content "
                f"(checksum {present.checksum[:12]}..., the bundle's {wanted[dataset_id][:12]}...)"
            )
    for ref in registry.get_refs(list(stored)):
        mine = refs[ref.id]
        if (ref.run, ref.dataset_type.name, ref.data_id.key()) != (
            mine.run,
            mine.dataset_type.name,
            mine.data_id.key(),
        ):
            raise ConflictError(
                f"dataset {mine.id} is {ref} in {butler.root}, {mine} in the bundle"
            )


def _write(
    butler: Butler, plan: _Plan, mode: TransferMode, progress: ProgressCallback | None
) -> ImportSummary:
    """Write the plan in one transaction; files placed for it go again if it fails."""
    registry = butler.registry
    placed: list[StoredFile] = []
    new_collections = 0
    try:
        with registry.transaction():
            for dataset_type in plan.dataset_types:
                registry.register_dataset_type(dataset_type)
            for element, records in plan.records.items():
                registry.insert_dimension_records(element, records)
            for join, rows in plan.joins.items():
                registry.insert_join_rows(join, rows)
            for entry in plan.collections:
                kind = CollectionType[entry.type]
                new_collections += registry.register_collection(entry.name, kind, entry.doc)
            new = ingest(butler, plan.items, mode, progress)
            placed = list(registry.get_files([ref.id for ref in new]).values())
            for entry in plan.collections:
                if entry.type == "TAGGED":
                    registry.associate(entry.name, [plan.refs[i] for i in entry.datasets])
                elif entry.type == "CHAINED":
                    registry.set_collection_chain(entry.name, entry.children)
            for (collection, span), refs in plan.certifications.items():
                if refs:
                    registry.certify(collection, refs, span)
    except BaseException:
        _remove_unused(butler, placed)
        raise
    certified = sum(len(refs) for refs in plan.certifications.values())
    return ImportSummary(len(new), len(plan.refs) - len(new), new_collections, certified)


def _remove_unused(butler: Butler, placed: Sequence[StoredFile]) -> None:
    """Delete the files an import placed that no dataset uses after its rollback."""
    by_path = {stored.path: stored for stored in placed}
    in_use = butler.registry.paths_in_use(by_path)
    for path, stored in by_path.items():
        if path not in in_use:
            butler.datastore.remove(stored)
