"""The SQLite registries of a legacy repository, read-only, as dataclasses.

``registry.sqlite3`` lists raws (table ``raw``, one row per visit and ccd) and visits
(``raw_visit``); ``CALIB/calibRegistry.sqlite3`` holds one table per calibration type.
The columns quanta needs must be there; a raw table's other columns (instrument-specific
header values) are kept as they are, while a calibration table may have no others: an
extra key column would tell calibrations apart that quanta would merge.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LegacyRepositoryError

RAW_REGISTRY = "registry.sqlite3"
CALIB_REGISTRY = "calibRegistry.sqlite3"
#: Columns each table must have.
RAW_COLUMNS = ("visit", "ccd", "filter", "taiObs")
VISIT_COLUMNS = ("visit", "filter", "taiObs")
CALIB_COLUMNS = ("filter", "ccd", "calibDate", "validStart", "validEnd")
#: The one more column a calibration table may have: its integer key.
CALIB_KEY = "id"

Value = int | float | str | bytes | None


@dataclass(frozen=True)
class RawRow:
    """One registered raw: visit, ccd, filter, TAI start, and the table's other columns."""

    visit: int
    ccd: int
    filter: str
    tai_obs: str
    extra: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class VisitRow:
    """One registered visit: its number, filter, TAI start and the table's other columns."""

    visit: int
    filter: str
    tai_obs: str
    extra: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class CalibRow:
    """One registered calibration: its type (table), filter, ccd, date and validity dates."""

    calib_type: str
    filter: str
    ccd: int
    calib_date: str
    valid_start: str
    valid_end: str


@dataclass(frozen=True)
class RawRegistry:
    """The raw registry's two tables."""

    raws: list[RawRow]
    visits: list[VisitRow]


def read_raw_registry(path: Path) -> RawRegistry:
    """Read ``raw`` and ``raw_visit`` from a raw registry file."""
    with closing(_connect(path)) as db:
        raws = [
            RawRow(
                _int(row, "raw", "visit"),
                _int(row, "raw", "ccd"),
                _text(row, "raw", "filter"),
                _text(row, "raw", "taiObs"),
                _rest(row, RAW_COLUMNS),
            )
            for row in _rows(db, path, "raw", RAW_COLUMNS)
        ]
        visits = [
            VisitRow(
                _int(row, "raw_visit", "visit"),
                _text(row, "raw_visit", "filter"),
                _text(row, "raw_visit", "taiObs"),
                _rest(row, VISIT_COLUMNS),
            )
            for row in _rows(db, path, "raw_visit", VISIT_COLUMNS)
        ]
    return RawRegistry(raws, visits)


def read_calib_registry(path: Path, errors: list[str] | None = None) -> dict[str, list[CalibRow]]:
    """Every table of a calibration registry: calibration type -> its rows. A table quanta
    cannot read raises, or, given an ``errors`` list, is left out with its message there."""
    with closing(_connect(path)) as db:
        found = {}
        for table in _tables(db, path):
            try:
                found[table] = [
                    CalibRow(
                        table,
                        _text(row, table, "filter"),
                        _int(row, table, "ccd"),
                        _text(row, table, "calibDate"),
                        _text(row, table, "validStart"),
                        _text(row, table, "validEnd"),
                    )
                    for row in _rows(db, path, table, CALIB_COLUMNS, only=True)
                ]
            except LegacyRepositoryError as err:
                if errors is None:
                    raise
                errors.append(str(err))
    return found


def _connect(path: Path) -> sqlite3.Connection:
    """A read-only connection; a missing file is an error, never a new empty database."""
    if not path.is_file():
        raise LegacyRepositoryError(f"{path}: no such registry file")
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _tables(db: sqlite3.Connection, path: Path) -> list[str]:
    """The names of the tables of a registry, sorted."""
    try:
        rows = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
    except sqlite3.Error as err:
        raise LegacyRepositoryError(f"{path}: not a readable registry ({err})") from None
    return [name for (name,) in rows]


def _rows(
    db: sqlite3.Connection, path: Path, table: str, needed: Sequence[str], only: bool = False
) -> Iterator[dict[str, Value]]:
    """The rows of ``table`` as dicts, after checking its columns (and nothing else, if
    ``only``)."""
    quoted = '"' + table.replace('"', '""') + '"'
    try:
        cursor = db.execute(f"SELECT * FROM {quoted}")
    except sqlite3.Error as err:
        raise LegacyRepositoryError(f"{path}: cannot read table {table!r} ({err})") from None
    columns = [d[0] for d in cursor.description]
    for name in needed:
        if name not in columns:
            raise LegacyRepositoryError(f"{path}: table {table!r} has no column {name!r}")
    if only:
        for name in columns:
            if name not in needed and name != CALIB_KEY:
                raise LegacyRepositoryError(
                    f"{path}: table {table!r} has an unexpected column {name!r}"
                )
    for values in cursor:
        yield dict(zip(columns, values, strict=True))


def _int(row: dict[str, Value], table: str, column: str) -> int:
    """A column's integer (integers stored as text too), else a one-line error."""
    value = row[column]
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise LegacyRepositoryError(f"table {table!r}: column {column!r} holds {value!r}, not an int")


def _text(row: dict[str, Value], table: str, column: str) -> str:
    """A column's text, else a one-line error."""
    value = row[column]
    if not isinstance(value, str):
        raise LegacyRepositoryError(f"table {table!r}: column {column!r} holds {value!r}, not text")
    return value


def _rest(row: dict[str, Value], known: Sequence[str]) -> dict[str, Value]:
    """The columns of ``row`` that are not in ``known``."""
    return {name: value for name, value in row.items() if name not in known}
