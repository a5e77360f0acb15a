"""Datasets sharing one file (one detector per HDU): ingest, read, verify, remove, transfer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from quanta.butler import Butler
from quanta.core import DataCoordinate, DatasetRef
from quanta.core.errors import DatastoreError, RepositoryError
from quanta.core.raw import RawImage
from quanta.registry.schema import SCHEMA_VERSION
from raw_layout_files import detector_raw, side_by_side, write_detectors
from repo_data import INSTRUMENT

NAMES = {1: "S1", 2: "S2", 3: "S3"}


def _ref(butler: Butler, detector: int, run: str) -> DatasetRef:
    dt = butler.register_dataset_type("raw", ["instrument", "detector", "exposure"], "RawImage")
    values = {"instrument": INSTRUMENT, "detector": detector, "exposure": 5}
    return DatasetRef.for_output(dt, DataCoordinate.standardize(values, dt.dimensions), run)


@pytest.fixture
def mef(tmp_path: Path) -> Path:
    """A file of three detectors in HDUs 1 to 3, each with its own levels."""
    return write_detectors({n: detector_raw(i) for i, n in NAMES.items()}, tmp_path / "e.fits")


def _check_read(butler: Butler, ref: DatasetRef, hdu: int) -> None:
    raw = butler.get(ref)
    assert isinstance(raw, RawImage) and raw.amps[0].geometry.name == f"{NAMES[hdu]}A"
    np.testing.assert_array_equal(raw.amps[0].pixels, side_by_side(detector_raw(hdu))[0])


def test_a_shared_file_lives_until_its_last_dataset_goes(butler: Butler, mef: Path) -> None:
    refs = [_ref(butler, 1, "raw/a"), _ref(butler, 2, "raw/a"), _ref(butler, 3, "raw/b")]
    items = [(mef, ref, hdu) for ref, hdu in zip(refs, NAMES, strict=True)]
    assert butler.ingest(items, "copy") == refs
    assert butler.ingest(items, "copy") == []
    files = butler.registry.get_files([ref.id for ref in refs])
    assert [files[ref.id].hdu for ref in refs] == [1, 2, 3]
    assert list(butler.datastore.walk_files()) == [files[refs[0].id].path]
    for ref, hdu in zip(refs, NAMES, strict=True):
        _check_read(butler, ref, hdu)
    report = butler.verify()
    assert report.ok and report.checked == 3 and report.orphans == []

    path = butler.datastore.path(files[refs[0].id])
    assert butler.remove_runs(["raw/a"]).files_deleted == 0
    assert path.is_file() and butler.verify().ok
    _check_read(butler, refs[2], 3)
    assert butler.remove_runs(["raw/b"]).files_deleted == 1
    assert not path.exists() and list(butler.datastore.walk_files()) == []


def test_a_shared_file_is_corrupt_once_and_transferred_once(
    butler: Butler, mef: Path, tmp_path: Path
) -> None:
    refs = [_ref(butler, d, "raw/all") for d in NAMES]
    butler.ingest([(mef, ref, hdu) for ref, hdu in zip(refs, NAMES, strict=True)], "symlink")
    target = Butler.create(tmp_path / "target")
    assert target.transfer_from(butler, refs) == refs
    assert len(list(target.datastore.walk_files())) == 1
    assert not target.datastore.path(target._stored(refs[0])).is_symlink()
    for ref, hdu in zip(refs, NAMES, strict=True):
        assert target._stored(ref).hdu == hdu
        _check_read(target, ref, hdu)
    with open(mef, "r+b") as stream:
        stream.seek(-1, 2)
        stream.write(b"\x01")
    report = butler.verify()
    assert report.checked == 3 and report.corrupt == [butler._stored(refs[0]).path]
    assert target.verify().ok


def test_a_shared_file_is_moved_once_and_moved_back_on_failure(
    butler: Butler, mef: Path, tmp_path: Path
) -> None:
    refs = [_ref(butler, d, "raw/all") for d in NAMES]
    items: list = [(mef, ref, hdu) for ref, hdu in zip(refs[:2], NAMES, strict=False)]
    with pytest.raises(DatastoreError, match=r"missing\.fits: no such file"):
        butler.ingest([*items, (tmp_path / "missing.fits", refs[2], 1)], "move")
    assert mef.is_file() and list(butler.datastore.walk_files()) == []
    assert butler.query_datasets("raw", "raw/all") == []
    assert butler.ingest(items, "move") == refs[:2]
    assert not mef.exists()
    _check_read(butler, refs[1], 2)


def test_a_repository_of_the_previous_schema_is_refused_clearly(butler: Butler) -> None:
    with butler.registry.transaction() as conn:
        conn.execute(sa.text("UPDATE meta SET value = '3' WHERE key = 'schema_version'"))
    butler.close()
    with pytest.raises(
        RepositoryError,
        match=rf"^registry schema version 3 is not supported \(expected {SCHEMA_VERSION}\)$",
    ):
        Butler(butler.root)
