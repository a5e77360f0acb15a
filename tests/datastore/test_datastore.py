"""FileDatastore: atomic writes, checksums, ingest transfer modes, removal and orphan walking."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from quanta.core import DataCoordinate, DatasetRef, StoredFile
from quanta.core.errors import DataIdError, DatastoreError
from quanta.core.image import Image
from quanta.datastore import FileDatastore, checksum

from .conftest import MakeRef, all_files

SAMPLES = {
    "Image": lambda: Image(np.ones((4, 5), dtype=np.float32), header={"EXPTIME": 15.0}),
    "ArrowTable": lambda: pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]}),
    "StructuredData": lambda: {"gain": 1.5, "amps": ["C00", "C01"]},
    "NumpyArray": lambda: np.arange(10.0),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_checksum_is_sha256_of_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    assert checksum(path) == sha256(path)


def test_write_records_path_checksum_and_size(datastore: FileDatastore, make_ref: MakeRef) -> None:
    ref = make_ref("calexp", run="SimCam/runs/1")
    stored = datastore.write({"a": 1}, ref)
    file = datastore.root / "SimCam/runs/1/calexp/SimCam/12/calexp_SimCam_1001_12.json"
    assert stored == StoredFile(
        ref.id,
        file.relative_to(datastore.root).as_posix(),
        "StructuredData",
        sha256(file),
        file.stat().st_size,
    )
    assert datastore.path(stored) == file
    assert datastore.uri(stored) == file.as_uri()
    assert datastore.uri(stored).startswith("file:///")
    assert datastore.check(stored) == "ok"


@pytest.mark.parametrize(
    "bad",
    [object(), np.array([None, {"a": 1}], dtype=object), {"a": {1, 2}}],
    ids=["wrong-type", "object-dtype", "unserializable-value"],
)
def test_failed_write_leaves_no_file(
    datastore: FileDatastore, make_ref: MakeRef, bad: object
) -> None:
    storage_class = "NumpyArray" if isinstance(bad, np.ndarray) else "StructuredData"
    with pytest.raises(DatastoreError, match=storage_class):
        datastore.write(bad, make_ref("x", storage_class=storage_class))
    assert all_files(datastore.root) == []


def test_hostile_data_id_is_refused_before_any_file(
    datastore: FileDatastore, make_ref: MakeRef
) -> None:
    ref = make_ref()
    data_id = DataCoordinate(ref.data_id.group, ("../../etc", 12, 1001))
    with pytest.raises(DataIdError):
        datastore.write({"a": 1}, DatasetRef(ref.id, ref.dataset_type, data_id, ref.run))
    assert not datastore.root.exists()


@pytest.mark.parametrize("storage_class", list(SAMPLES))
def test_rewriting_identical_bytes_is_a_no_op(
    datastore: FileDatastore, make_ref: MakeRef, storage_class: str
) -> None:
    ref = make_ref("d", storage_class=storage_class)
    first = datastore.write(SAMPLES[storage_class](), ref)
    inode = datastore.path(first).stat().st_ino
    second = datastore.write(SAMPLES[storage_class](), ref)
    assert second == first
    assert datastore.path(second).stat().st_ino == inode
    assert all_files(datastore.root) == [first.path]


def test_conflicting_rewrite_is_refused_and_keeps_the_first_file(
    datastore: FileDatastore, make_ref: MakeRef
) -> None:
    ref = make_ref()
    first = datastore.write({"a": 1}, ref)
    with pytest.raises(DatastoreError, match="a different file is already there"):
        datastore.write({"a": 2}, ref)
    assert datastore.read(first) == {"a": 1}
    assert datastore.check(first) == "ok"
    assert all_files(datastore.root) == [first.path]


def test_check_detects_truncated_modified_and_missing_files(
    datastore: FileDatastore, make_ref: MakeRef
) -> None:
    stored = datastore.write(np.arange(100.0), make_ref("arr", storage_class="NumpyArray"))
    path = datastore.path(stored)
    original = path.read_bytes()
    path.write_bytes(original[:-8])
    assert datastore.check(stored) == "corrupt"
    flipped = bytearray(original)
    flipped[-1] ^= 0xFF
    path.write_bytes(bytes(flipped))
    assert datastore.check(stored) == "corrupt"
    path.write_bytes(original)
    assert datastore.check(stored) == "ok"
    path.unlink()
    assert datastore.check(stored) == "missing"


def test_remove_deletes_file_and_empty_directories_only(
    datastore: FileDatastore, make_ref: MakeRef
) -> None:
    keep = datastore.write({"a": 1}, make_ref(detector=1, run="a/b"))
    gone = datastore.write({"a": 2}, make_ref(detector=2, run="a/b"))
    datastore.remove(gone)
    assert not datastore.path(gone).exists()
    assert not datastore.path(gone).parent.exists()
    assert all_files(datastore.root) == [keep.path]
    datastore.remove(keep)
    assert datastore.root.is_dir()
    assert list(datastore.root.iterdir()) == []


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "incoming" / "raw_0001.json"
    path.parent.mkdir()
    path.write_text('{"raw": true}\n')
    return path


def test_ingest_copy(datastore: FileDatastore, make_ref: MakeRef, source: Path) -> None:
    stored = datastore.ingest(source, make_ref("raw"), "copy")
    dest = datastore.path(stored)
    assert source.is_file() and not dest.is_symlink()
    assert dest.stat().st_ino != source.stat().st_ino
    assert stored.checksum == sha256(source) and stored.size == source.stat().st_size
    assert datastore.read(stored) == {"raw": True}
    assert all_files(datastore.root) == [stored.path]


def test_ingest_move_removes_the_source(
    datastore: FileDatastore, make_ref: MakeRef, source: Path
) -> None:
    digest = sha256(source)
    stored = datastore.ingest(source, make_ref("raw"), "move")
    assert not source.exists()
    assert stored.checksum == digest == sha256(datastore.path(stored))
    assert datastore.check(stored) == "ok"


def test_ingest_move_of_the_file_already_in_place_keeps_it(
    datastore: FileDatastore, make_ref: MakeRef, source: Path
) -> None:
    ref = make_ref("raw")
    stored = datastore.ingest(source, ref, "copy")
    again = datastore.ingest(datastore.path(stored), ref, "move")
    assert again == stored
    assert datastore.check(stored) == "ok"


def test_ingest_link_is_a_hard_link(
    datastore: FileDatastore, make_ref: MakeRef, source: Path
) -> None:
    stored = datastore.ingest(source, make_ref("raw"), "link")
    dest = datastore.path(stored)
    assert source.is_file() and not dest.is_symlink()
    assert dest.stat().st_ino == source.stat().st_ino
    assert stored.checksum == sha256(source)


def test_ingest_symlink_and_remove_keeps_the_source(
    datastore: FileDatastore, make_ref: MakeRef, source: Path
) -> None:
    stored = datastore.ingest(source, make_ref("raw"), "symlink")
    dest = datastore.path(stored)
    assert dest.is_symlink() and dest.resolve() == source.resolve()
    assert stored.checksum == sha256(source)
    assert datastore.read(stored) == {"raw": True}
    datastore.remove(stored)
    assert not dest.is_symlink() and source.is_file()


def test_ingest_direct_records_absolute_path_and_remove_leaves_it(
    datastore: FileDatastore, make_ref: MakeRef, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(source.parent)
    stored = datastore.ingest(Path(source.name), make_ref("raw"), "direct")
    assert stored.is_external and stored.path == str(source)
    assert stored.checksum == sha256(source)
    assert datastore.path(stored) == source
    assert datastore.uri(stored) == source.as_uri()
    assert not datastore.root.exists()
    assert datastore.check(stored) == "ok"
    datastore.remove(stored)
    assert source.is_file()


@pytest.mark.parametrize("transfer", ["copy", "move", "link", "symlink", "direct"])
def test_ingest_missing_source_names_it(
    datastore: FileDatastore, make_ref: MakeRef, tmp_path: Path, transfer: str
) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(DatastoreError, match=f"cannot ingest {missing}: no such file"):
        datastore.ingest(missing, make_ref("raw"), transfer)
    assert not datastore.root.exists()


def test_ingest_unknown_transfer_lists_valid_modes(
    datastore: FileDatastore, make_ref: MakeRef, source: Path
) -> None:
    with pytest.raises(DatastoreError, match="'hardlink'; valid modes: copy, move, link"):
        datastore.ingest(source, make_ref("raw"), "hardlink")
    assert source.is_file()


def test_ingest_conflict_keeps_source_and_existing_file(
    datastore: FileDatastore, make_ref: MakeRef, source: Path
) -> None:
    ref = make_ref("raw")
    existing = datastore.write({"other": 1}, ref)
    with pytest.raises(DatastoreError, match="a different file is already there"):
        datastore.ingest(source, ref, "move")
    assert source.is_file()
    assert datastore.read(existing) == {"other": 1}
    assert all_files(datastore.root) == [existing.path]


def test_walk_files_skips_repository_files_and_finds_orphans(
    datastore: FileDatastore, make_ref: MakeRef
) -> None:
    stored = datastore.write({"a": 1}, make_ref(run="r"))
    root = datastore.root
    for name in (
        "quanta.yaml",
        "dimensions.yaml",
        "registry.sqlite3",
        "registry.sqlite3-wal",
        ".lock",
        ".cache/x.json",
        "r/calexp/.x.json.tmp-1234",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("repo")
    (root / "r/orphan/quanta.yaml").parent.mkdir(parents=True)
    (root / "r/orphan/quanta.yaml").write_text("orphan")
    assert list(datastore.walk_files()) == [stored.path, "r/orphan/quanta.yaml"]
    datastore.remove_orphan("r/orphan/quanta.yaml")
    assert not (root / "r/orphan").exists()
    assert list(datastore.walk_files()) == [stored.path]


@pytest.mark.parametrize(
    "relpath",
    [
        "quanta.yaml",
        "registry.sqlite3",
        "../outside.json",
        "r/../../x",
        "/etc/passwd",
        "r/.x.json.tmp-1234",
    ],
)
def test_remove_orphan_refuses_repository_and_outside_paths(
    datastore: FileDatastore, relpath: str
) -> None:
    datastore.root.mkdir()
    (datastore.root / "quanta.yaml").write_text("keep")
    with pytest.raises(DatastoreError):
        datastore.remove_orphan(relpath)
    assert (datastore.root / "quanta.yaml").read_text() == "keep"


def test_stored_path_escaping_the_root_is_refused(
    datastore: FileDatastore, make_ref: MakeRef
) -> None:
    stored = datastore.write({"a": 1}, make_ref())
    hostile = dataclasses.replace(stored, path="../../etc/passwd")
    with pytest.raises(DatastoreError, match="not a dataset path"):
        datastore.read(hostile)
