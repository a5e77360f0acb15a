"""Collections as users expect: globs where collections are searched, "did you mean" for
mistyped collections and dataset types, certification times with an explicit scale, and
the validity of each certification in UTC and TAI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.conftest import Invoke
from cli.small_repo import assert_user_error
from quanta.butler import Butler
from quanta.core.errors import CollectionNotFoundError
from quanta.core.timespan import TimespanError, tai_ns_from_iso, tai_ns_from_text

#: TAI - UTC from 2017 on.
LEAP = 37


def test_a_glob_searches_every_collection_it_matches(invoke: Invoke, cli_repo: Path) -> None:
    result = invoke("query-datasets", cli_repo, "bias", "--collections", "Cam/cal*/run?")
    assert result.exit_code == 0, result.output
    assert {
        row["run"]
        for row in json.loads(
            invoke(
                "query-datasets", cli_repo, "bias", "--collections", "Cam/*", "--format", "json"
            ).stdout
        )
    } == {"Cam/calib/run1"}


def test_a_glob_matching_nothing_names_the_closest(invoke: Invoke, cli_repo: Path) -> None:
    result = invoke("query-datasets", cli_repo, "bias", "--collections", "Cam/calb/*")
    assert_user_error(result, "no collection matches 'Cam/calb/*'; did you mean")


def test_mistyped_names_get_a_suggestion(invoke: Invoke, cli_repo: Path) -> None:
    result = invoke("query-datasets", cli_repo, "bias", "--collections", "Cam/calib/rn1")
    assert_user_error(
        result, "collection 'Cam/calib/rn1' does not exist; did you mean 'Cam/calib/run1'?"
    )
    result = invoke("query-datasets", cli_repo, "bais", "--collections", "Cam/calib/run1")
    assert_user_error(result, "unknown dataset type 'bais'; did you mean 'bias'?")


def test_expand_keeps_chains_and_orders_glob_matches(repo_butler: Butler) -> None:
    registry = repo_butler.registry
    assert registry.expand_collections(["Cam/r*", "Cam/calib/run1"]) == [
        "Cam/raw",
        "Cam/calib/run1",
    ]
    with pytest.raises(CollectionNotFoundError, match="no collection matches 'Nope/\\*'"):
        registry.expand_collections(["Nope/*"])


def test_certify_in_utc_is_stored_in_tai_and_listed_in_both(invoke: Invoke, cli_repo: Path) -> None:
    args = ("certify", cli_repo, "Cam/calib/run1", "Cam/calib", "bias")
    result = invoke(*args, "--begin", "2024-01-01T00:00:00Z", "--end", "2024-06-01 TAI")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "certified 2 bias dataset(s) in Cam/calib: [2024-01-01T00:00:37 TAI, "
        "2024-06-01T00:00:00 TAI) = [2024-01-01T00:00:00.000 UTC, 2024-05-31T23:59:23.000 UTC)\n"
    )
    listed = invoke("query-datasets", cli_repo, "bias", "--show-validity", "--format", "json")
    rows = json.loads(listed.stdout)
    assert [(r["collection"], r["detector"]) for r in rows] == [("Cam/calib", 0), ("Cam/calib", 1)]
    assert {
        (r["valid_from_utc"], r["valid_to_utc"], r["valid_from_tai"], r["valid_to_tai"])
        for r in rows
    } == {
        (
            "2024-01-01T00:00:00.000",
            "2024-05-31T23:59:23.000",
            "2024-01-01T00:00:37",
            "2024-06-01T00:00:00",
        )
    }
    only = invoke("query-datasets", cli_repo, "bias", "--show-validity", "-d", "detector = 1")
    assert only.exit_code == 0 and "Cam/calib" in only.stdout
    none = invoke(
        "query-datasets",
        cli_repo,
        "bias",
        "--show-validity",
        "--collections",
        "Cam/raw",
        "--format",
        "csv",
    )
    assert none.stdout.splitlines()[1:] == []


def test_unbounded_validity_is_listed_as_infinite(invoke: Invoke, cli_repo: Path) -> None:
    assert invoke("certify", cli_repo, "Cam/calib/run1", "Cam/calib", "bias").exit_code == 0
    rows = json.loads(
        invoke("query-datasets", cli_repo, "bias", "--show-validity", "--format", "json").stdout
    )
    assert {(r["valid_from_utc"], r["valid_to_tai"]) for r in rows} == {("-inf", "+inf")}


@pytest.mark.parametrize(
    ("text", "scale", "explicit", "offset"),
    [
        ("2024-03-01T12:00:00Z", "UTC", True, LEAP),
        ("2024-03-01T12:00:00 utc", "UTC", True, LEAP),
        ("2024-03-01T12:00:00 TAI", "TAI", True, 0),
        ("2024-03-01T12:00:00", "TAI", False, 0),
    ],
)
def test_time_scales(text: str, scale: str, explicit: bool, offset: int) -> None:
    ns, given, said = tai_ns_from_text(text)
    assert (given, said) == (scale, explicit)
    assert ns == tai_ns_from_iso("2024-03-01T12:00:00") + offset * 1_000_000_000


def test_a_bad_time_with_a_scale_names_the_forms() -> None:
    with pytest.raises(TimespanError, match=r"\[Z\| UTC\| TAI\]"):
        tai_ns_from_text("noon Z")
