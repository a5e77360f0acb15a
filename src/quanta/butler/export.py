"""Exporting collections into a bundle (a directory or a ``.zip``) that ``import_bundle``
reads into another repository."""

from __future__ import annotations

import fnmatch
import os
import shutil
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..core.collections import CollectionRecord, CollectionType
from ..core.dataset_type import DatasetType
from ..core.errors import (
    BundleError,
    DatasetNotFoundError,
    DatasetTypeNotFoundError,
)
from ..core.progress import ProgressCallback, tracked
from ..core.records import DimensionRecord
from ..core.refs import DatasetRef
from ..core.stored_file import StoredFile
from ..core.suggest import did_you_mean
from .bundle import (
    EXTERNAL_DIR,
    FILES_DIR,
    MANIFEST_NAME,
    CertificationEntry,
    CollectionEntry,
    DatasetEntry,
    DatasetTypeEntry,
    FileEntry,
    Manifest,
)
from .transfers import needed_records

if TYPE_CHECKING:
    from .butler import Butler


@dataclass(frozen=True)
class ExportSummary:
    """What a bundle holds: collections, datasets and files (shared files once)."""

    collections: int
    datasets: int
    files: int


def export_bundle(
    butler: Butler,
    destination: str | Path,
    patterns: Sequence[str],
    dataset_types: Sequence[str] = (),
    progress: ProgressCallback | None = None,
) -> ExportSummary:
    """Write the collections matching ``patterns`` (globs; chains bring their children) to
    ``destination``, a new directory or, when it ends in ``.zip``, a zip file. Only datasets
    of types matching ``dataset_types`` (globs) go in when any are given. The bundle is
    written under a temporary name and renamed into place, so a failed export leaves
    nothing. ``progress`` hears of each file written."""
    destination = Path(destination)
    if destination.exists():
        raise BundleError(f"cannot export to {destination}: it already exists")
    records = butler.registry.reachable_collections(patterns)
    types = _dataset_types(butler, dataset_types)
    refs: dict[uuid.UUID, DatasetRef] = {}
    entries = [_collection_entry(butler, record, types, refs) for record in records]
    # The runs of datasets that are only tagged or certified are listed too.
    listed = {record.name for record in records}
    for run in sorted({ref.run for ref in refs.values()} - listed):
        record = butler.registry.get_collection(run)
        entries.append(CollectionEntry(name=run, type="RUN", doc=record.doc))
    files = butler.registry.get_files(list(refs))
    missing = [ref for ref in refs.values() if ref.id not in files]
    if missing:
        raise DatasetNotFoundError(f"dataset {missing[0]} has no file in {butler.root}")
    bundle_paths = {stored.path: _bundle_path(stored) for stored in files.values()}
    dimensions = needed_records(butler, list(refs.values()))
    manifest = Manifest(
        universe=f"{butler.universe.namespace}:{butler.universe.version}",
        dimension_records={
            name: [_record_json(r) for r in found] for name, found in dimensions.items()
        },
        dimension_joins=_join_rows(butler, dimensions),
        dataset_types=[
            DatasetTypeEntry(
                name=dt.name,
                dimensions=list(dt.dimensions.required),
                storage_class=dt.storage_class,
                is_calibration=dt.is_calibration,
            )
            for dt in sorted({ref.dataset_type for ref in refs.values()}, key=lambda t: t.name)
        ],
        collections=entries,
        files=[
            FileEntry(path=bundle_paths[s.path], checksum=s.checksum, size=s.size)
            for s in {s.path: s for s in files.values()}.values()
        ],
        datasets=[_dataset_entry(ref, files[ref.id], bundle_paths) for ref in refs.values()],
    )
    sources = {bundle_paths[s.path]: butler.datastore.path(s) for s in files.values()}
    _write(destination, manifest, sources, progress)
    return ExportSummary(len(entries), len(refs), len(sources))


def _dataset_types(butler: Butler, patterns: Sequence[str]) -> list[DatasetType]:
    """The registered dataset types matching any of the globs (all when none are given)."""
    every = butler.registry.query_dataset_types()
    if not patterns:
        return every
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(dt.name, pattern) for dt in every):
            hint = did_you_mean(pattern, [dt.name for dt in every])
            raise DatasetTypeNotFoundError(f"no dataset type matches {pattern!r}{hint}")
    return [dt for dt in every if any(fnmatch.fnmatchcase(dt.name, p) for p in patterns)]


def _collection_entry(
    butler: Butler,
    record: CollectionRecord,
    types: Sequence[DatasetType],
    refs: dict[uuid.UUID, DatasetRef],
) -> CollectionEntry:
    """The manifest entry of one collection; its datasets are added to ``refs``."""
    registry = butler.registry
    kind = record.type
    base: dict[str, Any] = {"name": record.name, "type": kind.name, "doc": record.doc}
    if kind == CollectionType.CHAINED:
        return CollectionEntry(**base, children=registry.get_collection_chain(record.name))
    if kind == CollectionType.CALIBRATION:
        certifications = []
        for dt in types:
            if not dt.is_calibration:
                continue
            found = registry.certifications(record.name, dt)
            for ref in registry.get_refs([dataset_id for dataset_id, _, _ in found]):
                refs[ref.id] = ref
            certifications += [
                CertificationEntry(dataset_id=i, begin=span.begin, end=span.end)
                for i, _, span in found
            ]
        return CollectionEntry(**base, certifications=certifications)
    members: list[uuid.UUID] = []
    for dt in types:
        for ref in registry.query_datasets(dt, [record.name], find_first=False):
            refs[ref.id] = ref
            members.append(ref.id)
    if kind == CollectionType.TAGGED:
        return CollectionEntry(**base, datasets=members)
    return CollectionEntry(**base)


def _join_rows(
    butler: Butler, records: dict[str, list[DimensionRecord]]
) -> dict[str, list[dict[str, Any]]]:
    """The rows of every join (group membership, visit definitions) between records that
    go in the bundle."""
    universe = butler.universe
    keys = {
        name: {tuple(r.data_id_values.values()) for r in found} for name, found in records.items()
    }
    joins: dict[str, list[dict[str, Any]]] = {}
    for join in universe.joins_within(records):
        first = min(join.dimensions, key=lambda name: len(keys[name]))
        rows = butler.registry.join_rows(join.name, first, sorted(keys[first]))
        kept = [
            row
            for row in rows
            if all(
                tuple(row[k] for k in (*universe[name].required, name)) in keys[name]
                for name in join.dimensions
            )
        ]
        if kept:
            joins[join.name] = kept
    return joins


def _bundle_path(stored: StoredFile) -> str:
    """Where a file goes in the bundle: a repository file under its own relative path, a
    file outside the repository (``direct`` ingest) under its checksum and name."""
    if stored.is_external:
        return f"{EXTERNAL_DIR}/{stored.checksum[:32]}/{PurePosixPath(stored.path).name}"
    return f"{FILES_DIR}/{stored.path}"


def _dataset_entry(ref: DatasetRef, stored: StoredFile, paths: dict[str, str]) -> DatasetEntry:
    """A dataset's manifest entry: its data ID as required values and free-form keys."""
    data_id = ref.data_id
    return DatasetEntry(
        id=ref.id,
        dataset_type=ref.dataset_type.name,
        run=ref.run,
        data_id=dict(zip(data_id.group.required, data_id.required_values, strict=True)),
        extras=data_id.extras,
        file=paths[stored.path],
        hdu=stored.hdu,
    )


def _record_json(record: DimensionRecord) -> dict[str, Any]:
    """A record's values as JSON: a timespan as ``[begin, end]`` (TAI ns)."""
    values = dict(record.values)
    span = values.get("timespan")
    if span is not None:
        values["timespan"] = [span.begin, span.end]
    return values


def _write(
    destination: Path,
    manifest: Manifest,
    sources: dict[str, Path],
    progress: ProgressCallback | None,
) -> None:
    """Write the bundle under a temporary name beside ``destination``, then rename it."""
    files = tracked(sources.items(), progress, "writing files", len(sources))
    tmp = destination.with_name(f".{destination.name}.tmp-{uuid.uuid4().hex}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        if destination.suffix == ".zip":
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
                archive.writestr(MANIFEST_NAME, manifest.model_dump_json())
                for name, source in files:
                    archive.write(source, name)
        else:
            tmp.mkdir(parents=True)
            (tmp / MANIFEST_NAME).write_text(manifest.model_dump_json())
            made: set[Path] = set()
            for name, source in files:
                target = tmp / name
                if target.parent not in made:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    made.add(target.parent)
                shutil.copyfile(source, target)
        os.replace(tmp, destination)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise
