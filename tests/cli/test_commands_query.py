"""The query-* commands on the small repository, in every output format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pytest

from cli.small_repo import DETECTORS, EXPOSURES, Invoke, assert_user_error
from quanta.butler import Butler


def query_json(invoke: Invoke, *args: object) -> list[dict[str, Any]]:
    """Run a query command with --format json and return the parsed objects."""
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return json.loads(result.stdout)


# -- collections and dataset types -----------------------------------------------------------


def test_query_collections_lists_types_and_chain_children(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler
) -> None:
    repo_butler.set_collection_chain("Cam/inner", ["Cam/calib/run1"])
    repo_butler.set_collection_chain("Cam/defaults", ["Cam/raw", "Cam/inner"])
    tree = query_json(invoke, "query-collections", cli_repo)
    assert tree == [
        {"name": "Cam/calib/run1", "type": "RUN", "children": []},
        {"name": "Cam/defaults", "type": "CHAINED", "children": ["Cam/raw", "Cam/inner"]},
        {"name": "Cam/inner", "type": "CHAINED", "children": ["Cam/calib/run1"]},
        {"name": "Cam/raw", "type": "RUN", "children": []},
    ]
    flat = query_json(invoke, "query-collections", cli_repo, "Cam/def*", "--chains", "flat")
    assert flat == [
        {"name": "Cam/defaults", "type": "CHAINED", "children": ["Cam/raw", "Cam/calib/run1"]}
    ]


def test_query_collections_filters_by_type_case_insensitively(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler
) -> None:
    repo_butler.set_collection_chain("Cam/defaults", ["Cam/raw"])
    rows = query_json(invoke, "query-collections", cli_repo, "--type", "chained")
    assert [r["name"] for r in rows] == ["Cam/defaults"]
    rows = query_json(invoke, "query-collections", cli_repo, "--type", "RUN", "--type", "Chained")
    assert len(rows) == 3


def test_query_collections_table_shows_type_names(invoke: Invoke, cli_repo: Path) -> None:
    result = invoke("query-collections", cli_repo)
    assert result.exit_code == 0
    assert "Cam/raw" in result.stdout and "RUN" in result.stdout


def test_query_dataset_types_json_and_pattern(invoke: Invoke, cli_repo: Path) -> None:
    rows = query_json(invoke, "query-dataset-types", cli_repo)
    assert rows == [
        {
            "name": "bias",
            "dimensions": ["instrument", "detector"],
            "storage_class": "NumpyArray",
            "is_calibration": True,
        },
        {
            "name": "raw",
            "dimensions": ["instrument", "detector", "exposure"],
            "storage_class": "NumpyArray",
            "is_calibration": False,
        },
    ]
    assert [r["name"] for r in query_json(invoke, "query-dataset-types", cli_repo, "r*")] == ["raw"]


# -- datasets ------------------------------------------------------------------------------


def test_query_datasets_json_with_where_and_bind(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler
) -> None:
    rows = query_json(
        invoke,
        "query-datasets",
        cli_repo,
        "raw",
        "--collections",
        "Cam/raw",
        "-d",
        "exposure.exposure_time > :t AND detector = :d",
        "--bind",
        "t=15",
        "--bind",
        "d=1",
    )
    assert [(r["exposure"], r["detector"]) for r in rows] == [(2, 1), (3, 1), (4, 1)]
    assert set(rows[0]) == {"type", "run", "id", "instrument", "detector", "exposure"}
    expected = repo_butler.find_dataset(
        "raw", instrument="Cam", exposure=2, detector=1, collections="Cam/raw"
    )
    assert rows[0] == {
        "type": "raw",
        "run": "Cam/raw",
        "id": str(expected.id),
        "instrument": "Cam",
        "detector": 1,
        "exposure": 2,
    }


def test_query_datasets_csv_searches_every_run_by_default(invoke: Invoke, cli_repo: Path) -> None:
    result = invoke("query-datasets", cli_repo, "raw", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == len(EXPOSURES) * len(DETECTORS)
    assert [(int(r["detector"]), int(r["exposure"])) for r in rows] == sorted(
        (d, e) for d in DETECTORS for e in EXPOSURES
    )
    assert {r["run"] for r in rows} == {"Cam/raw"}


def test_query_datasets_find_first_versus_find_all(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler
) -> None:
    for d in DETECTORS:
        repo_butler.put(np.zeros(4), "bias", instrument="Cam", detector=d, run="Cam/calib/run2")
    repo_butler.set_collection_chain("Cam/calibs", ["Cam/calib/run2", "Cam/calib/run1"])
    first = query_json(invoke, "query-datasets", cli_repo, "bias", "--collections", "Cam/calibs")
    assert [(r["detector"], r["run"]) for r in first] == [
        (0, "Cam/calib/run2"),
        (1, "Cam/calib/run2"),
    ]
    every = query_json(
        invoke, "query-datasets", cli_repo, "bias", "--collections", "Cam/calibs", "--find-all"
    )
    assert [(r["detector"], r["run"]) for r in every] == [
        (0, "Cam/calib/run1"),
        (0, "Cam/calib/run2"),
        (1, "Cam/calib/run1"),
        (1, "Cam/calib/run2"),
    ]


def test_query_datasets_limit_and_uri(invoke: Invoke, cli_repo: Path, repo_butler: Butler) -> None:
    rows = query_json(invoke, "query-datasets", cli_repo, "raw", "--limit", "3", "--show-uri")
    assert len(rows) == 3
    for row in rows:
        path = Path(urlparse(row["uri"]).path)
        assert path.is_relative_to(cli_repo.resolve())
        assert np.load(path).tolist() == [100 * row["exposure"] + row["detector"]] * 4


def test_query_datasets_with_no_runs_is_empty(invoke: Invoke, tmp_path: Path) -> None:
    root = tmp_path / "empty"
    assert invoke("create", root).exit_code == 0
    invoke("register-dataset-type", root, "raw", "NumpyArray", "exposure", "detector")
    assert query_json(invoke, "query-datasets", root, "raw") == []


# -- data IDs and dimension records ----------------------------------------------------------


def test_query_data_ids_adds_required_dimensions(invoke: Invoke, cli_repo: Path) -> None:
    rows = query_json(
        invoke, "query-data-ids", cli_repo, "exposure", "-d", "physical_filter = 'r_01'"
    )
    assert rows == [{"instrument": "Cam", "exposure": 3}, {"instrument": "Cam", "exposure": 4}]


def test_query_data_ids_constrained_by_datasets(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler
) -> None:
    repo_butler.insert_dimension_records("detector", [{"instrument": "Cam", "id": 7}])
    everything = query_json(invoke, "query-data-ids", cli_repo, "detector")
    assert [r["detector"] for r in everything] == [0, 1, 7]
    with_raws = query_json(
        invoke,
        "query-data-ids",
        cli_repo,
        "detector",
        "--datasets",
        "raw",
        "--collections",
        "Cam/raw",
    )
    assert [r["detector"] for r in with_raws] == [0, 1]
    result = invoke("query-data-ids", cli_repo, "detector", "--datasets", "raw", "--format", "csv")
    assert result.stdout == "instrument,detector\nCam,0\nCam,1\n"


def test_query_dimension_records_timespans_as_iso(invoke: Invoke, cli_repo: Path) -> None:
    rows = query_json(
        invoke,
        "query-dimension-records",
        cli_repo,
        "exposure",
        "-d",
        "exposure.id = :e",
        "--bind",
        "e=3",
    )
    assert len(rows) == 1
    assert rows[0]["obs_id"] == "CAM_0003"
    assert rows[0]["exposure_time"] == 30.0
    assert rows[0]["physical_filter"] == "r_01"
    assert (rows[0]["timespan_begin"], rows[0]["timespan_end"]) == (
        "2024-01-02T03:00:00",
        "2024-01-02T03:01:00",
    )
    assert "timespan" not in rows[0]


def test_query_dimension_records_without_timespan(invoke: Invoke, cli_repo: Path) -> None:
    rows = query_json(invoke, "query-dimension-records", cli_repo, "detector")
    assert rows == [
        {"instrument": "Cam", "id": 0, "full_name": "S0", "purpose": None},
        {"instrument": "Cam", "id": 1, "full_name": "S1", "purpose": None},
    ]


# -- user errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("query-datasets", "{repo}", "raw", "--collections", "Cam/nope"),
            "collection 'Cam/nope' does not exist",
        ),
        (("query-datasets", "{repo}", "flat"), "unknown dataset type 'flat'; known: bias, raw"),
        (("query-datasets", "{repo}", "raw", "-d", "exposure.id = = 3"), "column"),
        (
            ("query-datasets", "{repo}", "raw", "-d", "exposure.nope = 3"),
            "valid fields of exposure",
        ),
        (("query-data-ids", "{repo}", "exposure", "visitor"), "unknown dimension 'visitor'"),
        (("query-dimension-records", "{repo}", "visitor"), "unknown dimension 'visitor'"),
        (("query-datasets", "{repo}", "raw", "-d", "exposure.id > :x"), "unknown bind :x"),
        (("query-datasets", "{repo}", "raw", "--bind", "x"), "invalid --bind 'x'"),
        (("query-collections", "{repo}", "--type", "RUNS"), "unknown collection type 'RUNS'"),
        (("query-dataset-types", "{repo}/missing"), "is not a quanta repository"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(
    invoke: Invoke, cli_repo: Path, args: tuple[str, ...], message: str
) -> None:
    assert_user_error(invoke(*(a.format(repo=cli_repo) for a in args)), message)
