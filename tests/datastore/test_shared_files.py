"""One file, several datasets: a file of many detectors placed once, each dataset its HDU."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from quanta.core import StoredFile
from quanta.core.errors import DatastoreError
from quanta.core.raw import RawImage
from quanta.datastore import FileDatastore
from raw_layout_files import detector_raw, side_by_side, write_detectors

from .conftest import MakeRef, all_files

NAMES = {1: "S1", 2: "S2", 3: "S3"}


@pytest.fixture
def mef(tmp_path: Path) -> Path:
    """A file of three detectors, each with its own levels, in HDUs 1 to 3."""
    source = tmp_path / "outside" / "exposure.fits"
    source.parent.mkdir()
    return write_detectors({name: detector_raw(i) for i, name in NAMES.items()}, source)


def _datasets(make_ref: MakeRef) -> list:
    return [(make_ref("raw", storage_class="RawImage", detector=i), i) for i in NAMES]


@pytest.mark.parametrize("transfer", ["copy", "move", "link", "symlink", "direct"])
def test_a_file_of_many_detectors_is_placed_once_for_all_its_datasets(
    datastore: FileDatastore, make_ref: MakeRef, mef: Path, transfer: str
) -> None:
    digest, size = hashlib.sha256(mef.read_bytes()).hexdigest(), mef.stat().st_size
    datasets = _datasets(make_ref)
    records = datastore.ingest_file(mef, datasets, transfer)
    assert [(r.dataset_id, r.hdu) for r in records] == [(ref.id, i) for ref, i in datasets]
    assert {(r.path, r.checksum, r.size) for r in records} == {(records[0].path, digest, size)}
    if transfer == "direct":
        assert records[0].path == str(mef) and all_files(datastore.root) == []
    else:
        first = datastore.templates.path(datasets[0][0]) + ".fits"
        assert records[0].path == first and all_files(datastore.root) == [first]
    assert mef.exists() == (transfer != "move")
    for record in records:
        raw = datastore.read(record)
        assert isinstance(raw, RawImage)
        name = NAMES[record.hdu or 0]
        assert [a.geometry.name for a in raw.amps] == [f"{name}{x}" for x in "ABCD"]
        expected = side_by_side(detector_raw(record.hdu or 0))[0]
        np.testing.assert_array_equal(raw.amps[0].pixels, expected)
        assert datastore.check(record) == "ok"


def test_ingest_of_one_dataset_records_its_hdu(
    datastore: FileDatastore, make_ref: MakeRef, mef: Path
) -> None:
    stored = datastore.ingest(mef, make_ref("raw", storage_class="RawImage"), "link", hdu=3)
    assert stored.hdu == 3 and os.path.samefile(datastore.path(stored), mef)
    raw = datastore.read(stored)
    assert isinstance(raw, RawImage) and raw.amps[0].geometry.name == "S3A"


def test_bad_hdus_and_whole_file_formatters_are_refused(
    datastore: FileDatastore, make_ref: MakeRef, mef: Path
) -> None:
    ref = make_ref("raw", storage_class="RawImage")
    with pytest.raises(DatastoreError, match=r"exposure\.fits: HDU -1 is not an HDU index"):
        datastore.ingest_file(mef, [(ref, 1), (ref, -1)], "copy")
    assert all_files(datastore.root) == [] and mef.exists()
    assert datastore.ingest_file(mef, [], "move") == [] and mef.exists()
    array = make_ref("arr", storage_class="NumpyArray")
    stored = datastore.write(np.arange(3.0), array)
    shared = StoredFile(array.id, stored.path, "NumpyArray", stored.checksum, stored.size, 1)
    with pytest.raises(DatastoreError, match="storage class 'NumpyArray' reads whole files only"):
        datastore.read(shared)
