"""Formatters that give bytes are written and hashed in one pass and read in one: the
recorded checksum and size are the file's, the file is the formatter's own, and a file
changed on disk is refused before it is parsed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quanta.core.errors import ChecksumError
from quanta.datastore import FileDatastore, checksum, formatter_for
from quanta.datastore.formatters import BytesFormatter

from .conftest import MakeRef, all_files

OBJECTS = {
    "NumpyArray": np.arange(12, dtype=np.float32).reshape(3, 4).T,
    "StructuredData": {"b": [1, 2.5, None], "a": "é"},
}


@pytest.mark.parametrize("storage_class", sorted(OBJECTS))
def test_a_write_records_the_files_own_checksum_and_size(
    tmp_path: Path, datastore: FileDatastore, make_ref: MakeRef, storage_class: str
) -> None:
    ref = make_ref(storage_class=storage_class)
    stored = datastore.write(OBJECTS[storage_class], ref)
    path = datastore.path(stored)
    assert (stored.checksum, stored.size) == (checksum(path), path.stat().st_size)
    assert all_files(datastore.root) == [stored.path]
    formatter = formatter_for(storage_class)
    assert isinstance(formatter, BytesFormatter)
    plain = tmp_path / f"plain{formatter.extension}"
    formatter.write(OBJECTS[storage_class], plain)
    assert plain.read_bytes() == path.read_bytes()


def test_a_read_refuses_bytes_changed_on_disk(datastore: FileDatastore, make_ref: MakeRef) -> None:
    ref = make_ref(storage_class="NumpyArray")
    stored = datastore.write(np.zeros(4), ref)
    path = datastore.path(stored)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="SHA-256"):
        FileDatastore(datastore.root, datastore.templates, verify_max_bytes=1 << 20).read(stored)
    assert datastore.read(stored)[-1] != 0.0
