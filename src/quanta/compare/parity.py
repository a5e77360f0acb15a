"""Run-against-run parity: every dataset of two collections, type by type, pair by pair.

For each dataset type the datasets of both collections are matched by canonical data ID
(free-form keys such as ``pair=1001+1002`` included); unmatched data IDs are reported,
matched pairs are compared one pair at a time, so memory holds at most one pair of
datasets whatever the collections' size: images stream through in chunks of rows read
from both files in lockstep (each file opened and read once), anything else is read
whole (A, then B), compared and let go. A file
that cannot be read, a pair that cannot be compared as asked, a dataset type that is not
registered or has different storage classes on the two sides becomes an error row and
the rest still runs; a collection that does not exist, or a ``where`` that does not
parse, is a user error raised at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from quanta.core.collections import CollectionType
from quanta.core.errors import (
    CollectionNotFoundError,
    DatasetNotFoundError,
    DatasetTypeNotFoundError,
    QuantaError,
)
from quanta.core.progress import ProgressCallback, tracked

from .arrays import compare_image_chunks
from .datasets import compare_objects
from .errors import CompareError
from .options import CompareOptions
from .report import CompareReport, DatasetComparison, DatasetTypeSummary, Detail

if TYPE_CHECKING:
    from quanta.butler import Butler
    from quanta.core.dataset_type import DatasetType
    from quanta.core.image import Image
    from quanta.core.refs import DatasetRef

_log = logging.getLogger(__name__)
#: Rows of an ``Image`` read at a time: 8 MB per plane at 4,000 float32 columns, so
#: that the two images' chunks take ~50 MB rather than the whole pair's ~400 MB, yet are
#: large enough to be mapped like whole images (smaller buffers cost more page faults
#: than the comparison itself; see benchmarks/README.md).
IMAGE_ROWS = 512


class _Unreadable(Exception):
    """A dataset's file that cannot be read; its message names the side."""


@dataclass(frozen=True)
class _Side:
    """One side of the comparison: a repository and a collection in it."""

    label: str
    butler: Butler
    collection: str

    def check(self) -> None:
        """Fail with a user error unless the collection exists."""
        if self.butler.registry.find_collection(self.collection) is None:
            raise CollectionNotFoundError(
                f"collection {self.collection!r} does not exist in repository {self.label} "
                f"({self.butler.root})"
            )

    def output_run(self) -> str | None:
        """The run of an output chain (a CHAINED collection whose first child is a RUN),
        whose other children hold the run's inputs; None for any other collection."""
        registry = self.butler.registry
        if registry.get_collection(self.collection).type != CollectionType.CHAINED:
            return None
        chain = registry.get_collection_chain(self.collection)
        if chain and registry.get_collection(chain[0]).type == CollectionType.RUN:
            return chain[0]
        return None

    def dataset_type(self, name: str) -> DatasetType | None:
        """The definition of dataset type ``name`` in this repository, if registered."""
        try:
            return self.butler.registry.get_dataset_type(name)
        except DatasetTypeNotFoundError:
            return None

    def refs(
        self, dataset_type: DatasetType, where: str | None, binds: Mapping[str, Any] | None
    ) -> dict[str, DatasetRef]:
        """The datasets of one type by canonical data ID (the first found per data ID)."""
        found: dict[str, DatasetRef] = {}
        refs = self.butler.query_datasets(dataset_type, [self.collection], where=where, binds=binds)
        for ref in refs:
            found.setdefault(ref.data_id.key(), ref)
        return found

    def read(self, ref: DatasetRef) -> object:
        """The whole dataset."""
        try:
            return self.butler.get(ref)
        except (QuantaError, OSError) as err:
            raise _Unreadable(f"cannot read {self.label}: {err}") from err

    def image_rows(self, ref: DatasetRef) -> Iterator[Image]:
        """An ``Image`` dataset as consecutive chunks of ``IMAGE_ROWS`` rows, its file
        opened once when the first chunk is asked for."""
        from quanta.butler.quantum_io import DeferredFile

        try:
            stored = self.butler.registry.get_files([ref.id]).get(ref.id)
            if stored is None:
                raise DatasetNotFoundError(f"dataset {ref} has no file in this repository")
            yield from DeferredFile(self.butler.datastore, ref, stored).iter_rows(IMAGE_ROWS)
        except (QuantaError, OSError) as err:
            raise _Unreadable(f"cannot read {self.label}: {err}") from err

    def present_types(self, where: str | None, binds: Mapping[str, Any] | None) -> set[str]:
        """Names of the dataset types with at least one dataset in the collection."""
        return {
            dt.name
            for dt in self.butler.registry.query_dataset_types()
            if self.butler.query_datasets(dt, [self.collection], where=where, binds=binds)
        }


def compare_collections(
    butler_a: Butler,
    collection_a: str,
    butler_b: Butler,
    collection_b: str,
    dataset_types: Sequence[str] | None = None,
    where: str | None = None,
    options: CompareOptions | None = None,
    *,
    binds: Mapping[str, Any] | None = None,
    progress: ProgressCallback | None = None,
) -> CompareReport:
    """Compare the datasets of ``collection_a`` (in ``butler_a``) with those of
    ``collection_b`` (in ``butler_b``, which may be the same repository).

    ``dataset_types`` names the types to compare; by default every type with datasets in
    either collection, except those matching ``options.skip_types`` (logs and metadata,
    which hold timings), listed in ``CompareReport.skipped_types``. ``where`` and
    ``binds`` constrain the datasets on both sides. ``progress`` hears of each pair of
    datasets compared, one step per dataset type.
    """
    options = options if options is not None else CompareOptions()
    sides = (_Side("A", butler_a, collection_a), _Side("B", butler_b, collection_b))
    for side in sides:
        side.check()
    report = CompareReport(
        repo_a=str(butler_a.root),
        collection_a=collection_a,
        repo_b=str(butler_b.root),
        collection_b=collection_b,
        where=where,
        options=options,
    )
    if dataset_types:
        names = list(dict.fromkeys(dataset_types))
    else:
        present = sorted(set().union(*(side.present_types(where, binds) for side in sides)))
        names = [n for n in present if not options.skips(n)]
        report.skipped_types = [n for n in present if options.skips(n)]
    runs = (sides[0].output_run(), sides[1].output_run())
    for name in names:
        _log.info("comparing %s", name)
        summary = _compare_type(name, sides, runs, where, binds, options, progress)
        report.dataset_types.append(summary)
    return report


def _compare_type(
    name: str,
    sides: tuple[_Side, _Side],
    runs: tuple[str | None, str | None],
    where: str | None,
    binds: Mapping[str, Any] | None,
    options: CompareOptions,
    progress: ProgressCallback | None,
) -> DatasetTypeSummary:
    """The inventory and the pair-by-pair comparison of one dataset type; ``runs`` are the
    output runs of sides that are output chains (datasets elsewhere are inputs)."""
    side_a, side_b = sides
    type_a, type_b = side_a.dataset_type(name), side_b.dataset_type(name)
    summary = DatasetTypeSummary(
        name=name,
        storage_class_a=type_a.storage_class if type_a else None,
        storage_class_b=type_b.storage_class if type_b else None,
    )
    if type_a is None and type_b is None:
        one_repo = side_a.butler.root == side_b.butler.root
        repos = "the repository" if one_repo else "either repository"
        summary.message = f"dataset type {name!r} is not registered in {repos}"
        return summary
    refs_a = side_a.refs(type_a, where, binds) if type_a else {}
    refs_b = side_b.refs(type_b, where, binds) if type_b else {}
    summary.n_a, summary.n_b = len(refs_a), len(refs_b)
    inputs_a, inputs_b = _inputs(refs_a, runs[0]), _inputs(refs_b, runs[1])
    summary.n_inputs_a, summary.n_inputs_b = len(inputs_a), len(inputs_b)
    only_a, only_b = refs_a.keys() - refs_b.keys(), refs_b.keys() - refs_a.keys()
    summary.only_in_a = _sorted_keys(refs_a, only_a - inputs_a)
    summary.only_in_b = _sorted_keys(refs_b, only_b - inputs_b)
    summary.inputs_only_in_a = _sorted_keys(refs_a, only_a & inputs_a)
    summary.inputs_only_in_b = _sorted_keys(refs_b, only_b & inputs_b)
    if type_a is not None and type_b is not None and type_a.storage_class != type_b.storage_class:
        summary.message = (
            f"dataset type {name!r} has storage class {type_a.storage_class} in A and "
            f"{type_b.storage_class} in B; its datasets are not compared"
        )
        return summary
    keys = _sorted_keys(refs_a, refs_a.keys() & refs_b.keys())
    for key in tracked(keys, progress, f"comparing {name}", len(keys)):
        comparison = _compare_pair(key, refs_a[key], refs_b[key], sides, options)
        if comparison.status == "identical":
            summary.n_identical += 1
            continue
        if comparison.status == "within_tolerance":
            summary.n_within_tolerance += 1
        elif comparison.status == "error":
            summary.n_error += 1
        else:
            summary.n_different += 1
        summary.datasets.append(comparison)
    return summary


def _inputs(refs: Mapping[str, DatasetRef], output_run: str | None) -> set[str]:
    """Keys of the datasets an output chain found outside its run: the run's inputs."""
    if output_run is None:
        return set()
    return {key for key, ref in refs.items() if ref.run != output_run}


def _sorted_keys(refs: Mapping[str, DatasetRef], keys: set[str]) -> list[str]:
    """Data ID keys in data ID order (dimension values, then free-form keys)."""
    return sorted(
        keys,
        key=lambda k: (refs[k].data_id.required_values, sorted(refs[k].data_id.extras.items())),
    )


def _compare_pair(
    key: str,
    ref_a: DatasetRef,
    ref_b: DatasetRef,
    sides: tuple[_Side, _Side],
    options: CompareOptions,
) -> DatasetComparison:
    """Compare one pair, holding at most the pair in memory: images stream through in
    chunks of rows read from both files in lockstep; anything else is read whole (A, then
    B), compared and let go. The same dataset reached from both sides (a shared input) is
    identical without being read."""
    side_a, side_b = sides
    if ref_a.id == ref_b.id and side_a.butler.root == side_b.butler.root:
        return DatasetComparison(data_id=key, status="identical")  # one dataset, one file
    storage_class = ref_a.dataset_type.storage_class
    detail: Detail
    try:
        if storage_class == "Image":
            rows = side_a.image_rows(ref_a), side_b.image_rows(ref_b)
            detail = compare_image_chunks(*rows, options)
        else:
            a = side_a.read(ref_a)
            detail = compare_objects(storage_class, a, side_b.read(ref_b), options)
    except (_Unreadable, CompareError) as err:
        return DatasetComparison(data_id=key, status="error", message=str(err))
    return DatasetComparison(data_id=key, status=detail.status, detail=detail)
