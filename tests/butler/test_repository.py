"""Repository creation, ingest, transfer between repositories, and verification."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from quanta.butler import Butler
from quanta.core import DataCoordinate, DatasetRef
from quanta.core.errors import ConfigError, DatastoreError, RepositoryError
from repo_data import INSTRUMENT, make_repo


def test_create_refuses_bad_database_and_leaves_nothing(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    with pytest.raises(RepositoryError, match="cannot connect"):
        Butler.create(root, db="postgresql://nobody@127.0.0.1:1/none")
    assert not root.exists()
    with pytest.raises(RepositoryError, match="unsupported database URL"):
        Butler.create(root, db="mysql://x/y")
    assert not root.exists()


def test_create_refuses_non_empty_directory_and_opening_non_repo(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(RepositoryError, match="not empty"):
        Butler.create(tmp_path)
    with pytest.raises(RepositoryError, match="not a quanta repository"):
        Butler(tmp_path)


def test_malformed_config_names_file_and_line(tmp_path: Path) -> None:
    butler = Butler.create(tmp_path / "repo")
    (butler.root / "quanta.yaml").write_text("version: 1\nregistry:\n  database: x\n")
    with pytest.raises(ConfigError, match=r"quanta\.yaml:3: registry\.database"):
        Butler(butler.root)


def test_universe_is_copied_and_used(tmp_path: Path) -> None:
    butler = Butler.create(tmp_path / "repo")
    assert (butler.root / "dimensions.yaml").exists()
    assert "exposure" in butler.universe


def _ref(butler: Butler, exposure: int, run: str = "ingested") -> DatasetRef:
    dt = butler.register_dataset_type("raw", ["instrument", "detector", "exposure"], "NumpyArray")
    data_id = DataCoordinate.standardize(
        {"instrument": INSTRUMENT, "detector": 0, "exposure": exposure}, dt.dimensions
    )
    return DatasetRef.for_output(dt, data_id, run)


@pytest.mark.parametrize("transfer", ["copy", "move", "link", "symlink", "direct"])
def test_ingest_transfer_modes(sqlite_butler: Butler, tmp_path: Path, transfer: str) -> None:
    source = tmp_path / "outside" / "raw.npy"
    source.parent.mkdir()
    np.save(source, np.arange(4.0))
    ref = _ref(sqlite_butler, 5)
    assert sqlite_butler.ingest([(source, ref)], transfer) == [ref]
    np.testing.assert_array_equal(sqlite_butler.get(ref), np.arange(4.0))
    stored = sqlite_butler._stored(ref)
    assert source.exists() == (transfer != "move")
    assert stored.is_external == (transfer == "direct")
    if transfer == "symlink":
        assert sqlite_butler.datastore.path(stored).is_symlink()
    if transfer == "link":
        assert os.path.samefile(sqlite_butler.datastore.path(stored), source)
    if transfer != "move":
        assert sqlite_butler.ingest([(source, ref)], transfer) == []
    assert len(sqlite_butler.query_datasets("raw", "ingested")) == 1


def test_failed_ingest_puts_files_back(sqlite_butler: Butler, tmp_path: Path) -> None:
    good = tmp_path / "good.npy"
    np.save(good, np.zeros(2))
    ref = _ref(sqlite_butler, 5)
    clash = DatasetRef(ref.id, ref.dataset_type, ref.data_id, "ingested")
    with pytest.raises(DatastoreError, match=r"missing\.npy"):
        sqlite_butler.ingest(
            [(good, ref), (tmp_path / "missing.npy", _ref(sqlite_butler, 6))], "move"
        )
    assert good.exists()
    assert sqlite_butler.query_datasets("raw", "ingested") == []
    assert sqlite_butler.verify().orphans == []
    assert sqlite_butler.ingest([(good, clash)], "copy") == [clash]


def test_transfer_between_repositories(butler: Butler, tmp_path: Path) -> None:
    refs = [
        butler.put(
            np.full(3, e),
            _ref(butler, e, "run").dataset_type,
            {"instrument": INSTRUMENT, "detector": 0, "exposure": e},
            run="run",
        )
        for e in (5, 9)
    ]
    target = Butler.create(tmp_path / "target")
    assert target.transfer_from(butler, refs) == refs
    assert target.transfer_from(butler, refs) == []
    np.testing.assert_array_equal(
        target.get("raw", refs[1].data_id, collections="run"), np.full(3, 9)
    )
    record = target.query_dimension_records("exposure", where="exposure = 9")[0]
    assert record.observation_type == "science"
    assert len(target.query_dimension_records("exposure")) == 2
    with pytest.raises(ValueError, match="move"):
        target.transfer_from(butler, refs, "move")


def test_verify_finds_missing_corrupt_and_orphan_files(sqlite_butler: Butler) -> None:
    butler = sqlite_butler
    butler.register_dataset_type("arr", ["instrument", "detector", "exposure"], "NumpyArray")
    refs = [
        butler.put(
            np.full(64, e),
            "arr",
            {"instrument": INSTRUMENT, "detector": 0, "exposure": e},
            run="run",
        )
        for e in (5, 6, 7)
    ]
    assert butler.verify().ok
    butler.datastore.path(butler._stored(refs[0])).unlink()
    path = butler.datastore.path(butler._stored(refs[1]))
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    orphan = butler.root / "run" / "leftover.npy"
    orphan.write_bytes(b"x")
    report = butler.verify()
    assert len(report.missing) == 1 and len(report.corrupt) == 1
    assert report.orphans == ["run/leftover.npy"] and not report.ok
    repaired = butler.verify(repair=True)
    assert repaired.removed == ["run/leftover.npy"] and not orphan.exists()


def test_fresh_repository_helper_builds_known_contents(tmp_path: Path) -> None:
    butler = make_repo(tmp_path / "r")
    assert len(butler.query_dimension_records("exposure")) == 12


def test_create_on_a_file_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(RepositoryError, match="not a directory"):
        Butler.create(target)
    with pytest.raises(RepositoryError, match="cannot create"):
        Butler.create(target / "below")
