"""The plain functions behind the commands: each takes a Butler and returns data to print.

Only the command functions import this module, so ``import quanta.cli.main``
never loads the Butler, SQLAlchemy or NumPy.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from quanta.butler import Butler
from quanta.butler.collection_copy import CollectionPlan, apply_collections, plan_collections
from quanta.core.collections import CollectionType
from quanta.core.dataset_type import DatasetType
from quanta.core.errors import CollectionNotFoundError, DatasetNotFoundError
from quanta.core.progress import ProgressCallback
from quanta.core.refs import DatasetRef
from quanta.core.timespan import Timespan, iso_from_tai_ns, utc_iso_from_tai_ns

from .output import Rows
from .params import CHAIN_MODES


def open_butler(repo: str | Path) -> Butler:
    """An existing repository; a ``with`` block closes its database connections after."""
    return Butler(repo)


def all_runs(butler: Butler) -> list[str]:
    """Names of every RUN collection: between them they hold every dataset exactly once."""
    return [r.name for r in butler.registry.query_collections(types=[CollectionType.RUN])]


# -- collections and dataset types -----------------------------------------------------------


def collection_rows(butler: Butler, pattern: str | None, types: Sequence[str], chains: str) -> Rows:
    """Collections matching a glob and types; ``children`` of a CHAINED collection are its
    direct children (``chains="tree"``) or its whole flattened search path (``"flat"``)."""
    parsed = [CollectionType.parse(t) for t in types]
    rows: list[Sequence[Any]] = []
    for record in butler.registry.query_collections(pattern, parsed or None):
        children: list[str] = []
        if record.type == CollectionType.CHAINED:
            if chains == "flat":
                children = [c.name for c in butler.registry.flatten_collections([record.name])]
            else:
                children = butler.get_collection_chain(record.name)
        rows.append([record.name, record.type, children])
    return Rows(["name", "type", "children"], rows)


def dataset_type_rows(butler: Butler, pattern: str | None) -> Rows:
    """Registered dataset types whose names match a glob."""
    return Rows(
        ["name", "dimensions", "storage_class", "is_calibration"],
        [
            [dt.name, list(dt.dimensions.required), dt.storage_class, dt.is_calibration]
            for dt in butler.registry.query_dataset_types(pattern)
        ],
    )


def register_dataset_type(
    butler: Butler, name: str, storage_class: str, dimensions: Sequence[str], calibration: bool
) -> tuple[str, bool]:
    """Register a dataset type; returns its description and whether it was new."""
    dataset_type = DatasetType(name, butler.universe.group(dimensions), storage_class, calibration)
    new = butler.registry.register_dataset_type(dataset_type)
    return dataset_type.describe(), new


def chain_collections(butler: Butler, parent: str, children: Sequence[str], mode: str) -> list[str]:
    """Set, prepend to, extend or remove from a CHAINED collection; returns the new chain.

    ``redefine`` creates the chain if needed; the other modes need an existing one. A child
    that is prepended or appended moves there if it already was in the chain.
    """
    if mode not in CHAIN_MODES:
        raise ValueError(f"unknown chain mode {mode!r}; valid: {', '.join(CHAIN_MODES)}")
    if mode == "redefine":
        new = list(dict.fromkeys(children))
    else:
        current = butler.get_collection_chain(parent)
        absent = [c for c in children if c not in current]
        if mode == "remove" and absent:
            raise CollectionNotFoundError(
                f"{', '.join(map(repr, absent))} not in chained collection {parent!r}; "
                f"its children: {', '.join(current) or 'none'}"
            )
        kept = [c for c in current if c not in children]
        added = list(dict.fromkeys(children))
        new = {"remove": kept, "prepend": added + kept, "extend": kept + added}[mode]
    butler.set_collection_chain(parent, new)
    return butler.get_collection_chain(parent)


# -- datasets, data IDs and dimension records ------------------------------------------------


def dataset_rows(
    butler: Butler,
    dataset_type: str,
    collections: Sequence[str],
    *,
    where: str | None = None,
    binds: Mapping[str, Any] | None = None,
    find_first: bool = True,
    limit: int | None = None,
    show_uri: bool = False,
) -> Rows:
    """Datasets of one type, sorted by data ID then run, with a column for each free-form
    key their data IDs carry (``pair``); with no collections every RUN collection is
    searched (so every dataset is listed once)."""
    dt = butler.registry.get_dataset_type(dataset_type)
    keys = list(dt.dimensions.required)
    columns = ["type", "run", "id", *keys, *(["uri"] if show_uri else [])]
    search = list(collections) or all_runs(butler)
    if not search:
        return Rows(columns)
    refs = butler.query_datasets(
        dt, search, where=where, binds=binds, find_first=find_first and bool(collections)
    )
    refs.sort(
        key=lambda ref: (ref.data_id.required_values, ref.run, sorted(ref.data_id.extras.items()))
    )
    refs = refs[:limit] if limit is not None else refs
    uris = _uris(butler, refs) if show_uri else {}
    extras = sorted({key for ref in refs for key in ref.data_id.extras})
    columns[3 + len(keys) : 3 + len(keys)] = extras
    return Rows(
        columns,
        [
            [dt.name, ref.run, ref.id, *ref.data_id.required_values]
            + [ref.data_id.extras.get(key) for key in extras]
            + ([uris.get(ref.id)] if show_uri else [])
            for ref in refs
        ],
    )


def validity_rows(
    butler: Butler,
    dataset_type: str,
    collections: Sequence[str],
    *,
    where: str | None = None,
    binds: Mapping[str, Any] | None = None,
) -> Rows:
    """One row per certification of a dataset type in the CALIBRATION collections the
    search reaches (every one when none are given), with its validity in UTC and TAI."""
    dt = butler.registry.get_dataset_type(dataset_type)
    keys = list(dt.dimensions.required)
    columns = ["type", "collection", "run", "id", *keys, "valid_from_utc", "valid_to_utc"]
    columns += ["valid_from_tai", "valid_to_tai"]
    if collections:
        records = butler.registry.flatten_collections(collections)
    else:
        records = butler.registry.query_collections(types=[CollectionType.CALIBRATION])
    rows = []
    for record in records:
        if record.type != CollectionType.CALIBRATION:
            continue
        certified = butler.registry.certifications(record.name, dt)
        if where:
            matching = butler.query_datasets(
                dt, [record.name], where=where, binds=binds, find_first=False
            )
            wanted = {ref.id for ref in matching}
            certified = [c for c in certified if c[0] in wanted]
        refs = {ref.id: ref for ref in butler.registry.get_refs([c[0] for c in certified])}
        for dataset_id, _, span in certified:
            ref = refs[dataset_id]
            ends = [_utc(span.begin, "-inf"), _utc(span.end, "+inf")]
            ends += [_tai(span.begin, "-inf"), _tai(span.end, "+inf")]
            rows.append(
                [dt.name, record.name, ref.run, dataset_id, *ref.data_id.required_values, *ends]
            )
    return Rows(columns, rows)


def _utc(ns: int | None, unbounded: str) -> str:
    return unbounded if ns is None else utc_iso_from_tai_ns(ns)


def _tai(ns: int | None, unbounded: str) -> str:
    return unbounded if ns is None else iso_from_tai_ns(ns)


def _uris(butler: Butler, refs: Sequence[DatasetRef]) -> dict[uuid.UUID, str]:
    """File URIs of the refs that have a file, looked up in bulk."""
    files = butler.registry.get_files([ref.id for ref in refs])
    return {dataset_id: butler.datastore.uri(stored) for dataset_id, stored in files.items()}


def data_id_rows(
    butler: Butler,
    dimensions: Sequence[str],
    *,
    datasets: Sequence[str] = (),
    collections: Sequence[str] = (),
    where: str | None = None,
    binds: Mapping[str, Any] | None = None,
) -> Rows:
    """Distinct data IDs over ``dimensions``; with ``datasets``, only those having datasets of
    those types in the collections (every RUN collection when none are given)."""
    group = butler.universe.group(dimensions)
    columns = list(group.required)
    search = list(collections) or (all_runs(butler) if datasets else [])
    if datasets and not search:
        return Rows(columns)
    data_ids = butler.query_data_ids(
        dimensions, datasets=datasets, collections=search, where=where, binds=binds
    )
    return Rows(columns, [list(d.required_values) for d in data_ids])


def record_rows(
    butler: Butler,
    element: str,
    *,
    where: str | None = None,
    binds: Mapping[str, Any] | None = None,
) -> Rows:
    """Records of one dimension; a timespan becomes ``timespan_begin`` and ``timespan_end``
    (TAI ISO strings, empty when unbounded)."""
    dimension = butler.universe[element]
    fields = [f for f in dimension.field_names if f != "timespan"]
    spans = ["timespan_begin", "timespan_end"] if dimension.has_timespan else []
    rows = []
    for record in butler.query_dimension_records(element, where=where, binds=binds):
        row = [record.values[f] for f in fields]
        if spans:
            span: Timespan | None = record.values["timespan"]
            row += [_iso(span.begin if span else None), _iso(span.end if span else None)]
        rows.append(row)
    return Rows(fields + spans, rows)


def _iso(ns: int | None) -> str | None:
    return None if ns is None else iso_from_tai_ns(ns)


# -- calibrations --------------------------------------------------------------------------


def certify(
    butler: Butler,
    input_collection: str,
    output_collection: str,
    dataset_type: str,
    timespan: Timespan,
    *,
    where: str | None = None,
    binds: Mapping[str, Any] | None = None,
) -> int:
    """Certify every dataset of a type found in the input collection (first per data ID)
    into a CALIBRATION collection; returns how many. Finding none is an error."""
    refs = butler.query_datasets(dataset_type, [input_collection], where=where, binds=binds)
    if not refs:
        constraint = f" matching {where!r}" if where else ""
        raise DatasetNotFoundError(
            f"no {dataset_type} datasets{constraint} in collection {input_collection!r} to certify"
        )
    butler.certify(output_collection, refs, timespan)
    return len(refs)


# -- maintenance ---------------------------------------------------------------------------


def match_runs(butler: Butler, patterns: Sequence[str]) -> list[str]:
    """RUN collections matching any of the globs; a glob that matches none is an error."""
    names: dict[str, None] = {}
    for pattern in patterns:
        found = butler.registry.query_collections(pattern, [CollectionType.RUN])
        if not found:
            raise CollectionNotFoundError(f"no RUN collection matches {pattern!r}")
        names.update((r.name, None) for r in found)
    return list(names)


def match_collections(butler: Butler, patterns: Sequence[str]) -> list[str]:
    """Collections of any type matching any of the globs; a glob that matches none is an
    error."""
    names: dict[str, None] = {}
    for pattern in patterns:
        found = butler.registry.query_collections(pattern)
        if not found:
            raise CollectionNotFoundError(f"no collection matches {pattern!r}")
        names.update((r.name, None) for r in found)
    return list(names)


def transfer_datasets(
    source: Butler,
    target: Butler,
    dataset_types: Sequence[str],
    collections: Sequence[str],
    *,
    where: str | None = None,
    binds: Mapping[str, Any] | None = None,
    transfer: str = "copy",
    find_first: bool = False,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
) -> tuple[int, int, CollectionPlan]:
    """Copy every dataset of the types in the source collections (only the first found per
    data ID with ``find_first``) into the target repository, with their definitions,
    dimension records and runs, and recreate the chains, tags and certifications the
    collections reach for them; returns (found, new, what was recreated). ``dry_run``
    checks and counts but writes nothing; ``progress`` hears of each file copied."""
    refs: dict[uuid.UUID, DatasetRef] = {}
    types = [source.registry.get_dataset_type(name) for name in dataset_types]
    for dt in types:
        found = source.query_datasets(
            dt, list(collections), where=where, binds=binds, find_first=find_first
        )
        refs.update((ref.id, ref) for ref in found)
    plan = plan_collections(source, target, collections, types, list(refs.values()))
    if dry_run:
        known = target.registry.get_files(list(refs))
        return len(refs), len(refs) - len(known), plan
    new = target.transfer_from(source, list(refs.values()), transfer, progress)
    apply_collections(target, plan)
    return len(refs), len(new), plan
