"""Column-by-column comparison of two Arrow tables over matched rows.

The schemas are compared first (columns on one side only, type changes), ignored
columns (timings, by default) are set aside, rows are matched (``matching``), and each
remaining column is compared over the matched rows: numbers with the tolerances
(integers exactly when no tolerance is asked), lists of numbers element by element,
anything else by equality. Nulls equal nulls and NaN equals NaN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .matching import RowMatch, match_rows
from .options import CompareOptions
from .report import ColumnDiff, TableDiff
from .stats import DiffSample

if TYPE_CHECKING:
    import pyarrow as pa


def compare_tables(a: pa.Table, b: pa.Table, options: CompareOptions) -> TableDiff:
    """Schema, row inventory and every column compared in both (see ``TableDiff``)."""
    import pyarrow as pa

    match = match_rows(a, b, options)
    keys = set(options.match_columns)
    names_a, names_b = a.column_names, b.column_names
    ignored = sorted({n for n in (*names_a, *names_b) if n not in keys and options.ignores(n)})
    take_a, take_b = pa.array(match.index_a, pa.int64()), pa.array(match.index_b, pa.int64())
    columns = [
        compare_column(
            name,
            a.column(name).take(take_a).combine_chunks(),
            b.column(name).take(take_b).combine_chunks(),
            match,
            options,
        )
        for name in names_a
        if name in names_b and name not in keys and name not in ignored
    ]
    listed = options.max_listed
    return TableDiff(
        n_rows_a=a.num_rows,
        n_rows_b=b.num_rows,
        matched_by=match.by,
        n_matched=len(match.index_a),
        n_only_in_a=len(match.only_a),
        n_only_in_b=len(match.only_b),
        rows_only_in_a=[match.label_a(int(i)) for i in match.only_a[:listed]],
        rows_only_in_b=[match.label_b(int(i)) for i in match.only_b[:listed]],
        columns_only_in_a=[n for n in names_a if n not in names_b and n not in ignored],
        columns_only_in_b=[n for n in names_b if n not in names_a and n not in ignored],
        ignored_columns=ignored,
        columns=columns,
    )


def compare_column(
    name: str, a: pa.Array, b: pa.Array, match: RowMatch, options: CompareOptions
) -> ColumnDiff:
    """One column over the matched rows (``a[k]`` goes with ``b[k]``)."""
    sample = DiffSample()
    if _is_number(a.type) and _is_number(b.type):
        unequal, differ = _numbers(a, b, options, sample)
    elif _is_number_list(a.type) and _is_number_list(b.type):
        unequal, differ = _number_lists(a, b, options, sample)
    else:
        unequal = differ = _other(a, b)
    rows = np.flatnonzero(differ)[: options.max_listed]
    return ColumnDiff(
        name=name,
        type_a=str(a.type),
        type_b=str(b.type),
        n_compared=len(a),
        n_unequal=int(np.count_nonzero(unequal)),
        n_differ=int(np.count_nonzero(differ)),
        mean=sample.mean,
        max_abs=sample.max_abs,
        spread=sample.spread(),
        rows=[match.label(int(k)) for k in rows],
        histogram=sample.histogram(),
    )


def _is_number(dtype: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(dtype) or pa.types.is_floating(dtype))


def _is_number_list(dtype: pa.DataType) -> bool:
    import pyarrow as pa

    lists = (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list)
    return any(is_list(dtype) for is_list in lists) and _is_number(dtype.value_type)


def _valid(array: pa.Array) -> np.ndarray:
    """Which values are not null."""
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _numbers(
    a: pa.Array, b: pa.Array, options: CompareOptions, sample: DiffSample
) -> tuple[np.ndarray, np.ndarray]:
    """Rows that are unequal and rows that differ beyond tolerance (a null against a
    value, or a NaN/infinity against anything else, always differs)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    valid_a, valid_b = _valid(a), _valid(b)
    both = valid_a & valid_b
    fa = pc.fill_null(a.cast(pa.float64(), safe=False), 0.0).to_numpy(zero_copy_only=False)
    fb = pc.fill_null(b.cast(pa.float64(), safe=False), 0.0).to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: NaN, handled below
        diff = fb - fa
    finite = np.isfinite(diff)
    same = (fa == fb) | (np.isnan(fa) & np.isnan(fb))
    broken = (valid_a != valid_b) | (both & ~finite & ~same)
    diff[~(both & finite)] = 0.0
    if a.type == b.type and pa.types.is_integer(a.type):
        # Exactly, not through float64 (which rounds integers beyond 2**53).
        ints_a = pc.fill_null(a, 0).to_numpy(zero_copy_only=False)
        ints_b = pc.fill_null(b, 0).to_numpy(zero_copy_only=False)
        unequal = both & (ints_a != ints_b)
    else:
        unequal = diff != 0
    beyond = unequal if options.exact else options.beyond(np.abs(diff), fb)
    sample.add(diff[diff != 0])
    return unequal | broken, beyond | broken


def _number_lists(
    a: pa.Array, b: pa.Array, options: CompareOptions, sample: DiffSample
) -> tuple[np.ndarray, np.ndarray]:
    """Lists compared element by element; a row differs if any element does, or if the
    lists' lengths (or nullness) differ."""
    import pyarrow.compute as pc

    valid_a, valid_b = _valid(a), _valid(b)
    lengths_a = pc.fill_null(pc.list_value_length(a), -1).to_numpy(zero_copy_only=False)
    lengths_b = pc.fill_null(pc.list_value_length(b), -1).to_numpy(zero_copy_only=False)
    comparable = valid_a & valid_b & (lengths_a == lengths_b)
    unequal = ~comparable & (valid_a | valid_b)
    differ = unequal.copy()
    rows = np.flatnonzero(comparable)
    if rows.size:
        take = rows.astype(np.int64)
        elements_a = pc.list_flatten(a.take(take))
        elements_b = pc.list_flatten(b.take(take))
        el_unequal, el_differ = _numbers(elements_a, elements_b, options, sample)
        owner = np.repeat(np.arange(rows.size), lengths_a[rows])
        unequal[rows] = np.bincount(owner, weights=el_unequal, minlength=rows.size) > 0
        differ[rows] = np.bincount(owner, weights=el_differ, minlength=rows.size) > 0
    return unequal, differ


def _other(a: pa.Array, b: pa.Array) -> np.ndarray:
    """Rows whose values are not equal (strings, booleans, times, nested values...)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    valid_a, valid_b = _valid(a), _valid(b)
    try:
        equal = pc.fill_null(pc.equal(a, b), False).to_numpy(zero_copy_only=False)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        equal = np.array(
            [x == y for x, y in zip(a.to_pylist(), b.to_pylist(), strict=True)], dtype=bool
        )
    return np.asarray(~(equal | (~valid_a & ~valid_b)), dtype=bool)
