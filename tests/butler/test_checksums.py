"""Reads check each small file's checksum first, as the repository configuration says: a
flipped bit is an error naming the file, never wrong data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quanta.butler import Butler
from quanta.butler.config import VERIFY_MAX_BYTES, RepoConfig
from quanta.core.errors import ChecksumError, ConfigError

RUN = "u/checked"
DATA_ID = {"instrument": "Cam", "detector": 1}


def _put(butler: Butler) -> Path:
    """Store 64 float64 values and return their file."""
    butler.register_dataset_type("vector", ["instrument", "detector"], "NumpyArray")
    ref = butler.put(np.arange(64.0), "vector", DATA_ID, run=RUN)
    return butler.datastore.path(butler.registry.get_files([ref.id])[ref.id])


def _flip_last_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def _reopen(butler: Butler, **settings: object) -> Butler:
    config = RepoConfig.load(butler.root)
    config.datastore = config.datastore.model_copy(update=settings)
    config.save(butler.root)
    butler.close()
    return Butler(butler.root)


def test_checks_are_on_by_default_for_small_files(sqlite_butler: Butler) -> None:
    settings = RepoConfig.load(sqlite_butler.root).datastore
    assert (settings.verify_checksums, settings.verify_max_bytes) == (True, VERIFY_MAX_BYTES)


def test_a_flipped_bit_is_an_error_naming_the_file(sqlite_butler: Butler) -> None:
    path = _put(sqlite_butler)
    assert sqlite_butler.get("vector", DATA_ID, collections=RUN)[-1] == 63.0
    _flip_last_bit(path)
    with pytest.raises(ChecksumError, match=f"{path} is corrupt: its SHA-256 checksum differs"):
        sqlite_butler.get("vector", DATA_ID, collections=RUN)


def test_a_truncated_file_is_an_error_naming_its_size(sqlite_butler: Butler) -> None:
    path = _put(sqlite_butler)
    size = path.stat().st_size
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(ChecksumError, match=f"it has {size - 8} bytes, not the {size} recorded"):
        sqlite_butler.get("vector", DATA_ID, collections=RUN)


def test_checks_off_or_above_the_size_read_the_file_as_it_is(sqlite_butler: Butler) -> None:
    path = _put(sqlite_butler)
    _flip_last_bit(path)
    unchecked = _reopen(sqlite_butler, verify_checksums=False)
    assert unchecked.get("vector", DATA_ID, collections=RUN)[-1] != 63.0
    small = _reopen(unchecked, verify_checksums=True, verify_max_bytes=path.stat().st_size - 1)
    assert small.get("vector", DATA_ID, collections=RUN)[-1] != 63.0
    checked = _reopen(small, verify_max_bytes=path.stat().st_size)
    with pytest.raises(ChecksumError):
        checked.get("vector", DATA_ID, collections=RUN)
    checked.close()


def test_negative_limits_are_refused(sqlite_butler: Butler) -> None:
    config = sqlite_butler.root / "quanta.yaml"
    config.write_text(config.read_text().replace("verify_max_bytes: ", "verify_max_bytes: -"))
    with pytest.raises(ConfigError, match="verify_max_bytes"):
        RepoConfig.load(sqlite_butler.root)
