"""Which row of table A goes with which row of table B: by row order, by key columns,
or by sky position (mutual nearest neighbours within a radius)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .errors import CompareError
from .options import SKY_COLUMNS, CompareOptions

if TYPE_CHECKING:
    import pyarrow as pa

_ROW_A, _ROW_B = "__quanta_row_a", "__quanta_row_b"


@dataclass(frozen=True)
class RowMatch:
    """Matched rows (positions in A and B, in A's order), the rows of each side left
    unmatched, and how to name a row in the report: ``label`` the k-th matched row,
    ``label_a`` and ``label_b`` a row of one side."""

    by: str
    index_a: np.ndarray
    index_b: np.ndarray
    only_a: np.ndarray
    only_b: np.ndarray
    label: Callable[[int], str]
    label_a: Callable[[int], str]
    label_b: Callable[[int], str]


def match_rows(a: pa.Table, b: pa.Table, options: CompareOptions) -> RowMatch:
    """Match the rows as ``options`` asks: ``match_columns``, ``match_sky`` or row order."""
    if options.match_columns:
        return _by_keys(a, b, options.match_columns)
    if options.match_sky is not None:
        return _by_sky(a, b, options.match_sky)
    n = min(a.num_rows, b.num_rows)
    shared = np.arange(n)

    def row(i: int) -> str:
        return f"row {i}"

    return RowMatch(
        "row order",
        shared,
        shared,
        np.arange(n, a.num_rows),
        np.arange(n, b.num_rows),
        lambda k: row(int(shared[k])),
        row,
        row,
    )


def _by_keys(a: pa.Table, b: pa.Table, keys: Sequence[str]) -> RowMatch:
    """Rows with equal values in every key column; keys must identify rows on each side."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for side, table in (("A", a), ("B", b)):
        missing = [k for k in keys if k not in table.column_names]
        if missing:
            raise CompareError(
                f"key column(s) {', '.join(map(repr, missing))} not in table {side}; "
                f"its columns: {', '.join(table.column_names)}"
            )
        distinct = table.select(list(keys)).group_by(list(keys)).aggregate([]).num_rows
        if distinct != table.num_rows:
            raise CompareError(
                f"key column(s) {', '.join(keys)} do not identify the rows of table {side}: "
                f"{table.num_rows - distinct} row(s) repeat a key"
            )
    left = a.select(list(keys)).append_column(_ROW_A, pa.array(np.arange(a.num_rows)))
    right = b.select(list(keys)).append_column(_ROW_B, pa.array(np.arange(b.num_rows)))
    try:
        joined = left.join(right, keys=list(keys), join_type="full outer", use_threads=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
        raise CompareError(f"cannot match rows on {', '.join(keys)}: {err}") from err
    rows_a = pc.fill_null(joined[_ROW_A], -1).to_numpy()
    rows_b = pc.fill_null(joined[_ROW_B], -1).to_numpy()
    both = (rows_a >= 0) & (rows_b >= 0)
    order = np.argsort(rows_a[both], kind="stable")
    index_a, index_b = rows_a[both][order], rows_b[both][order]

    def key_label(table: pa.Table) -> Callable[[int], str]:
        return lambda i: ", ".join(f"{k}={table.column(k)[i].as_py()}" for k in keys)

    label_a = key_label(a)
    return RowMatch(
        f"key column(s) {', '.join(keys)}",
        index_a,
        index_b,
        np.sort(rows_a[(rows_a >= 0) & (rows_b < 0)]),
        np.sort(rows_b[(rows_b >= 0) & (rows_a < 0)]),
        lambda k: label_a(int(index_a[k])),
        label_a,
        key_label(b),
    )


def _sky_columns(a: pa.Table, b: pa.Table) -> tuple[str, str]:
    for ra, dec in SKY_COLUMNS:
        if all(c in t.column_names for t in (a, b) for c in (ra, dec)):
            return ra, dec
    names = " or ".join(f"{ra}/{dec}" for ra, dec in SKY_COLUMNS)
    raise CompareError(f"matching by sky position needs columns {names} (degrees) in A and B")


def _unit_vectors(table: pa.Table, ra: str, dec: str) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors of the rows' positions, and which rows have finite coordinates."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lon, lat = (
        np.radians(pc.fill_null(table.column(c).cast(pa.float64()), np.nan).to_numpy())
        for c in (ra, dec)
    )
    finite = np.isfinite(lon) & np.isfinite(lat)
    xyz = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)
    return xyz, finite


def _by_sky(a: pa.Table, b: pa.Table, radius_arcsec: float) -> RowMatch:
    """Rows whose positions are each other's nearest neighbour within the radius."""
    from scipy.spatial import KDTree

    ra, dec = _sky_columns(a, b)
    xyz_a, ok_a = _unit_vectors(a, ra, dec)
    xyz_b, ok_b = _unit_vectors(b, ra, dec)
    rows_a, rows_b = np.flatnonzero(ok_a), np.flatnonzero(ok_b)
    matched = np.zeros(rows_a.size, dtype=bool)
    nearest = np.zeros(rows_a.size, dtype=np.intp)
    if rows_a.size and rows_b.size:
        chord = 2.0 * np.sin(np.radians(radius_arcsec / 3600.0) / 2.0)
        nearest = np.asarray(
            KDTree(xyz_b[rows_b]).query(xyz_a[rows_a], distance_upper_bound=chord)[1]
        )
        back = np.asarray(KDTree(xyz_a[rows_a]).query(xyz_b[rows_b], distance_upper_bound=chord)[1])
        found = nearest < rows_b.size
        matched[found] = back[nearest[found]] == np.flatnonzero(found)
    index_a, index_b = rows_a[matched], rows_b[nearest[matched]]

    def position(table: pa.Table) -> Callable[[int], str]:
        def label(i: int) -> str:
            lon, lat = table.column(ra)[i].as_py(), table.column(dec)[i].as_py()
            return f"row {i} ({ra}={lon}, {dec}={lat})"

        return label

    return RowMatch(
        f"sky position within {radius_arcsec:g} arcsec ({ra}, {dec})",
        index_a,
        index_b,
        np.setdiff1d(np.arange(a.num_rows), index_a),
        np.setdiff1d(np.arange(b.num_rows), index_b),
        lambda k: f"A row {int(index_a[k])} / B row {int(index_b[k])}",
        position(a),
        position(b),
    )
