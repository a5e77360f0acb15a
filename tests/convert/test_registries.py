"""The raw and calibration registries read back what the fixture wrote."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from convert.legacy_fixture import CALIB_ROWS, CALIB_TYPES, LegacyRepo
from quanta.convert.errors import LegacyRepositoryError
from quanta.convert.registries import read_calib_registry, read_raw_registry


def test_the_raw_registry_lists_registered_raws_and_visits(legacy: LegacyRepo) -> None:
    registry = read_raw_registry(legacy.root / "registry.sqlite3")
    assert {(r.visit, r.ccd) for r in registry.raws} == legacy.registered
    assert {v.visit for v in registry.visits} == legacy.visits
    by_key = {(r.visit, r.ccd): r for r in registry.raws}
    for _, data_id in legacy.raws.values():
        row = by_key.get((int(data_id["visit"]), int(data_id["ccd"])))
        if row is not None:
            assert row.filter == data_id["filter"]
            assert row.extra["pointing"] == data_id["pointing"]
            assert row.tai_obs.startswith(str(data_id["dateObs"]))


def test_the_calibration_registry_has_one_table_per_type(legacy: LegacyRepo) -> None:
    tables = read_calib_registry(legacy.root / "CALIB" / "calibRegistry.sqlite3")
    assert set(tables) == set(CALIB_ROWS)
    for table, rows in tables.items():
        ccds = set(legacy.ccd_of_detector.values())
        expected = {
            (CALIB_TYPES[table][1], ccd, *dates) for ccd in ccds for dates in CALIB_ROWS[table]
        }
        found = {(r.filter, r.ccd, r.calib_date, r.valid_start, r.valid_end) for r in rows}
        assert found == expected
        assert {r.calib_type for r in rows} == {table}


def _database(path: Path, *statements: str) -> Path:
    with closing(sqlite3.connect(path)) as db, db:
        for statement in statements:
            db.execute(statement)
    return path


def test_a_raw_table_without_a_needed_column_names_table_and_column(tmp_path: Path) -> None:
    path = _database(
        tmp_path / "registry.sqlite3",
        "CREATE TABLE raw (visit INT, filter TEXT, taiObs TEXT)",
        "CREATE TABLE raw_visit (visit INT, filter TEXT, taiObs TEXT)",
    )
    with pytest.raises(LegacyRepositoryError) as caught:
        read_raw_registry(path)
    assert str(caught.value) == f"{path}: table 'raw' has no column 'ccd'"


def test_calibration_tables_with_a_missing_or_unexpected_column_are_errors(
    tmp_path: Path,
) -> None:
    columns = "id INTEGER PRIMARY KEY, filter TEXT, ccd INT, calibDate TEXT, validStart TEXT"
    missing = _database(tmp_path / "a.sqlite3", f"CREATE TABLE bias ({columns})")
    with pytest.raises(LegacyRepositoryError, match="table 'bias' has no column 'validEnd'"):
        read_calib_registry(missing)
    extra = _database(
        tmp_path / "b.sqlite3", f"CREATE TABLE flat ({columns}, validEnd TEXT, amp TEXT)"
    )
    with pytest.raises(LegacyRepositoryError) as caught:
        read_calib_registry(extra)
    assert str(caught.value) == f"{extra}: table 'flat' has an unexpected column 'amp'"


def test_a_value_of_the_wrong_type_names_table_and_column(tmp_path: Path) -> None:
    path = _database(
        tmp_path / "registry.sqlite3",
        "CREATE TABLE raw (visit INT, ccd TEXT, filter TEXT, taiObs TEXT)",
        "INSERT INTO raw VALUES (1, 'ccd-one', 'r', '2026-03-01')",
        "CREATE TABLE raw_visit (visit INT, filter TEXT, taiObs TEXT)",
    )
    with pytest.raises(LegacyRepositoryError, match="table 'raw': column 'ccd' holds 'ccd-one'"):
        read_raw_registry(path)


def test_a_missing_registry_is_an_error_and_stays_missing(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite3"
    with pytest.raises(LegacyRepositoryError, match="no such registry file"):
        read_raw_registry(path)
    assert not path.exists()
    with pytest.raises(LegacyRepositoryError, match="cannot read table 'raw_visit'"):
        read_raw_registry(_database(path, "CREATE TABLE raw (visit, ccd, filter, taiObs)"))


def test_a_file_that_is_no_database_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "calibRegistry.sqlite3"
    path.write_text("not a database, but long enough to have a header of some sort\n" * 4)
    with pytest.raises(LegacyRepositoryError, match="not a readable registry"):
        read_calib_registry(path)
