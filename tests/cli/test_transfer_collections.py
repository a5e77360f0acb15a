"""``quanta transfer`` copies collections, not only datasets: chains, TAGGED memberships and
certifications with their validity are recreated in the target (SQLite and PostgreSQL),
repeating a transfer adds nothing, --dry-run writes nothing, --find-first takes one
dataset per data ID, and a conflicting target refuses before anything is copied."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cli.conftest import Invoke
from cli.small_repo import assert_user_error
from quanta.cli.operations import open_butler
from quanta.core.collections import CollectionType
from quanta.core.timespan import Timespan

SPAN = Timespan.from_iso("2024-01-01", "2024-02-01")


@pytest.fixture
def source(cli_repo: Path) -> Path:
    """The small repository with its biases certified, tagged and chained."""
    with open_butler(cli_repo) as butler:
        biases = butler.query_datasets("bias", ["Cam/calib/run1"])
        butler.registry.register_collection("Cam/calib", CollectionType.CALIBRATION)
        butler.certify("Cam/calib", biases, SPAN)
        butler.registry.register_collection("Cam/best", CollectionType.TAGGED)
        butler.registry.associate("Cam/best", biases[:1])
        butler.registry.register_collection("Cam/all", CollectionType.CHAINED)
        butler.registry.set_collection_chain("Cam/all", ["Cam/best", "Cam/calib", "Cam/raw"])
    return cli_repo


def make_target(invoke: Invoke, root: Path, db_url: str | None = None) -> Path:
    args = ["create", root, *(["--db", db_url] if db_url else [])]
    assert invoke(*args).exit_code == 0
    return root


def test_chains_tags_and_certifications_are_recreated(
    invoke: Invoke, source: Path, tmp_path: Path, db_url: str
) -> None:
    target = make_target(invoke, tmp_path / "target", db_url)
    dry = invoke("transfer", source, target, "bias", "--collections", "Cam/all", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.splitlines() == [
        f"would transfer 2 dataset(s) (0 already in {target})",
        "would recreate 1 chain(s), 1 TAGGED membership(s) in 1 collection(s), "
        "2 certification(s) in 1 collection(s)",
    ]
    with open_butler(target) as butler:
        assert butler.registry.query_collections() == []
    result = invoke("transfer", source, target, "bias", "--collections", "Cam/all")
    assert result.exit_code == 0, result.output
    with open_butler(source) as before, open_butler(target) as after:
        bias = before.registry.get_dataset_type("bias")
        assert after.registry.get_collection_chain("Cam/all") == ["Cam/best", "Cam/calib"]
        assert after.registry.certifications("Cam/calib", bias) == before.registry.certifications(
            "Cam/calib", bias
        )
        tagged = after.query_datasets("bias", ["Cam/best"], find_first=False)
        assert [ref.id for ref in tagged] == [
            ref.id for ref in before.query_datasets("bias", ["Cam/best"], find_first=False)
        ]
    again = invoke("transfer", source, target, "bias", "--collections", "Cam/all")
    assert again.stdout.splitlines() == [
        f"transferred 0 dataset(s) (2 already in {target})",
        "recreated 1 chain(s), 1 TAGGED membership(s) in 1 collection(s), "
        "0 certification(s) in 1 collection(s)",
    ]


def test_find_first_takes_one_dataset_per_data_id(
    invoke: Invoke, source: Path, tmp_path: Path
) -> None:
    target = make_target(invoke, tmp_path / "target")
    with open_butler(source) as butler:
        butler.put(np.zeros(4), "bias", instrument="Cam", detector=0, run="Cam/calib/run2")
    args = ("transfer", source, target, "bias")
    both = invoke(
        *args, "--collections", "Cam/calib/run2", "--collections", "Cam/calib/run1", "--dry-run"
    )
    assert both.stdout.startswith("would transfer 3 dataset(s)")
    first = invoke(
        *args, "--collections", "Cam/calib/run2", "--collections", "Cam/calib/run1", "--find-first"
    )
    assert first.exit_code == 0, first.output
    with open_butler(target) as butler:
        refs = butler.query_datasets("bias", ["Cam/calib/run2", "Cam/calib/run1"], find_first=False)
    assert sorted((ref.run, ref.data_id["detector"]) for ref in refs) == [
        ("Cam/calib/run1", 1),
        ("Cam/calib/run2", 0),
    ]


def test_an_overlapping_validity_in_the_target_refuses_before_copying(
    invoke: Invoke, source: Path, tmp_path: Path
) -> None:
    target = make_target(invoke, tmp_path / "target")
    with open_butler(source) as butler:
        butler.put(np.ones(4), "bias", instrument="Cam", detector=0, run="Cam/calib/other")
    with open_butler(target) as butler:
        butler.registry.register_run("seed")
    assert (
        invoke("transfer", source, target, "bias", "--collections", "Cam/calib/other").exit_code
        == 0
    )
    with open_butler(target) as butler:
        other = butler.query_datasets("bias", ["Cam/calib/other"])
        butler.registry.register_collection("Cam/calib", CollectionType.CALIBRATION)
        butler.certify("Cam/calib", other, Timespan.from_iso("2024-01-15", None))
    result = invoke("transfer", source, target, "bias", "--collections", "Cam/calib")
    assert_user_error(result, "the source certifies")
    with open_butler(target) as butler:
        assert butler.registry.find_collection("Cam/calib/run1") is None


def test_a_collection_of_another_type_in_the_target_refuses(
    invoke: Invoke, source: Path, tmp_path: Path
) -> None:
    target = make_target(invoke, tmp_path / "target")
    with open_butler(target) as butler:
        butler.registry.register_collection("Cam/best", CollectionType.CHAINED)
    result = invoke("transfer", source, target, "bias", "--collections", "Cam/best")
    assert_user_error(result, "'Cam/best' is TAGGED in the source but CHAINED in the target")
