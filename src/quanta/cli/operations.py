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
from quanta.core.collections import CollectionType
from quanta.core.dataset_type import DatasetType
from quanta.core.errors import CollectionNotFoundError, DatasetNotFoundError
from quanta.core.refs import DatasetRef
from quanta.core.timespan import Timespan, iso_from_tai_ns

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
    """Datasets of one type, sorted by data ID then run; with no collections every RUN
    collection is searched (so every dataset is listed once)."""
    dt = butler.registry.get_dataset_type(dataset_type)
    keys = list(dt.dimensions.required)
    columns = ["type", "run", "id", *keys, *(["uri"] if show_uri else [])]
    search = list(collections) or all_runs(butler)
    if not search:
        return Rows(columns)
    refs = butler.query_datasets(
        dt, search, where=where, binds=binds, find_first=find_first and bool(collections)
    )
    refs.sort(key=lambda ref: (ref.data_id.required_values, ref.run))
    refs = refs[:limit] if limit is not None else refs
    uris = _uris(butler, refs) if show_uri else {}
    return Rows(
        columns,
        [
            [dt.name, ref.run, ref.id, *ref.data_id.required_values]
            + ([uris.get(ref.id)] if show_uri else [])
            for ref in refs
        ],
    )


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
) -> tuple[int, int]:
    """Copy every dataset of the types in the source collections into the target repository
    (with their definitions, dimension records and runs); returns (found, new)."""
    refs: dict[uuid.UUID, DatasetRef] = {}
    for name in dataset_types:
        found = source.query_datasets(
            name, list(collections), where=where, binds=binds, find_first=False
        )
        refs.update((ref.id, ref) for ref in found)
    new = target.transfer_from(source, list(refs.values()), transfer)
    return len(refs), len(new)
