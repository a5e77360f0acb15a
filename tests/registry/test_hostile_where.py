"""``where`` text and binds that no database can take (NUL, bytes that are not UTF-8)
and comparisons that mean nothing (ordering booleans) are refused before any SQL, on a
real repository on both backends, which they leave unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from quanta.butler import Butler
from quanta.core.errors import QueryError, QuerySyntaxError
from repo_data import INSTRUMENT
from repo_state import repo_state


@pytest.fixture
def grouped(butler: Butler) -> Butler:
    """The test repository with one exclusive group system (a record with a bool field)."""
    butler.insert_dimension_records(
        "group_system", [{"instrument": INSTRUMENT, "name": "pairs", "exclusive": True}]
    )
    return butler


def _query(butler: Butler, where: str, binds: dict[str, Any] | None = None) -> list[Any]:
    return butler.query_dimension_records("exposure", where=where, binds=binds)


@pytest.mark.parametrize(
    ("where", "message", "column"),
    [
        ("exposure.obs_id = 'a\x00b'", "holds a NUL character", 21),
        ("instrument = 'Cam\x00'", "holds a NUL character", 18),
        ("exposure.obs_id = 'caf\udce9'", r"holds a byte that is not UTF-8 \(\\xe9\)", 23),
        ("exposure.obs_id = 'x\ud800'", r"holds an unpaired surrogate \(\\ud800\)", 21),
        ("exposure = 1 \x00", "holds a NUL character", 14),
    ],
)
def test_text_no_database_takes_is_a_syntax_error(
    butler: Butler, where: str, message: str, column: int
) -> None:
    before = repo_state(butler)
    with pytest.raises(QuerySyntaxError, match=message) as info:
        _query(butler, where)
    assert info.value.column == column
    assert repo_state(butler) == before


@pytest.mark.parametrize(
    ("where", "binds", "message"),
    [
        ("exposure.obs_id = :v", {"v": "a\x00"}, r"bind :v = 'a\\x00' holds a NUL character"),
        ("exposure.obs_id IN (:v)", {"v": ["ok", "\udcff"]}, "holds a byte that is not UTF-8"),
        ("instrument = :v", {"v": "Cam\x00"}, "holds a NUL character at character 4"),
    ],
)
def test_bind_values_no_database_takes_are_refused(
    butler: Butler, where: str, binds: dict[str, Any], message: str
) -> None:
    before = repo_state(butler)
    with pytest.raises(QueryError, match=message):
        _query(butler, where, binds)
    assert repo_state(butler) == before


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("group_system.exclusive >= TRUE", "cannot compare group_system.exclusive with '>='"),
        ("group_system.exclusive < FALSE", "cannot compare group_system.exclusive with '<'"),
        ("TRUE > group_system.exclusive", "cannot compare group_system.exclusive with '<'"),
        ("group_system.exclusive <= group_system.exclusive", "with '<='"),
        ("group_system.exclusive > :b", "cannot compare group_system.exclusive with '>'"),
        ("group_system.group_size > TRUE", "group_size takes int values, not True"),
    ],
)
def test_booleans_have_no_order(grouped: Butler, where: str, message: str) -> None:
    before = repo_state(grouped)
    with pytest.raises(QueryError, match=message):
        grouped.query_dimension_records("group_system", where=where, binds={"b": True})
    assert repo_state(grouped) == before


def test_booleans_compare_for_equality(grouped: Butler) -> None:
    for where, found in [
        ("group_system.exclusive = TRUE", 1),
        ("group_system.exclusive != TRUE", 0),
    ]:
        assert len(grouped.query_dimension_records("group_system", where=where)) == found


def test_command_line_bytes_that_are_not_utf8(sqlite_butler: Butler, tmp_path: Path) -> None:
    """A ``-d`` argument holding a byte that is not UTF-8 is one line and exit code 2."""
    quanta = Path(sys.executable).with_name("quanta")
    where = b"exposure.obs_id = 'caf\xe9'"
    root = os.fsencode(sqlite_butler.root)
    result = subprocess.run(
        [os.fsencode(quanta), b"query-data-ids", root, b"exposure", b"-d", where],
        capture_output=True,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
        check=False,
    )
    lines = result.stderr.decode("utf-8", "replace").splitlines()
    assert (result.returncode, len(lines)) == (2, 1), result.stderr
    assert "holds a byte that is not UTF-8 (\\xe9) at column 23" in lines[0]
