"""collection-chain, certify and decertify."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.small_repo import DETECTORS, Invoke, assert_user_error, exposure_timespan
from quanta.butler import Butler
from quanta.cli.operations import chain_collections
from quanta.core.timespan import Timespan

# -- collection-chain ----------------------------------------------------------------------


@pytest.fixture
def extra_runs(repo_butler: Butler) -> Butler:
    """Two more (empty) runs, a and b, next to Cam/raw and Cam/calib/run1."""
    repo_butler.registry.register_run("a")
    repo_butler.registry.register_run("b")
    return repo_butler


@pytest.mark.parametrize(
    ("mode", "children", "expected"),
    [
        ("redefine", ["b", "a"], ["b", "a"]),
        ("prepend", ["b"], ["b", "Cam/raw", "a"]),
        ("prepend", ["a", "b"], ["a", "b", "Cam/raw"]),
        ("extend", ["b"], ["Cam/raw", "a", "b"]),
        ("extend", ["Cam/raw"], ["a", "Cam/raw"]),
        ("remove", ["Cam/raw"], ["a"]),
    ],
)
def test_collection_chain_modes(
    invoke: Invoke,
    cli_repo: Path,
    extra_runs: Butler,
    mode: str,
    children: list[str],
    expected: list[str],
) -> None:
    assert invoke("collection-chain", cli_repo, "chain", "Cam/raw", "a").exit_code == 0
    result = invoke("collection-chain", cli_repo, "chain", *children, "--mode", mode)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"chain: {', '.join(expected)}\n"
    assert extra_runs.get_collection_chain("chain") == expected


def test_collection_chain_makes_data_findable(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler
) -> None:
    assert invoke("collection-chain", cli_repo, "all", "Cam/raw", "Cam/calib/run1").exit_code == 0
    value = repo_butler.get("raw", instrument="Cam", exposure=2, detector=1, collections="all")
    assert value.tolist() == [201] * 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("chain", "Cam/nope"), "collection 'Cam/nope' does not exist"),
        (("Cam/raw", "a"), "already exists as RUN, not CHAINED"),
        (("nochain", "a", "--mode", "extend"), "collection 'nochain' does not exist"),
        (("chain", "b", "--mode", "remove"), "'b' not in chained collection 'chain'"),
        (("a", "chain"), "already exists as RUN"),
        (("inner", "chain"), "would make a cycle"),
    ],
)
def test_collection_chain_user_errors(
    invoke: Invoke, cli_repo: Path, extra_runs: Butler, args: tuple[str, ...], message: str
) -> None:
    extra_runs.set_collection_chain("inner", ["a"])
    extra_runs.set_collection_chain("chain", ["inner"])
    assert_user_error(invoke("collection-chain", cli_repo, *args), message)
    assert extra_runs.get_collection_chain("chain") == ["inner"]


# -- certify and decertify -----------------------------------------------------------------


def find_bias(butler: Butler, exposure: int, detector: int = 0) -> object:
    """The ID of the bias valid at an exposure, looked up by its timespan."""
    ref = butler.find_dataset(
        "bias",
        {"instrument": "Cam", "exposure": exposure, "detector": detector},
        collections="Cam/calib",
    )
    return ref.id


def test_certify_unbounded_makes_every_exposure_find_its_bias(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler
) -> None:
    result = invoke("certify", cli_repo, "Cam/calib/run1", "Cam/calib", "bias")
    assert result.exit_code == 0, result.output
    assert result.stdout == "certified 2 bias dataset(s) in Cam/calib: [-inf, +inf)\n"
    for detector in DETECTORS:
        expected = repo_butler.find_dataset(
            "bias", instrument="Cam", detector=detector, collections="Cam/calib/run1"
        )
        assert find_bias(repo_butler, 4, detector) == expected.id


def test_certify_with_a_range_and_where(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler
) -> None:
    result = invoke(
        "certify", cli_repo, "Cam/calib/run1", "Cam/calib", "bias",
        "--begin", "2024-01-02T02:00", "--end", "2024-01-02T03:30", "-d", "detector = 0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "certified 1 bias" in result.stdout
    assert "[2024-01-02T02:00:00 TAI, 2024-01-02T03:30:00 TAI)" in result.stdout
    assert "note: --begin 2024-01-02T02:00 has no time scale: read as TAI" in result.stdout
    assert find_bias(repo_butler, 2) == find_bias(repo_butler, 3)
    for outside in (1, 4):
        with pytest.raises(LookupError):
            find_bias(repo_butler, outside)
    with pytest.raises(LookupError):
        find_bias(repo_butler, 2, detector=1)


def test_certify_refuses_overlaps(invoke: Invoke, cli_repo: Path) -> None:
    args = ("certify", cli_repo, "Cam/calib/run1", "Cam/calib", "bias")
    assert invoke(*args, "--begin", "2024-01-01").exit_code == 0
    assert_user_error(invoke(*args, "--end", "2024-02-01"), "overlaps")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("Cam/calib/run1", "Cam/calib", "bias", "--begin", "yesterday"),
            "invalid time 'yesterday'",
        ),
        (
            ("Cam/calib/run1", "Cam/calib", "bias", "--begin", "2024-02-01", "--end", "2024-01-01"),
            "ends (2024-01-01T00:00:00) before it begins",
        ),
        (("Cam/raw", "Cam/calib", "bias"), "no bias datasets in collection 'Cam/raw'"),
        (("Cam/raw", "Cam/calib", "raw"), "not a calibration type"),
        (("Cam/calib/run1", "Cam/raw", "bias"), "already exists as RUN, not CALIBRATION"),
        (("Cam/calib/run1", "Cam/calib", "bias", "-d", "detector = 9"), "matching 'detector = 9'"),
    ],
)
def test_certify_user_errors(
    invoke: Invoke, cli_repo: Path, args: tuple[str, ...], message: str
) -> None:
    assert_user_error(invoke("certify", cli_repo, *args), message)


def test_decertify_splits_a_validity_range(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler
) -> None:
    assert invoke("certify", cli_repo, "Cam/calib/run1", "Cam/calib", "bias").exit_code == 0
    span = exposure_timespan(2)
    begin, end = "2024-01-02T02:00", "2024-01-02T02:30"
    assert Timespan.from_iso(begin, end).overlaps(span)
    result = invoke("decertify", cli_repo, "Cam/calib", "bias", "--begin", begin, "--end", end)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "decertified 2 validity range(s) of bias in Cam/calib\n"
        "note: --begin 2024-01-02T02:00 has no time scale: read as TAI\n"
        "note: --end 2024-01-02T02:30 has no time scale: read as TAI\n"
    )
    with pytest.raises(LookupError):
        find_bias(repo_butler, 2)
    assert find_bias(repo_butler, 1) == find_bias(repo_butler, 3)


def test_decertify_everything(invoke: Invoke, cli_repo: Path, repo_butler: Butler) -> None:
    invoke("certify", cli_repo, "Cam/calib/run1", "Cam/calib", "bias", "--begin", "2024-01-02")
    assert invoke("decertify", cli_repo, "Cam/calib", "bias").exit_code == 0
    with pytest.raises(LookupError):
        find_bias(repo_butler, 3)
    assert_user_error(invoke("decertify", cli_repo, "Cam/raw", "bias"), "CALIBRATION collection")


def test_chain_collections_refuses_an_unknown_mode(repo_butler: Butler) -> None:
    with pytest.raises(ValueError, match="unknown chain mode 'append'"):
        chain_collections(repo_butler, "chain", ["Cam/raw"], "append")
    assert repo_butler.registry.query_collections("chain") == []
