"""Table comparison: schemas, row matching (order, keys, sky), ignored columns, statistics."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from quanta.compare import CompareError, CompareOptions, compare_tables
from quanta.compare.stats import DiffSample

EXACT = CompareOptions()


def ptc_like(n: int = 4) -> pa.Table:
    """A table shaped like ``ptcPair``: one row per amplifier, with an exposure time."""
    return pa.table(
        {
            "amp": [f"C{i:02d}" for i in range(n)],
            "exposure_time": [10.0] * n,
            "mean": [1000.0 + i for i in range(n)],
            "n_pixels": pa.array([2800 + i for i in range(n)], pa.int64()),
            "cov": [[1.0 * i, 0.5, 0.25] for i in range(n)],
        }
    )


def replaced(table: pa.Table, name: str, values: list) -> pa.Table:
    index = table.column_names.index(name)
    return table.set_column(index, name, pa.array(values, table.schema.field(name).type))


def test_identical_tables() -> None:
    diff = compare_tables(ptc_like(), ptc_like(), EXACT)
    assert diff.status == "identical"
    assert [c.name for c in diff.columns] == ["amp", "exposure_time", "mean", "n_pixels", "cov"]
    assert diff.matched_by == "row order" and diff.n_matched == 4


def test_schema_differences_columns_on_one_side_and_type_changes() -> None:
    a = ptc_like().append_column("only_a", pa.array([1, 2, 3, 4]))
    b = ptc_like().drop_columns(["n_pixels"]).append_column("only_b", pa.array(["x"] * 4))
    b = b.append_column("n_pixels", pa.array([2800.0, 2801.0, 2802.0, 2803.0]))
    diff = compare_tables(a, b, EXACT)
    assert diff.columns_only_in_a == ["only_a"] and diff.columns_only_in_b == ["only_b"]
    n_pixels = diff.column("n_pixels")
    assert (n_pixels.type_a, n_pixels.type_b, n_pixels.n_differ) == ("int64", "double", 0)
    assert n_pixels.status == "different" and diff.status == "different"


def test_rows_by_order_report_rows_on_one_side_and_differing_rows() -> None:
    a = ptc_like(5)
    b = replaced(ptc_like(4), "mean", [1000.0, 1001.0, 1002.5, 1003.0])
    diff = compare_tables(a, b, EXACT)
    assert (diff.n_matched, diff.n_only_in_a, diff.rows_only_in_a) == (4, 1, ["row 4"])
    mean = diff.column("mean")
    assert (mean.n_differ, mean.rows, mean.max_abs) == (1, ["row 2"], 0.5)
    assert [c.name for c in diff.columns if c.status != "identical"] == ["mean"]


def test_rows_matched_by_key_columns_whatever_their_order() -> None:
    a = ptc_like()
    b = replaced(a, "mean", [1000.0, 1001.0, 1002.0, 1009.0]).take([3, 2, 0, 1])
    by_order = compare_tables(a, b, EXACT)
    assert by_order.column("amp").n_differ == 4
    diff = compare_tables(a, b, CompareOptions(match_columns=("amp",)))
    assert diff.matched_by == "key column(s) amp"
    assert [c.name for c in diff.columns] == ["exposure_time", "mean", "n_pixels", "cov"]
    assert diff.column("mean").rows == ["amp=C03"]
    assert [c.name for c in diff.columns if c.status != "identical"] == ["mean"]


def test_key_matching_reports_keys_on_one_side() -> None:
    a = ptc_like(4)
    b = ptc_like(6).take([5, 0, 1, 2, 4])
    diff = compare_tables(a, b, CompareOptions(match_columns=("amp",)))
    assert diff.rows_only_in_a == ["amp=C03"]
    assert diff.rows_only_in_b == ["amp=C05", "amp=C04"]  # in B's row order
    assert diff.status == "different"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (("amp", "nope"), "key column(s) 'nope' not in table A"),
        (("exposure_time",), "do not identify the rows of table A: 3 row(s) repeat a key"),
    ],
)
def test_bad_key_columns_are_refused(keys: tuple[str, ...], message: str) -> None:
    with pytest.raises(CompareError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compare_tables(ptc_like(), ptc_like(), CompareOptions(match_columns=keys))


def sources(ra: list[float], dec: list[float], flux: list[float]) -> pa.Table:
    return pa.table({"coord_ra": ra, "coord_dec": dec, "flux": flux})


def test_rows_matched_by_sky_position_within_the_radius() -> None:
    arcsec = 1.0 / 3600.0
    a = sources([10.0, 10.01, 10.02, 200.0], [-30.0, -30.0, -30.0, 45.0], [1.0, 2.0, 3.0, 4.0])
    # Shuffled, 0.2" offsets, source 2 moved by 3" (unmatched), a new source at the end.
    b = sources(
        [200.0, 10.0 + 0.2 * arcsec, 10.01, 10.02 + 3 * arcsec, 300.0],
        [45.0, -30.0, -30.0 + 0.2 * arcsec, -30.0, 0.0],
        [4.0, 1.0, 2.5, 3.0, 5.0],
    )
    diff = compare_tables(a, b, CompareOptions(match_sky=1.0))
    assert diff.matched_by.startswith("sky position within 1 arcsec")
    assert diff.n_matched == 3
    assert diff.rows_only_in_a == ["row 2 (coord_ra=10.02, coord_dec=-30.0)"]
    assert [r.split(" (")[0] for r in diff.rows_only_in_b] == ["row 3", "row 4"]
    assert diff.column("flux").rows == ["A row 1 / B row 2"]
    assert diff.column("coord_ra").n_differ == 1  # the 0.2" offset is a difference too


def test_sky_matching_needs_coordinates() -> None:
    with pytest.raises(CompareError, match="needs columns ra/dec or coord_ra/coord_dec"):
        compare_tables(ptc_like(), ptc_like(), CompareOptions(match_sky=1.0))


def test_timing_columns_are_ignored_by_default_but_exposure_time_is_compared() -> None:
    a = ptc_like().append_column("deblend_runtime", pa.array([1.0, 2.0, 3.0, 4.0]))
    a = a.append_column("isr_seconds", pa.array([0.1] * 4))
    b = replaced(a, "exposure_time", [10.0, 10.0, 10.0, 11.0])
    b = replaced(b, "deblend_runtime", [9.0] * 4)
    b = replaced(b, "isr_seconds", [0.2] * 4).drop_columns(["cov"])
    diff = compare_tables(a, b, EXACT)
    assert diff.ignored_columns == ["deblend_runtime", "isr_seconds"]
    assert "deblend_runtime" not in [c.name for c in diff.columns]
    assert diff.column("exposure_time").rows == ["row 3"]
    everything = compare_tables(a, b, CompareOptions(ignore_columns=("",)))
    assert everything.ignored_columns == []
    assert everything.column("deblend_runtime").n_differ == 4
    custom = compare_tables(a, b, CompareOptions(ignore_columns=("cov", "exposure_*")))
    assert custom.ignored_columns == ["cov", "exposure_time"]
    assert custom.columns_only_in_a == []  # an ignored column is not a schema difference


def test_mean_max_and_robust_spread_of_the_differences() -> None:
    deltas = np.array([1.0, -1.0, 2.0, 0.5, -0.5, 100.0, 0.0])
    a = pa.table({"x": np.zeros(7)})
    b = pa.table({"x": deltas})
    column = compare_tables(a, b, EXACT).column("x")
    nonzero = deltas[deltas != 0]
    assert (column.n_unequal, column.n_differ) == (6, 6)
    assert column.mean == pytest.approx(nonzero.mean())
    assert column.max_abs == 100.0
    mad = np.median(np.abs(nonzero - np.median(nonzero)))
    assert column.spread == pytest.approx(1.4826 * mad)  # robust: the outlier barely counts
    assert column.rows == ["row 0", "row 1", "row 2", "row 3", "row 4", "row 5"]


def test_tolerances_nulls_nan_and_exact_integers() -> None:
    a = pa.table(
        {
            "f": pa.array([1.0, float("nan"), None, 4.0, float("nan")]),
            "i": pa.array([2**60, 1, 2, 3, 4], pa.int64()),
            "s": pa.array(["a", None, "c", None, "e"]),
        }
    )
    b = pa.table(
        {
            "f": pa.array([1.0 + 1e-9, float("nan"), None, None, 5.0]),
            "i": pa.array([2**60 + 1, 1, 2, 3, 4], pa.int64()),
            "s": pa.array(["a", None, "x", "d", "e"]),
        }
    )
    diff = compare_tables(a, b, CompareOptions(rtol=1e-6))
    f = diff.column("f")
    # 1e-9 is within tolerance; a value against a null, or NaN against 5, always differs.
    assert (f.n_unequal, f.n_differ, f.rows) == (3, 2, ["row 3", "row 4"])
    assert diff.column("i").rows == []  # 2**60 + 1 is within rtol of 2**60
    assert diff.column("i").n_unequal == 1  # but it is not equal: integers compare exactly
    assert diff.column("s").rows == ["row 2", "row 3"]


def test_list_columns_compare_element_by_element() -> None:
    a = pa.table({"cov": [[1.0, 2.0], [3.0, 4.0], [5.0], None, [7.0]]})
    b = pa.table({"cov": [[1.0, 2.0], [3.0, 4.5], [5.0, 6.0], None, None]})
    column = compare_tables(a, b, EXACT).column("cov")
    assert column.rows == ["row 1", "row 2", "row 4"]
    assert column.max_abs == 0.5 and column.n_compared == 5


def test_a_difference_sample_stays_bounded_and_keeps_exact_totals() -> None:
    sample = DiffSample(capacity=1000)
    for _ in range(10):
        sample.add(np.arange(1.0, 1001.0))
    assert sample.count == 10_000 and sample.mean == pytest.approx(500.5)
    assert sample.max_abs == 1000.0
    assert sample.values().size <= 1000 and sample.stride == 16
    histogram = sample.histogram()
    assert histogram is not None and sum(histogram.counts) == pytest.approx(10_000, rel=0.01)
