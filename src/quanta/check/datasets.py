"""The dataset expectations of a file: counts, table rows and field values.

Counts are over the checked collection as ``quanta query-datasets --collections COLLECTION`` sees
it: one dataset per data ID, the first in search order. Rows come from the Parquet
footer alone; structured datasets are read once each for all of their field paths.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigError, DatasetTypeNotFoundError, DatastoreError
from .expectations import DatasetExpectation, ExpectationsFile, Range, number
from .fields import MISSING, as_number, parse_path, resolve
from .report import ExpectationResult

if TYPE_CHECKING:
    from ..butler import Butler
    from ..core.dataset_type import DatasetType
    from ..core.refs import DatasetRef
    from ..core.stored_file import StoredFile

#: The storage class each per-dataset rule reads.
TABLE, STRUCTURED = "ArrowTable", "StructuredData"


def check_datasets(
    butler: Butler, collection: str, file: ExpectationsFile
) -> list[ExpectationResult]:
    """Every dataset expectation of ``file`` over ``collection``, in file order.

    A rule that does not fit its dataset type's storage class is a ``ConfigError`` naming
    the file and line, raised before anything is read.
    """
    expected = file.expectations.datasets
    types = {name: _dataset_type(butler, name) for name in expected}
    for name, rules in expected.items():
        _check_storage(file, name, rules, types[name])
    outcomes: list[ExpectationResult] = []
    for name, rules in expected.items():
        dataset_type = types[name]
        refs = _sorted(butler.query_datasets(dataset_type, [collection])) if dataset_type else []
        outcomes.append(_count(name, rules.count_range, len(refs), dataset_type is None))
        if rules.min_rows is None and not rules.fields:
            continue
        # One bulk lookup of file records; refs without one are reported as unreadable.
        files = butler.registry.get_files([ref.id for ref in refs])
        if rules.min_rows is not None:
            outcomes.append(_rows(butler, name, refs, files, rules.min_rows))
        if rules.fields:
            outcomes.extend(_fields(butler, name, refs, files, rules.fields))
    return outcomes


def _dataset_type(butler: Butler, name: str) -> DatasetType | None:
    try:
        return butler.registry.get_dataset_type(name)
    except DatasetTypeNotFoundError:
        return None


def _check_storage(
    file: ExpectationsFile, name: str, rules: DatasetExpectation, dataset_type: DatasetType | None
) -> None:
    """Refuse ``min_rows`` on anything but tables and ``fields`` on anything but
    structured data."""
    if dataset_type is None:
        return
    for key, needed, present in (
        ("min_rows", TABLE, rules.min_rows is not None),
        ("fields", STRUCTURED, bool(rules.fields)),
    ):
        if present and dataset_type.storage_class != needed:
            raise ConfigError(
                f"{file.where('datasets', name, key)}: {key} needs a dataset type of storage "
                f"class {needed}; {name} is {dataset_type.storage_class}"
            )


def _sorted(refs: Sequence[DatasetRef]) -> list[DatasetRef]:
    """Refs in data ID order, so that problems come out in the same order every time."""
    return sorted(refs, key=lambda r: (r.data_id.required_values, sorted(r.data_id.extras.items())))


def _count(name: str, allowed: Range, found: int, unknown: bool) -> ExpectationResult:
    problems: tuple[str, ...] = ()
    if not allowed.contains(found):
        note = f" (no dataset type {name!r} in this repository)" if unknown else ""
        problems = (f"{name}: expected {_datasets(allowed)}, found {found}{note}",)
    return ExpectationResult(f"{name} count", problems)


def _datasets(allowed: Range) -> str:
    """``2 datasets``, ``at least 1 dataset``, ``2 to 4 datasets``..."""
    low, high = allowed.min, allowed.max
    noun = "dataset" if (high if high is not None else low) == 1 else "datasets"
    if low == high:
        return f"{number(low)} {noun}"  # type: ignore[arg-type]
    if low is not None and high is not None:
        return f"{number(low)} to {number(high)} {noun}"
    return f"{allowed.describe()} {noun}"


def _rows(
    butler: Butler,
    name: str,
    refs: Sequence[DatasetRef],
    files: Mapping[uuid.UUID, StoredFile],
    minimum: int,
) -> ExpectationResult:
    import pyarrow as pa
    import pyarrow.parquet as pq

    problems = []
    for ref in refs:
        what = f"{name} {ref.data_id}"
        if ref.id not in files:
            problems.append(f"{what}: no file recorded, expected at least {minimum} rows")
            continue
        try:
            rows = pq.read_metadata(butler.datastore.path(files[ref.id])).num_rows
        except (OSError, pa.ArrowException) as err:
            problems.append(f"{what}: cannot read the Parquet footer: {err}")
            continue
        if rows < minimum:
            problems.append(f"{what}: {rows} rows, expected at least {minimum}")
    return ExpectationResult(f"{name} min_rows", tuple(problems))


def _fields(
    butler: Butler,
    name: str,
    refs: Sequence[DatasetRef],
    files: Mapping[uuid.UUID, StoredFile],
    fields: dict[str, Range],
) -> list[ExpectationResult]:
    keys = {path: parse_path(path) for path in fields}
    problems: dict[str, list[str]] = {path: [] for path in fields}
    for ref in refs:
        what = f"{name} {ref.data_id}"
        try:
            if ref.id not in files:
                raise DatastoreError("no file recorded")
            document = butler.datastore.read(files[ref.id])
        except DatastoreError as err:
            for path in fields:
                problems[path].append(f"{what}: cannot read {path}: {err}")
            continue
        for path, bounds in fields.items():
            problems[path].extend(
                f"{what}: {found}" for found in _values(document, path, keys[path], bounds)
            )
    return [ExpectationResult(f"{name} {path}", tuple(problems[path])) for path in fields]


def _values(document: Any, path: str, keys: tuple[str, ...], bounds: Range) -> list[str]:
    """What is wrong with the values ``keys`` reaches in one document."""
    expected = f"expected {bounds.describe()}"
    reached = list(resolve(document, keys))
    if not reached:
        return [f"{path} reaches no value, {expected}"]
    wrong = []
    for concrete, value in reached:
        if value is MISSING:
            wrong.append(f"{concrete} is missing, {expected}")
            continue
        numeric = as_number(value)
        if numeric is None:
            wrong.append(f"{concrete} = {_short(value)} is not a number, {expected}")
        elif not bounds.contains(numeric):
            wrong.append(f"{concrete} = {number(numeric)}, {expected}")
    return wrong


def _short(value: Any, width: int = 40) -> str:
    """``repr(value)``, cut to ``width`` characters so that a problem stays one line."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
