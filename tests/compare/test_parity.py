"""Two collections compared: inventory, dataset types, bad input, reports (JSON, HTML)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from compare.two_runs import PIXEL, RUN_A, RUN_B, file_of, make_two_runs
from quanta.butler import Butler
from quanta.compare import (
    CompareOptions,
    CompareReport,
    ImageDiff,
    TableDiff,
    compare_collections,
    render_html,
)
from quanta.core.errors import CollectionNotFoundError, QuerySyntaxError
from repo_data import make_repo

KEY = "instrument=Cam,detector=0"


@pytest.fixture
def butler(tmp_path: Path) -> Iterator[Butler]:
    butler = make_two_runs(tmp_path / "repo")
    yield butler
    butler.close()


def compare(butler: Butler, *types: str, **kwargs: object) -> CompareReport:
    return compare_collections(butler, RUN_A, butler, RUN_B, list(types) or None, **kwargs)


def test_every_type_compared_with_its_inventory_and_free_form_keys(butler: Butler) -> None:
    report = compare(butler)
    assert report.type_names() == ["calexp", "pairTable", "plot", "summary"]
    assert report.skipped_types == ["task_metadata"]
    calexp = report.summary("calexp")
    assert (calexp.n_a, calexp.n_b, calexp.n_identical, calexp.n_different) == (3, 2, 1, 1)
    assert calexp.only_in_a == [f"{KEY},exposure=7"] and calexp.only_in_b == []
    pairs = report.summary("pairTable")
    assert pairs.only_in_b == [f"{KEY},pair=7+8"]
    assert [d.data_id for d in pairs.datasets] == [f"{KEY},pair=5+6"]
    assert (calexp.status, pairs.status) == ("missing", "missing")
    assert report.summary("plot").status == report.summary("summary").status == "identical"
    assert report.status == "missing" and report.differs


def test_the_differing_pixel_and_row_are_found(butler: Butler) -> None:
    report = compare(butler, "calexp", "pairTable", options=CompareOptions(match_columns=("amp",)))
    detail = report.summary("calexp").dataset(f"{KEY},exposure=6").detail
    assert isinstance(detail, ImageDiff)
    image, mask, variance = detail.planes
    assert (image.n_differ, image.max_abs_at, image.differing_at) == (1, list(PIXEL), [list(PIXEL)])
    assert image.max_abs == 0.5
    assert mask.status == variance.status == "identical"
    table = report.summary("pairTable").dataset(f"{KEY},pair=5+6").detail
    assert isinstance(table, TableDiff)
    assert table.ignored_columns == ["start_ns"]
    assert table.column("mean").rows == ["amp=C01"] and table.column("mean").max_abs == 1.0


def test_tolerances_reach_the_datasets(butler: Butler) -> None:
    report = compare(butler, "calexp", "pairTable", options=CompareOptions(atol=1.0))
    assert report.summary("calexp").n_within_tolerance == 1
    assert report.summary("pairTable").datasets[0].status == "within_tolerance"
    assert report.summary("calexp").status == "missing"  # exposure 7 is still only in A


def test_a_named_type_is_compared_even_when_skipped_by_default(butler: Butler) -> None:
    report = compare(butler, "task_metadata")
    assert report.type_names() == ["task_metadata"] and report.skipped_types == []
    paths = report.summary("task_metadata").datasets[0].detail
    assert paths is not None and paths.describe().startswith("1 path(s) differ: duration_s")


def test_where_constrains_both_sides(butler: Butler) -> None:
    report = compare(butler, "calexp", where="exposure = :e", binds={"e": 5})
    calexp = report.summary("calexp")
    assert (calexp.n_a, calexp.n_b, calexp.status) == (1, 1, "identical")
    with pytest.raises(QuerySyntaxError):
        compare(butler, "calexp", where="exposure = = 5")


@pytest.mark.parametrize(("side", "a", "b"), [("A", "nope", RUN_B), ("B", RUN_A, "nope")])
def test_a_collection_that_does_not_exist_is_a_user_error(
    butler: Butler, side: str, a: str, b: str
) -> None:
    with pytest.raises(
        CollectionNotFoundError, match=f"'nope' does not exist in repository {side}"
    ):
        compare_collections(butler, a, butler, b)


def test_an_unknown_dataset_type_is_an_error_row_and_the_rest_runs(butler: Butler) -> None:
    report = compare(butler, "nope", "summary")
    nope = report.summary("nope")
    assert nope.status == "error"
    assert nope.message == "dataset type 'nope' is not registered in the repository"
    assert report.summary("summary").status == "identical"
    assert report.status == "error"


def test_storage_classes_that_differ_are_an_error_row(butler: Butler, tmp_path: Path) -> None:
    other = make_repo(tmp_path / "other")
    other.register_dataset_type("summary", ("instrument", "detector"), "NumpyArray")
    other.put(np.ones(3), "summary", {"instrument": "Cam", "detector": 0}, run=RUN_B)
    report = compare_collections(butler, RUN_A, other, RUN_B, ["summary", "calexp", "nope"])
    summary = report.summary("summary")
    assert (summary.status, summary.n_a, summary.n_b) == ("error", 1, 1)
    assert summary.message == (
        "dataset type 'summary' has storage class StructuredData in A and NumpyArray in B; "
        "its datasets are not compared"
    )
    calexp = report.summary("calexp")  # registered in A only
    assert (calexp.status, calexp.n_a, calexp.n_b, calexp.storage_class_b) == (
        "missing",
        3,
        0,
        None,
    )
    assert report.summary("nope").message == (
        "dataset type 'nope' is not registered in either repository"
    )
    other.close()


def test_unreadable_files_are_error_rows_and_the_others_still_compare(butler: Butler) -> None:
    path = file_of(butler, "calexp", RUN_B, exposure=5)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    file_of(butler, "pairTable", RUN_A, pair="5+6").unlink()
    report = compare(butler, "calexp", "pairTable")
    calexp = report.summary("calexp")
    broken = calexp.dataset(f"{KEY},exposure=5")
    assert broken.status == "error" and broken.message is not None
    assert broken.message.startswith("cannot read B: ") and str(path) in broken.message
    assert (calexp.n_error, calexp.n_different) == (1, 1)  # exposure 6 still compared
    missing = report.summary("pairTable").dataset(f"{KEY},pair=5+6")
    assert missing.status == "error" and missing.describe().startswith("cannot read A: ")
    assert report.summary("calexp").status == "error"


def test_a_pair_that_cannot_be_compared_as_asked_is_an_error_row(butler: Butler) -> None:
    report = compare(butler, "pairTable", "calexp", options=CompareOptions(match_columns=("x",)))
    row = report.summary("pairTable").datasets[0]
    assert row.status == "error" and row.message is not None and "'x' not in table A" in row.message
    assert report.summary("calexp").n_different == 1


def test_the_json_report_round_trips(butler: Butler) -> None:
    report = compare(butler, options=CompareOptions(rtol=1e-3))
    text = report.model_dump_json()
    data = json.loads(text)
    assert data["status"] == "missing" and data["options"]["rtol"] == 1e-3
    assert data["dataset_types"][0]["datasets"][0]["detail"]["kind"] == "image"
    again = CompareReport.model_validate_json(text)
    assert again.model_dump() == report.model_dump()


def test_the_html_report_is_self_contained_with_histograms(butler: Butler) -> None:
    page = render_html(compare(butler))
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert page.count('<img src="data:image/png;base64,') == 3  # calexp image (2), table mean
    assert "instrument=Cam,detector=0,pair=7+8" in page
    assert "task_metadata" in page  # named as skipped
