"""A registry that cannot grow (SQLite's ``max_page_count`` stands in for a full disk)
makes a command fail with one line and exit code 2, having changed nothing."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from quanta.butler import Butler
from quanta.cli.errors import full_disk_message
from quanta.cli.main import cli
from repo_data import DETECTORS, EXPOSURES, INSTRUMENT
from repo_state import repo_state


@pytest.fixture
def full_registry(sqlite_butler: Butler) -> Iterator[Butler]:
    """The SQLite test repository, whose every new connection may not grow the database."""
    database = sqlite_butler.root / "registry.sqlite3"
    sqlite_butler.close()
    with sqlite3.connect(database) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]

    def limit(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    sa.event.listen(sa.engine.Engine, "connect", limit)
    yield sqlite_butler
    sa.event.remove(sa.engine.Engine, "connect", limit)


def _table(directory: Path) -> Path:
    """A table of one small file per exposure and detector, far more than fits."""
    directory.mkdir()
    rows = ["file,instrument,detector,exposure"]
    for detector in DETECTORS:
        for exposure in EXPOSURES:
            name = f"flux_{detector}_{exposure}.npy"
            np.save(directory / name, np.arange(3.0))
            rows.append(f"{name},{INSTRUMENT},{detector},{exposure}")
    table = directory / "table.csv"
    table.write_text("\n".join(rows) + "\n")
    return table


def test_full_registry_is_one_line(full_registry: Butler, tmp_path: Path) -> None:
    table = _table(tmp_path / "files")
    before = repo_state(full_registry)
    args = ["ingest-files", full_registry.root, "flux", "u/run", table]
    result = CliRunner().invoke(cli, [str(a) for a in [*args, "--storage-class", "NumpyArray"]])
    lines = result.stderr.splitlines()
    assert (result.exit_code, len(lines)) == (2, 1), result.output
    assert "registry database cannot grow (database or disk is full)" in lines[0]
    assert repo_state(full_registry) == before


def test_no_space_left_on_a_device_is_one_line() -> None:
    full = OSError(errno.ENOSPC, "No space left on device", "/repo/x.npy")
    assert full_disk_message(full) == (
        "no space left on the device for /repo/x.npy: free some space and run again"
    )
    assert full_disk_message(OSError(errno.EACCES, "Permission denied")) is None
    assert full_disk_message(RuntimeError("database or disk is full")) is None
